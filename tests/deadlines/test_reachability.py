"""Reachability as a checked property: every rule of every shipped rulebook can start, stop and end.

For each rule, a path of user actions (the same service calls the pages make) that starts its
clock, one that then stops it and, where the rule has `ends_on`, one that then ends it; the test
asserts the Deadline row after each. The table has one entry per rule, and each path is a tuple
of small steps shared by all entries, so a fix elsewhere (another event, another step) changes
one entry. `test_the_table_covers_every_rule_of_every_shipped_rulebook` fails when a rulebook
gains a rule the table does not drive.

All shipped rulebooks are loaded; each rule's journey runs in a service that follows the rule's
procedure (ADR 0019), the shared step-up rules alongside.

The service, its teams and the users of every role are made once for the module and rolled back
after it (tests/module_data.py, ADR 0070); each journey runs in its own savepoint with its own
copies of them, its family and everything it does made afresh, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

import pytest

from cases.models import ClosureRequest, Communication, Contact, Episode, Meeting, MeetingItem
from deadlines import procedures
from deadlines.models import Deadline
from deadlines.rulebook import available_rulebooks, load_rulebooks
from oversight import services as oversight
from tests.conftest import make_users
from tests.factories import ServiceFactory, TeamFactory, family_with_children
from tests.module_data import fresh, made_once
from tests.workflows.helpers import full_assessment, write_plan
from workflows import episode_services as es
from workflows import services
from workflows.errors import WorkflowError

from .conftest import london

pytestmark = pytest.mark.django_db

START = london(2026, 11, 23, 9, 0, 0)  # a Monday
BOOKS = {book.slug: book for book in load_rulebooks(available_rulebooks())}


@pytest.fixture(scope="module")
def module_people(django_db_setup, django_db_blocker):
    """The `users` and `team` fixtures' records (tests/conftest.py), made once for the module."""

    def make():
        service = ServiceFactory(name="Early Help")
        team = TeamFactory(name="Northfield Family Hub", service=service)
        front_door_team = TeamFactory(name="Front Door", service=service, kind="front_door")
        return team, make_users(team, front_door_team, service)

    with made_once(django_db_blocker, make) as people:
        yield people


@pytest.fixture
def people(module_people, db):
    return fresh(module_people)


@pytest.fixture
def team(people):
    return people[0]


@pytest.fixture
def users(people):
    return people[1]


class Journey:
    """One family's way through the service; each step advances the clock an hour (to the second)."""

    def __init__(self, users, team):
        self.users, self.team = users, team
        self.family, self.children = family_with_children(2, team=team)
        self.t = START
        self.contact: Contact | None = None
        self.episode: Episode | None = None
        self.step_up = None
        self.closure = None
        self.planned_visit = None

    def tick(self, **delta) -> datetime:
        # Seconds on every step, as the system's own times have them.
        self.t += timedelta(**delta) if delta else timedelta(hours=1, seconds=17)
        return self.t

    def refresh(self) -> None:
        if self.contact is not None:
            self.contact.refresh_from_db()
        if self.episode is None and self.contact is not None:
            self.episode = Episode.objects.filter(contact=self.contact).first()
        if self.episode is not None:
            self.episode.refresh_from_db()

    def subject(self, applies_to: str) -> dict:
        if applies_to == "worker":
            return {"worker": self.users["coach"]}
        return {applies_to: getattr(self, applies_to)}


Step = Callable[[Journey], None]


# --- Shared steps: each one is a user action through the service its page calls ------------------


def receive(j: Journey, *, route: str = Contact.Route.EMAIL, consent: bool = True) -> None:
    at = j.tick()
    j.contact = services.contact_receive(
        family=j.family,
        subjects=j.children,
        received_at=at,
        route=route,
        source="2A",
        presenting_needs="Attendance has dropped.",
        referrer={"referrer_name": "Ms Teacher", "referrer_agency": "Exampleton Primary"},
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Parent", "recorded_on": at.date()}
        if consent
        else None,
        by=j.users["mash"],
        now=at,
    )


