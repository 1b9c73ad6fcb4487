"""What each generated family goes through, written straight into the loader's row buffers.

One `Builder` makes the staff, then each family in turn: its people, the contacts about it over
five years, the front door's decisions and meetings, the Early Help episodes that follow (every
state, with visits, assessment, plan, reviews, closure or step-up), the deadline clocks and
alerts those events imply, and the access log of people looking at it. All randomness comes
from one seeded `random.Random`, so a seed gives the same database.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.apps import apps
from django.contrib.auth.models import Group
from psycopg.types.json import Jsonb

from accounts import roles
from accounts.models import Service, Team, User
from cases.models import (
    AccessLog,
    AgencyInvolvement,
    Assessment,
    AssessmentChild,
    AssessmentNeed,
    AssessmentRisk,
    CaseNote,
    ChildView,
    ClosureRequest,
    Communication,
    Consent,
    Contact,
    Document,
    Draft,
    Episode,
    Escalation,
    Family,
    Meeting,
    MeetingItem,
    Membership,
    OutcomeArea,
    Person,
    Plan,
    PlanAction,
    PlanOutcome,
    Review,
    ReviewProgress,
    RiskIndicator,
    StepUp,
    TeamMeeting,
)
from cases.validators import soundex
from deadlines import events as ev
from deadlines.engine import Clock, Limits, Owners, Replay, RuleIndex
from deadlines.models import Alert, Deadline
from kit.time import LONDON
from tooling.generator import words as w
from tooling.generator.alerts import alerts
from tooling.generator.loader import Loader

DAY = timedelta(days=1)
END_OF_DAY = time(23, 59, 59)
WHO = ("Parent", "Family coach", "School")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
YEARS = 5
S = Episode.State
K = CaseNote.Kind
D = Contact.Decision

USERNAME_PREFIX = "gen-"
UNUSABLE_PASSWORD = "!generated-staff-have-no-password"  # noqa: S105 - Django treats "!..." as unusable

# Per family, at every scale (the figures for 200,000 families).
ACCESS_LOG_PER_FAMILY = 100
ADULTS = (1, 1, 1, 1, 1, 1, 1, 2, 2, 2)  # mean 1.3
CHILDREN = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4)  # mean 1.75
EXTRA_CONTACTS_P = 1 / 3.5  # 1 + geometric: 3.5 contacts per family on average

FRONT_DOOR_DECISIONS = (
    (D.ALLOCATE, 0.16),
    (D.MEETING, 0.12),
    (D.SINGLE_AGENCY, 0.13),
    (D.SIGNPOST, 0.24),
    (D.NO_FURTHER_ACTION, 0.27),
    (D.STEP_UP, 0.08),
)
MEETING_OUTCOMES = (
    (MeetingItem.Outcome.ALLOCATE, 0.35),
    (MeetingItem.Outcome.SINGLE_AGENCY, 0.25),
    (MeetingItem.Outcome.SIGNPOST, 0.22),
    (MeetingItem.Outcome.NO_FURTHER_ACTION, 0.13),
    (MeetingItem.Outcome.STEP_UP, 0.05),
)
ROUTES = (
    (Contact.Route.EMAIL, 0.41),
    (Contact.Route.PHONE, 0.24),
    (Contact.Route.PORTAL, 0.2),
    (Contact.Route.WALK_IN, 0.03),
    (Contact.Route.STEP_DOWN, 0.04),
    (Contact.Route.WRAPAROUND, 0.02),
    (Contact.Route.DART, 0.04),
    (Contact.Route.OTHER, 0.02),
)
NOTE_KINDS = ((K.HOME_VISIT, 0.42), (K.PHONE_CALL, 0.26), (K.OFFICE_VISIT, 0.12), (K.DIRECT_WORK, 0.2))
# Share of tasks with no ending event that staff record at all: the rest leave their clock
# open (and breached) for good, as unrecorded acknowledgements do in live systems.
RECORDED = {"acknowledgement": 0.4, "screening_outcome": 0.4, "meeting_outcome": 0.7, "plan_copy": 0.85}

# Plausible families (tests/performance/test_generator_plausible.py checks every generated family).
YEAR = 365.25
PARENT_MIN_GAP = 16 * YEAR  # a parent or carer is at least this much older than each child
SIBLING_MIN_GAP = 274  # days (about nine months) between siblings' births, unless twins
TWINS_P = 0.03


@dataclass(frozen=True)
class Profile:
    """How the generated service behaves (ADR 0030): the benchmark's council, or the demo's.

    `recorded`: share of tasks with no ending event that staff record, for work older than
    `recent`; `recent_recorded` for newer work. `pinned`: (episode state, days since it opened)
    for the first families, each of whom then has one recent contact allocated to the first team
    and an episode in that state now.
    """

    recorded: dict[str, float]
    recent_recorded: dict[str, float]
    recent: timedelta = timedelta(0)
    pinned: tuple[tuple[str, float], ...] = ()


BENCHMARK = Profile(recorded=RECORDED, recent_recorded=RECORDED)
# How many of the course's milestones (allocated, initial contact, first visit, assessment done,
# planning meeting, plan active) have passed for an episode in each state.
PINNED_MILESTONES = {
    S.AWAITING_ALLOCATION: 0, S.ALLOCATED: 1, S.INITIAL_CONTACT: 2, S.FIRST_VISIT: 3, S.ASSESSMENT: 3,
    S.ASSESSMENT_COMPLETED: 4, S.PLANNING: 5, S.PLAN_ACTIVE: 6, S.CLOSURE_REQUESTED: 6, S.STEP_UP_REQUESTED: 6,
    S.WRAPAROUND: 6,
}  # fmt: skip
DEMO = Profile(
    # Old work was done (or its clocks met late); some of the last three weeks' work is still to do.
    recorded=dict.fromkeys(RECORDED, 1.0),
    recent_recorded=RECORDED,
    recent=timedelta(days=21),
    pinned=(
        (S.AWAITING_ALLOCATION, 0.2),
        (S.AWAITING_ALLOCATION, 0.6),
        (S.AWAITING_ALLOCATION, 0.9),
        (S.ALLOCATED, 1.5),
        (S.INITIAL_CONTACT, 3.5),
        (S.FIRST_VISIT, 8),
        (S.ASSESSMENT, 12),
        (S.ASSESSMENT_COMPLETED, 28),
        (S.PLANNING, 33),
        (S.PLAN_ACTIVE, 60),
        (S.PLAN_ACTIVE, 95),
        (S.CLOSURE_REQUESTED, 160),
        (S.STEP_UP_REQUESTED, 120),
        (S.WRAPAROUND, 140),
    ),
)


# The subjects an event concerns, as deadline_record_event reads them: an event on an episode also
# counts for the contact it was opened from.
CONTACT = frozenset({"contact"})
EPISODE = frozenset({"contact", "episode"})
WORKER = frozenset({"worker"})


class Ev(NamedTuple):
    """One workflow event as the services tell the engine of it: when, what, about which record.

    `seq` is the order the generator made it in: events are replayed in (at, seq) order, so
    events at the same moment keep the order the services emit them in. `owners` is the state
    of the records that decides whose a new clock is (engine.Owners).
    """

    at: datetime
    seq: int
    name: str
    on_episode: bool
    key: str
    owners: Owners


def optional_model(app: str, name: str):
    """A model another feature adds, or None while it does not exist (its rows are then skipped)."""
    try:
        return apps.get_model(app, name)
    except LookupError:
        return None


def _picker(pairs):
    values = [v for v, _ in pairs]
    cum, total = [], 0.0
    for _, weight in pairs:
        total += weight
        cum.append(total)
    return values, cum


@dataclass
class Staff:
    service: Service
    front_door: Team
    teams: list[Team]
    by_role: dict[str, list[int]]
    team_members: dict[int, dict[str, list[int]]]
    leaders: dict[int, list[int]] = field(default_factory=dict)  # team id -> escalation recipients
    all_ids: list[int] = field(default_factory=list)


class Builder:
    def __init__(self, *, loader: Loader, rng: random.Random, log_rng: random.Random, now: datetime,
                 rules: RuleIndex, starting: frozenset[str], limits: Limits, access_log: bool,
                 event_log: list | None = None, profile: Profile = BENCHMARK):  # fmt: skip
        self.L = loader
        self.profile = profile
        self.families_made = 0
        self.rng = rng
        self.log_rng = log_rng
        self.now = now
        self.start = now - timedelta(days=365 * YEARS)
        self.span = (now - self.start).total_seconds()
        # The deadline engine's own functions (deadlines.engine) make every clock.
        self.rules, self.starting, self.limits = rules, starting, limits
        self.seq = itertools.count()
        # Per practitioner: the events about them (joining a team, holding a case, supervision).
        self.worker_events: dict[int, list[Ev]] = defaultdict(list)
        self.new_staff = False
        # When given, every event replayed is appended as (Ev, contact id, episode id, worker id,
        # route), for tests that replay them through deadline_record_event.
        self.event_log = event_log
        self.procedure = ""  # the rulebook slug the generated service follows (set by generate)
        # The multi-agency meetings the procedure holds (set by generate): no other council's meeting.
        self.meeting_kinds: tuple[str, ...] = ("NAM", "MAAM", "MAAM", "ICDM")
        self.access_log = access_log
        self.meetings: dict[tuple[str, int], tuple[int, datetime]] = {}
        self.routes = _picker(ROUTES)
        self.decisions = _picker(FRONT_DOOR_DECISIONS)
        self.outcomes = _picker(MEETING_OUTCOMES)
        self.note_kinds = _picker(NOTE_KINDS)
        self.note_texts = [f"{a} {b} {c}" for a in w.NOTE_OPENINGS for b in w.NOTE_MIDDLES for c in w.NOTE_ENDINGS]
        self.counts: dict[str, int] = defaultdict(int)
        self.staff: Staff | None = None
        self.subjects = Contact.subjects.through
        self.Decision = optional_model("oversight", "ManagersDecision")
        self.Supervision = optional_model("oversight", "Supervision")

    # --- tables ---------------------------------------------------------------------------
    TABLES = (
        (Family, "id name address_line_1 town postcode address_confidential language team_id legal_hold created_at"),
        (Person, "id first_name last_name date_of_birth expected_date_of_birth sex ethnicity language nhs_number upn "
                 "address_confidential last_name_key first_name_key created_at"),
        (Membership, "id family_id person_id relationship"),
        (AgencyInvolvement, "id family_id agency contact_name role phone started_on ended_on"),
        (Contact, "id family_id received_at route source referrer_agency referrer_name referrer_role "
                  "presenting_needs state decision decision_rationale decided_by_id decided_at single_agency_name "
                  "meeting_kind allocated_team_id recent_step_up_flag lead_professional_notified_id version "
                  "created_by_id"),
        (None, "id contact_id person_id"),  # Contact.subjects
        (RiskIndicator, "id contact_id indicator level note"),
        (Consent, "id family_id contact_id given_by_id given_by_name purpose status recorded_on recorded_by_id"),
        (Communication, "id family_id contact_id episode_id kind recipient method sent_at summary recorded_by_id"),
        (Meeting, "id kind scheduled_for location attendees held_at chair_id created_by_id"),
        (MeetingItem, "id meeting_id contact_id outcome reason allocated_team_id single_agency_name decided_by_id "
                      "decided_at"),
        (Episode, "id family_id contact_id team_id lead_professional_id origin state opened_at referral_notes "
                  "allocated_at allocated_by_id state_before_request closed_at ended_on closure_reason "
                  "social_care_assessment_date version"),
        (CaseNote, "id episode_id family_id kind happened_at recorded_at recorded_by_id purpose details "
                   "child_seen_and_spoken_to is_initial_contact is_first_visit"),
        (ChildView, "id note_id child_id seen spoken_to views"),
        (Assessment, "id episode_id started_at started_by_id family_history family_views child_voice recommendation "
                     "completed_at completed_by_id version"),
        (AssessmentChild, "id assessment_id child_id developmental_needs child_voice"),
        (AssessmentNeed, "id assessment_id area level note"),
        (AssessmentRisk, "id assessment_id indicator level note"),
        (TeamMeeting, "id episode_id kind held_at attendees notes recorded_at recorded_by_id"),
        (Plan, "id episode_id if_not_working created_at created_by_id activated_at activated_by_id version"),
        (PlanOutcome, "id plan_id number area description how_measured by_when"),
        (PlanAction, "id outcome_id what who by_when done_on"),
        (Review, "id episode_id meeting_id summary family_views child_voice next_review_on recorded_at "
                 "recorded_by_id"),
        (ReviewProgress, "id review_id outcome_id rating comment"),
        (Document, "id episode_id family_id kind title file original_name content_type size uploaded_at "
                   "uploaded_by_id"),
        (ClosureRequest, "id episode_id requested_at requested_by_id records_up_to_date documents_uploaded "
                         "plan_actions_done supervisor_tasks_done summary child_voice proposed_reason status "
                         "decided_at decided_by_id return_reason"),
        (StepUp, "id episode_id proposed_at proposed_by_id concern reason multi_agency_views family_views "
                 "next_step parenting manager_judgement sent_at sent_by_id decision wraparound decision_notes "
                 "decided_at decided_by_id"),
        (Escalation, "id episode_id about disagreement escalated_to raised_at raised_by_id outcome resolved_at "
                     "resolved_by_id"),
        (Draft, "id user_id episode_id form_key object_key data updated_at"),
        (Deadline, "id rulebook rule_id title contact_id episode_id worker_id family_id cycle key stops_seen "
                   "started_at expected_at due_at stopped_at stop_reason flag_only assignee_id team_id "
                   "overdue_alerted_at breach_alerted_at start_event"),
        (Alert, "id deadline_id level recipient_id created_at read_at emailed_at"),
        (AccessLog, "id at user_id action family_id_logged person_id_logged what ip_address"),
    )  # fmt: skip

    OPTIONAL_TABLES = (
        ("Decision", "id episode_id family_id oversees assessment_id plan_id review_id closure_request_id "
                     "step_up_id case_note_id decision rationale recorded_by_id recorded_at"),
        ("Supervision", "id practitioner_id supervisor_id held_on notes recorded_at"),
    )  # fmt: skip

    def _tables(self):
        for model, columns in self.TABLES:
            yield model or self.subjects, columns
        for attr, columns in self.OPTIONAL_TABLES:
            if getattr(self, attr) is not None:
                yield getattr(self, attr), columns

    def models(self) -> list:
        return [model for model, _ in self._tables()]

    def register_tables(self) -> None:
        for model, columns in self._tables():
            self.L.register(model, columns.split())

    # --- staff ----------------------------------------------------------------------------
    def make_staff(self, families: int) -> Staff:
        """Teams and staff in proportion to the families (25 teams and ~400 staff at 200,000)."""
        existing = User.objects.filter(username__startswith=USERNAME_PREFIX)
        if existing.exists():
            return self._load_staff()
        rng = self.rng
        scale = families / 200_000
        # The service follows the one procedure whose clocks are generated (ADR 0019).
        service, _ = Service.objects.get_or_create(name="Early Help")
        if self.procedure and service.rulebook != self.procedure:
            service.rulebook = self.procedure
            service.save(update_fields=["rulebook"])
        n_teams = max(2, round(24 * scale))
        kinds = (Team.Kind.LOCALITY, Team.Kind.HUB, Team.Kind.NEIGHBOURHOOD)
        taken = set(Team.objects.values_list("name", flat=True))
        # A service has one front door: the generated staff join the one it has, and its Early Help teams.
        front = Team.objects.filter(service=service, kind=Team.Kind.FRONT_DOOR).order_by("pk").first()
        if front is None:
            front_name = "Front Door (MASH)" if "Front Door (MASH)" not in taken else "Front Door (MASH) – generated"
            front = Team.objects.create(name=front_name, kind=Team.Kind.FRONT_DOOR, service=service)
        teams = list(Team.objects.filter(service=service, kind__in=kinds).order_by("pk")[:n_teams])
        for i in range(len(teams), n_teams):
            kind = kinds[i % len(kinds)]
            name = f"{w.TOWNS[i % len(w.TOWNS)]} {Team.Kind(kind).label}" + (
                f" {i // len(w.TOWNS) + 1}" if i >= len(w.TOWNS) else ""
            )
            if name in taken:
                name += " (generated)"
            teams.append(Team.objects.create(name=name, kind=kind, service=service))

        plan: list[tuple[str, Team | None, bool]] = []  # (role, team, above team level)
        practitioners = max(2 * n_teams, round(312 * scale))
        for i in range(practitioners):
            plan.append((roles.PRACTITIONER, teams[i % n_teams], False))
        for team in teams:
            plan.append((roles.TEAM_LEADER, team, False))
            if scale >= 0.5:
                plan.append((roles.TEAM_LEADER, team, False))
            plan.append((roles.DUTY_WORKER, team, False))
        plan += [(roles.MASH_OFFICER, front, False)] * max(1, round(14 * scale))
        plan += [(roles.EH_MASH_LEAD, front, False)] * max(1, round(6 * scale))
        plan += [(roles.MANAGER, None, True)] * max(1, round(5 * scale))
        plan += [(roles.DUTY_MANAGER, None, True)] * max(1, round(3 * scale))
        plan += [(roles.ADMINISTRATOR, None, False)] * max(1, round(2 * scale))
        users = []
        for n, (role, team, above) in enumerate(plan, start=1):
            first = w.STAFF_FIRST[n % len(w.STAFF_FIRST)]
            last = w.SURNAMES[(n * 7919) % len(w.SURNAMES)]
            username = f"{USERNAME_PREFIX}{role.lower().replace(' ', '-')}-{n:03d}"
            users.append(
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@example.invalid",
                    password=UNUSABLE_PASSWORD,
                    team=team,
                    service=service if above else None,
                    job_title=role,
                    working_pattern=User.WorkingPattern.PART_TIME
                    if role == roles.PRACTITIONER and rng.random() < 0.2
                    else User.WorkingPattern.FULL_TIME,
                    date_joined=self.start,
                )
            )
        users = User.objects.bulk_create(users)
        self.new_staff = True
        groups = {name: Group.objects.get_or_create(name=name)[0] for name in roles.ALL_ROLES}
        User.groups.through.objects.bulk_create(
            [
                User.groups.through(user_id=u.pk, group_id=groups[role].pk)
                for u, (role, _, _) in zip(users, plan, strict=True)
            ]
        )
        return self._load_staff()

    def _load_staff(self) -> Staff:
        users = list(
            User.objects.filter(username__startswith=USERNAME_PREFIX)
            .select_related("team")
            .prefetch_related("groups")
            .order_by("pk")
        )
        by_role: dict[str, list[int]] = defaultdict(list)
        members: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        front = service = None
        teams: dict[int, Team] = {}
        for u in users:
            for g in u.groups.all():
                by_role[g.name].append(u.pk)
                if u.team_id:
                    members[u.team_id][g.name].append(u.pk)
            if u.team is not None:
                if u.team.kind == Team.Kind.FRONT_DOOR:
                    front = u.team
                else:
                    teams[u.team_id] = u.team
            if u.service_id and service is None:
                service = u.service
        ordered = [teams[k] for k in sorted(teams)]
        staff = Staff(
            service=service or ordered[0].service,
            front_door=front,
            teams=ordered,
            by_role=dict(by_role),
            team_members={k: dict(v) for k, v in members.items()},
            all_ids=[u.pk for u in users],
        )
        for team_id, m in staff.team_members.items():
            staff.leaders[team_id] = sorted(set(m.get(roles.TEAM_LEADER, []) + m.get(roles.EH_MASH_LEAD, [])))
        self.staff = staff
        return staff

    # --- helpers --------------------------------------------------------------------------
    def at(self, fraction: float) -> datetime:
        return self.start + timedelta(seconds=self.span * fraction)

    def office(self, day: datetime) -> datetime:
        """Move a moment to office hours (08:30-17:30) on its day."""
        base = day.replace(hour=8, minute=30, second=0, microsecond=0)
        return base + timedelta(seconds=self.rng.random() * 9 * 3600)

    def recorded(self, task: str, at: datetime) -> bool:
        """Whether staff recorded `task` (due from `at`): one draw whatever the profile, so seeds stay stable."""
        draw = self.rng.random()
        shares = self.profile.recorded if self.now - at > self.profile.recent else self.profile.recent_recorded
        return draw < shares[task]

    def pick(self, picker):
        values, cum = picker
        return values[bisect_right(cum, self.rng.random() * cum[-1])]

    def meeting(self, kind: str, after: datetime) -> tuple[int, datetime]:
        """The weekly meeting of `kind` on or after `after` (created on first use)."""
        week = int((after - self.start) / (7 * DAY)) + 1
        key = (kind, week)
        found = self.meetings.get(key)
        if found is None:
            offset = {"NAM": 1, "MAAM": 2, "ICDM": 3}[kind]
            when = (self.start + week * 7 * DAY).replace(hour=10, minute=0, second=0, microsecond=0)
            when += offset * DAY
            mid = self.L.ids(Meeting)
            chair = self.rng.choice(self.staff.by_role[roles.EH_MASH_LEAD])
            self.L.buffer(Meeting).append(
                (
                    mid, kind, when, "Family hub meeting room",
                    "Early Help MASH lead\nSchool safeguarding lead\nHealth visitor\nPolice",
                    when if when <= self.now else None, chair, chair,
                )
            )  # fmt: skip
            found = self.meetings[key] = (mid, when)
        return found

    # --- a family ---------------------------------------------------------------------------
    def family(self) -> None:
        rng, L, now = self.rng, self.L, self.now
        staff = self.staff
        fid = L.ids(Family)
        surname = rng.choices(w.SURNAMES, cum_weights=w.SURNAME_CUM_WEIGHTS)[0]
        district = rng.randint(1, 99)
        postcode = f"ZZ{district} {rng.randint(1, 9)}{rng.choice(w.POSTCODE_LETTERS)}{rng.choice(w.POSTCODE_LETTERS)}"
        home_team = staff.teams[district % len(staff.teams)]
        n_contacts = 1
        while rng.random() > EXTRA_CONTACTS_P and n_contacts < 15:
            n_contacts += 1
        times = sorted(self.at(rng.random()) for _ in range(n_contacts))
        pinned = self.profile.pinned
        pin = pinned[self.families_made] if self.families_made < len(pinned) else None
        self.families_made += 1
        if pin is not None:
            # One recent contact, allocated to the first team, whose episode is in the pinned state now.
            home_team = staff.teams[0]
            times = [min(self.office(now - timedelta(days=pin[1])), now - 3 * HOUR)]
        first = times[0]
        language = rng.choice(w.LANGUAGES)
        confidential = rng.random() < 0.03

        # People: children first (siblings apart, or twins), then the adults who care for them.
        people: list[tuple[int, bool, date | None]] = []  # (id, is_child, dob)
        members = L.buffer(Membership)
        persons = L.buffer(Person)
        n_adults, n_children = rng.choice(ADULTS), rng.choice(CHILDREN)
        gaps = [
            0 if rng.random() < TWINS_P else rng.randint(SIBLING_MIN_GAP + 30, 4 * 365) for _ in range(1, n_children)
        ]
        # Days old at the first contact: the youngest is still a child (under 18) five years later.
        youngest = rng.randint(0, max(0, 12 * 365 - sum(gaps)))
        ages = [youngest + sum(gaps[i:]) for i in range(n_children)]  # oldest first
        child_dobs = [(first - timedelta(days=age)).date() for age in ages]
        oldest = child_dobs[0]
        # The first adult is a parent (or, now and then, a grandparent caring for the children);
        # a second is the other parent or a grandparent.
        parent_dob = oldest - timedelta(days=rng.randint(int(17 * YEAR), int(38 * YEAR)))
        adults_plan = [("parent", parent_dob) if rng.random() < 0.92 else ("carer", parent_dob - timedelta(
            days=rng.randint(int(18 * YEAR), int(30 * YEAR))))]  # fmt: skip
        if n_adults > 1:
            if rng.random() < 0.8:
                partner = parent_dob + timedelta(days=rng.randint(-6 * 365, 6 * 365))
                latest = oldest - timedelta(days=int(PARENT_MIN_GAP) + 1)
                adults_plan.append(("parent", min(partner, latest)))
            else:
                adults_plan.append(("carer", parent_dob - timedelta(days=rng.randint(int(18 * YEAR), int(28 * YEAR)))))
        plan = [(False, rel, dob) for rel, dob in adults_plan] + [(True, "child", dob) for dob in child_dobs]
        given_names: set[str] = set()
        for n, (is_child, relationship, dob) in enumerate(plan):
            pid = L.ids(Person)
            names = w.CHILD_NAMES if is_child else w.ADULT_NAMES
            given = rng.choice(names)
            while given in given_names:  # no two of a household share a first name
                given = names[(names.index(given) + 1) % len(names)]
            given_names.add(given)
            # An expected baby is the youngest child, not yet born.
            unborn = is_child and n == len(plan) - 1 and rng.random() < 0.01 and (now - times[-1]) < 200 * DAY
            expected = None
            if unborn:
                dob, expected = None, (now + timedelta(days=rng.randint(20, 200))).date()
            nhs = ""
            if rng.random() < 0.85:
                nhs = _nhs_number(pid)
            upn = _upn(pid) if is_child and dob and rng.random() < 0.5 else ""
            persons.append(
                (
                    pid, given, surname, dob, expected, rng.choice("MMMMFFFFFU") if not unborn else "U",
                    rng.choice(w.ETHNICITY_CODES), language, nhs, upn, confidential,
                    soundex(surname), soundex(given), first,
                )
            )  # fmt: skip
            members.append((L.ids(Membership), fid, pid, relationship))
            people.append((pid, is_child, dob))
        adults = [p[0] for p in people if not p[1]]

        # The team around the family.
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
            started = (first + timedelta(days=rng.randint(-400, 200))).date()
            ended = started + timedelta(days=rng.randint(60, 900)) if rng.random() < 0.5 else None
            agency = rng.choice(w.AGENCIES)
            L.buffer(AgencyInvolvement).append(
                (
                    L.ids(AgencyInvolvement), fid, agency,
                    f"{rng.choice(w.STAFF_FIRST)} {rng.choice(w.SURNAMES)}", rng.choice(w.AGENCY_ROLES[agency]),
                    f"01632 960{rng.randint(0, 999):03d}", started, ended if ended and ended < now.date() else None,
                )
            )  # fmt: skip

        # Contacts, decisions and episodes, oldest first; a contact is about the children under 18 then.
        def under_18(at: datetime) -> list[int]:
            return [pid for pid, is_child, dob in people if is_child and (dob is None or at.date() < adult_on(dob))]

        current: dict | None = None  # the family's latest episode
        last_team: int | None = None
        last_step_up: datetime | None = None
        for received in times:
            received = self.office(received) if pin is None else received
            if received > now:
                received = now - timedelta(minutes=rng.randint(5, 600))
            open_episode = current if current is not None and current["open_until"] > received else None
            result = self.contact(
                fid=fid, received=received, children=under_18(received), adults=adults, home_team=home_team,
                open_episode=open_episode,
                recent_step_up=bool(last_step_up and received - last_step_up < 92 * DAY), pin=pin,
            )  # fmt: skip
            if result["episode"] is not None:
                current = result["episode"]
                last_team = current["team"]
            if result["stepped_up"] is not None:
                last_step_up = result["stepped_up"]
        L.buffer(Family).append(
            (
                fid, f"The {surname} household", f"{rng.randint(1, 180)} {rng.choice(w.STREETS)}",
                w.TOWNS[district % len(w.TOWNS)], postcode, confidential, language, last_team, False, first,
            )
        )  # fmt: skip
        self.counts["families"] += 1
        if self.access_log:
            self.access(fid, first, [p[0] for p in people], surname, last_team or home_team.pk)

    # --- one contact and what followed it ----------------------------------------------------
    def contact(self, *, fid, received, children, adults, home_team, open_episode, recent_step_up, pin=None) -> dict:
        """One contact and all that followed it; returns the episode it opened and any step-up."""
        rng, L, now, staff = self.rng, self.L, self.now, self.staff
        episode_open = open_episode is not None
        cid = L.ids(Contact)
        route = self.pick(self.routes)
        mash = staff.by_role[roles.MASH_OFFICER]
        leads = staff.by_role[roles.EH_MASH_LEAD]
        created_by = rng.choice(mash)
        front_team = staff.front_door.pk
        # Whose the contact's clocks are (engine.clock_owner): its recorder's team, the front door,
        # until it is decided to an Early Help team.
        owners = Owners(contact_team=front_team)
        evs: list[Ev] = []

        def add(at: datetime, name: str) -> None:
            evs.append(Ev(at, next(self.seq), name, False, "", owners))

        add(received, ev.CONTACT_RECEIVED)
        referrer_agency = rng.choice(w.AGENCIES)
        referrer_role = rng.choice(w.AGENCY_ROLES[referrer_agency])
        referrer = f"{rng.choice(w.STAFF_FIRST)} {rng.choice(w.SURNAMES)}"

        # Screening and the decision: most within the day, some late, a few still waiting now.
        screen = received + timedelta(hours=rng.expovariate(1 / 5))
        decided = screen + timedelta(hours=rng.expovariate(1 / 6))
        if route in (Contact.Route.STEP_DOWN, Contact.Route.WRAPAROUND) and not episode_open:
            decision = D.ALLOCATE
        elif episode_open:
            decision = rng.choice((D.NO_FURTHER_ACTION, D.NO_FURTHER_ACTION, D.SIGNPOST, D.STEP_UP))
        else:
            decision = self.pick(self.decisions)
        awaiting_consent = decision in (D.ALLOCATE, D.SINGLE_AGENCY) and rng.random() < 0.08
        if pin is not None:  # decided within the morning, to the team
            decision, awaiting_consent = D.ALLOCATE, False
            route = Contact.Route.STEP_DOWN if pin[0] == S.FIRST_VISIT else Contact.Route.EMAIL
            screen, decided = received + HOUR, received + 2 * HOUR
        consent_at = decided + timedelta(days=rng.uniform(2, 12)) if awaiting_consent else decided
        final_at = consent_at + (timedelta(hours=rng.uniform(1, 30)) if awaiting_consent else timedelta())

        state = Contact.State.RECEIVED
        decided_by = decided_at = None
        rationale = ""
        meeting_kind = ""
        single_agency = ""
        allocated_team = None
        stepped_up = None
        outcome_decision = decision
        if screen <= now:
            add(screen, ev.SCREENING_HELD)
            state = Contact.State.SCREENING
        if awaiting_consent and decided <= now:
            state = Contact.State.AWAITING_CONSENT
            add(decided, ev.DECISION_MADE)
            self._comm(
                fid, cid, None, Communication.Kind.CONSENT_REQUEST, "The family", Communication.Method.LETTER,
                decided + HOUR, created_by,
            )  # fmt: skip
            add(decided + HOUR, ev.SCREENING_OUTCOME_SENT)
        if final_at <= now:
            decided_by = rng.choice(leads if decision in (D.ALLOCATE, D.MEETING, D.STEP_UP) else mash + leads)
            decided_at = final_at
            rationale = w.DECISION_RATIONALES[decision]
            if decision == D.ALLOCATE:
                # The decision names the team before the engine hears of it (workflows.services).
                owners = Owners(contact_team=home_team.pk)
            add(final_at, ev.DECISION_MADE)
            decided_event = {
                D.ALLOCATE: ev.CONTACT_DECIDED_ALLOCATE,
                D.MEETING: ev.CONTACT_DECIDED_MEETING,
                D.STEP_UP: ev.CONTACT_DECIDED_STEP_UP,
            }.get(decision, ev.CONTACT_DECIDED_CLOSE)
            add(final_at, decided_event)
            if decision == D.ALLOCATE:
                add(final_at, ev.SCREENING_DECIDED_ALLOCATE)  # the front door's own (deadlines.events.decision_events)
            state = {
                D.ALLOCATE: Contact.State.ALLOCATED_TO_TEAM,
                D.MEETING: Contact.State.AT_MEETING,
                D.SINGLE_AGENCY: Contact.State.SINGLE_AGENCY,
                D.SIGNPOST: Contact.State.SIGNPOSTED,
                D.NO_FURTHER_ACTION: Contact.State.NO_FURTHER_ACTION,
                D.STEP_UP: Contact.State.STEPPED_UP,
            }[decision]
            if decision == D.SINGLE_AGENCY:
                single_agency = rng.choice(w.AGENCIES)
            if decision == D.ALLOCATE:
                allocated_team = home_team.pk
            if decision == D.STEP_UP:
                stepped_up = final_at
            if self.recorded("screening_outcome", final_at):
                sent = final_at + timedelta(hours=rng.expovariate(1 / 14))
                if sent <= now:
                    self._comm(
                        fid, cid, None, Communication.Kind.SCREENING_OUTCOME, referrer, Communication.Method.EMAIL,
                        sent, decided_by,
                    )  # fmt: skip
                    add(sent, ev.SCREENING_OUTCOME_SENT)
        if self.recorded("acknowledgement", received) and route != Contact.Route.DART:
            sent = received + timedelta(hours=rng.expovariate(1 / 10))
            if sent <= now:
                self._comm(
                    fid, cid, None, Communication.Kind.ACKNOWLEDGEMENT, referrer, Communication.Method.EMAIL, sent,
                    created_by,
                )  # fmt: skip
                add(sent, ev.ACKNOWLEDGEMENT_SENT)

        # Consent: recorded before any offer of Early Help (rulebook D).
        if decision in (D.ALLOCATE, D.SINGLE_AGENCY, D.MEETING) and (decided <= now):
            given = rng.random() < 0.93
            L.buffer(Consent).append(
                (
                    L.ids(Consent), fid, cid, adults[0], "", Consent.Purpose.EARLY_HELP,
                    Consent.Status.GIVEN if given else Consent.Status.REFUSED,
                    min(consent_at, now).date(), created_by,
                )
            )  # fmt: skip

        # The multi-agency meeting, and its outcome.
        if decision == D.MEETING and final_at <= now:
            meeting_kind = rng.choice(self.meeting_kinds)
            mid, held = self.meeting(meeting_kind, final_at + 2 * DAY)
            # Kind-specific events, as workflows.services fires them (A2 is the NAM's, B1/B5/B6 the MAAM's).
            add(final_at, f"contact_decided_{meeting_kind.lower()}")
            outcome = self.pick(self.outcomes)
            item = [L.ids(MeetingItem), mid, cid, "", "", None, "", None, None]
            if held <= now:
                add(held, ev.MEETING_HELD)
                add(held, f"{meeting_kind.lower()}_held")
                outcome_at = held + timedelta(minutes=rng.randint(10, 120))
                if episode_open and outcome == MeetingItem.Outcome.ALLOCATE:
                    outcome = MeetingItem.Outcome.NO_FURTHER_ACTION
                item[3:] = [
                    outcome, "Agreed by the partners at the meeting.",
                    home_team.pk if outcome == MeetingItem.Outcome.ALLOCATE else None,
                    rng.choice(w.AGENCIES) if outcome == MeetingItem.Outcome.SINGLE_AGENCY else "",
                    decided_by, outcome_at,
                ]  # fmt: skip
                if outcome == MeetingItem.Outcome.ALLOCATE:
                    owners = Owners(contact_team=home_team.pk)
                # The decision was the meeting's, taken when it was held (workflows.services).
                add(held, ev.DECISION_MADE)
                outcome_decision = outcome
                decided_at = outcome_at
                state = {
                    "allocate": Contact.State.ALLOCATED_TO_TEAM,
                    "single_agency": Contact.State.SINGLE_AGENCY,
                    "signpost": Contact.State.SIGNPOSTED,
                    "no_further_action": Contact.State.NO_FURTHER_ACTION,
                    "step_up": Contact.State.STEPPED_UP,
                }[outcome]
                if outcome == MeetingItem.Outcome.ALLOCATE:
                    # The meeting's decision is timed when it was held (B6 runs from the meeting).
                    add(held, ev.CONTACT_DECIDED_ALLOCATE)  # the outcome's event, as on every path
                    add(held, ev.MEETING_DECIDED_ALLOCATE)
                    if meeting_kind == "MAAM":
                        add(held, ev.MAAM_DECIDED_ALLOCATE)
                    allocated_team = home_team.pk
                else:
                    add(held, ev.CONTACT_DECIDED_STEP_UP if outcome == "step_up" else ev.CONTACT_DECIDED_CLOSE)
                if outcome == MeetingItem.Outcome.STEP_UP:
                    stepped_up = outcome_at
                if self.recorded("meeting_outcome", outcome_at):
                    sent = outcome_at + timedelta(hours=rng.expovariate(1 / 20))
                    if sent <= now:
                        self._comm(
                            fid, cid, None, Communication.Kind.MEETING_OUTCOME, referrer,
                            Communication.Method.EMAIL, sent, decided_by,
                        )  # fmt: skip
                        add(sent, ev.MEETING_OUTCOME_SENT)
            L.buffer(MeetingItem).append(tuple(item))

        episode_id = None
        episode_events: list[Ev] = []
        ep = None
        if allocated_team is not None and decided_at is not None and not episode_open:
            origin = {
                Contact.Route.STEP_DOWN: Episode.Origin.STEP_DOWN,
                Contact.Route.WRAPAROUND: Episode.Origin.WRAPAROUND,
            }.get(route, Episode.Origin.MEETING if decision == D.MEETING else Episode.Origin.FRONT_DOOR)
            ep = self.episode(
                fid=fid, cid=cid, team=home_team, origin=origin, opened=decided_at + MINUTE, children=children,
                decided_by=decided_by, received=received, pin=pin,
            )  # fmt: skip
            episode_id = ep["id"]
            episode_events = ep["events"]
            stepped_up = ep["stepped_up"] or stepped_up
        # Rulebook D: a contact about a family with an open episode goes to its lead professional.
        notified = open_episode["lead"] if episode_open else None
        if notified is not None:
            self._comm(
                fid, cid, open_episode["id"], Communication.Kind.LEAD_PROFESSIONAL_NOTICE, "Lead professional",
                Communication.Method.PORTAL, received, created_by,
            )  # fmt: skip
        if state == Contact.State.AWAITING_CONSENT:
            outcome_decision, decided_at, decided_by = D.AWAIT_CONSENT, decided, rng.choice(leads)
            rationale = w.DECISION_RATIONALES[D.AWAIT_CONSENT]

        L.buffer(Contact).append(
            (
                cid, fid, received, route, w.AGENCY_SOURCES[referrer_agency], referrer_agency, referrer,
                referrer_role, rng.choice(w.PRESENTING_NEEDS), state,
                outcome_decision if decided_at else (D.MEETING if state == Contact.State.AT_MEETING else ""),
                rationale, decided_by, decided_at, single_agency, meeting_kind, allocated_team, recent_step_up,
                notified, 1, created_by,
            )
        )  # fmt: skip
        subjects = L.buffer(self.subjects)
        for child in children:
            subjects.append((L.ids(self.subjects), cid, child))
        risks = L.buffer(RiskIndicator)
        high = rng.sample(range(9), rng.choice((0, 1, 1, 2, 2, 3)))
        for n, indicator in enumerate(RiskIndicator.Indicator.values):
            level = rng.randint(1, 3) if n in high else 0
            risks.append((L.ids(RiskIndicator), cid, indicator, level, "Reported by the referrer." if level else ""))
        self.counts["contacts"] += 1

        # The clocks of the contact and of the episode it opened.
        self.clocks(evs + episode_events, route=route, contact_id=cid, episode_id=episode_id, family_id=fid)
        return {"episode": ep, "stepped_up": stepped_up}

    def _comm(self, fid, cid, eid, kind, recipient, method, sent, by, summary=""):
        self.L.buffer(Communication).append(
            (self.L.ids(Communication), fid, cid, eid, kind, recipient, method, sent, summary, by)
        )

    # --- an episode of Early Help ---------------------------------------------------------------
    def episode(self, *, fid, cid, team, origin, opened, children, decided_by, received, pin=None) -> dict:
        rng, L, now, staff = self.rng, self.L, self.now, self.staff
        uni = rng.uniform
        eid = L.ids(Episode)
        members = staff.team_members[team.pk]
        leader = rng.choice(members[roles.TEAM_LEADER])
        duty = rng.choice(members.get(roles.DUTY_WORKER) or members[roles.TEAM_LEADER])
        lead = rng.choice(members[roles.PRACTITIONER])
        manager = rng.choice(staff.by_role[roles.MANAGER])
        duty_manager = rng.choice(staff.by_role[roles.DUTY_MANAGER])
        if pin is not None:  # the team's first staff: the demo accounts take their work over
            leader, lead = members[roles.TEAM_LEADER][0], members[roles.PRACTITIONER][0]
            duty = (members.get(roles.DUTY_WORKER) or members[roles.TEAM_LEADER])[0]
        # Whose the clocks are (engine.clock_owner): the team's until a lead professional is allocated.
        waiting = Owners(contact_team=team.pk, episode_team=team.pk)
        holding = Owners(
            contact_team=team.pk, episode_lead=lead, episode_team=team.pk, worker=lead, worker_team=team.pk
        )
        evs: list[Ev] = []
        # "Referral sent to the team" (A3) is a step of its own on the contact, recorded when the
        # front door sends it; the generator records it with the opening.
        evs.append(Ev(opened, next(self.seq), ev.REFERRAL_SENT_TO_TEAM, False, "", waiting))
        evs.append(Ev(opened, next(self.seq), ev.EPISODE_OPENED, True, "", waiting))
        # B15 and B16 run from when social care's request was received: the contact's receipt.
        if origin == Episode.Origin.STEP_DOWN:
            evs.append(Ev(min(received, opened), next(self.seq), ev.STEP_DOWN_RECEIVED, True, "", waiting))
        elif origin == Episode.Origin.WRAPAROUND:
            evs.append(Ev(min(received, opened), next(self.seq), ev.WRAPAROUND_REQUESTED, True, "", waiting))
        sca_date = (
            (opened - timedelta(days=rng.randint(10, 150))).date() if origin == Episode.Origin.STEP_DOWN else None
        )

        # The planned course (then cut at now).
        r = rng.random()
        wait = timedelta(hours=uni(2, 24)) if r < 0.5 else timedelta(days=uni(1, 5) if r < 0.8 else uni(5, 45))
        allocated = opened + wait
        length = timedelta(days=min(420.0, 45 + rng.expovariate(1 / 150)))
        end = allocated + length
        initial = allocated + timedelta(days=uni(0.2, 4))
        first_visit = initial + timedelta(days=uni(1, 9))
        skip_assessment = sca_date is not None and (opened.date() - sca_date).days < 90 and rng.random() < 0.5
        assessed = first_visit + timedelta(days=uni(10, 40))
        planning = assessed + timedelta(days=uni(3, 20))
        active = planning + timedelta(days=uni(0, 5))
        end = max(end, active + 28 * DAY)  # the plan runs before the case can close
        path = rng.random()
        declined_at = step_up_at = None
        if path < 0.07:
            declined_at = allocated + timedelta(days=uni(1, max(1.5, (active - allocated).days)))
            end = declined_at
        elif path < 0.15 and end > active + 10 * DAY:
            step_up_at = active + timedelta(days=uni(5, (end - active).days))
        # Step-up branch: accepted and closed, accepted with wraparound, or returned.
        step_branch = rng.choice(("close", "close", "wraparound", "returned"))
        closure_reason = rng.choice(("goals_met",) * 6 + ("moved_away", "family_declined", "other"))
        if pin is not None:
            # A steady course, so that now falls in the pinned state.
            pinned_state = pin[0]

            def day(n: float) -> datetime:
                return opened + timedelta(days=n)

            # The milestones before the pinned state fall between the opening and now; the rest after now.
            passed = PINNED_MILESTONES[pinned_state]
            course = [1.0, 2.0, 5.0, 20.0, 30.0, 32.0]  # days after opening, for an unhurried case
            age = (now - opened) / DAY
            moments = [
                day(course[i] * 0.9 * age / course[passed - 1]) if i < passed else now + (i - passed + 1) * DAY
                for i in range(len(course))
            ]
            allocated, initial, first_visit, assessed, planning, active = moments
            end, declined_at, step_up_at = max(now, active) + 120 * DAY, None, None
            skip_assessment = pinned_state == S.FIRST_VISIT  # stepped down after a recent assessment
            if skip_assessment:
                sca_date = (opened - 30 * DAY).date()
            if pinned_state == S.CLOSURE_REQUESTED:
                end = now - DAY
            elif pinned_state == S.STEP_UP_REQUESTED:
                step_up_at = now - DAY
            elif pinned_state == S.WRAPAROUND:
                step_up_at, step_branch = now - 20 * DAY, "wraparound"

        timeline: list[tuple[datetime, str]] = [(opened, S.AWAITING_ALLOCATION)]
        stepped_up = None
        closed_at = None

        def add(at, state):
            timeline.append((at, state))

        add(allocated, S.ALLOCATED)
        if declined_at is None or declined_at > initial:
            add(initial, S.INITIAL_CONTACT)
        if declined_at is None or declined_at > first_visit:
            add(first_visit, S.FIRST_VISIT)
            if not skip_assessment:
                add(first_visit + MINUTE, S.ASSESSMENT)
        if declined_at is None or declined_at > assessed:
            add(assessed, S.ASSESSMENT_COMPLETED)
        if declined_at is None or declined_at > planning:
            add(planning, S.PLANNING)
            add(active, S.PLAN_ACTIVE)
        if declined_at is not None:
            add(declined_at, S.CLOSED)
            closed_at = declined_at
            closure_reason = "family_declined"
        sent = decided = None
        if step_up_at is not None:
            sent = step_up_at + timedelta(days=uni(0.2, 3))
            decided = sent + timedelta(days=uni(0.2, 3))
            if pin is not None:  # with the duty manager now, or decided days ago
                sent = step_up_at + 4 * HOUR
                decided = now + 2 * DAY if pin[0] == S.STEP_UP_REQUESTED else step_up_at + 2 * DAY
            add(step_up_at, S.STEP_UP_REQUESTED)
            if step_branch == "close":
                add(decided, S.CLOSED)
                closed_at, closure_reason = decided, "stepped_up"
                stepped_up = decided
            elif step_branch == "wraparound":
                add(decided, S.WRAPAROUND)
                stepped_up = decided
                end = max(end, decided + timedelta(days=uni(40, 150)))
            else:
                add(decided, S.PLAN_ACTIVE)
        closure_requested = closure_returned = re_requested = signed_off = None
        if closed_at is None:
            closure_requested = end
            if rng.random() < 0.1:
                closure_returned = end + timedelta(days=uni(1, 5))
                re_requested = closure_returned + timedelta(days=uni(5, 15))
                signed_off = re_requested + timedelta(days=uni(0.3, 4))
                add(closure_requested, S.CLOSURE_REQUESTED)
                add(closure_returned, S.PLAN_ACTIVE if step_branch != "wraparound" or not stepped_up else S.WRAPAROUND)
                add(re_requested, S.CLOSURE_REQUESTED)
            else:
                signed_off = end + timedelta(days=uni(0.3, 6))
                add(closure_requested, S.CLOSURE_REQUESTED)
            add(signed_off, S.CLOSED)
            closed_at = signed_off
        state = S.AWAITING_ALLOCATION
        before_request = ""
        for at, st in timeline:
            if at > now:
                break
            if st in (S.CLOSURE_REQUESTED, S.STEP_UP_REQUESTED):
                before_request = state
            state = st
        is_closed = state == S.CLOSED
        work_end = min(closed_at if closed_at else now, now)
        if not is_closed:
            closed_at = None

        # Events for the clocks (and the records that go with them), up to now.
        def emit(at, name, key=""):
            if at <= now:
                owners = holding if is_allocated and at >= allocated else waiting
                evs.append(Ev(at, next(self.seq), name, True, key, owners))

        def decide(oversees, after, share, **links):
            """A manager's oversight of something, recorded (or not) a few days later."""
            if self.Decision is None or rng.random() > share:
                return
            at = after + timedelta(days=uni(0.2, 6))
            if at > now or (closed_at is not None and at > closed_at):
                return
            L.buffer(self.Decision).append(
                (
                    L.ids(self.Decision), eid, fid, oversees, links.get("assessment"), links.get("plan"),
                    links.get("review"), links.get("closure"), links.get("step_up"), links.get("note"),
                    "Agree with the worker's analysis; continue with the plan.",
                    "Progress is evidenced in the records; risks are managed.", manager, at,
                )
            )  # fmt: skip
            emit(at, ev.OVERSIGHT_RECORDED)

        is_allocated = allocated <= now
        # Duty contacts while on the pre-allocation list.
        notes = L.buffer(CaseNote)
        note_ids: list[int] = []
        t = opened + timedelta(days=uni(3, 7))
        while t < min(allocated, work_end):
            nid = self._note(eid, fid, K.DUTY_CONTACT, t, duty, children, notes)
            emit(t, ev.VISIT_RECORDED, f"note:{nid}")
            emit(t, ev.DUTY_CONTACT_RECORDED)
            emit(t + timedelta(hours=uni(0.2, 20)), ev.CASE_RECORDED, f"note:{nid}")
            t += timedelta(days=uni(4, 9))
        if is_allocated:
            emit(allocated, ev.ALLOCATED)
            # The same event concerns the practitioner: B20 runs once they hold a case.
            self.worker_events[lead].append(evs[-1]._replace(on_episode=False))
        if initial <= work_end and (declined_at is None or initial < declined_at):
            initial_kind = rng.choice((K.PHONE_CALL, K.HOME_VISIT))
            nid = self._note(eid, fid, initial_kind, initial, lead, children, notes, initial=True)
            emit(initial, ev.INITIAL_CONTACT_MADE)
            emit(initial, ev.VISIT_RECORDED, f"note:{nid}")
            if initial_kind in CaseNote.IN_PERSON_KINDS:
                emit(initial, ev.FAMILY_VISITED)
            emit(initial + timedelta(hours=uni(0.2, 30)), ev.CASE_RECORDED, f"note:{nid}")
        if first_visit <= work_end and (declined_at is None or first_visit < declined_at):
            nid = self._note(eid, fid, K.HOME_VISIT, first_visit, lead, children, notes, first=True)
            note_ids.append(nid)
            emit(first_visit, ev.FIRST_VISIT_MADE)
            emit(first_visit, ev.VISIT_RECORDED, f"note:{nid}")
            emit(first_visit, ev.FAMILY_VISITED)
            emit(first_visit + timedelta(hours=uni(0.2, 30)), ev.CASE_RECORDED, f"note:{nid}")
            # Visits until the work ends.
            t = first_visit + timedelta(days=max(0.5, rng.expovariate(1 / 5.7)))
            visit_end = min(work_end, end if closed_at is None or closed_at > end else closed_at)
            while t < visit_end:
                kind = self.pick(self.note_kinds)
                nid = self._note(eid, fid, kind, t, lead, children, notes)
                emit(t, ev.VISIT_RECORDED, f"note:{nid}")
                if kind in CaseNote.IN_PERSON_KINDS:
                    emit(t, ev.FAMILY_VISITED)
                lag = timedelta(hours=uni(0.1, 8) if rng.random() < 0.9 else uni(24, 120))
                emit(t + lag, ev.CASE_RECORDED, f"note:{nid}")
                t += timedelta(days=max(0.5, rng.expovariate(1 / 5.7)))
            # The supervisor's case discussions, every month or so.
            t = first_visit + timedelta(days=uni(20, 40))
            while t < visit_end:
                nid = self._note(eid, fid, K.CASE_DISCUSSION, t, leader, children, notes)
                emit(t, ev.CASE_DISCUSSION_HELD)
                decide("case_discussion", t, 0.85, note=nid)
                t += timedelta(days=uni(28, 45))

        # Assessment.
        if first_visit <= now and (declined_at is None or first_visit < declined_at) and not skip_assessment:
            done = assessed <= now and (declined_at is None or assessed < declined_at)
            aid = assessment_id = L.ids(Assessment)
            L.buffer(Assessment).append(
                (
                    aid, eid, first_visit, lead, "Family known to universal services; no previous social care.",
                    "Parents want help with routines and school attendance.", rng.choice(w.CHILD_VOICES),
                    "Early Help plan with family hub support." if done else "",
                    assessed if done else None, lead if done else None, 2 if done else 1,
                )
            )  # fmt: skip
            for child in children:
                L.buffer(AssessmentChild).append(
                    (L.ids(AssessmentChild), aid, child, "Meeting milestones.", rng.choice(w.CHILD_VOICES))
                )  # fmt: skip
            need_levels = {}
            for area in OutcomeArea.values:
                level = rng.choice((1, 1, 1, 2, 2, 3)) if done else rng.choice((0, 0, 1, 2))
                need_levels[area] = level
                L.buffer(AssessmentNeed).append((L.ids(AssessmentNeed), aid, area, level, ""))
            for indicator in RiskIndicator.Indicator.values:
                L.buffer(AssessmentRisk).append(
                    (L.ids(AssessmentRisk), aid, indicator, rng.choice((0, 0, 0, 1, 1, 2, 3)), "")
                )
        else:
            assessment_id = None
            need_levels = {area: rng.choice((2, 3)) for area in OutcomeArea.values}
        if assessed <= now and (declined_at is None or assessed < declined_at):
            # One oversight clock per assessment (B13); a recent social care assessment stands in.
            record = f"assessment:{assessment_id}" if assessment_id is not None else f"assessment-not-needed:{eid}"
            emit(assessed, ev.ASSESSMENT_COMPLETED, record)
            if assessment_id is not None:
                decide("assessment", assessed, 0.8, assessment=assessment_id)
            self._doc(eid, fid, Document.Kind.ASSESSMENT, assessed, lead)

        # Plan, initial planning meeting, plan copy.
        outcome_ids: list[int] = []
        if assessed <= now and (declined_at is None or assessed < declined_at):
            pid = L.ids(Plan)
            emit(assessed, ev.PLAN_STARTED, f"plan:{pid}")  # the plan is written from the assessment (B10)
            is_active = active <= now and (declined_at is None or active < declined_at)
            L.buffer(Plan).append(
                (
                    pid, eid, "Step-up discussion with the duty manager.", assessed, lead,
                    active if is_active else None, leader if is_active else None, 1,
                )
            )  # fmt: skip
            areas = sorted(need_levels, key=lambda a: -need_levels[a])[: rng.randint(2, 4)]
            for number, area in enumerate(areas, start=1):
                oid = L.ids(PlanOutcome)
                outcome_ids.append(oid)
                by_when = (assessed + timedelta(days=rng.randint(60, 200))).date()
                L.buffer(PlanOutcome).append(
                    (oid, pid, number, area, w.OUTCOME_DESCRIPTIONS[area], "Reviewed at each review meeting.", by_when)
                )
                for _ in range(rng.randint(1, 3)):
                    due = (assessed + timedelta(days=rng.randint(10, 150))).date()
                    done_on = (
                        due - timedelta(days=rng.randint(0, 10)) if due < now.date() and rng.random() < 0.7 else None
                    )
                    L.buffer(PlanAction).append(
                        (L.ids(PlanAction), oid, rng.choice(w.ACTIONS), rng.choice(WHO), due, done_on)
                    )  # fmt: skip
            if planning <= now and (declined_at is None or planning < declined_at):
                self._team_meeting(eid, TeamMeeting.Kind.INITIAL_PLANNING, planning, lead)
                emit(planning, ev.PLANNING_MEETING_HELD)
                self._doc(eid, fid, Document.Kind.PLAN, planning, lead)
            if is_active:
                emit(active, ev.PLAN_COMPLETED, f"plan:{pid}")
                decide("plan", active, 0.8, plan=pid)
                if self.recorded("plan_copy", active):
                    copy_at = active + timedelta(days=uni(0.5, 7))
                    if copy_at <= now:
                        self._comm(
                            fid,
                            None,
                            eid,
                            Communication.Kind.PLAN_COPY,
                            "The family",
                            Communication.Method.LETTER,
                            copy_at,
                            lead,
                        )
                        emit(copy_at, ev.PLAN_COPY_SENT)
                # Reviews every six weeks or so while the plan runs.
                t = active + timedelta(days=uni(35, 50))
                review_end = min(closure_requested or work_end, work_end)
                if step_up_at is not None and step_branch == "close":
                    review_end = min(review_end, step_up_at)
                while t < review_end:
                    mid = self._team_meeting(eid, TeamMeeting.Kind.REVIEW, t, lead)
                    rid = L.ids(Review)
                    L.buffer(Review).append(
                        (
                            rid, eid, mid, "Steady progress against the plan; routines are better.",
                            "The family feel things are calmer.", rng.choice(w.CHILD_VOICES),
                            (t + 42 * DAY).date(), t + timedelta(hours=uni(1, 30)), lead,
                        )
                    )  # fmt: skip
                    for oid in outcome_ids:
                        L.buffer(ReviewProgress).append((L.ids(ReviewProgress), rid, oid, rng.randint(0, 4), ""))
                    emit(t, ev.REVIEW_HELD, f"review:{rid}")
                    decide("review", t, 0.7, review=rid)
                    t += timedelta(days=uni(35, 50))

        # Step-up.
        if step_up_at is not None and step_up_at <= now:
            sid = L.ids(StepUp)
            is_sent = sent <= now
            is_decided = decided <= now
            decision = {"close": StepUp.Decision.ACCEPTED, "wraparound": StepUp.Decision.ACCEPTED}.get(
                step_branch, StepUp.Decision.RETURNED
            )
            L.buffer(StepUp).append(
                (
                    sid, eid, step_up_at, lead, rng.choice(StepUp.Concern.values),
                    "Risk has increased despite the plan.", "School and health share the concern.",
                    "Parent disagrees but understands why.",
                    StepUp.NextStep.MARF if is_sent else "", StepUp.Parenting.PARTLY if is_sent else "",
                    "Agree: threshold for a social care assessment is met." if is_sent else "",
                    sent if is_sent else None, manager if is_sent else None,
                    decision if is_decided else "", (step_branch == "wraparound") if is_decided else None,
                    "Decision recorded with the duty manager's oversight." if is_decided else "",
                    decided if is_decided else None, duty_manager if is_decided else None,
                )
            )  # fmt: skip
            emit(step_up_at, ev.STEP_UP_REQUESTED)
            decide("step_up", step_up_at, 0.9, step_up=sid)
            emit(sent, ev.STEP_UP_SENT_TO_DUTY_MANAGER)
            emit(decided, ev.STEP_UP_DECIDED)
            if step_branch == "close":
                emit(decided, ev.EPISODE_CLOSED)
            if rng.random() < 0.05:
                raised = step_up_at + DAY
                resolved = raised + timedelta(days=uni(2, 10))
                if raised <= now:
                    L.buffer(Escalation).append(
                        (
                            L.ids(Escalation), eid, Escalation.About.STEP_UP, "Disagreement about the threshold.",
                            "Head of Early Help", raised, leader,
                            "Agreed after discussion." if resolved <= now else "",
                            resolved if resolved <= now else None, manager if resolved <= now else None,
                        )
                    )  # fmt: skip

        # Declined.
        if declined_at is not None and declined_at <= now:
            self._note(eid, fid, K.PHONE_CALL, declined_at, lead, children, notes)
            emit(declined_at, ev.EPISODE_CLOSED)

        # Closure: request, maybe returned, signed off.
        if closure_requested is not None and closure_requested <= now:
            requests = [(closure_requested, closure_returned, "returned"), (re_requested, signed_off, "signed_off")]
            if closure_returned is None:
                requests = [(closure_requested, signed_off, "signed_off")]
            for requested, answered, outcome in requests:
                if requested is None or requested > now:
                    continue
                answered_now = answered is not None and answered <= now
                crid = L.ids(ClosureRequest)
                L.buffer(ClosureRequest).append(
                    (
                        crid, eid, requested, lead, True, True, True, outcome == "signed_off",
                        "Goals of the plan are met; the family agree.", rng.choice(w.CHILD_VOICES),
                        closure_reason if closure_reason != "stepped_up" else "goals_met",
                        outcome if answered_now else ClosureRequest.Status.PENDING,
                        answered if answered_now else None, manager if answered_now else None,
                        "Supervisor's tasks are not done yet." if outcome == "returned" and answered_now else "",
                    )
                )  # fmt: skip
                emit(requested, ev.CLOSURE_REQUESTED, f"closure:{crid}")
                decide("closure", requested, 0.9, closure=crid)
                if answered_now:
                    if outcome == "returned":
                        emit(answered, ev.CLOSURE_RETURNED)
                    else:
                        self._team_meeting(eid, TeamMeeting.Kind.ENDING, requested - DAY, lead)
                        emit(answered, ev.CLOSURE_SIGNED_OFF)
                        emit(answered, ev.EPISODE_CLOSED)
                        for kind, recipient in (
                            (Communication.Kind.CLOSURE_LETTER, "The family"),
                            (Communication.Kind.PARTNER_NOTICE, "Partners around the family"),
                        ):
                            self._comm(fid, None, eid, kind, recipient, Communication.Method.EMAIL, answered, manager)

        # Documents: the signed consent, and now and then something from a partner.
        if is_allocated:
            self._doc(eid, fid, Document.Kind.CONSENT, allocated, lead)
            if rng.random() < 0.4:
                self._doc(eid, fid, Document.Kind.AGENCY, allocated + timedelta(days=uni(5, 90)), lead)
        # A half-typed visit note for some open cases.
        if not is_closed and is_allocated and rng.random() < 0.05:
            L.buffer(Draft).append(
                (L.ids(Draft), lead, eid, "note", str(eid), Jsonb({"details": "Visited the family and"}), now - HOUR)
            )

        L.buffer(Episode).append(
            (
                eid, fid, cid, team.pk, lead if is_allocated else None, origin, state, opened,
                "Stepped down from social care." if origin == Episode.Origin.STEP_DOWN else "From the front door.",
                allocated if is_allocated else None, leader if is_allocated else None,
                before_request if state in (S.CLOSURE_REQUESTED, S.STEP_UP_REQUESTED) else "",
                closed_at, closed_at.date() if closed_at else None, closure_reason if is_closed else "",
                sca_date, 1 + len(timeline),
            )
        )  # fmt: skip
        self.counts["episodes"] += 1
        self.counts[f"episodes_{state}"] += 1
        return {
            "id": eid,
            "events": evs,
            "open_until": closed_at if is_closed else datetime.max.replace(tzinfo=now.tzinfo),
            "stepped_up": stepped_up if stepped_up and stepped_up <= now else None,
            "lead": lead if is_allocated else None,
            "allocated": allocated if is_allocated else None,
            "team": team.pk,
        }

    def _note(self, eid, fid, kind, happened, by, children, notes, *, initial=False, first=False) -> int:
        rng = self.rng
        nid = self.L.ids(CaseNote)
        seen = first or (kind in (K.HOME_VISIT, K.DIRECT_WORK) and rng.random() < 0.6)
        recorded = happened + timedelta(minutes=rng.randint(10, 600))
        notes.append(
            (
                nid, eid, fid, kind, happened, recorded if recorded < self.now else self.now, by,
                "Review progress with the plan", rng.choice(self.note_texts), seen and bool(children), initial, first,
            )
        )  # fmt: skip
        if (first or kind == K.DIRECT_WORK) and children:
            views = self.L.buffer(ChildView)
            for child in children[:2]:
                views.append((self.L.ids(ChildView), nid, child, True, True, rng.choice(w.CHILD_VOICES)))
        return nid

    def _team_meeting(self, eid, kind, held, by) -> int:
        mid = self.L.ids(TeamMeeting)
        self.L.buffer(TeamMeeting).append(
            (
                mid, eid, kind, held, "Parent, family coach\nSchool safeguarding lead\nHealth visitor",
                "Agreed the plan's next steps." if kind != TeamMeeting.Kind.REVIEW else "",
                min(held + timedelta(hours=self.rng.uniform(1, 30)), self.now), by,
            )
        )  # fmt: skip
        return mid

    def _doc(self, eid, fid, kind, at, by) -> None:
        if at > self.now:
            return
        did = self.L.ids(Document)
        self.L.buffer(Document).append(
            (
                did, eid, fid, kind, w.DOCUMENT_TITLES[kind],
                f"private/episodes/{eid}/{self.rng.getrandbits(64):016x}.pdf", f"{kind}.pdf", "application/pdf",
                self.rng.randint(30_000, 900_000), at, by,
            )
        )  # fmt: skip

    # --- supervision of each practitioner (B20: every 4 calendar weeks) ------------------------
    def supervisions(self) -> None:
        """Each practitioner's supervisions, and their joining a team (B20's first clock).

        Generated staff join their teams when the generated years begin; the users page would
        tell the engine `team_joined` then (accounts.services.user_save). Only for staff made by
        this run: appending to a database keeps the clocks its staff already have.
        """
        if not self.new_staff:
            return
        rng, L, now, staff = self.rng, self.L, self.now, self.staff
        for team_id, members in sorted(staff.team_members.items()):
            leaders = members.get(roles.TEAM_LEADER)
            for practitioner in members.get(roles.PRACTITIONER, []):
                owners = Owners(worker=practitioner, worker_team=team_id)
                evs = self.worker_events[practitioner]
                evs.append(Ev(self.start, next(self.seq), ev.TEAM_JOINED, False, "", owners))
                if self.Supervision is None or not leaders:
                    continue
                t = self.start + timedelta(days=rng.uniform(0, 28))
                while t < now:
                    held = self.office(t)
                    if held > now:
                        break
                    L.buffer(self.Supervision).append(
                        (
                            L.ids(self.Supervision), practitioner, rng.choice(leaders), held.date(),
                            "Reflected on caseload, risks and wellbeing; actions agreed.",
                            min(held + timedelta(hours=rng.uniform(1, 48)), now),
                        )
                    )  # fmt: skip
                    # As oversight.services records it: the day it was held, never after now.
                    at = min(now, datetime.combine(held.date(), END_OF_DAY, tzinfo=LONDON))
                    evs.append(Ev(at, next(self.seq), ev.SUPERVISION_RECORDED, False, "", owners))
                    t += timedelta(days=rng.uniform(24, 36))

    def worker_clocks(self) -> None:
        """Every practitioner's clocks, once all the families (and the cases they hold) are made."""
        if not self.new_staff:
            return
        L, now = self.L, self.now
        for worker_id, events in sorted(self.worker_events.items()):
            replay = Replay(self.rules, starting=self.starting, limits=self.limits)
            for e in sorted(events):
                replay.record(e.name, e.at, present=WORKER, owners=e.owners, key=e.key)
                if self.event_log is not None and e.name != ev.ALLOCATED:  # logged with its episode
                    self.event_log.append((e, None, None, worker_id, None))
            for clock in replay.clocks:
                overdue_at, breach_at, levels = alerts(clock, now)
                did = self._deadline_row(
                    clock, contact_id=None, episode_id=None, worker_id=worker_id, family_id=None,
                    claimed=(overdue_at, breach_at),
                )  # fmt: skip
                leaders = self.staff.leaders.get(clock.team_id, ())
                for level, created in levels:
                    for user_id in sorted({*leaders, worker_id}):
                        L.buffer(Alert).append(
                            (L.ids(Alert), did, level, user_id, created, created + DAY, created + MINUTE)
                        )
        self.worker_events.clear()

    # --- clocks and alerts ----------------------------------------------------------------------
    def _deadline_row(self, clock: Clock, *, contact_id, episode_id, worker_id, family_id, claimed) -> int:
        """Buffer one clock's row; `claimed`: when the alert job would have claimed its crossings."""
        did = self.L.ids(Deadline)
        rule = clock.rule
        self.L.buffer(Deadline).append(
            (
                did, clock.rulebook, rule.id, rule.title, contact_id, episode_id, worker_id, family_id, clock.cycle,
                clock.key, None if clock.stops_seen is None else Jsonb(clock.stops_seen), clock.started_at,
                clock.expected_at, clock.due_at, clock.stopped_at, clock.stop_reason, rule.flag_only,
                clock.assignee_id, clock.team_id, *claimed, clock.start_event,
            )
        )  # fmt: skip
        return did

    def clocks(self, events: list[Ev], *, route, contact_id, episode_id, family_id) -> None:
        L, now = self.L, self.now
        alert_rows = L.buffer(Alert)
        leaders = self.staff.leaders
        rng = self.rng
        replay = Replay(self.rules, starting=self.starting, limits=self.limits)
        for e in sorted(events):
            replay.record(e.name, e.at, present=EPISODE if e.on_episode else CONTACT, owners=e.owners, route=route,
                          key=e.key)  # fmt: skip
            if self.event_log is not None:
                worker = e.owners.worker if e.name == ev.ALLOCATED else None
                self.event_log.append((e, contact_id, episode_id if e.on_episode else None, worker, route))
        for clock in replay.clocks:
            on_episode = clock.rule.applies_to == "episode"
            overdue_at, breach_at, levels = alerts(clock, now)
            did = self._deadline_row(
                clock, contact_id=None if on_episode else contact_id, episode_id=episode_id if on_episode else None,
                worker_id=None, family_id=family_id, claimed=(overdue_at, breach_at),
            )  # fmt: skip
            for level, created in levels:
                recipients = set(leaders.get(clock.team_id, ()))
                if clock.assignee_id is not None:
                    recipients.add(clock.assignee_id)
                old = now - created > 3 * DAY
                for user_id in sorted(recipients):
                    read = created + timedelta(hours=rng.uniform(1, 60)) if old and rng.random() < 0.85 else None
                    alert_rows.append((L.ids(Alert), did, level, user_id, created, read, created + MINUTE))
        self.counts["clock_runs"] += 1

    # --- the access log ---------------------------------------------------------------------------
    def access(self, fid: int, first: datetime, people: list[int], surname: str, team_id: int) -> None:
        rng, L = self.log_rng, self.L
        rows = L.buffer(AccessLog)
        staff = self.staff
        viewers = (
            staff.team_members.get(team_id, {}).get(roles.PRACTITIONER, [])
            + staff.by_role[roles.MASH_OFFICER]
            + staff.by_role[roles.EH_MASH_LEAD]
        )
        span = (self.now - first).total_seconds()
        what_family = f"family F{fid:07d}"
        n = rng.randint(ACCESS_LOG_PER_FAMILY // 2, ACCESS_LOG_PER_FAMILY * 3 // 2)
        rand = rng.random
        for _ in range(n):
            at = first + timedelta(seconds=span * rand())
            user = viewers[int(rand() * len(viewers))]
            r = rand()
            if r < 0.75:
                row = (L.ids(AccessLog), at, user, "view", fid, None, what_family, "10.20.30.40")
            elif r < 0.9:
                row = (L.ids(AccessLog), at, user, "search", None, None, f"search: {surname}", "10.20.30.40")
            elif r < 0.97:
                person = people[int(rand() * len(people))]
                row = (L.ids(AccessLog), at, user, "view", fid, person, f"person P{person:07d}", "10.20.30.41")
            else:
                row = (
                    L.ids(AccessLog),
                    at,
                    user,
                    "export",
                    fid,
                    None,
                    f"subject access export F{fid:07d}",
                    "10.20.30.42",
                )
            rows.append(row)


def adult_on(dob: date) -> date:
    """The 18th birthday (1 March for 29 February)."""
    try:
        return dob.replace(year=dob.year + 18)
    except ValueError:
        return date(dob.year + 18, 3, 1)


def _nhs_number(n: int) -> str:
    """A valid-looking NHS number in the 999 test range (never issued to patients)."""
    base = f"999{n % 1_000_000:06d}"
    total = sum(int(d) * wgt for d, wgt in zip(base, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return ""
    return base + str(check)


def _upn(n: int) -> str:
    from cases.validators import upn_check_letter

    rest = f"999{n % 100_000_000:08d}{n % 10}"
    return upn_check_letter(rest) + rest
