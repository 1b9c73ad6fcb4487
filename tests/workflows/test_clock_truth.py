"""Which user actions start, stop and end the clocks.

Every test drives the real services the pages call (workflows/episode_services.py,
oversight/services.py) and asserts the clock rows; each failed on the code before ADRs 16-19.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cases.models import PlannedVisit
from deadlines.models import Deadline, Status
from oversight import services as oversight
from tests.workflows.helpers import LONDON, NOW, S, make_episode, write_plan
from workflows import episode_services as es
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def clocks(rule_id, **subject):
    return list(Deadline.objects.filter(rule_id=rule_id, **subject).order_by("started_at", "id"))


def status_of(row, now):
    return Deadline.objects.with_status(now).get(pk=row.pk).status


@pytest.fixture
def family_solutions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"  # the service's procedure (ADR 0019)


@pytest.fixture
def families_first(settings):
    settings.EARLYHELP_RULEBOOKS = ["families-first"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "families-first"  # the service's procedure (ADR 0019)


class TestB20SupervisionCycle:
    def test_starts_when_a_never_supervised_practitioner_first_holds_a_case_and_recurs(
        self, users, team, family_solutions
    ):
        coach = users["coach"]
        make_episode(users, team, state=S.ALLOCATED)  # allocated at NOW + 1h
        (b20,) = clocks("B20", worker=coach)
        assert (b20.started_at, b20.stopped_at, b20.assignee) == (NOW + H, None, coach)
        assert b20.due_at.date() == date(2026, 12, 21)  # 4 calendar weeks
        # A second case does not start a second clock.
        make_episode(users, team, state=S.ALLOCATED)
        assert len(clocks("B20", worker=coach)) == 1
        # The supervision meets it and the next 4 weeks start.
        oversight.supervision_record(
            practitioner=coach,
            held_on=date(2026, 12, 1),
            notes="Caseload reviewed.",
            by=users["teamlead"],
            now=NOW + 200 * H,
        )
        first, second = clocks("B20", worker=coach)
        assert first.stop_reason == "met" and second.cycle == 2 and second.stopped_at is None

    def test_starts_when_a_practitioner_joins_a_team(self, client, users, team, family_solutions):
        from django.urls import reverse

        from accounts import roles
        from accounts.models import User

        client.force_login(users["admin"])
        response = client.post(
            reverse("accounts:user_create"),
            {
                "username": "newcoach",
                "first_name": "Nia",
                "last_name": "Wood",
                "email": "nia@example.invalid",
                "team": team.pk,
                "working_pattern": "full_time",
                "is_active": "on",
                "roles": [roles.PRACTITIONER],
                "new_password": "a-sufficiently-long-passphrase",
            },
        )
        assert response.status_code == 302
        (b20,) = clocks("B20", worker=User.objects.get(username="newcoach"))
        assert b20.stopped_at is None and b20.team == team


class TestPlannedVisitsB18:
    def plan(self, users, episode, at, **kw):
        return es.planned_visit_schedule(
            episode=episode,
            planned_at=at,
            kind=kw.get("kind", "home_visit"),
            visitor=users["coach"],
            seeing=kw.get("seeing", "Mum and both children"),
            by=kw.get("by", users["coach"]),
            now=kw.get("now", NOW + 10 * H),
        )

    def test_clock_starts_at_the_planned_time_warns_before_the_deadline_and_the_note_stops_it(
        self, users, team, family_solutions
    ):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        planned = datetime(2026, 11, 25, 14, 0, tzinfo=LONDON)  # Wednesday
        visit = self.plan(users, episode, planned)
        (b18,) = [c for c in clocks("B18", episode=episode) if c.key == visit.clock_key]
        assert b18.started_at == planned and b18.stopped_at is None
        assert b18.due_at.astimezone(LONDON).date() == date(2026, 11, 26)  # end of the next working day
        # Before the visit it is on time; the evening after, it is due soon (a warning, not yet a breach).
        assert status_of(b18, NOW + 10 * H) == Status.ON_TIME
        assert status_of(b18, datetime(2026, 11, 26, 9, 0, tzinfo=LONDON)) == Status.DUE_SOON
        # Recording the visit's note stops that visit's clock.
        note = es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=planned,
            details="Saw the family as planned.",
            by=users["coach"],
            now=planned + 3 * H,
            planned_visit=visit,
        )
        b18.refresh_from_db()
        assert (b18.stopped_at, b18.stop_reason) == (planned + 3 * H, "met")
        visit.refresh_from_db()
        assert visit.note == note and not visit.is_pending

    def test_one_clock_per_planned_visit_and_cancelling_withdraws_it(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        one = self.plan(users, episode, NOW + 48 * H)
        two = self.plan(users, episode, NOW + 72 * H)
        keys = {c.key for c in clocks("B18", episode=episode) if c.stopped_at is None}
        assert {one.clock_key, two.clock_key} <= keys
        es.planned_visit_cancel(visit=one, reason="Mum rang to rearrange.", by=users["coach"], now=NOW + 20 * H)
        by_key = {c.key: c for c in clocks("B18", episode=episode)}
        assert by_key[one.clock_key].stop_reason == "withdrawn"
        assert by_key[two.clock_key].stopped_at is None

    def test_refusals_say_why(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        with pytest.raises(WorkflowError, match="day that has passed"):
            self.plan(users, episode, NOW - 48 * H)
        waiting, _ = make_episode(users, team)
        with pytest.raises(WorkflowError, match="once it is allocated"):
            self.plan(users, waiting, NOW + 48 * H, by=users["teamlead"])
        with pytest.raises(WorkflowError, match="Only the lead professional"):
            es.planned_visit_schedule(
                episode=episode,
                planned_at=NOW + 48 * H,
                kind="home_visit",
                visitor=users["coach"],
                seeing="",
                by=users["mash"],
                now=NOW,
            )
        assert not PlannedVisit.objects.filter(episode=waiting).exists()


class TestB13B19Closure:
    def test_b13_opens_one_clock_per_record_and_closure_ends_b13_and_b19(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        coach = users["coach"]
        write_plan(episode, coach, NOW + 10 * H)
        es.plan_activate(episode=episode, by=coach, now=NOW + 11 * H)
        open_b13 = [c for c in clocks("B13", episode=episode) if c.stopped_at is None]
        assert len(open_b13) == 2  # the assessment's and the plan's oversight
        assert {c.key.split(":")[0] for c in open_b13} == {"assessment", "plan"}
        oversight.supervision_record(
            practitioner=coach,
            held_on=date(2026, 11, 24),
            notes="Discussed the family.",
            by=users["teamlead"],
            now=NOW + 30 * H,
            cases_discussed=[episode],
        )
        assert clocks("B19", episode=episode)[0].stopped_at is None
        es.family_declines(episode=episode, reason="Mum declined further help.", by=coach, now=NOW + 40 * H)
        for rule in ("B13", "B19", "B12", "B14"):
            assert all(c.stopped_at is not None for c in clocks(rule, episode=episode)), rule
        assert {c.stop_reason for c in clocks("B13", episode=episode)} == {"withdrawn"}

    def test_a_managers_decision_stops_only_the_clock_of_the_record_it_oversees(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        write_plan(episode, users["coach"], NOW + 10 * H)
        es.plan_activate(episode=episode, by=users["coach"], now=NOW + 11 * H)
        episode.refresh_from_db()

        def decide(oversees, at, record=None):
            oversight.managers_decision_record(
                episode=episode,
                oversees=oversees,
                record=record,
                decision="Agreed.",
                rationale="SMART.",
                by=users["manager"],
                now=at,
            )

        def b13():
            return {c.key.split(":")[0]: c for c in clocks("B13", episode=episode)}

        # Monthly oversight is not the plan's or the assessment's: both stay due; B14 is met.
        decide("monthly", NOW + 15 * H)
        assert all(c.stopped_at is None for c in b13().values())
        assert clocks("B14", episode=episode)[0].stop_reason == "met"
        # The decision on the plan meets the plan's clock; the assessment's oversight is still due.
        decide("plan", NOW + 20 * H, record=episode.plan)
        assert b13()["plan"].stop_reason == "met"
        assert b13()["assessment"].stopped_at is None
        # Not linked to a record: it oversees the assessment waiting for oversight.
        decide("assessment", NOW + 21 * H)
        assert {c.stop_reason for c in b13().values()} == {"met"}
        assert b13()["assessment"].stopped_at == NOW + 21 * H

    def test_a_decision_on_one_review_leaves_another_review_s_oversight_due(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        episode.refresh_from_db()
        outcome = episode.plan.outcomes.first()
        reviews = []
        for days in (14, 15):
            at = NOW + days * 24 * H
            reviews.append(
                es.review_record(
                    episode=episode,
                    held_at=at,
                    attendees="Mum\nCoach",
                    summary="Better mornings.",
                    child_voice="School is OK now.",
                    next_review_on=(at + timedelta(days=28)).date(),
                    progress={outcome.pk: (3, "Better")},
                    by=users["coach"],
                    now=at,
                )
            )
        oversight.managers_decision_record(
            episode=episode,
            oversees="review",
            record=reviews[1],
            decision="Agreed.",
            rationale="Progress.",
            by=users["manager"],
            now=NOW + 16 * 24 * H,
        )
        by_key = {c.key: c for c in clocks("B13", episode=episode)}
        assert by_key[f"review:{reviews[1].pk}"].stop_reason == "met"
        assert by_key[f"review:{reviews[0].pk}"].stopped_at is None

    def test_a_clock_kept_before_clocks_were_per_record_is_stopped_by_any_decision(self, users, team, family_solutions):
        from deadlines import events
        from deadlines.services import deadline_record_event

        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        # An oversight clock with no record named, as every clock was before they were per record.
        deadline_record_event(event=events.ASSESSMENT_COMPLETED, now=NOW + 5 * H, episode=episode)
        (legacy,) = clocks("B13", episode=episode)
        assert legacy.key == ""
        oversight.managers_decision_record(
            episode=episode,
            oversees="assessment",
            decision="Agreed.",
            rationale="Clear.",
            by=users["manager"],
            now=NOW + 6 * H,
        )
        assert clocks("B13", episode=episode)[0].stop_reason == "met"


class TestB10NeedsAssessmentAndPlan:
    def test_assessment_alone_does_not_stop_it_the_plan_commenced_does(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)  # assessment at NOW + 4h
        (b10,) = clocks("B10", episode=episode)
        assert b10.stopped_at is None
        assert b10.stops_seen == ["assessment_completed"]
        es.plan_save(episode=episode, if_not_working="Meet again.", by=users["coach"], now=NOW + 30 * H)
        b10.refresh_from_db()
        assert (b10.stopped_at, b10.stop_reason) == (NOW + 30 * H, "met")


class TestFamiliesFirstVisits:
    def test_a9_is_not_stopped_by_a_phone_call_only_by_a_visit(self, users, team, families_first):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        (a9,) = clocks("A9", episode=episode)
        es.episode_record_visit(
            episode=episode,
            kind="phone_call",
            happened_at=NOW + 30 * H,
            details="Rang mum.",
            by=users["coach"],
            now=NOW + 30 * H,
        )
        a9.refresh_from_db()
        assert a9.stopped_at is None
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=NOW + 40 * H,
            details="Saw the family.",
            by=users["coach"],
            now=NOW + 40 * H,
        )
        a9.refresh_from_db()
        assert (a9.stopped_at, a9.stop_reason) == (NOW + 40 * H, "met")
        assert clocks("A9", episode=episode)[-1].cycle == 2  # every 10 working days: the next is running

    def test_a5_is_stopped_by_a_visit_even_if_no_child_is_spoken_to(self, users, team, families_first):
        episode, _ = make_episode(users, team, state=S.INITIAL_CONTACT)
        es.episode_record_visit(
            episode=episode,
            kind="office_visit",
            happened_at=NOW + 5 * H,
            details="Met mum at the hub; the children were at school.",
            by=users["coach"],
            now=NOW + 6 * H,
        )
        (a5,) = clocks("A5", episode=episode)
        assert (a5.stopped_at, a5.stop_reason) == (NOW + 5 * H, "met")


class TestPlanningMeetingIsTheRulebooksStep:
    def test_family_solutions_activates_the_plan_without_a_planning_meeting(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        write_plan(episode, users["coach"], NOW + 10 * H)
        es.plan_activate(episode=episode, by=users["coach"], now=NOW + 11 * H)
        episode.refresh_from_db()
        assert episode.state == S.PLAN_ACTIVE
        assert clocks("B12", episode=episode)[0].started_at == NOW + 11 * H

    def test_families_first_needs_its_planning_meeting_and_says_so(self, users, team, families_first):
        episode, _ = make_episode(users, team, state=S.ASSESSMENT_COMPLETED)
        write_plan(episode, users["coach"], NOW + 10 * H)
        with pytest.raises(WorkflowError, match="record the initial planning meeting first"):
            es.plan_activate(episode=episode, by=users["coach"], now=NOW + 11 * H)
        episode.refresh_from_db()
        assert episode.state == S.ASSESSMENT_COMPLETED