def screen(j: Journey) -> None:
    services.contact_start_screening(contact=j.contact, by=j.users["mash"], now=j.tick())
    j.refresh()


def decide(j: Journey, decision: str, **kwargs) -> None:
    j.refresh()
    services.contact_decide(
        contact=j.contact,
        decision=decision,
        rationale="Needs are clear.",
        by=j.users["mashlead"],
        now=j.tick(),
        **kwargs,
    )
    j.refresh()


def allocate_to_team(j: Journey) -> None:
    decide(j, Contact.Decision.ALLOCATE, team=j.team)


signpost = partial(decide, decision=Contact.Decision.SIGNPOST)
await_consent = partial(decide, decision=Contact.Decision.AWAIT_CONSENT)


def to_meeting(kind: str) -> Step:
    return partial(decide, decision=Contact.Decision.MEETING, meeting_kind=kind)


def meeting_outcome(kind: str, outcome: str = MeetingItem.Outcome.ALLOCATE) -> Step:
    def step(j: Journey) -> None:
        lead = j.users["mashlead"]
        held = j.tick()
        meeting = services.meeting_schedule(kind=kind, scheduled_for=held, location="Hub", attendees="", by=lead)
        item = services.meeting_add_contact(meeting=meeting, contact=j.contact, by=lead)
        team = j.team if outcome == MeetingItem.Outcome.ALLOCATE else None
        # The outcome is typed in later than the meeting was held.
        services.meeting_record_outcome(
            item=item, outcome=outcome, reason="Agreed.", team=team, by=lead, now=j.tick(minutes=50)
        )
        j.refresh()

    return step


def referral_sent(j: Journey) -> None:
    at = j.tick()
    services.contact_referral_sent(contact=j.contact, sent_at=at, by=j.users["mashlead"], now=at)


def send(kind: str) -> Step:
    def step(j: Journey) -> None:
        at = j.tick()
        services.communication_record(
            family=j.family,
            contact=j.contact,
            kind=kind,
            recipient="Ms Teacher",
            method=Communication.Method.EMAIL,
            sent_at=at,
            by=j.users["mash"],
            now=at,
        )

    return step


def step_down_page(j: Journey) -> None:
    j.episode = es.step_down_receive(
        family=j.family,
        team=j.team,
        social_care_assessment_date=date(2026, 10, 1),
        summary="Social care closed; family agreed to Early Help.",
        by=j.users["teamlead"],
        now=j.tick(),
    )


def allocate(j: Journey) -> None:
    j.refresh()
    es.episode_allocate(episode=j.episode, practitioner=j.users["coach"], by=j.users["teamlead"], now=j.tick())
    j.refresh()


def note(kind: str, *, seen: bool = False, by: str = "coach") -> Step:
    def step(j: Journey) -> None:
        at = j.tick()
        children = [es.ChildPart(child=c, seen=seen, spoken_to=seen, views="Fine.") for c in j.children]
        es.episode_record_visit(
            episode=j.episode,
            kind=kind,
            happened_at=at,
            details="What happened.",
            children=children if seen else (),
            by=j.users[by],
            now=at,
        )
        j.refresh()

    return step


phone_call = note("phone_call")
home_visit = note("home_visit", seen=True)
duty_contact = note("duty_contact", by="duty")
case_discussion = note("case_discussion")


def plan_visit(j: Journey) -> None:
    at = j.tick()
    j.planned_visit = es.planned_visit_schedule(
        episode=j.episode,
        planned_at=at + timedelta(hours=2),
        kind="home_visit",
        visitor=j.users["coach"],
        seeing="The family",
        by=j.users["coach"],
        now=at,
    )


