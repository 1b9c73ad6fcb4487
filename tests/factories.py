"""Test records: people and teams, and contacts, episodes and deadlines in any state (ADR 0025).

Two kinds of factory, for two kinds of test:

- `ContactFactory`, `EpisodeFactory`, `DeadlineFactory` store a record in a state straight through the
  ORM (a trait per state: `EpisodeFactory(closed=True)`, `DeadlineFactory(breached=True)`). For tests
  that only read (boards, reports, scope): each figure stays exact and the suite fast.
- `ContactJourneyFactory` and `EpisodeJourneyFactory` reach a state the way the product does: the real
  services, one hour a step from a pinned time, so the clocks, history and events are the product's own.

Every time defaults to `NOW`, the suite's pinned Monday morning, and every date is counted from it
(birth dates too, never from the real today), so ages and periods are the same whatever year the suite
runs in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import factory
from factory import LazyAttribute, SelfAttribute, SubFactory, Trait

from accounts.models import Service, Team, User
from cases import board
from cases.models import ClosureReason, Contact, Episode, OutcomeArea, RiskIndicator
from deadlines.models import Deadline
from kit.time import LONDON

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # a Monday
S = Episode.State
C = Contact.State
H = timedelta(hours=1)
D = timedelta(days=1)
TODAY = NOW.date()  # the pinned day (23 November: no 29 February to move from year to year)


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Service {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.HUB
    service = factory.SubFactory(ServiceFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    # Plain names: an apostrophe (O'Connor) is escaped in HTML and would make text checks flaky.
    first_name = factory.Iterator(["Alex", "Sam", "Jordan", "Priya", "Kwame", "Morgan", "Ellis", "Niamh", "Tariq"])
    last_name = factory.Iterator(["Holm", "Lund", "Marsh", "Grove", "Tully", "Manning", "Ashdown", "Okafor", "Reid"])
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.invalid")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.Person"

    first_name = factory.Sequence(lambda n: f"Child{n}")
    last_name = "Testwood"
    # Aged 1 to 16 on the pinned day (as Faker's date_of_birth(1, 16) would be on it), not on the real today.
    date_of_birth = factory.Faker(
        "date_between_dates", date_start=years_before(TODAY, 17) + D, date_end=years_before(TODAY, 1)
    )
    sex = "F"
    ethnicity = "WBRI"


class FamilyFactory(factory.django.DjangoModelFactory):
    """A family; `FamilyFactory(children=2)` adds two children and a parent as members."""

    class Meta:
        model = "cases.Family"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"The Testwood{n} household")
    address_line_1 = "1 Lantern Row"
    town = "Exampleton"
    postcode = "ZZ1 1AB"

    @factory.post_generation
    def children(family, create, count, **kwargs):
        if count is None:
            return
        from cases.models import Membership

        children = [PersonFactory() for _ in range(count)]
        for child in children:
            Membership.objects.create(family=family, person=child, relationship="child")
        parent = PersonFactory(first_name="Parent", date_of_birth=None)
        Membership.objects.create(family=family, person=parent, relationship="parent")


def children_of(family) -> list:
    """The family's children, in the order they were added."""
    return [m.person for m in family.memberships.filter(relationship="child").select_related("person").order_by("pk")]


def family_with_children(n_children: int = 2, **family_fields):
    family = FamilyFactory(children=n_children, **family_fields)
    return family, children_of(family)


# --- Records in a state, straight through the ORM ---------------------------------------------


