"""In a browser at 1280 px (ADR 35): the episode's summary opens on its next steps and its most urgent clock,
stays within three screens however many notes and clocks the episode has, and every sub-page passes axe."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import DeadlineFactory
from tests.workflows.helpers import S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1280, 800


def test_the_summary_opens_on_what_to_do_next_and_stays_short(browser_session, users, team, tmp_path):
    now = timezone.now()
    episode, children = make_episode(users, team, state=S.PLAN_ACTIVE, at=now - timedelta(days=40))
    for i in range(40):
        at = now - timedelta(days=30) + timedelta(hours=6 * i)
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=at,
            details=f"Visit {i}. " + "We talked about school, sleep and the week ahead. " * 8,
            children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="It was fine.") for c in children],
            by=users["coach"],
            now=at,
        )
    for i in range(24):
        DeadlineFactory(episode=episode, rule_id=f"M{i}", met=True, at=now - timedelta(days=20))
    breach = DeadlineFactory(episode=episode, rule_id="B9", title="Assessment completed", breached=True, at=now)

    page = browser_session.page
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    browser_session.sign_in("coach")
    browser_session.go(f"/episodes/{episode.pk}/")
    page.screenshot(path=str(tmp_path / "episode-summary.png"), full_page=True)

    steps = page.get_by_role("heading", name="Next steps")
    first_step = page.locator(".govuk-button-group .govuk-button").first
    urgent = page.get_by_role("link", name=f"B9: {breach.title}")
    for element in (steps, first_step, urgent):
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= HEIGHT, element
    assert page.locator(".govuk-button:not([class*='govuk-button--'])").count() == 1
    height = page.evaluate("document.body.scrollHeight")
    assert height <= 3 * HEIGHT, f"the summary is {height} px long"

    for label in ("Visits and notes", "Timescales", "Documents", "History"):
        page.get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state()
        browser_session.go(page.url.removeprefix(browser_session.base))  # axe on each sub-page
        assert page.locator("[aria-current='page']", has_text=label).count() == 1
    # The timescales open on the breach, the met clocks after it.
    browser_session.go(f"/episodes/{episode.pk}/timescales/")
    first_row = page.locator("tbody tr").first
    assert "B9" in first_row.inner_text() and "Breached" in first_row.inner_text()