def record_planned_visit(j: Journey) -> None:
    at = j.tick(hours=3)
    es.episode_record_visit(
        episode=j.episode,
        kind="home_visit",
        happened_at=at,
        details="Visited as planned.",
        children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="Fine.") for c in j.children],
        by=j.users["coach"],
        now=at,
        planned_visit=j.planned_visit,
    )
    j.refresh()


def cancel_planned_visit(j: Journey) -> None:
    es.planned_visit_cancel(
        visit=j.planned_visit, reason="The family asked to move it.", by=j.users["coach"], now=j.tick()
    )


def assess(j: Journey) -> None:
    es.assessment_save(
        episode=j.episode, by=j.users["coach"], now=j.tick(), complete=True, **full_assessment(j.children)
    )
    j.refresh()


def planning_meeting(j: Journey) -> None:
    at = j.tick()
    es.planning_meeting_record(
        episode=j.episode, held_at=at, attendees="Mum\nCoach", notes="Plan agreed.", by=j.users["coach"], now=at
    )
    j.refresh()


def activate_plan(j: Journey) -> None:
    write_plan(j.episode, j.users["coach"], j.tick())
    es.plan_activate(episode=j.episode, by=j.users["coach"], now=j.tick())
    j.refresh()


def copy_sent(j: Journey) -> None:
    at = j.tick()
    es.plan_copy_sent(episode=j.episode, recipient="Mum", method="letter", sent_at=at, by=j.users["coach"], now=at)


def review(j: Journey) -> None:
    at = j.tick(days=14)
    outcome = j.episode.plan.outcomes.first()
    es.review_record(
        episode=j.episode,
        held_at=at,
        attendees="Mum\nCoach",
        summary="Better mornings.",
        child_voice="School is OK now.",
        next_review_on=(at + timedelta(days=28)).date(),
        progress={outcome.pk: (3, "Better")},
        by=j.users["coach"],
        now=at,
    )


def request_closure(j: Journey) -> None:
    j.closure = es.closure_request(
        episode=j.episode,
        checklist=dict.fromkeys(ClosureRequest.CHECKLIST, True),
        summary="Goals met.",
        child_voice="Sam is happy.",
        proposed_reason="goals_met",
        by=j.users["coach"],
        now=j.tick(),
    )
    j.refresh()


def sign_off(j: Journey) -> None:
    at = j.tick()
    es.closure_sign_off(
        closure=j.closure,
        ended_on=at.date(),
        reason="goals_met",
        letter_recipient="Mum",
        letter_method="letter",
        partners="School",
        by=j.users["manager"],
        now=at,
    )
    j.refresh()


def return_closure(j: Journey) -> None:
    es.closure_return(closure=j.closure, reason="Actions still open.", by=j.users["manager"], now=j.tick())


def decline(j: Journey) -> None:
    es.family_declines(episode=j.episode, reason="Mum does not want support.", by=j.users["coach"], now=j.tick())
    j.refresh()


def propose_step_up(j: Journey) -> None:
    j.step_up = es.step_up_propose(
        episode=j.episode,
        concern="increasing_risk",
        reason="Two police call-outs in a week.",
        multi_agency_views="School worried.",
        family_views="A one-off.",
        by=j.users["coach"],
        now=j.tick(),
    )


def send_step_up(j: Journey) -> None:
    es.step_up_send_to_duty_manager(
        step_up=j.step_up,
        next_step="marf",
        parenting="partly",
        judgement="Rising.",
        by=j.users["manager"],
        now=j.tick(),
    )


def decide_step_up(j: Journey) -> None:
    es.step_up_decide(
        step_up=j.step_up,
        decision="accepted",
        wraparound=True,
        notes="Allocated for a CAFA.",
        by=j.users["dutymanager"],
        now=j.tick(),
    )


# Escalations and re-referrals (ADR 0038).
def escalate_episode(j: Journey) -> None:
    j.escalation = es.escalation_record(
        episode=j.episode,
        about="step_up",
        disagreement="Social care does not accept the step-up.",
        escalated_to="Operational lead",
        by=j.users["teamlead"],
        now=j.tick(),
    )


