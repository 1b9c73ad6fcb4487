"""Browser journeys through the deadlines pages, with axe on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from deadlines.models import Alert, ClosureDay
from tests.conftest import assert_accessible
from tests.deadlines.conftest import london
from tests.factories import DeadlineFactory

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.deadlines.urls")]


def test_administrator_adds_and_removes_a_closure_day(browser_session, users):
    page = browser_session.sign_in("admin")
    browser_session.go("/deadlines/closure-days/")
    page.get_by_role("button", name="Add a closure day").click()
    page.wait_for_load_state()
    browser_session.submit("Continue")  # empty: the error summary says what is wrong
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    page.get_by_label("Day").fill("29")
    page.get_by_label("Month").fill("12")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("Reason").fill("Christmas closure")
    browser_session.submit("Continue")
    assert page.get_by_role("heading", name="What this would move").is_visible()
    browser_session.submit("Add closure day")
    assert page.get_by_text("29 December 2026 is now a closure day").is_visible()
    assert ClosureDay.objects.get().reason == "Christmas closure"
    page.get_by_role("link", name="Remove 29 December 2026").click()
    page.wait_for_load_state()
    browser_session.submit("Remove closure day")
    assert not ClosureDay.objects.exists()


def test_practitioner_reads_an_alert(browser_session, users, make_episode):
    t0 = london(2026, 3, 2, 9, 0)
    episode = make_episode(opened_at=t0, lead=users["coach"])
    deadline = DeadlineFactory(
        rule_id="B8",
        title="Initial contact with the family after allocation",
        episode=episode,
        assignee=users["coach"],
        started_at=t0,
        expected_at=None,
        due_at=t0 + timedelta(days=2),
    )
    Alert.objects.create(deadline=deadline, level="breached", recipient=users["coach"], created_at=t0)
    page = browser_session.sign_in("coach")
    browser_session.go("/deadlines/alerts/")
    assert page.get_by_role("cell", name="B8 Initial contact with the family after allocation").is_visible()
    page.get_by_role("button", name=re.compile(r"^Mark as read\W+Breached B8 E\d+$")).click()
    page.wait_for_load_state()
    assert_accessible(page)
    assert page.get_by_text("Alert marked as read.").is_visible()
    assert Alert.objects.get().read_at is not None
