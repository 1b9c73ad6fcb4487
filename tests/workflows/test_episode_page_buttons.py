"""One primary (green) button per page (ADR 35): every page of the URL table, as every role that may see it,
has at most one `govuk-button` without a modifier class; the other buttons are secondary or warning."""

from __future__ import annotations

import pytest

from tests.security.matrix import all_url_names
from tests.workflows.test_episode_page import primary_buttons

pytestmark = pytest.mark.django_db
ROLES = ["mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager", "admin"]


def test_primary_buttons_counts_only_buttons_without_a_modifier():
    html = (
        '<a class="govuk-button">A</a><button class="govuk-button govuk-button--secondary">B</button>'
        '<div class="govuk-button-group"></div><button class="govuk-button govuk-button--warning">C</button>'
        '<button type="submit" class="govuk-button" data-module="govuk-button">D</button>'
    )
    assert len(primary_buttons(html)) == 2


def test_every_page_has_at_most_one_green_button(get_crawl):
    """The pages of the shared crawl (tests/security/crawl.py: the URL-by-role tests' world, every GET once)."""
    seen, crowded = 0, []
    for role in ROLES:
        for name, _kwargs in all_url_names():
            got = get_crawl.pages[name][role]
            if got.status != 200 or "text/html" not in got.content_type:
                continue
            seen += 1
            green = primary_buttons(got.html)
            if len(green) > 1:
                crowded.append(f"{name} as {role}: {len(green)} green buttons")
    assert seen > 100
    assert not crowded, "\n".join(sorted(set(crowded)))