def resolve_escalation(j: Journey) -> None:
    es.escalation_resolve(escalation=j.escalation, outcome="Step-up agreed.", by=j.users["manager"], now=j.tick())


def escalate_contact(j: Journey) -> None:
    j.escalation = services.contact_escalation_raise(
        contact=j.contact, disagreement="The school disagrees with the diversion.", by=j.users["mashlead"], now=j.tick()
    )


def resolve_contact_escalation(j: Journey) -> None:
    services.contact_escalation_resolve(
        escalation=j.escalation, outcome="Allocate.", by=j.users["manager"], now=j.tick()
    )


step_up_contact = partial(decide, decision=Contact.Decision.STEP_UP)


def review_re_referral(j: Journey) -> None:
    services.re_referral_review(
        contact=j.contact, outcome="C&F Assessment triggered.", by=j.users["dutymanager"], now=j.tick()
    )


def confirm_wraparound_worker(j: Journey) -> None:
    es.wraparound_worker_confirm(episode=j.episode, practitioner=j.users["coach"], by=j.users["teamlead"], now=j.tick())
    j.refresh()


def oversight_recorded(oversees: str) -> Step:
    def step(j: Journey) -> None:
        oversight.managers_decision_record(
            episode=j.episode,
            oversees=oversees,
            decision="Carry on.",
            rationale="Good work.",
            by=j.users["manager"],
            now=j.tick(),
        )

    return step


def supervision(j: Journey, *, discuss: bool = False) -> None:
    at = j.tick(days=1)
    oversight.supervision_record(
        practitioner=j.users["coach"],
        held_on=at.date(),
        notes="Caseload reviewed.",
        by=j.users["teamlead"],
        now=at,
        cases_discussed=[j.episode] if discuss else (),
    )


# Where a journey stands before the rule's own steps.
front_door_episode: tuple[Step, ...] = (receive, allocate_to_team)
allocated = (*front_door_episode, allocate)
visited = (*allocated, phone_call, home_visit)
assessed = (*visited, assess)
planned = (*assessed, planning_meeting)
active = (*planned, activate_plan)
wraparound_contact = (partial(receive, route=Contact.Route.WRAPAROUND), allocate_to_team)
step_down_contact = (partial(receive, route=Contact.Route.STEP_DOWN), allocate_to_team)


# --- The table: one entry per rule ------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    book: str
    rule: str
    start: tuple[Step, ...]
    stop: tuple[Step, ...]  # taken after `start`
    end: tuple[Step, ...] | None = None  # taken after `start`; None when the rule has no `ends_on`
    # Why the rule has `ends_on` but no path can end it before it stops (said, not hidden).
    no_end: str = ""
    xfail: dict[str, str] = field(default_factory=dict)  # path ("start", "stop", "end") -> reason
    via: str = ""  # names a second way to the same rule (its own test ids)


AWAITING_ALLOCATION_CANNOT_CLOSE = "an episode awaiting allocation cannot be closed: allocation (the stop) comes first"