def _decided(state: str, decision: str, **extra) -> Trait:
    return Trait(state=state, decision=decision, decided_at=LazyAttribute(lambda c: c.received_at + 3 * H), **extra)


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact stored in a state: received (the default) or any trait below.

    `subjects=[child, ...]` sets who it is about; `risks={indicator: level}` adds risk indicators.
    """

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    class Params:
        screening = Trait(state=C.SCREENING)
        awaiting_consent = _decided(C.AWAITING_CONSENT, Contact.Decision.AWAIT_CONSENT)
        at_meeting = _decided(C.AT_MEETING, Contact.Decision.MEETING, meeting_kind="MAAM")
        stepped_up = _decided(C.STEPPED_UP, Contact.Decision.STEP_UP)
        allocated_to_team = _decided(C.ALLOCATED_TO_TEAM, Contact.Decision.ALLOCATE)
        single_agency = _decided(C.SINGLE_AGENCY, Contact.Decision.SINGLE_AGENCY)
        signposted = _decided(C.SIGNPOSTED, Contact.Decision.SIGNPOST)
        no_further_action = _decided(C.NO_FURTHER_ACTION, Contact.Decision.NO_FURTHER_ACTION)

    family = SubFactory(FamilyFactory)
    received_at = NOW - H
    route = "email"
    source = "2A"
    presenting_needs = "Attendance has dropped."

    @factory.post_generation
    def subjects(contact, create, extracted, **kwargs):
        if extracted:
            contact.subjects.set(extracted)

    @factory.post_generation
    def risks(contact, create, extracted, **kwargs):
        for indicator, level in (extracted or {}).items():
            RiskIndicator.objects.create(contact=contact, indicator=indicator, level=level)
        if create and extracted:
            board.refresh(family_ids=[contact.family_id])  # as contact intake does (ADR 56)


class EpisodeFactory(factory.django.DjangoModelFactory):
    """An episode stored in a state: awaiting allocation (the default) or a trait per state.

    Give a `lead_professional` (from the `users` fixture) to any state past allocation: it is then
    allocated two hours after it opened. A closed episode (`closed=True`, or a `closed_at`) ends that
    day with its `closure_reason`.
    """

    class Meta:
        model = Episode
        skip_postgeneration_save = True  # `board_fields` writes what it changes itself

    class Params:
        children = 2  # of a family made for it
        allocated = Trait(state=S.ALLOCATED)
        initial_contact = Trait(state=S.INITIAL_CONTACT)
        first_visit = Trait(state=S.FIRST_VISIT)
        assessment = Trait(state=S.ASSESSMENT)
        assessment_completed = Trait(state=S.ASSESSMENT_COMPLETED)
        planning = Trait(state=S.PLANNING)
        plan_active = Trait(state=S.PLAN_ACTIVE)
        closure_requested = Trait(state=S.CLOSURE_REQUESTED)
        step_up_requested = Trait(state=S.STEP_UP_REQUESTED)
        wraparound = Trait(state=S.WRAPAROUND)
        closed = Trait(
            closed_at=LazyAttribute(lambda e: e.opened_at + 30 * D),
            closure_reason=ClosureReason.GOALS_MET,
        )

    team = SubFactory(TeamFactory)
    family = LazyAttribute(lambda e: FamilyFactory(team=e.team, children=e.children))
    contact = None
    lead_professional = None
    state = LazyAttribute(lambda e: S.CLOSED if e.closed_at else S.AWAITING_ALLOCATION)
    opened_at = NOW - 30 * D
    allocated_at = LazyAttribute(lambda e: e.opened_at + 2 * H if e.lead_professional else None)
    closed_at = None
    ended_on = LazyAttribute(lambda e: e.closed_at.date() if e.closed_at else None)
    closure_reason = ""

    @factory.post_generation
    def board_fields(episode, create, extracted, **kwargs):
        if create:
            board.refresh(episode_ids=[episode.pk])  # as opening an episode does (ADR 56)


class DeadlineFactory(factory.django.DjangoModelFactory):
    """A clock stored with a status at `at` (default `NOW`): on time (the default), `overdue`,
    `breached`, `met` or `withdrawn`. Its subject is a new episode unless a contact or worker is given."""

    class Meta:
        model = Deadline

    class Params:
        at = NOW
        overdue = Trait(
            started_at=LazyAttribute(lambda d: d.at - 10 * D),
            expected_at=LazyAttribute(lambda d: d.at - D),
            due_at=LazyAttribute(lambda d: d.at + 5 * D),
        )
        breached = Trait(
            started_at=LazyAttribute(lambda d: d.at - 20 * D),
            expected_at=LazyAttribute(lambda d: d.at - 10 * D),
            due_at=LazyAttribute(lambda d: d.at - D),
        )
        met = Trait(stopped_at=LazyAttribute(lambda d: d.started_at + D))
        withdrawn = Trait(
            stopped_at=LazyAttribute(lambda d: d.started_at + D), stop_reason=Deadline.StopReason.WITHDRAWN
        )

    rulebook = "family-solutions"
    rule_id = "B12"
    title = LazyAttribute(lambda d: f"Rule {d.rule_id}")
    contact = None
    worker = None
    episode = factory.Maybe(
        LazyAttribute(lambda d: d.contact is None and d.worker is None),
        yes_declaration=SubFactory(EpisodeFactory),
        no_declaration=None,
    )
    family = LazyAttribute(lambda d: d.episode.family if d.episode else d.contact.family if d.contact else None)
    team = LazyAttribute(lambda d: d.episode.team if d.episode else d.contact.allocated_team if d.contact else None)
    assignee = LazyAttribute(lambda d: d.episode.lead_professional if d.episode else d.worker)
    started_at = LazyAttribute(lambda d: d.at - 2 * D)
    expected_at = LazyAttribute(lambda d: d.at + 3 * D)
    due_at = LazyAttribute(lambda d: d.at + 8 * D)
    stopped_at = None
    stop_reason = LazyAttribute(lambda d: Deadline.StopReason.MET if d.stopped_at else "")
    flag_only = False


# --- States reached the way the product reaches them ------------------------------------------


def full_assessment(children) -> dict:
    """An assessment with every section, child, need and risk filled in: enough to complete it."""
    return {
        "sections": {
            "family_history": "Moved to the area last year.",
            "previous_interventions": "Health visiting.",
            "agency_views": "School worried about attendance.",
            "family_views": "Mum wants help with routines.",
            "child_voice": "The children want to stay at their school.",
            "recommendation": "Targeted family support with a focus on routines.",
        },
        "children": dict.fromkeys(children, ("Speech is behind for age.", "I like football.")),
        "needs": {area: (2 if area == OutcomeArea.EDUCATION else 1, "") for area in OutcomeArea.values},
        "risks": {RiskIndicator.Indicator.ATTENDANCE: (3, "Below 80%")},
    }


def write_plan(episode, by, at, *, complete: bool = True):
    """One outcome with one action, and what happens if it is not working; returns the outcome."""
    from workflows import episode_services as es

    outcome = es.plan_outcome_save(
        episode=episode,
        by=by,
        now=at,
        area=OutcomeArea.EDUCATION,
        description="Sam goes to school every day",
        how_measured="Attendance above 95% on the school register" if complete else "",
        by_when=date(2027, 3, 1),
    )
    es.plan_action_save(
        outcome=outcome, by=by, now=at, what="Walk Sam to school", who="Mum", by_when=date(2026, 12, 18)
    )
    es.plan_save(
        episode=episode,
        if_not_working="Team around the family meets again within 2 weeks.",
        child_voice="Sam wants mornings to be calmer.",
        by=by,
        now=at,
    )
    return outcome


# The main road, one step an hour; the other states branch off it (see `_walk`).
ROAD = [
    S.AWAITING_ALLOCATION,
    S.ALLOCATED,
    S.INITIAL_CONTACT,
    S.FIRST_VISIT,
    S.ASSESSMENT_COMPLETED,
    S.PLANNING,
    S.PLAN_ACTIVE,
]
# Where each state off the road branches from.
BRANCHES = {
    S.ASSESSMENT: S.FIRST_VISIT,
    S.CLOSURE_REQUESTED: S.PLAN_ACTIVE,
    S.CLOSED: S.CLOSURE_REQUESTED,
    S.STEP_UP_REQUESTED: S.PLAN_ACTIVE,
    S.WRAPAROUND: S.STEP_UP_REQUESTED,
}


def _route(state: str) -> list[str]:
    """The states an episode passes through, after opening, to reach `state`."""
    if state in BRANCHES:
        return [*_route(BRANCHES[state]), state]
    return ROAD[1 : ROAD.index(state) + 1]


def _step(episode, target: str, *, users, children, t: datetime) -> None:
    from workflows import episode_services as es

    coach = users["coach"]
    if target == S.ALLOCATED:
        es.episode_allocate(episode=episode, practitioner=coach, by=users["teamlead"], now=t)
    elif target == S.INITIAL_CONTACT:
        es.episode_record_visit(
            episode=episode, kind="phone_call", happened_at=t, details="Called mum.", by=coach, now=t
        )
    elif target == S.FIRST_VISIT:
        es.episode_record_visit(
            episode=episode,
            kind="home_visit",
            happened_at=t,
            details="Saw the family at home.",
            children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="It's fine.") for c in children],
            by=coach,
            now=t,
        )
    elif target in (S.ASSESSMENT, S.ASSESSMENT_COMPLETED):
        es.assessment_save(
            episode=episode, by=coach, now=t, complete=target == S.ASSESSMENT_COMPLETED, **full_assessment(children)
        )
    elif target == S.PLANNING:
        es.planning_meeting_record(
            episode=episode, held_at=t, attendees="Mum\nCoach\nSchool", notes="Plan agreed.", by=coach, now=t
        )
    elif target == S.PLAN_ACTIVE:
        write_plan(episode, coach, t)
        es.plan_activate(episode=episode, by=coach, now=t)
    elif target == S.CLOSURE_REQUESTED:
        from cases.models import ClosureRequest

        es.closure_request(
            episode=episode,
            checklist=dict.fromkeys(ClosureRequest.CHECKLIST, True),
            summary="Attendance 97%.",
            child_voice="Sam is happy.",
            proposed_reason=ClosureReason.GOALS_MET,
            by=coach,
            now=t,
        )
    elif target == S.CLOSED:
        es.closure_sign_off(
            closure=episode.closure_requests.latest("requested_at"),
            ended_on=t.date(),
            reason=ClosureReason.GOALS_MET,
            letter_recipient="Mum",
            letter_method="letter",
            partners="Exampleton Primary",
            by=users["manager"],
            now=t,
        )
    elif target == S.STEP_UP_REQUESTED:
        es.step_up_propose(
            episode=episode,
            concern="increasing_risk",
            reason="Two police call-outs in a week.",
            multi_agency_views="School and police worried.",
            family_views="Mum says it was a one-off.",
            by=coach,
            now=t,
        )
    elif target == S.WRAPAROUND:
        step_up = episode.step_ups.latest("proposed_at")
        es.step_up_send_to_duty_manager(
            step_up=step_up,
            next_step="marf",
            parenting="partly",
            judgement="Risk is rising.",
            by=users["manager"],
            now=t,
        )
        es.step_up_decide(
            step_up=step_up,
            decision="accepted",
            wraparound=True,
            notes="Allocated for a CAFA.",
            by=users["dutymanager"],
            now=t + H,
        )


class EpisodeJourneyFactory(factory.Factory):
    """An episode opened at `at` by the team leader and walked forward by the real services, an hour a
    step, to `state` (or a trait: `EpisodeJourneyFactory(users=users, team=team, plan_active=True)`).

    `users` is the suite's one-user-per-role fixture: the team leader opens and allocates, the coach
    works the case, the manager signs closure off and takes a step-up to the duty manager.
    `reviews=N` records N reviews a week apart once the plan is active.
    """

    class Meta:
        model = Episode

    class Params:
        allocated = Trait(state=S.ALLOCATED)
        initial_contact = Trait(state=S.INITIAL_CONTACT)
        first_visit = Trait(state=S.FIRST_VISIT)
        assessment = Trait(state=S.ASSESSMENT)
        assessment_completed = Trait(state=S.ASSESSMENT_COMPLETED)
        planning = Trait(state=S.PLANNING)
        plan_active = Trait(state=S.PLAN_ACTIVE)
        closure_requested = Trait(state=S.CLOSURE_REQUESTED)
        closed = Trait(state=S.CLOSED)
        step_up_requested = Trait(state=S.STEP_UP_REQUESTED)
        wraparound = Trait(state=S.WRAPAROUND)

    users = None
    team = None
    family = SubFactory(FamilyFactory, team=SelfAttribute("..team"), children=2)
    state = S.AWAITING_ALLOCATION
    at = NOW
    origin = Episode.Origin.FRONT_DOOR
    reviews = 0

    @classmethod
    def _create(cls, model_class, *, users, team, family, state, at, origin, reviews):
        from workflows import episode_services as es
        from workflows import services

        children = children_of(family)
        episode = services.episode_open(
            contact=None, family=family, team=team, now=at, by=users["teamlead"], origin=origin
        )
        t = at
        for target in _route(state):
            t += H
            _step(episode, target, users=users, children=children, t=t)
            episode.refresh_from_db()
            if target == S.PLAN_ACTIVE:
                for n in range(reviews):
                    t += 7 * D
                    es.review_record(
                        episode=episode,
                        held_at=t,
                        attendees="Mum\nCoach",
                        summary=f"Review {n + 1}: better mornings.",
                        child_voice="Sam: school is OK now.",
                        next_review_on=(t + 42 * D).date(),
                        progress={o.pk: (3, "Going well.") for o in episode.plan.outcomes.all()},
                        by=users["coach"],
                        now=t,
                    )
                    episode.refresh_from_db()
        assert episode.state == state, f"walked to {episode.state}, not {state}"
        return episode


# What MASH decides to bring a contact to each state past screening.
DECISIONS = {
    C.AWAITING_CONSENT: {"decision": Contact.Decision.AWAIT_CONSENT},
    C.AT_MEETING: {"decision": Contact.Decision.MEETING, "meeting_kind": "MAAM"},
    C.STEPPED_UP: {"decision": Contact.Decision.STEP_UP},
    C.ALLOCATED_TO_TEAM: {"decision": Contact.Decision.ALLOCATE},
    C.SINGLE_AGENCY: {"decision": Contact.Decision.SINGLE_AGENCY, "agency": "School nurse"},
    C.SIGNPOSTED: {"decision": Contact.Decision.SIGNPOST},
    C.NO_FURTHER_ACTION: {"decision": Contact.Decision.NO_FURTHER_ACTION},
}


class ContactJourneyFactory(factory.Factory):
    """A contact received at `at` through the front door's service (with the family's consent to Early
    Help unless `consent=None`) and, for a `state` past received, screened or decided as MASH does."""

    class Meta:
        model = Contact

    class Params:
        screening = Trait(state=C.SCREENING)
        awaiting_consent = Trait(state=C.AWAITING_CONSENT)
        at_meeting = Trait(state=C.AT_MEETING)
        stepped_up = Trait(state=C.STEPPED_UP)
        allocated_to_team = Trait(state=C.ALLOCATED_TO_TEAM)
        single_agency = Trait(state=C.SINGLE_AGENCY)
        signposted = Trait(state=C.SIGNPOSTED)
        no_further_action = Trait(state=C.NO_FURTHER_ACTION)

    users = None
    team = None  # the team an allocated contact goes to
    family = SubFactory(FamilyFactory, children=1)
    state = C.RECEIVED
    at = NOW
    consent = "given"

    @classmethod
    def _create(cls, model_class, *, users, team, family, state, at, consent):
        from workflows import services

        contact = services.contact_receive(
            family=family,
            subjects=children_of(family),
            received_at=at - H,
            route="email",
            source="2A",
            presenting_needs="Attendance has dropped.",
            referrer={"referrer_name": "Ms Teacher", "referrer_agency": "Exampleton Primary"},
            risks={"attendance": (3, "Below 80%")},
            consent={"purpose": "early_help", "status": consent, "given_by_name": "Parent", "recorded_on": at.date()}
            if consent
            else None,
            by=users["mash"],
            now=at,
        )
        if state == C.SCREENING:
            services.contact_start_screening(contact=contact, by=users["mash"], now=at)
        elif state != C.RECEIVED:
            extra = DECISIONS[state]
            if state == C.ALLOCATED_TO_TEAM:
                extra = {**extra, "team": team}
            services.contact_decide(
                contact=contact, rationale="Reason given.", by=users["mashlead"], now=at + H, **extra
            )
        contact.refresh_from_db()
        assert contact.state == state, f"reached {contact.state}, not {state}"
        return contact
