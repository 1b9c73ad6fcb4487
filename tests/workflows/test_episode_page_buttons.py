"""One primary (green) button per page (ADR 35): every page of the URL table, as every role that may see it,
has at most one `govuk-button` without a modifier class; the other buttons are secondary or warning."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.conftest import make_user
from tests.security.matrix import all_url_names, url_for
from tests.security.world import add_oversight_records, add_partner_records, build_world
from tests.workflows.test_episode_page import primary_buttons

pytestmark = pytest.mark.django_db
ROLES = ["mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager", "admin"]


@pytest.fixture
def world(users, team, other_team):
    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    return add_partner_records(add_oversight_records(build_world(users, team), users), users)


def test_primary_buttons_counts_only_buttons_without_a_modifier():
    html = (
        '<a class="govuk-button">A</a><button class="govuk-button govuk-button--secondary">B</button>'
        '<div class="govuk-button-group"></div><button class="govuk-button govuk-button--warning">C</button>'
        '<button type="submit" class="govuk-button" data-module="govuk-button">D</button>'
    )
    assert len(primary_buttons(html)) == 2


def test_every_page_has_at_most_one_green_button(client, users, world):
    pages = [(name, url_for(name, kwargs, world)) for name, kwargs in all_url_names()]
    seen, crowded = 0, []
    for role in ROLES:
        client.force_login(users[role])
        for name, url in pages:
            response = client.get(url)
            if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
                continue
            seen += 1
            green = primary_buttons(response.content.decode())
            if len(green) > 1:
                crowded.append(f"{name} as {role}: {len(green)} green buttons")
    assert seen > 100
    assert not crowded, "\n".join(sorted(set(crowded)))