TABLE: list[Reach] = [
    # Families First (A)
    Reach("families-first", "A1", (receive,), (signpost,)),
    Reach("families-first", "A2", (receive, to_meeting(Meeting.Kind.NAM)), (meeting_outcome(Meeting.Kind.NAM),)),
    Reach("families-first", "A3", (receive, allocate_to_team), (referral_sent,)),
    Reach("families-first", "A4", front_door_episode, (allocate,), no_end=AWAITING_ALLOCATION_CANNOT_CLOSE),
    Reach("families-first", "A5", front_door_episode, (allocate, phone_call, home_visit), (allocate, decline)),
    Reach("families-first", "A6", front_door_episode, (allocate, phone_call, home_visit, assess), (allocate, decline)),
    Reach("families-first", "A7", assessed, (planning_meeting,), (decline,)),
    Reach("families-first", "A7b", front_door_episode, (*assessed[2:], planning_meeting), (allocate, decline)),
    Reach("families-first", "A8", planned, (copy_sent,), (decline,)),
    Reach("families-first", "A9", planned, (home_visit,), (activate_plan, request_closure, sign_off)),
    Reach("families-first", "A10", planned, (activate_plan, review), (activate_plan, request_closure, sign_off)),
    Reach("families-first", "A11", front_door_episode, (allocate, decline)),
    # Family Solutions (B)
    Reach(
        "family-solutions",
        "B1",
        (receive,),
        (to_meeting(Meeting.Kind.MAAM), meeting_outcome(Meeting.Kind.MAAM)),
        # A contact left awaiting consent, then decided: the decision ends the MAAM clock.
        (screen, await_consent, signpost),
    ),
    Reach("family-solutions", "B2", (receive,), (send(Communication.Kind.ACKNOWLEDGEMENT),)),
    Reach("family-solutions", "B3", (receive, screen), (send(Communication.Kind.SCREENING_OUTCOME),)),
    Reach("family-solutions", "B4", (receive, allocate_to_team), (allocate,)),
    Reach(
        "family-solutions",
        "B5",
        (receive, to_meeting(Meeting.Kind.MAAM), meeting_outcome(Meeting.Kind.MAAM)),
        (send(Communication.Kind.MEETING_OUTCOME),),
    ),
    Reach(
        "family-solutions",
        "B6",
        (receive, to_meeting(Meeting.Kind.MAAM), meeting_outcome(Meeting.Kind.MAAM)),
        (allocate,),
    ),
    Reach("family-solutions", "B7", front_door_episode, (duty_contact,), (allocate,)),
    Reach("family-solutions", "B8", allocated, (phone_call,), (decline,)),
    Reach("family-solutions", "B9", (*allocated, phone_call), (home_visit,), (decline,)),
    # B10 stops when both the assessment and the plan are done (today: on the assessment alone).
    Reach(
        "family-solutions",
        "B10",
        allocated,
        (phone_call, home_visit, assess, planning_meeting, activate_plan),
        (decline,),
    ),
    Reach(
        "family-solutions",
        "B11",
        allocated,
        (phone_call, home_visit, assess, planning_meeting, activate_plan),
        (decline,),
    ),
    Reach("family-solutions", "B12", active, (review,), (request_closure, sign_off)),
    Reach(
        "family-solutions",
        "B13",
        assessed,
        (oversight_recorded("assessment"),),
        (planning_meeting, activate_plan, request_closure, sign_off),
    ),
    Reach("family-solutions", "B14", front_door_episode, (oversight_recorded("monthly"),), (allocate, decline)),
    Reach("family-solutions", "B15", (step_down_page,), (allocate,), no_end=AWAITING_ALLOCATION_CANNOT_CLOSE),
    Reach("family-solutions", "B16", wraparound_contact, (allocate,), no_end=AWAITING_ALLOCATION_CANNOT_CLOSE),
    # B16 from a step-up accepted with wraparound: Early Help confirms its wraparound worker.
    Reach(
        "family-solutions",
        "B16",
        (*active, propose_step_up, send_step_up, decide_step_up),
        (confirm_wraparound_worker,),
        (request_closure, sign_off),
        via="step-up",
    ),
    Reach("family-solutions", "B17", (*active, request_closure), (sign_off,)),
    # B18 opens at a planned visit's time and closes when that visit is recorded (one per visit).
    Reach("family-solutions", "B18", (*allocated, plan_visit), (record_planned_visit,), (cancel_planned_visit,)),
    Reach(
        "family-solutions",
        "B19",
        (*allocated, case_discussion),
        (oversight_recorded("case_discussion"),),
        (decline,),
    ),
    # B20: the practitioner holds a case, then is supervised (either starts the clock, today or
    # once it starts from the first case), and is supervised again.
    Reach("family-solutions", "B20", (*allocated, supervision), (supervision,)),
    # Early Help step-up (C)
    Reach("step-up", "C1", (*active, propose_step_up), (send_step_up,), no_end="a step-up request must be sent first"),
    Reach("step-up", "C2", (*active, propose_step_up, send_step_up), (decide_step_up,)),
    Reach("step-up", "C3", (*active, escalate_episode), (resolve_escalation,), (request_closure, sign_off)),
    Reach("step-up", "C4", (receive, escalate_contact), (resolve_contact_escalation,)),
    Reach("step-up", "C5", (receive, step_up_contact, receive), (review_re_referral,)),
]

