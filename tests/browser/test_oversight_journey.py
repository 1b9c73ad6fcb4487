"""A team leader walks the board; a manager the dashboard, acknowledges a breach, records a Managers
Decision and a supervision, checks the Ofsted Annex A data and downloads the workbook. Every page is checked with axe.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Episode
from oversight.annex_a import LIST_1_COLUMNS, LIST_2_COLUMNS
from oversight.models import BreachAcknowledgement, ManagersDecision, Supervision, SupervisionAction
from tests.conftest import assert_accessible
from tests.oversight.helpers import make_assessment, make_contact, make_deadline, make_episode

pytestmark = pytest.mark.browser
S = Episode.State


def click(page, name: str):
    page.get_by_role("link", name=name).or_(page.get_by_role("button", name=name)).first.click()
    page.wait_for_load_state()
    assert_accessible(page)


def nav(page, label: str):
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=label).click()
    page.wait_for_load_state()
    assert_accessible(page)


def test_team_leader_and_manager_oversee_the_work(browser_session, users, team, eager_celery, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    page = browser_session.page
    page.set_default_timeout(10_000)
    now = timezone.now()
    coach = users["coach"]
    episode = make_episode(team, lead=coach, state=S.ASSESSMENT_COMPLETED, opened_at=now - timedelta(days=120))
    make_assessment(episode, by=coach, started_at=now - timedelta(days=20), completed_at=now - timedelta(days=2))
    make_contact(
        episode.family,
        received_at=now - timedelta(days=30),
        subjects=list(episode.family.people.all()),
        risks={"attendance": 3},
    )
    breach = make_deadline(
        "B8", team=team, episode=episode, started_at=now - timedelta(days=5), due_at=now - timedelta(days=1),
        title="Initial contact with the family",
    )  # fmt: skip
    make_deadline(
        "B10", team=team, episode=episode, started_at=now - timedelta(days=3), due_at=now + timedelta(hours=2)
    )

    # The team leader walks the board: counts, the breach by practitioner, a filter, links to the case.
    browser_session.sign_in("teamlead")
    nav(page, "Team board")
    assert page.locator("#count-breached").inner_text() == "1"
    assert page.get_by_role("cell", name="B8: Initial contact with the family").is_visible()
    page.locator("#practitioner").select_option(str(coach.pk))
    browser_session.submit("Filter")
    assert page.locator("#count-breached").inner_text() == "1"
    case_link = page.locator("#timescales ~ table").first.get_by_role("link", name=episode.family.name).first
    assert case_link.get_attribute("href") == f"/episodes/{episode.pk}/"
    assert page.locator("#band-3").inner_text() == "1"  # open for 4 months
    browser_session.submit("Sign out")

    # The manager: the dashboard, then acknowledges the breach with a comment.
    browser_session.sign_in("manager")
    nav(page, "Dashboard")
    assert page.get_by_role("heading", name="Manager dashboard").is_visible()
    page.get_by_role("link", name="Acknowledge the breach of B8").click()
    page.wait_for_load_state()
    assert_accessible(page)
    browser_session.submit("Acknowledge breach")
    assert page.get_by_text("Enter a comment saying what is being done").first.is_visible()
    page.get_by_label("Comment").fill("Coach was on leave; initial call booked for tomorrow.")
    browser_session.submit("Acknowledge breach")
    assert page.get_by_text("The breach of B8 was acknowledged.").is_visible()
    assert BreachAcknowledgement.objects.get().deadline_id == breach.pk

    # A Managers Decision on the assessment.
    browser_session.go(f"/oversight/episodes/{episode.pk}/decisions/new/")
    page.get_by_label("Assessment", exact=True).check()
    page.locator("#id_record").select_option(index=1)
    page.get_by_label("Decision", exact=True).fill("Agree the assessment; plan to focus on attendance.")
    page.get_by_label("Rationale").fill("Attendance is the highest risk; the family agree.")
    browser_session.submit("Record decision")
    decision = ManagersDecision.objects.get()
    assert decision.oversees == "assessment" and decision.assessment_id == episode.assessment.pk

    # Supervision of the coach, with one action on the case.
    browser_session.go("/oversight/supervision/")
    click(page, f"Record supervision of {coach.get_full_name()}")
    today = timezone.localdate()
    page.locator("#id_held_on_0").fill(str(today.day))
    page.locator("#id_held_on_1").fill(str(today.month))
    page.locator("#id_held_on_2").fill(str(today.year))
    page.get_by_label(f"{episode.family} ({episode.reference})").check()
    page.get_by_label("Discussion and reflection").fill("Caseload and wellbeing reviewed.")
    page.locator("#id_action-0-text").fill("Book the initial planning meeting")
    page.locator("#id_action-0-episode").select_option(str(episode.pk))
    due = today + timedelta(days=7)
    page.locator("#id_action-0-due_on_0").fill(str(due.day))
    page.locator("#id_action-0-due_on_1").fill(str(due.month))
    page.locator("#id_action-0-due_on_2").fill(str(due.year))
    browser_session.submit("Record supervision")
    assert page.get_by_role("heading", name=f"Supervision of {coach}").is_visible()
    assert Supervision.objects.get().practitioner == coach
    assert SupervisionAction.objects.get().assignee == coach

    # The Ofsted Annex A data checked (the task runs eagerly here), then the workbook opened.
    browser_session.go("/oversight/returns/annex-a/")
    browser_session.submit("Check and prepare the workbook")
    # The job's page: its progress, then (built already here) the way to the check and the file.
    assert page.get_by_role("heading", name="Your workbook is ready").is_visible()
    page.get_by_role("link", name="Read the data-quality check on the Annex A page").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Data-quality check for").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download workbook").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["List 1", "List 2", "Notes"]
    list1 = list(book["List 1"].iter_rows(values_only=True))
    assert list1[0] == LIST_1_COLUMNS
    assert len(list1) == 1 + 2  # the family's two children
    assert list(book["List 2"].iter_rows(values_only=True))[0] == LIST_2_COLUMNS

    # The reports are readable too.
    browser_session.go("/oversight/reports/timeliness/")
    assert page.get_by_role("heading", name="Timeliness report").is_visible()
    browser_session.go("/oversight/reports/outcomes/")
    assert page.get_by_role("heading", name="Outcomes report").is_visible()
    browser_session.submit("Sign out")

    # The coach sees the supervision task among their cases and marks it done.
    browser_session.sign_in("coach")
    nav(page, "My work")
    assert page.get_by_text("Supervision task: Book the initial planning meeting").is_visible()
    page.get_by_role("button", name="Mark done").click()
    page.wait_for_load_state()
    assert_accessible(page)
    assert page.get_by_text("The task was marked done.").is_visible()
    assert SupervisionAction.objects.get().done_at is not None
