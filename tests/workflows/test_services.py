"""Episode services: each action, its refusals (saying why), its records and the clocks it moves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import (
    CaseNote,
    ClosureRequest,
    Communication,
    Document,
    Episode,
    StepUp,
)
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.factories import family_with_children
from tests.workflows.helpers import NOW, S, full_assessment, make_episode, write_plan
from workflows import episode_services as es
from workflows import services
from workflows.errors import CaseChanged, WorkflowError

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def clock(episode, rule_id):
    return Deadline.objects.filter(episode=episode, rule_id=rule_id).order_by("-cycle").first()


class TestAllocation:
    def test_allocates_and_stops_the_allocation_clocks(self, users, team):
        episode, _ = make_episode(users, team)
        # The team's service follows Family Solutions (the default): no Families First clocks (ADR 0019).
        assert clock(episode, "A4") is None
        es.episode_allocate(
            episode=episode, practitioner=users["coach"], by=users["teamlead"], now=NOW + H, expected_version=1
        )
        episode.refresh_from_db()
        assert episode.state == S.ALLOCATED
        assert episode.lead_professional == users["coach"]
        assert episode.allocated_by == users["teamlead"]
        assert clock(episode, "B8").stopped_at is None  # initial contact within 2 days starts
        assert clock(episode, "B7").stop_reason == "withdrawn"  # off the pre-allocation list

    def test_above_capacity_needs_a_reason(self, users, team):
        coach = users["coach"]
        coach.caseload_capacity_override = 1
        coach.save()
        make_episode(users, team, state=S.ALLOCATED)
        second, _ = make_episode(users, team)
        with pytest.raises(WorkflowError, match="already has 1 family against a capacity of 1: give the reason"):
            es.episode_allocate(episode=second, practitioner=coach, by=users["teamlead"], now=NOW + H)
        es.episode_allocate(
            episode=second, practitioner=coach, by=users["teamlead"], now=NOW + H, reason="Knows the family well"
        )
        second.refresh_from_db()
        assert second.allocation_reason == "Knows the family well"

    def test_only_a_team_leader_of_the_team_allocates(self, users, team, other_team):
        episode, _ = make_episode(users, team)
        with pytest.raises(WorkflowError, match="Only a team leader"):
            es.episode_allocate(episode=episode, practitioner=users["coach"], by=users["coach"], now=NOW)
        stranger = make_user("farcoach", "Practitioner", other_team)
        with pytest.raises(WorkflowError, match="is not in Northfield Family Hub"):
            es.episode_allocate(episode=episode, practitioner=stranger, by=users["teamlead"], now=NOW)

    def test_a_second_allocation_is_refused_saying_why(self, users, team):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        # Allocating again to the same lead professional is refused; another practitioner is a reallocation.
        with pytest.raises(WorkflowError, match="is already the lead professional"):
            es.episode_allocate(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=NOW + 5 * H)


class TestVisits:
    def test_first_contact_then_first_visit_with_the_child_seen(self, users, team):
        episode, children = make_episode(users, team, state=S.ALLOCATED)
        coach = users["coach"]
        call = es.episode_record_visit(
            episode=episode, kind="phone_call", happened_at=NOW + 2 * H, details="Rang mum.", by=coach, now=NOW + 3 * H
        )
        assert call.is_initial_contact
        episode.refresh_from_db()
        assert episode.state == S.INITIAL_CONTACT
        assert clock(episode, "B8").stop_reason == "met"
        # A home visit where no child was seen is recorded but is not the first visit.
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=NOW + 4 * H,
            details="Children at school.",
            by=coach,
            now=NOW + 4 * H,
        )
        episode.refresh_from_db()
        assert episode.state == S.INITIAL_CONTACT
        visit = es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=NOW + 26 * H,
            details="Saw both children.",
            children=[es.ChildPart(child=children[0], seen=True, spoken_to=True, views="I miss my dad.")],
            by=coach,
            now=NOW + 27 * H,
        )
        assert visit.is_first_visit
        assert visit.child_views.get().views == "I miss my dad."
        episode.refresh_from_db()
        assert episode.state == S.FIRST_VISIT
        assert clock(episode, "B9").stop_reason == "met"
        assert clock(episode, "A5") is None  # one procedure per service: Family Solutions here

    def test_b18_runs_from_the_visit_to_its_recording(self, users, team):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        happened = NOW + timedelta(days=1)
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=happened,
            details="Routine visit.",
            by=users["coach"],
            now=happened + timedelta(days=4),
        )
        b18 = Deadline.objects.filter(episode=episode, rule_id="B18", started_at=happened).get()
        assert b18.stopped_at == happened + timedelta(days=4)
        assert b18.stopped_at > b18.due_at  # recorded late: met late, the board will show it

    def test_duty_contact_only_on_the_pre_allocation_list(self, users, team):
        episode, _ = make_episode(users, team)
        note = es.duty_contact_record(
            episode=episode,
            happened_at=NOW + H,
            details="Checked in with mum; no change.",
            by=users["duty"],
            now=NOW + H,
        )
        assert note.kind == CaseNote.Kind.DUTY_CONTACT
        assert clock(episode, "B7").cycle == 2  # the weekly clock restarts
        with pytest.raises(WorkflowError, match="Only a duty worker"):
            es.duty_contact_record(episode=episode, happened_at=NOW + H, details="x", by=users["coach"], now=NOW + H)
        with pytest.raises(WorkflowError, match="waiting for allocation: record a duty contact"):
            es.episode_record_visit(
                episode=episode, kind="home_visit", happened_at=NOW, details="x", by=users["teamlead"], now=NOW
            )

    def test_a_visit_in_the_future_is_refused(self, users, team):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="cannot be in the future"):
            es.episode_record_visit(
                episode=episode, kind="home_visit", happened_at=NOW + 9 * H, details="x", by=users["coach"], now=NOW
            )

    def test_outsider_cannot_record(self, users, team):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="Only the lead professional"):
            es.episode_record_visit(
                episode=episode, kind="home_visit", happened_at=NOW, details="x", by=users["outsider"], now=NOW
            )


class TestAssessment:
    def test_starts_after_the_first_visit_and_completes_when_whole(self, users, team):
        episode, children = make_episode(users, team, state=S.FIRST_VISIT)
        data = full_assessment(children)
        data["sections"]["child_voice"] = ""
        draft = es.assessment_save(episode=episode, by=users["coach"], now=NOW + 9 * H, expected_version=0, **data)
        episode.refresh_from_db()
        assert episode.state == S.ASSESSMENT
        with pytest.raises(WorkflowError, match="Add the child's voice"):
            es.assessment_save(
                episode=episode,
                by=users["coach"],
                now=NOW + 10 * H,
                expected_version=draft.version,
                complete=True,
                **data,
            )
        data["sections"]["child_voice"] = "They want things calmer at home."
        done = es.assessment_save(
            episode=episode,
            by=users["coach"],
            now=NOW + 10 * H,
            expected_version=draft.version,
            complete=True,
            **data,
        )
        episode.refresh_from_db()
        assert episode.state == S.ASSESSMENT_COMPLETED
        assert done.completed_at == NOW + 10 * H
        assert done.needs.count() == 10
        assert done.risks.get(indicator="attendance").level == 3
        assert clock(episode, "A6") is None and clock(episode, "A7") is None  # Family Solutions only

    def test_before_the_first_visit_it_says_why(self, users, team):
        episode, children = make_episode(users, team, state=S.INITIAL_CONTACT)
        with pytest.raises(WorkflowError, match="the assessment starts after the first visit"):
            es.assessment_save(episode=episode, by=users["coach"], now=NOW + 5 * H, **full_assessment(children))

    def test_two_edits_from_the_same_version_the_second_is_told(self, users, team):
        episode, children = make_episode(users, team, state=S.FIRST_VISIT)
        first = es.assessment_save(
            episode=episode, by=users["coach"], now=NOW + 5 * H, expected_version=0, **full_assessment(children)
        )
        es.assessment_save(
            episode=episode,
            by=users["coach"],
            now=NOW + 6 * H,
            expected_version=first.version,
            **full_assessment(children),
        )
        with pytest.raises(CaseChanged, match="Someone else saved this assessment"):
            es.assessment_save(
                episode=episode,
                by=users["teamlead"],
                now=NOW + 6 * H,
                expected_version=first.version,
                **full_assessment(children),
            )

    def test_step_down_with_a_recent_social_care_assessment_skips_it(self, users, team):
        family, _ = family_with_children(1, team=team)
        episode = es.step_down_receive(
            family=family,
            team=team,
            social_care_assessment_date=date(2026, 10, 1),
            summary="CIN plan ended.",
            by=users["teamlead"],
            now=NOW,
        )
        assert clock(episode, "B15").stopped_at is None
        es.episode_allocate(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=NOW + H)
        assert clock(episode, "B15").stop_reason == "met"
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=NOW + 2 * H,
            details="Visit.",
            by=users["coach"],
            now=NOW + 2 * H,
            children=[es.ChildPart(child=family.people.first(), seen=True, spoken_to=True)],
        )
        episode.refresh_from_db()
        assert episode.state == S.FIRST_VISIT
        es.assessment_not_needed(episode=episode, by=users["coach"], now=NOW + 3 * H)
        episode.refresh_from_db()
        assert episode.state == S.ASSESSMENT_COMPLETED

    def test_an_old_social_care_assessment_needs_an_eha(self, users, team):
        family, children = family_with_children(1, team=team)
        episode = es.step_down_receive(
            family=family,
            team=team,
            social_care_assessment_date=date(2026, 6, 1),
            summary="Old CYPA.",
            by=users["teamlead"],
            now=NOW,
        )
        with pytest.raises(WorkflowError, match="3 months old or more: an Early Help assessment is needed"):
            es.assessment_not_needed(episode=episode, by=users["teamlead"], now=NOW)


class TestPlan:
    def test_activation_refused_naming_the_outcome_missing_a_smart_field(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        write_plan(episode, users["coach"], NOW + 9 * H, complete=False)
        with pytest.raises(WorkflowError) as refused:
            es.plan_activate(episode=episode, by=users["coach"], now=NOW + 9 * H)
        assert "Outcome 1 (Sam goes to school every day) is missing: how progress will be measured." in str(
            refused.value
        )
        episode.refresh_from_db()
        assert episode.state == S.PLANNING

    def test_activation_stops_the_plan_clocks(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        assert clock(episode, "B11").stop_reason == "met"
        assert clock(episode, "B12").stopped_at is None
        assert clock(episode, "A9") is None  # Families First's visits clock: not this service's procedure

    def test_before_the_planning_meeting_it_says_why(self, users, team):
        team.service.rulebook = "families-first"  # Families First's procedure has the meeting (ADR 0019)
        team.service.save()
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        write_plan(episode, users["coach"], NOW + 9 * H)
        with pytest.raises(WorkflowError, match="plan becomes active at the initial planning meeting, which this"):
            es.plan_activate(episode=episode, by=users["coach"], now=NOW + 9 * H)

    def test_copy_sent_stops_a8(self, users, team):
        team.service.rulebook = "families-first"  # A8 is a Families First rule (ADR 0019)
        team.service.save()
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        es.plan_copy_sent(
            episode=episode,
            recipient="Mum",
            method="in_person",
            sent_at=NOW + 9 * H,
            by=users["coach"],
            now=NOW + 9 * H,
        )
        assert clock(episode, "A8").stop_reason == "met"


class TestReview:
    def test_needs_progress_on_every_outcome_and_a_later_next_review(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        outcome = episode.plan.outcomes.get()
        kwargs = {
            "episode": episode,
            "held_at": NOW + 9 * H,
            "attendees": "Mum\nCoach",
            "summary": "Better mornings.",
            "child_voice": "Sam: school is OK now.",
            "by": users["coach"],
            "now": NOW + 9 * H,
            "next_review_on": date(2027, 1, 4),
        }
        with pytest.raises(WorkflowError, match="Say what progress has been made on outcome 1"):
            es.review_record(progress={}, **kwargs)
        review = es.review_record(progress={outcome.pk: (3, "95% this month")}, **kwargs)
        assert review.progress.get().get_rating_display() == "Good progress"
        assert clock(episode, "B12").cycle == 2
        assert clock(episode, "A10") is None  # Families First's review clock: not this service's procedure


class TestClosure:
    CHECKLIST = dict.fromkeys(ClosureRequest.CHECKLIST, True)

    def test_refused_listing_what_is_not_done(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        with pytest.raises(WorkflowError) as refused:
            es.closure_request(
                episode=episode,
                checklist={**self.CHECKLIST, "documents_uploaded": False},
                summary="Goals met.",
                child_voice="",
                proposed_reason="goals_met",
                by=users["coach"],
                now=NOW + 9 * H,
            )
        assert str(refused.value) == (
            "The case is not ready to close. Not yet done: Documents are uploaded; "
            "The child's voice at closure is recorded."
        )

    def request(self, episode, users, at):
        return es.closure_request(
            episode=episode,
            checklist=self.CHECKLIST,
            summary="Attendance 97%.",
            child_voice="Sam is happy.",
            proposed_reason="goals_met",
            by=users["coach"],
            now=at,
        )

    def test_sign_off_closes_and_records_the_letter_and_partner_notice(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        closure = self.request(episode, users, NOW + 9 * H)
        with pytest.raises(WorkflowError, match="Only a manager"):
            es.closure_sign_off(
                closure=closure,
                ended_on=date(2026, 11, 23),
                reason="goals_met",
                letter_recipient="Mum",
                letter_method="letter",
                partners="School",
                by=users["coach"],
                now=NOW + 10 * H,
            )
        es.closure_sign_off(
            closure=closure,
            ended_on=date(2026, 11, 23),
            reason="goals_met",
            letter_recipient="Mum",
            letter_method="letter",
            partners="Exampleton Primary",
            by=users["manager"],
            now=NOW + 10 * H,
        )
        episode.refresh_from_db()
        assert episode.state == S.CLOSED
        assert episode.closure_reason == "goals_met"
        kinds = set(Communication.objects.filter(episode=episode).values_list("kind", flat=True))
        assert {Communication.Kind.CLOSURE_LETTER, Communication.Kind.PARTNER_NOTICE} <= kinds
        assert clock(episode, "B17").stop_reason == "met"
        assert not Deadline.objects.filter(episode=episode, stopped_at__isnull=True, rule_id__in=["B12", "A9"]).exists()

    def test_return_goes_back_to_the_plan(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        closure = self.request(episode, users, NOW + 9 * H)
        with pytest.raises(WorkflowError, match="Say why"):
            es.closure_return(closure=closure, reason="", by=users["manager"], now=NOW + 10 * H)
        es.closure_return(closure=closure, reason="Actions for outcome 1 open.", by=users["manager"], now=NOW + 10 * H)
        episode.refresh_from_db()
        closure.refresh_from_db()
        assert episode.state == S.PLAN_ACTIVE
        assert closure.status == ClosureRequest.Status.RETURNED

    def test_family_declines_after_assessment(self, users, team):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        es.family_declines(episode=episode, reason="Mum does not want support now.", by=users["coach"], now=NOW + 9 * H)
        episode.refresh_from_db()
        assert episode.state == S.CLOSED
        assert episode.closure_reason == "family_declined"
        assert episode.closure_note == "Mum does not want support now."


class TestStepUp:
    def propose(self, episode, users, at):
        return es.step_up_propose(
            episode=episode,
            concern="increasing_risk",
            reason="Two police call-outs in a week.",
            multi_agency_views="School and police worried.",
            family_views="Mum says it was a one-off.",
            by=users["coach"],
            now=at,
        )

    def send(self, step_up, users, at):
        return es.step_up_send_to_duty_manager(
            step_up=step_up,
            next_step="marf",
            parenting="partly",
            judgement="Risk is rising.",
            by=users["manager"],
            now=at,
        )

    def test_accepted_with_wraparound(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        step_up = self.propose(episode, users, NOW + 9 * H)
        assert clock(episode, "C1").stopped_at is None
        with pytest.raises(WorkflowError, match="has not sent this request"):
            es.step_up_decide(
                step_up=step_up,
                decision="accepted",
                wraparound=True,
                notes="CAFA",
                by=users["dutymanager"],
                now=NOW + 10 * H,
            )
        self.send(step_up, users, NOW + 10 * H)
        assert clock(episode, "C1").stop_reason == "met"
        es.step_up_decide(
            step_up=step_up,
            decision="accepted",
            wraparound=True,
            notes="Allocated for a CAFA.",
            by=users["dutymanager"],
            now=NOW + 11 * H,
        )
        episode.refresh_from_db()
        assert episode.state == S.WRAPAROUND
        assert episode.key_worker_role == "Wraparound worker"
        assert clock(episode, "C2").stop_reason == "met"

    def test_accepted_and_closed(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        step_up = self.propose(episode, users, NOW + 9 * H)
        self.send(step_up, users, NOW + 10 * H)
        es.step_up_decide(
            step_up=step_up,
            decision="accepted",
            wraparound=False,
            notes="Social work leads.",
            by=users["dutymanager"],
            now=NOW + 11 * H,
        )
        episode.refresh_from_db()
        assert episode.state == S.CLOSED
        assert episode.closure_reason == "stepped_up"

    def test_returned_needs_a_focused_plan_and_goes_back(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        step_up = self.propose(episode, users, NOW + 9 * H)
        self.send(step_up, users, NOW + 10 * H)
        with pytest.raises(WorkflowError, match="family meeting"):
            es.step_up_decide(
                step_up=step_up,
                decision="returned",
                notes="Below threshold.",
                by=users["dutymanager"],
                now=NOW + 11 * H,
            )
        es.step_up_decide(
            step_up=step_up,
            decision="returned",
            notes="Below threshold.",
            focused_plan_note="Family meeting Friday.",
            by=users["dutymanager"],
            now=NOW + 11 * H,
        )
        episode.refresh_from_db()
        assert episode.state == S.PLAN_ACTIVE
        assert StepUp.objects.get().decision == "returned"

    def test_only_the_duty_manager_decides(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        step_up = self.propose(episode, users, NOW + 9 * H)
        self.send(step_up, users, NOW + 10 * H)
        with pytest.raises(WorkflowError, match="Only a duty manager"):
            es.step_up_decide(
                step_up=step_up, decision="returned", notes="x", focused_plan_note="y", by=users["manager"], now=NOW
            )


class TestConcurrency:
    def test_second_transition_with_the_same_version_is_told_the_case_changed(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        seen = episode.version
        TestStepUp().propose(episode, users, NOW + 9 * H)
        with pytest.raises(CaseChanged, match="was changed by someone else"):
            es.closure_request(
                episode=episode,
                checklist=TestClosure.CHECKLIST,
                summary="Done.",
                child_voice="Happy.",
                proposed_reason="goals_met",
                by=users["coach"],
                now=NOW + 9 * H,
                expected_version=seen,
            )
        episode.refresh_from_db()
        assert episode.state == S.STEP_UP_REQUESTED


class TestEscalation:
    def test_recorded_and_resolved(self, users, team):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        escalation = es.escalation_record(
            episode=episode,
            about="step_up",
            disagreement="Duty says below threshold.",
            escalated_to="Head of EH",
            by=users["teamlead"],
            now=NOW,
        )
        es.escalation_resolve(escalation=escalation, outcome="Joint visit agreed.", by=users["manager"], now=NOW + H)
        escalation.refresh_from_db()
        assert escalation.outcome == "Joint visit agreed."
        with pytest.raises(WorkflowError, match="You cannot escalate"):
            es.escalation_record(
                episode=episode, about="step_up", disagreement="x", escalated_to="y", by=users["mash"], now=NOW
            )


class TestDocuments:
    def upload(self, episode, users, name, content):
        return es.document_upload(
            episode=episode,
            file=SimpleUploadedFile(name, content),
            kind="consent",
            title="",
            by=users["coach"],
            now=NOW,
        )

    def test_a_pdf_is_stored_under_a_private_path(self, users, team, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        document = self.upload(episode, users, "consent.pdf", b"%PDF-1.7\n...")
        assert document.file.name.startswith(f"private/episodes/{episode.pk}/")
        assert "consent" not in document.file.name
        assert document.content_type == "application/pdf"
        assert (tmp_path / document.file.name).exists()

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("run.exe", b"MZ", "The file must be one of"),
            ("fake.pdf", b"<html>", "does not look like a PDF file"),
            ("empty.pdf", b"", "The file is empty"),
        ],
    )
    def test_wrong_type_is_refused(self, users, team, settings, tmp_path, name, content, message):
        settings.MEDIA_ROOT = tmp_path
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match=message):
            self.upload(episode, users, name, content)
        assert not Document.objects.exists()

    def test_too_large_is_refused(self, users, team, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        settings.EARLYHELP_MAX_DOCUMENT_MB = 1
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="smaller than 1 MB"):
            self.upload(episode, users, "big.pdf", b"%PDF-" + bytes(1024 * 1024))


def test_step_down_only_one_open_episode(users, team):
    episode, _ = make_episode(users, team)
    with pytest.raises(WorkflowError, match="already has an open Early Help episode"):
        es.step_down_receive(
            family=episode.family,
            team=team,
            social_care_assessment_date=date(2026, 10, 1),
            summary="x",
            by=users["teamlead"],
            now=NOW,
        )
    assert Episode.objects.count() == 1


def test_a_new_contact_within_3_months_of_an_accepted_step_up_is_flagged(users, team):
    episode, children = make_episode(users, team, state=S.PLAN_ACTIVE)
    step_up = TestStepUp().propose(episode, users, NOW + 9 * H)
    TestStepUp().send(step_up, users, NOW + 10 * H)
    es.step_up_decide(
        step_up=step_up,
        decision="accepted",
        wraparound=False,
        notes="Social work leads.",
        by=users["dutymanager"],
        now=NOW + 11 * H,
    )
    contact = services.contact_receive(
        family=episode.family,
        subjects=children,
        received_at=NOW + 12 * H,
        route="email",
        source="2A",
        presenting_needs="New worry.",
        by=users["mash"],
        now=NOW + 12 * H,
    )
    assert contact.recent_step_up_flag