ENTRIES = {(e.book, e.rule): e for e in TABLE}  # a rule reached more than one way is one entry here


def test_the_table_covers_every_rule_of_every_shipped_rulebook():
    shipped = {(slug, rule_id) for slug, book in BOOKS.items() for rule_id in book.rules}
    assert shipped - set(ENTRIES) == set(), "add an entry to TABLE for each new rule"
    assert set(ENTRIES) - shipped == set(), "the table drives rules no rulebook has"
    for entry in TABLE:
        rule = BOOKS[entry.book].rules[entry.rule]
        # A rule that can be ended has an end path, or says why it cannot have one; an end path
        # for a rule without `ends_on` is a fix another branch brings (marked xfail until then).
        if rule.ends_on:
            assert entry.end or entry.no_end, entry.rule
        elif entry.end:
            assert "end" in entry.xfail, entry.rule
        assert entry.start and (entry.stop or entry.xfail), entry.rule


def _params():
    for entry in TABLE:
        for path in ("start", "stop", "end"):
            if path == "end" and entry.end is None:
                continue
            marks = []
            if path in entry.xfail or (path == "stop" and "start" in entry.xfail):
                marks.append(pytest.mark.xfail(strict=False, reason=entry.xfail.get(path) or entry.xfail["start"]))
            via = f"-{entry.via}" if entry.via else ""
            yield pytest.param(entry, path, id=f"{entry.book}-{entry.rule}{via}-{path}", marks=marks)


def rows(entry: Reach, journey: Journey):
    rule = BOOKS[entry.book].rules[entry.rule]
    return Deadline.objects.filter(rulebook=entry.book, rule_id=entry.rule, **journey.subject(rule.applies_to))


@pytest.mark.parametrize(("entry", "path"), list(_params()))
def test_rule_is_reachable(users, team, entry: Reach, path: str):
    # Each service follows one procedure (ADR 0019); the shared step-up rules run alongside any.
    if entry.book not in procedures.shared_rulebooks():
        team.service.rulebook = entry.book
        team.service.save(update_fields=["rulebook"])
    journey = Journey(users, team)
    for step in entry.start:
        step(journey)
    journey.refresh()
    assert rows(entry, journey).filter(stopped_at__isnull=True).exists(), f"{entry.rule} did not start"
    if path == "start":
        return
    for step in entry.stop if path == "stop" else entry.end:
        step(journey)
    journey.refresh()
    clocks = rows(entry, journey)
    if path == "stop":
        met = clocks.filter(stop_reason=Deadline.StopReason.MET).order_by("cycle").first()
        assert met is not None, f"{entry.rule} was not stopped"
        assert met.stopped_at >= met.started_at
    else:
        assert clocks.filter(stop_reason=Deadline.StopReason.WITHDRAWN).exists(), f"{entry.rule} was not ended"
        assert not clocks.filter(stopped_at__isnull=True).exists(), f"{entry.rule} still runs after it ended"


def test_a_step_that_is_not_allowed_says_why(users, team):
    # The shared steps call the real services: a path that skips a step is refused, not faked.
    journey = Journey(users, team)
    receive(journey)
    with pytest.raises(WorkflowError):
        referral_sent(journey)
