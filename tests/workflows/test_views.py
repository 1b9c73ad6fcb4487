"""Episode pages: scope (404 for an outsider), one access row per view, messages that say why, no lost
input, drafts, documents, the family's copy, and a bounded number of queries per page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AccessLog, CaseNote, ClosureRequest, Communication, Document, Draft, Episode
from tests.conftest import make_user
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=1)


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def url(name, *args):
    return reverse(f"episodes:{name}", args=args)


class TestEpisodePage:
    def test_shows_state_and_only_the_allowed_next_steps(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        client.force_login(users["coach"])
        before = AccessLog.objects.count()
        body = client.get(url("episode_detail", episode.pk)).content.decode()
        assert "Initial planning meeting held" in body
        assert "Make the plan active" in body
        assert "Write the plan" in body
        assert "Allocate a lead professional" not in body
        assert "Record a review" not in body
        assert AccessLog.objects.count() == before + 1
        log = AccessLog.objects.latest("at")
        assert (log.action, log.family_id_logged, log.what) == (
            "view",
            episode.family_id,
            f"episode {episode.reference}",
        )

    def test_team_leader_sees_allocate_on_the_pre_allocation_list(self, client, users, team, pinned):
        episode, _ = make_episode(users, team)
        client.force_login(users["teamlead"])
        body = client.get(url("pre_allocation")).content.decode()
        assert episode.family.name in body
        body = client.get(url("episode_detail", episode.pk)).content.decode()
        assert "Allocate a lead professional" in body

    @pytest.mark.parametrize("username", ["outsider", "mash", "admin"])
    def test_outside_the_scope_is_404_not_the_record(self, client, users, team, pinned, username):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users[username])
        response = client.get(url("episode_detail", episode.pk))
        assert response.status_code == 404
        assert episode.family.name not in response.content.decode()
        assert client.get(url("plan", episode.pk)).status_code in (403, 404)

    def test_a_practitioner_of_another_team_gets_404(self, client, users, team, other_team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(make_user("southcoach", "Practitioner", other_team))
        assert client.get(url("episode_detail", episode.pk)).status_code == 404
        assert client.post(url("draft_save", "visit", episode.pk), {"details": "x"}).status_code == 404

    def test_family_page_links_the_episode_and_its_chronology_has_the_visit(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        client.force_login(users["coach"])
        body = client.get(reverse("cases:family_detail", args=[episode.family_id])).content.decode()
        assert url("episode_detail", episode.pk) in body
        assert "Home visit (first visit)" in body
        assert "Saw the family at home." in body


class TestRefusalsSayWhy:
    def test_forbidden_transition(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(url("plan_activate", episode.pk), {"version": episode.version}, follow=True)
        assert "cannot make the plan active now: the plan becomes active once the assessment is completed" in (
            response.content.decode()
        )
        episode.refresh_from_db()
        assert episode.state == S.ALLOCATED

    def test_missing_plan_fields_name_the_outcome(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        client.force_login(users["coach"])
        client.post(
            url("outcome_new", episode.pk),
            {"area": "education", "description": "Sam goes to school every day", "how_measured": ""},
        )
        response = client.post(url("plan_activate", episode.pk), {"version": episode.version}, follow=True)
        body = response.content.decode()
        assert "Outcome 1 (Sam goes to school every day) is missing: how progress will be measured, by when" in body
        assert response.redirect_chain[-1][0] == url("plan", episode.pk)

    def test_incomplete_closure_checklist_keeps_what_was_typed(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["coach"])
        response = client.post(
            url("closure_request", episode.pk),
            {
                "version": episode.version,
                "records_up_to_date": "on",
                "summary": "Attendance is now 97% and mornings are calm.",
                "child_voice": "Sam says school is fun.",
                "family_views": "Mum is ready to manage on her own.",
                "proposed_reason": "goals_met",
            },
        )
        body = response.content.decode()
        assert response.status_code == 409
        assert "Not yet done: Documents are uploaded; Plan actions are completed" in body
        assert "Attendance is now 97% and mornings are calm." in body
        assert not ClosureRequest.objects.exists()

    def test_two_users_same_version_the_second_is_told_and_keeps_input(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        seen_version = episode.version
        # The team leader proposes a step-up first, from the same page version.
        client.force_login(users["teamlead"])
        response = client.post(
            url("step_up_new", episode.pk),
            {
                "version": seen_version,
                "concern": "no_engagement",
                "reason": "No engagement for 6 weeks.",
                "multi_agency_views": "School agrees.",
                "family_views": "Mum does not answer.",
            },
        )
        assert response.status_code == 302
        client.force_login(users["coach"])
        response = client.post(
            url("decline", episode.pk), {"version": seen_version, "reason": "Mum said no thank you on the phone."}
        )
        body = response.content.decode()
        assert response.status_code == 409
        assert "was changed by someone else while you were working on it" in body
        assert "Mum said no thank you on the phone." in body
        episode.refresh_from_db()
        assert f'name="version" value="{episode.version}"' in body  # the next submit is against the latest
        assert episode.state == S.STEP_UP_REQUESTED

    def test_allocation_above_capacity_needs_a_reason(self, client, users, team, pinned):
        users["coach"].caseload_capacity_override = 0
        users["coach"].save()
        episode, _ = make_episode(users, team)
        client.force_login(users["teamlead"])
        response = client.post(
            url("allocate", episode.pk), {"version": episode.version, "practitioner": users["coach"].pk}
        )
        assert response.status_code == 400
        assert "give the reason for allocating above capacity" in response.content.decode()
        response = client.post(
            url("allocate", episode.pk),
            {"version": episode.version, "practitioner": users["coach"].pk, "reason": "Continuity: knows the family."},
        )
        assert response.status_code == 302
        episode.refresh_from_db()
        assert episode.lead_professional == users["coach"]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"kind": "teleport", "details": "x"}, "Select a valid choice"),
            (
                {"kind": "home_visit", "when_date_0": "31", "when_date_1": "2", "when_date_2": "2026"},
                "Write what happened",
            ),
            ({"kind": "home_visit", "details": "x", "when_time": "25:99"}, "Enter a time in 24-hour format"),
        ],
    )
    def test_bad_input_is_a_message_not_a_500(self, client, users, team, pinned, data, message):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(url("note_new", episode.pk), data)
        assert response.status_code == 400
        assert message in response.content.decode()

    def test_unknown_pages_are_404(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        assert client.get(url("meeting_new", episode.pk) + "?kind=party").status_code == 404
        assert client.post(url("draft_save", "nonsense", episode.pk), {}).status_code == 404
        assert client.get(url("outcome_edit", episode.pk, 999999)).status_code == 404


class TestVisitForm:
    def test_records_each_childs_views(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.INITIAL_CONTACT)
        client.force_login(users["coach"])
        child = children[0]
        response = client.post(
            url("note_new", episode.pk),
            {
                "kind": "home_visit",
                "when_date_0": "24",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "09:30",
                "purpose": "First visit",
                "present": "Mum, both children",
                "details": "Played a game with the children.",
                "actions": "Mum to ring the school.",
                "analysis": "The children are settled; mornings are the worry.",
                f"child_{child.pk}_seen": "on",
                f"child_{child.pk}_spoken": "on",
                f"child_{child.pk}_views": "I want my own bedroom.",
            },
            follow=True,
        )
        assert "This was the first visit" in response.content.decode()
        note = CaseNote.objects.get(purpose="First visit")
        assert note.is_first_visit
        assert note.child_views.get(child=child).views == "I want my own bedroom."


class TestDrafts:
    def test_autosaved_draft_comes_back_after_signing_in_again(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(
            url("draft_save", "visit", episode.pk),
            {"csrfmiddlewaretoken": "x", "kind": "home_visit", "details": "Half-written note about the visit"},
        )
        assert response.status_code == 200
        assert "saved_at" in response.json()
        assert Draft.objects.get().data == {"kind": ["home_visit"], "details": ["Half-written note about the visit"]}
        client.logout()
        assert client.post(url("draft_save", "visit", episode.pk), {"details": "x"}).status_code == 401
        client.force_login(users["coach"])
        body = client.get(url("note_new", episode.pk)).content.decode()
        assert "Draft restored" in body
        assert "Half-written note about the visit" in body
        assert "There is a problem" not in body  # a restored draft is not judged before it is submitted

    def test_submitting_discards_the_draft(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        client.post(url("draft_save", "visit", episode.pk), {"details": "draft"})
        client.post(
            url("note_new", episode.pk),
            {
                "kind": "phone_call",
                "when_date_0": "24",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "09:00",
                "details": "Rang mum.",
            },
        )
        assert not Draft.objects.exists()


class TestDocuments:
    def test_upload_download_and_the_download_is_logged(self, client, users, team, pinned, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(
            url("document_new", episode.pk),
            {"kind": "consent", "title": "Signed consent", "file": SimpleUploadedFile("c.pdf", b"%PDF-1.4 consent")},
        )
        assert response.status_code == 302
        document = Document.objects.get()
        response = client.get(url("document_download", episode.pk, document.pk))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"%PDF-1.4 consent"
        assert 'attachment; filename="c.pdf"' in response["Content-Disposition"]
        assert AccessLog.objects.filter(action="download", family_id_logged=episode.family_id).count() == 1
        client.force_login(users["outsider"])
        assert client.get(url("document_download", episode.pk, document.pk)).status_code == 404

    def test_wrong_type_and_too_large_are_refused_with_a_message(self, client, users, team, pinned, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        settings.EARLYHELP_MAX_DOCUMENT_MB = 1
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(
            url("document_new", episode.pk), {"kind": "other", "file": SimpleUploadedFile("x.exe", b"MZ\x90")}
        )
        assert response.status_code == 400
        assert "The file must be one of" in response.content.decode()
        response = client.post(
            url("document_new", episode.pk),
            {"kind": "other", "file": SimpleUploadedFile("big.pdf", b"%PDF-" + bytes(1024 * 1024))},
        )
        assert "smaller than 1 MB" in response.content.decode()
        assert not Document.objects.exists()


class TestFamilyCopy:
    def test_confidential_address_is_never_in_the_copy(self, client, users, team, pinned):
        episode, _ = make_episode(
            users, team, state=S.PLAN_ACTIVE, address_line_1="7 Hidden Lane", address_confidential=True
        )
        client.force_login(users["coach"])
        body = client.get(url("family_copy", episode.pk)).content.decode()
        assert "Sam goes to school every day" in body
        assert "Hidden Lane" not in body
        response = client.post(
            url("family_copy_sent", episode.pk),
            {
                "recipient": "Mum",
                "method": "in_person",
                "when_date_0": "24",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "09:00",
            },
        )
        body = response.content.decode()
        assert "Check before you record it as sent" in body
        assert "Hidden Lane" not in body
        assert "Confidential." in body

    def test_check_page_shows_the_address_then_records_the_copy(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE, address_line_1="3 Open Road")
        client.force_login(users["coach"])
        assert "3 Open Road" in client.get(url("family_copy", episode.pk)).content.decode()
        data = {
            "recipient": "Mum",
            "method": "letter",
            "when_date_0": "24",
            "when_date_1": "11",
            "when_date_2": "2026",
            "when_time": "09:00",
        }
        body = client.post(url("family_copy_sent", episode.pk), data).content.decode()
        assert "3 Open Road" in body
        assert not Communication.objects.filter(kind="plan_copy").exists()
        response = client.post(url("family_copy_sent", episode.pk), {**data, "checked": "on"})
        assert response.status_code == 302
        assert Communication.objects.get(kind="plan_copy").recipient == "Mum"


class TestSignOff:
    def test_manager_signs_off_from_the_queue(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        closure = es.closure_request(
            episode=episode,
            checklist=dict.fromkeys(ClosureRequest.CHECKLIST, True),
            summary="Done.",
            child_voice="Happy.",
            proposed_reason="goals_met",
            by=users["coach"],
            now=NOW + 9 * timedelta(hours=1),
        )
        client.force_login(users["manager"])
        assert episode.family.name in client.get(url("sign_off")).content.decode()
        episode.refresh_from_db()
        response = client.post(
            url("closure_decide", episode.pk, closure.pk),
            {
                "sign_off": "1",
                "off-version": episode.version,
                "off-ended_on_0": "24",
                "off-ended_on_1": "11",
                "off-ended_on_2": "2026",
                "off-reason": "goals_met",
                "off-letter_recipient": "Mum",
                "off-letter_method": "letter",
                "off-partners": "School",
            },
        )
        assert response.status_code == 302
        episode.refresh_from_db()
        assert episode.state == S.CLOSED
        assert episode.ended_on == date(2026, 11, 24)


class TestBoundedQueries:
    def _count(self, client, path) -> int:
        client.get(path)  # the first request of a session also writes the session: not the page's cost
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    def test_episode_page(self, client, users, team, pinned, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        episode, children = make_episode(users, team, state=S.PLAN_ACTIVE)
        outcome = episode.plan.outcomes.get()
        client.force_login(users["coach"])
        path = url("episode_detail", episode.pk)

        def add_records(n: int, start: int):
            for i in range(start, start + n):
                at = NOW + timedelta(hours=10 + i)
                es.episode_record_visit(
                    episode=episode,
                    kind="home_visit",
                    happened_at=at,
                    details=f"Visit {i}",
                    children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="ok") for c in children],
                    by=users["coach"],
                    now=at,
                )
                es.document_upload(
                    episode=episode,
                    file=SimpleUploadedFile(f"d{i}.pdf", b"%PDF-1"),
                    kind="other",
                    title="",
                    by=users["coach"],
                    now=at,
                )
                es.review_record(
                    episode=episode,
                    held_at=at,
                    attendees="Mum",
                    summary="ok",
                    child_voice="ok",
                    next_review_on=date(2027, 1, 1),
                    progress={outcome.pk: (2, "")},
                    by=users["coach"],
                    now=at,
                )

        add_records(1, 0)
        few = self._count(client, path)
        add_records(6, 1)
        many = self._count(client, path)
        assert many == few
        assert many <= 20  # the council-scale budget

    def test_my_cases(self, client, users, team, pinned):
        make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        few = self._count(client, url("my_cases"))
        for _ in range(4):
            make_episode(users, team, state=S.FIRST_VISIT)
        body = client.get(url("my_cases")).content.decode()
        assert "5 open families" in body
        assert self._count(client, url("my_cases")) == few

    def test_allocation_pages(self, client, users, team, pinned):
        episode, _ = make_episode(users, team)
        client.force_login(users["teamlead"])
        few_list = self._count(client, url("pre_allocation"))
        few_page = self._count(client, url("allocate", episode.pk))
        for i in range(4):
            make_user(f"coach{i}", "Practitioner", team)
            make_episode(users, team, state=S.ALLOCATED)
            make_episode(users, team)
        assert self._count(client, url("pre_allocation")) == few_list
        body = client.get(url("allocate", episode.pk)).content.decode()
        assert "4 of 20 families" in body  # the coach's caseload against capacity
        assert self._count(client, url("allocate", episode.pk)) == few_page


def test_navigation_by_role(client, users, pinned):
    for username, label in (
        ("coach", "My cases"),
        ("teamlead", "Allocation"),
        ("manager", "Sign-off"),
        ("dutymanager", "Sign-off"),
    ):
        client.force_login(users[username])
        nav = client.get("/").content.decode().split('id="navigation"')[1].split("</ul>")[0]
        assert f">{label}<" in nav


def test_episode_states_listed_in_order():
    assert Episode.OPEN_STATES[-1] == S.WRAPAROUND


def test_a_completed_assessment_is_shown_read_only(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
    client.force_login(users["coach"])
    body = client.get(url("assessment", episode.pk)).content.decode()
    assert "Targeted family support with a focus on routines." in body
    assert "Getting a good education" in body
    assert "Complete the assessment" not in body
