"""In a browser at 1280 px: each working role's home page opens on its work (the count cards and the
first urgent item are in the first screenful), links to the task, and axe finds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.oversight.helpers import S, make_deadline, make_episode

pytestmark = pytest.mark.browser


def test_home_pages_open_on_the_most_urgent_work(browser_session, users, team, tmp_path):
    now = timezone.now()
    episode = make_episode(team, lead=users["coach"], opened_at=now - timedelta(days=30))
    make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=now - timedelta(days=9))
    breach = make_deadline(
        "B9",
        team=team,
        episode=episode,
        started_at=now - timedelta(days=10),
        due_at=now - timedelta(days=1),
        title="Assessment completed",
    )
    make_deadline("B8", team=team, episode=episode, started_at=now, due_at=now + timedelta(days=3))
    page = browser_session.page
    page.set_viewport_size({"width": 1280, "height": 800})
    for name in ("coach", "teamlead", "manager", "duty"):
        browser_session.sign_in(name)
        page.screenshot(path=str(tmp_path / f"home-{name}.png"))
        cards = page.locator("[data-cards] a").first
        box = cards.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800, name
        if name != "duty":
            link = page.get_by_role("link", name=breach.title)
            assert link.bounding_box()["y"] < 800, name
            link.click()
            page.wait_for_load_state()
            assert page.url.endswith(f"/episodes/{episode.pk}/"), page.url
        browser_session.submit("Sign out")
