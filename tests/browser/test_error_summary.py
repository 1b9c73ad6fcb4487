"""In a real browser, a form sent back with errors shows one error summary, and the page passes axe.

Every form is checked for this without a browser in tests/security/test_error_summary.py; this is
the check that the summary the browser gets is the GOV.UK one, working and accessible.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.world import build_world

pytestmark = pytest.mark.browser


def test_allocating_with_nothing_chosen_shows_one_error_summary(browser_session, users, team):
    world = build_world(users, team)
    page = browser_session.sign_in("teamlead")
    browser_session.go(reverse("episodes:allocate", args=[world["episode"].pk]))
    browser_session.submit("Allocate")  # nothing chosen: axe runs on the page that comes back
    assert page.locator(".govuk-error-summary").count() == 1
    summary = page.locator(".govuk-error-summary")
    assert summary.get_by_role("heading", name="There is a problem").is_visible()
    first_link = summary.get_by_role("link").first
    target = first_link.get_attribute("href")
    first_link.click()
    assert page.evaluate("document.activeElement.id") == target.removeprefix("#")
