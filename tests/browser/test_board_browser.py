"""In a browser at 1280 px: the team board and the manager dashboard open on their summary and the most
urgent items, are no longer than about three screens, show old breaches with their year, and pass axe."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts import roles
from kit.time import LONDON
from tests.conftest import make_user
from tests.factories import family_with_children
from tests.oversight.helpers import make_contact, make_deadline, make_episode

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1280, 800
RULES = ["B2", "B3", "B6", "B8", "B9", "B10", "B11", "B12", "B13", "B14", "B17", "B18"]


def busy_team(team, users, now):
    """Eight practitioners with four cases each: old acknowledgement breaches from 2021, this week's
    breaches, overdue and due-soon clocks across a dozen rules."""
    people = [users["coach"]] + [make_user(f"coach{i}", roles.PRACTITIONER, team) for i in range(7)]
    newest = None
    for n, person in enumerate(people):
        for c in range(4):
            e = make_episode(team, lead=person, opened_at=now - timedelta(days=30 + 40 * c))
            family, _ = family_with_children(1, team=team)
            make_contact(family, received_at=now - timedelta(days=3 + 9 * c + n), decision="allocate")
            old = datetime(2021, 12, 20, 23, 59, tzinfo=LONDON) - timedelta(days=n + c)
            make_deadline(RULES[(n + c) % 2], team=team, episode=e, started_at=old - timedelta(days=5), due_at=old)
            due = now - timedelta(hours=1 + n * 4 + c)
            d = make_deadline(
                RULES[2 + (n + c) % 10], team=team, episode=e, started_at=now - timedelta(days=6), due_at=due
            )
            if newest is None or d.due_at > newest.due_at:
                newest = d
            make_deadline(
                RULES[(n + c + 5) % 10 + 2], team=team, episode=e, started_at=now - timedelta(days=2),
                expected_at=now + timedelta(hours=3 + c), due_at=now + timedelta(days=2 + c),
            )  # fmt: skip
    return newest


def first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= HEIGHT


def test_board_and_dashboard_fit_on_about_three_screens(browser_session, users, team, tmp_path):
    now = timezone.now()
    newest = busy_team(team, users, now)
    page = browser_session.page
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})

    browser_session.sign_in("teamlead")
    browser_session.go("/oversight/team-board/")
    page.screenshot(path=str(tmp_path / "team-board.png"), full_page=True)
    assert first_screen(page, "[data-summary]")
    # The most urgent item is this week's newest breach, in the first screen; not a 2021 one.
    urgent = page.locator("#timescales ~ table").first.locator("tbody tr").first
    assert newest.title in urgent.inner_text()
    assert urgent.bounding_box()["y"] + urgent.bounding_box()["height"] <= HEIGHT
    height = page.evaluate("document.body.scrollHeight")
    assert height <= 3 * HEIGHT, height

    # The breached count opens the list of breaches, newest first; the 2021 ones say so.
    page.locator("#count-breached").click()
    page.wait_for_load_state()
    assert "/oversight/team-board/list/" in page.url and "status=breached" in page.url
    page.screenshot(path=str(tmp_path / "team-board-breaches.png"), full_page=True)
    assert newest.title in page.locator("tbody tr").first.inner_text()
    assert page.get_by_role("link", name="Next page").is_visible()
    assert page.evaluate("document.body.scrollHeight") <= 3 * HEIGHT
    browser_session.go(page.url.replace(browser_session.base, "") + "&page=2")
    assert "2021" in page.locator("tbody").inner_text()
    browser_session.submit("Sign out")

    browser_session.sign_in("manager")
    browser_session.go("/oversight/dashboard/")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert first_screen(page, "[data-summary]")
    first_breach = page.locator("#breaches ~ table").first.locator("tbody tr").first
    assert newest.title in first_breach.inner_text()
    assert first_breach.bounding_box()["y"] + first_breach.bounding_box()["height"] <= HEIGHT
    height = page.evaluate("document.body.scrollHeight")
    print("dashboard height", height)
    assert height <= 3 * HEIGHT, height
    # From and To are GOV.UK date inputs, day/month/year: narrowing the period changes the list.
    assert page.locator("input[type=date]").count() == 0
    today = timezone.localdate(now)
    page.locator("#start-day").fill(str(today.day))
    page.locator("#start-month").fill(str(today.month))
    page.locator("#start-year").fill(str(today.year))
    browser_session.submit("Show")
    assert int(page.locator("#breach-total").inner_text()) < 32
    browser_session.go(
        "/oversight/dashboard/breaches/?start-day=1&start-month=12&start-year=2021&end-day=31&end-month=12&end-year=2021&acknowledged=all"
    )
    assert "20 December 2021" in page.locator("tbody").inner_text()
