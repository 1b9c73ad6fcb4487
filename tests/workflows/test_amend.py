"""Amending a saved visit, assessment or plan (ADR 37): the author or their team leader corrects it, the
original is kept, the record says "amended on … by …" and anyone who sees it can see what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from cases.models import AccessLog, CaseNote
from tests.conftest import make_user
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=10)


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def visit_note(episode, by, details="Saw mum at home."):
    return es.episode_record_visit(
        episode=episode,
        kind="home_visit",
        happened_at=LATER - timedelta(days=1),
        details=details,
        purpose="Check mornings",
        present="Mum and Sam",
        actions="Ring school",
        analysis="Settled",
        by=by,
        now=LATER - timedelta(days=1),
    )


def amend_url(episode, kind, record):
    return reverse("episodes:amend_record", args=[episode.pk, kind, record.pk])


def changes_url(episode, kind, record):
    return reverse("episodes:amend_changes", args=[episode.pk, kind, record.pk])


def note_data(**changes):
    data = {
        "purpose": "Check mornings",
        "present": "Mum and Sam",
        "details": "Saw mum at home.",
        "actions": "Ring school",
        "analysis": "Settled",
        "reason": "Wrong child named",
    }
    data.update(changes)
    return data


class TestAmendingANote:
    def test_the_author_amends_and_the_original_is_kept(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(episode, users["coach"])
        client.force_login(users["coach"])
        page = client.get(amend_url(episode, "note", note))
        assert page.status_code == 200 and "Saw mum at home." in page.content.decode()
        response = client.post(amend_url(episode, "note", note), note_data(present="Mum and Alex"))
        assert response.status_code == 302
        assert response["Location"] == changes_url(episode, "note", note)
        note.refresh_from_db()
        assert note.present == "Mum and Alex"
        assert note.history.count() == 2
        original = note.history.earliest("history_date")
        assert original.present == "Mum and Sam"

        body = client.get(changes_url(episode, "note", note)).content.decode()
        assert "Amended on" in body and "Wrong child named" in body
        assert "<del>Mum and Sam</del>" in body and "<ins>Mum and Alex</ins>" in body
        assert "What happened" not in body  # only what changed is listed

        # Notes are read on the episode's notes page (ADR 35), each with its amendment line.
        detail = client.get(reverse("episodes:episode_notes", args=[episode.pk])).content.decode()
        assert f"by {users['coach']}: Wrong child named." in detail
        assert changes_url(episode, "note", note) in detail

    def test_anyone_who_sees_the_episode_sees_what_changed_and_it_is_logged(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(episode, users["coach"])
        es_amend(note, users["coach"])
        client.force_login(users["duty"])
        before = AccessLog.objects.count()
        response = client.get(changes_url(episode, "note", note))
        assert response.status_code == 200 and "Wrong date" in response.content.decode()
        assert AccessLog.objects.count() == before + 1
        assert amend_url(episode, "note", note) not in response.content.decode()  # the duty worker may not amend
        client.force_login(users["outsider"])
        assert client.get(changes_url(episode, "note", note)).status_code == 404

    @pytest.mark.parametrize("role, status", [("teamlead", 302), ("duty", 403), ("manager", 403), ("outsider", 404)])
    def test_the_team_leader_may_amend_others_may_not(self, client, users, team, pinned, role, status):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(episode, users["coach"])
        client.force_login(users[role])
        response = client.post(amend_url(episode, "note", note), note_data(details="Corrected."))
        assert response.status_code == status
        note.refresh_from_db()
        assert (note.details == "Corrected.") == (status == 302)

    def test_another_practitioner_of_the_team_may_not_amend_the_authors_note(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(episode, users["teamlead"])
        other = make_user("coach2", roles.PRACTITIONER, team)
        client.force_login(users["coach"])  # the lead professional, not the author
        assert client.post(amend_url(episode, "note", note), note_data(details="x")).status_code == 403
        client.force_login(other)
        assert client.post(amend_url(episode, "note", note), note_data(details="x")).status_code == 403

    def test_bad_input_says_what_is_wrong_and_keeps_what_was_typed(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(episode, users["coach"])
        client.force_login(users["coach"])
        response = client.post(amend_url(episode, "note", note), note_data(reason="", analysis="Typed analysis"))
        assert response.status_code == 400
        body = response.content.decode()
        assert "Give the reason for the amendment" in body and "Typed analysis" in body
        response = client.post(amend_url(episode, "note", note), note_data(purpose=""))
        assert response.status_code == 400 and "The record needs the purpose of the visit" in response.content.decode()
        response = client.post(amend_url(episode, "note", note), note_data())
        assert response.status_code == 409 and "Nothing was changed" in response.content.decode()
        response = client.post(amend_url(episode, "note", note), note_data(reason="x" * 101))
        assert response.status_code == 400 and "100 characters or fewer" in response.content.decode()
        assert note.history.count() == 1

    def test_a_record_of_another_episode_or_kind_is_404(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        other, _ = make_episode(users, team, state=S.FIRST_VISIT)
        note = visit_note(other, users["coach"])
        client.force_login(users["coach"])
        assert client.get(amend_url(episode, "note", note)).status_code == 404
        assert client.get(reverse("episodes:amend_record", args=[episode.pk, "letter", note.pk])).status_code == 404
        assert client.get(reverse("episodes:amend_changes", args=[episode.pk, "letter", note.pk])).status_code == 404


def es_amend(note, by, reason="Wrong date"):
    from workflows.amend_services import amend_record

    return amend_record(
        kind="note", record=note, changes={"details": note.details + " (corrected)"}, reason=reason, by=by, now=LATER
    )


class TestAmendingAnAssessmentAndAPlan:
    def test_an_assessment_in_progress_is_edited_not_amended(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT)
        client.force_login(users["coach"])
        response = client.get(amend_url(episode, "assessment", episode.assessment), follow=True)
        assert "The assessment is still being written" in response.content.decode()

    def test_a_completed_assessment_is_amended_with_its_history(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        assessment = episode.assessment
        client.force_login(users["coach"])
        data = {name: getattr(assessment, name) for name in es.ASSESSMENT_TEXT_FIELDS}
        data.update(recommendation="Targeted support for 6 months.", reason="Recommendation mistyped")
        response = client.post(amend_url(episode, "assessment", assessment), data)
        assert response.status_code == 302
        assessment.refresh_from_db()
        assert assessment.recommendation == "Targeted support for 6 months." and assessment.completed_at
        body = client.get(reverse("episodes:assessment", args=[episode.pk])).content.decode()
        assert "Recommendation mistyped" in body
        changes = client.get(changes_url(episode, "assessment", assessment)).content.decode()
        assert "<ins>Targeted support for 6 months.</ins>" in changes

    def test_an_active_plan_is_amended(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        plan = episode.plan
        client.force_login(users["teamlead"])
        data = {"if_not_working": "Meet again within two weeks.", "reason": "Date agreed at the meeting"}
        assert client.post(amend_url(episode, "plan", plan), data).status_code == 302
        plan.refresh_from_db()
        assert plan.if_not_working == "Meet again within two weeks."
        newest = plan.history.order_by("-history_date", "-history_id").first()
        assert (newest.history_user, newest.history_change_reason) == (users["teamlead"], "Date agreed at the meeting")


def test_the_episode_page_reads_amendments_in_constant_queries(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
    client.force_login(users["coach"])
    url = reverse("episodes:episode_detail", args=[episode.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    es_amend(visit_note(episode, users["coach"]), users["coach"])
    count()  # the first page of a session reads what later pages keep
    one = count()
    for _ in range(3):
        es_amend(visit_note(episode, users["coach"]), users["coach"])
    assert count() == one
    assert CaseNote.history.filter(episode_id=episode.pk, history_change_reason__isnull=False).count() == 4
