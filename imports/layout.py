"""The documented layout of an export set: one file per kind, its columns and the codes each column takes.

This module is the one description of the layout: the README's table, the downloadable templates, the
validation (imports.checks) and the sample generator (imports.sample) all read it. A file is named after
its kind (`families.csv` or `families.xlsx`); its first row names the columns; columns may come in any
order, unknown columns are reported, and empty cells mean "not known".

Dates are `YYYY-MM-DD` (or `DD/MM/YYYY`); times are `YYYY-MM-DD HH:MM` in UK local time. Lists (a
contact's subjects, a member of staff's roles) are separated by `;`. Yes/no columns take yes or no.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from accounts import roles
from accounts.models import Team, User
from cases import codes
from cases.models import CaseNote, ClosureReason, Contact, Episode, Membership, StepUp

# The states an imported episode may be in: every state of the episode's course. A request waiting for
# a manager (closure, step-up) and wraparound alongside social care come with the dates of their request
# (REQUEST_DATES), so the manager's clock is running on the first morning as it would be here.
IMPORTABLE_EPISODE_STATES = tuple(Episode.State)

# The key dates of an episode, in the order the work reaches them, and the state each one begins.
MILESTONES = (
    ("allocated_at", Episode.State.ALLOCATED),
    ("initial_contact_at", Episode.State.INITIAL_CONTACT),
    ("first_visit_at", Episode.State.FIRST_VISIT),
    ("assessment_completed_at", Episode.State.ASSESSMENT_COMPLETED),
    ("planning_meeting_at", Episode.State.PLANNING),
    ("plan_active_at", Episode.State.PLAN_ACTIVE),
)

# Which milestones each open state needs (every one before it); "assessment" (in progress) needs the
# first visit, a plan may be active without a planning meeting (procedures without one).
REQUIRED_MILESTONES = {
    Episode.State.AWAITING_ALLOCATION: (),
    Episode.State.ALLOCATED: ("allocated_at",),
    Episode.State.INITIAL_CONTACT: ("allocated_at", "initial_contact_at"),
    Episode.State.FIRST_VISIT: ("allocated_at", "initial_contact_at", "first_visit_at"),
    Episode.State.ASSESSMENT: ("allocated_at", "initial_contact_at", "first_visit_at"),
    Episode.State.ASSESSMENT_COMPLETED: (
        "allocated_at",
        "initial_contact_at",
        "first_visit_at",
        "assessment_completed_at",
    ),
    Episode.State.PLANNING: (
        "allocated_at",
        "initial_contact_at",
        "first_visit_at",
        "assessment_completed_at",
        "planning_meeting_at",
    ),
    Episode.State.PLAN_ACTIVE: (
        "allocated_at",
        "initial_contact_at",
        "first_visit_at",
        "assessment_completed_at",
        "plan_active_at",
    ),
}
# The milestones a state may have: its own and those before it.
ALLOWED_MILESTONES = {
    Episode.State.AWAITING_ALLOCATION: (),
    Episode.State.ALLOCATED: ("allocated_at",),
    Episode.State.INITIAL_CONTACT: ("allocated_at", "initial_contact_at"),
    Episode.State.FIRST_VISIT: ("allocated_at", "initial_contact_at", "first_visit_at"),
    Episode.State.ASSESSMENT: ("allocated_at", "initial_contact_at", "first_visit_at"),
    Episode.State.ASSESSMENT_COMPLETED: (
        "allocated_at",
        "initial_contact_at",
        "first_visit_at",
        "assessment_completed_at",
    ),
    Episode.State.PLANNING: REQUIRED_MILESTONES[Episode.State.PLANNING],
    Episode.State.PLAN_ACTIVE: (*REQUIRED_MILESTONES[Episode.State.PLANNING], "plan_active_at"),
    Episode.State.CLOSED: tuple(name for name, _ in MILESTONES),
}

# The dates of a request waiting for a manager, after the key dates (MILESTONES), in the order they happen.
STEP_UP_DATES = ("step_up_requested_at", "step_up_sent_at", "step_up_decided_at", "wraparound_confirmed_at")
REQUEST_DATES = (*STEP_UP_DATES, "closure_requested_at")
# The states that wait on (or follow) a request: the episode was in another state before it (its key
# dates say which), and each needs some of the request dates and may have others.
REQUEST_STATES = (Episode.State.STEP_UP_REQUESTED, Episode.State.WRAPAROUND, Episode.State.CLOSURE_REQUESTED)
REQUIRED_REQUEST_DATES = {
    Episode.State.STEP_UP_REQUESTED: ("step_up_requested_at",),
    Episode.State.WRAPAROUND: ("step_up_requested_at", "step_up_sent_at", "step_up_decided_at"),
    Episode.State.CLOSURE_REQUESTED: ("closure_requested_at",),
}
ALLOWED_REQUEST_DATES = {
    Episode.State.STEP_UP_REQUESTED: ("step_up_requested_at", "step_up_sent_at"),
    Episode.State.WRAPAROUND: STEP_UP_DATES,
    # A closure asked for from wraparound gives the step-up's dates too.
    Episode.State.CLOSURE_REQUESTED: REQUEST_DATES,
}


def state_before_request(values: dict) -> str:
    """The state an episode was in before its request (or wraparound): that of its latest key date.

    A closure asked for from wraparound (social care's decision given) was in wraparound.
    """
    if values.get("step_up_decided_at") and values.get("state") == Episode.State.CLOSURE_REQUESTED:
        return Episode.State.WRAPAROUND
    return reached_state(values)


def reached_state(values: dict) -> str:
    """The state the latest key date given begins (awaiting allocation when none is given)."""
    reached = Episode.State.AWAITING_ALLOCATION
    for name, state in MILESTONES:
        if values.get(name):
            reached = state
    return reached


# A front-door decision and the state it leaves the contact in; no decision: still at the front door.
CONTACT_STATE_FOR_DECISION = {
    "": Contact.State.RECEIVED,
    Contact.Decision.STEP_UP: Contact.State.STEPPED_UP,
    Contact.Decision.MEETING: Contact.State.AT_MEETING,
    Contact.Decision.ALLOCATE: Contact.State.ALLOCATED_TO_TEAM,
    Contact.Decision.SINGLE_AGENCY: Contact.State.SINGLE_AGENCY,
    Contact.Decision.SIGNPOST: Contact.State.SIGNPOSTED,
    Contact.Decision.NO_FURTHER_ACTION: Contact.State.NO_FURTHER_ACTION,
    Contact.Decision.AWAIT_CONSENT: Contact.State.AWAITING_CONSENT,
}

# Roles an import may give. Never Administrator: who runs the system is decided in the system.
IMPORTABLE_ROLES = tuple(r for r in roles.ALL_ROLES if r != roles.ADMINISTRATOR)

# Column types.
ID, TEXT, LONG_TEXT, DATE, DATETIME, BOOL, CODE, REF, REFS, EMAIL, NHS, UPN, POSTCODE = (
    "id",
    "text",
    "long text",
    "date",
    "date and time",
    "yes/no",
    "code",
    "reference",
    "references",
    "email",
    "NHS number",
    "UPN",
    "postcode",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    codes: tuple[tuple[str, str], ...] = ()  # (code, meaning) for CODE columns (and each item of a REFS list)
    ref: str = ""  # the kind a REF/REFS column names
    max_length: int = 200
    help: str = ""

    @cached_property
    def code_values(self) -> frozenset[str]:
        return frozenset(code for code, _ in self.codes)

    @cached_property
    def code_of_lower(self) -> dict[str, str]:
        """Each code by its lower case: codes are matched whatever their case."""
        return {code.lower(): code for code in self.code_values}


@dataclass(frozen=True)
class Kind:
    name: str  # also the file name: families.csv / families.xlsx
    title: str
    columns: tuple[Column, ...]
    help: str = ""
    column_of: dict[str, Column] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_of", {c.name: c for c in self.columns})

    @property
    def id_column(self) -> str:
        return self.columns[0].name


def _choices(choices) -> tuple[tuple[str, str], ...]:
    return tuple((str(v), str(label)) for v, label in choices)


YES_NO = (("yes", "Yes"), ("no", "No"))

KINDS: tuple[Kind, ...] = (
    Kind(
        "teams",
        "Teams",
        (
            Column("team_id", ID, True),
            Column("name", TEXT, True, max_length=120, help="Matched to an existing team of the same name"),
            Column("service", TEXT, True, max_length=120, help="The service's name; made if it does not exist"),
            Column("kind", CODE, codes=_choices(Team.Kind.choices), help="Blank: locality"),
        ),
        "The teams staff belong to and families are allocated to.",
    ),
    Kind(
        "staff",
        "Staff",
        (
            Column("staff_id", ID, True),
            Column("email", EMAIL, True, max_length=254, help="Matched to an existing account with this e-mail"),
            Column("first_name", TEXT, True, max_length=150),
            Column("last_name", TEXT, True, max_length=150),
            Column("roles", CODE, codes=tuple((r, r) for r in IMPORTABLE_ROLES), help="Role names separated by ;"),
            Column("team_id", REF, ref="teams"),
            Column("job_title", TEXT, max_length=120),
            Column("working_pattern", CODE, codes=_choices(User.WorkingPattern.choices), help="Blank: full_time"),
        ),
        "Accounts are made without a password: staff sign in once an administrator sends their enrolment code.",
    ),
    Kind(
        "families",
        "Families",
        (
            Column("family_id", ID, True),
            Column("name", TEXT, True, help="The household's name"),
            Column("address_line_1", TEXT),
            Column("address_line_2", TEXT),
            Column("town", TEXT, max_length=100),
            Column("postcode", POSTCODE, max_length=10),
            Column("address_confidential", BOOL, codes=YES_NO),
            Column("language", TEXT, max_length=60),
            Column("team_id", REF, ref="teams", help="The team working with the family now"),
        ),
    ),
    Kind(
        "people",
        "People and their memberships",
        (
            Column("person_id", ID, True),
            Column("family_id", REF, True, ref="families"),
            Column("relationship", CODE, True, codes=_choices(Membership.Relationship.choices)),
            Column("first_name", TEXT, True, max_length=100),
            Column("last_name", TEXT, True, max_length=100),
            Column("other_names", TEXT),
            Column("date_of_birth", DATE),
            Column("expected_date_of_birth", DATE, help="An unborn child's expected date of delivery"),
            Column("sex", CODE, codes=_choices(codes.SEXES), help="Blank: U"),
            Column("ethnicity", CODE, codes=_choices(codes.ETHNICITIES), help="DfE code; blank: NOBT"),
            Column("language", TEXT, max_length=60),
            Column("nhs_number", NHS, max_length=12),
            Column("upn", UPN, max_length=13),
        ),
        "One row per person per family: a person in two households has two rows with the same person_id, "
        "and the same name and date of birth on both.",
    ),
    Kind(
        "agencies",
        "Agencies working with the family",
        (
            Column("agency_id", ID, True),
            Column("family_id", REF, True, ref="families"),
            Column("agency", TEXT, True),
            Column("contact_name", TEXT),
            Column("role", TEXT),
            Column("phone", TEXT, max_length=40),
            Column("email", EMAIL, max_length=254),
            Column("started_on", DATE),
            Column("ended_on", DATE),
        ),
    ),
    Kind(
        "contacts",
        "Contacts (requests for support) and their decisions",
        (
            Column("contact_id", ID, True),
            Column("family_id", REF, True, ref="families"),
            Column("received_at", DATETIME, True),
            Column("route", CODE, True, codes=_choices(Contact.Route.choices)),
            Column("source", CODE, True, codes=_choices(codes.CONTACT_SOURCES), help="CIN census source code"),
            Column("presenting_needs", LONG_TEXT, True),
            Column("subjects", REFS, ref="people", help="person_id of each child the contact is about, by ;"),
            Column("referrer_agency", TEXT),
            Column("referrer_name", TEXT),
            Column("referrer_role", TEXT),
            Column("recorded_by", REF, ref="staff", help="Whose front-door team the contact's clocks belong to"),
            Column("decision", CODE, codes=_choices(Contact.Decision.choices), help="Blank: not decided yet"),
            Column("decided_at", DATETIME),
            Column("decided_by", REF, ref="staff"),
            Column("decision_rationale", LONG_TEXT),
            Column("allocated_team_id", REF, ref="teams", help="For decision allocate"),
            Column("meeting_kind", CODE, codes=(("NAM", "NAM"), ("MAAM", "MAAM"), ("ICDM", "ICDM"))),
            Column("single_agency_name", TEXT),
        ),
    ),
    Kind(
        "episodes",
        "Episodes of Early Help with their state and key dates",
        (
            Column("episode_id", ID, True),
            Column("family_id", REF, True, ref="families"),
            Column("contact_id", REF, ref="contacts", help="The contact it was opened from, if any"),
            Column("team_id", REF, True, ref="teams"),
            Column("lead_staff_id", REF, ref="staff", help="The lead professional; needed once allocated"),
            Column("origin", CODE, codes=_choices(Episode.Origin.choices), help="Blank: front_door"),
            Column(
                "state",
                CODE,
                True,
                codes=tuple((str(s), str(Episode.State(s).label)) for s in IMPORTABLE_EPISODE_STATES),
            ),
            Column("opened_at", DATETIME, True),
            *(Column(name, DATETIME) for name, _ in MILESTONES),
            Column("last_review_at", DATETIME, help="The latest review meeting of an active plan"),
            Column("next_review_on", DATE, help="The date set for the next review"),
            Column("closed_on", DATE, help="For a closed episode"),
            Column(
                "closure_reason",
                CODE,
                codes=_choices(ClosureReason.choices),
                help="For a closed episode; for closure_requested, the reason proposed",
            ),
            Column("closure_requested_at", DATETIME, help="For closure_requested: when the worker asked to close"),
            Column(
                "step_up_requested_at",
                DATETIME,
                help="For step_up_requested and wraparound: when the step-up to social care was proposed",
            ),
            Column(
                "step_up_concern",
                CODE,
                codes=_choices(StepUp.Concern.choices),
                help="What the step-up's concern is; needed with step_up_requested_at",
            ),
            Column(
                "step_up_sent_at",
                DATETIME,
                help="When the Early Help manager sent the step-up to the duty manager (blank: not yet)",
            ),
            Column(
                "step_up_decided_at",
                DATETIME,
                help="For wraparound: when social care accepted the step-up with Early Help alongside",
            ),
            Column(
                "wraparound_confirmed_at",
                DATETIME,
                help="For wraparound: when Early Help confirmed the wraparound worker (blank: not yet)",
            ),
            Column("social_care_assessment_date", DATE, help="For a step-down"),
            Column("referral_notes", LONG_TEXT),
        ),
        "An open episode's clocks are worked out from its dates by the deadline engine when it is imported.",
    ),
    Kind(
        "case_notes",
        "Case notes",
        (
            Column("note_id", ID, True),
            Column("episode_id", REF, True, ref="episodes"),
            Column("kind", CODE, True, codes=_choices(CaseNote.Kind.choices)),
            Column("happened_at", DATETIME, True),
            Column("recorded_by", REF, True, ref="staff"),
            Column("details", LONG_TEXT, True),
        ),
        "Imported as text: they keep what happened and when, and move no clock.",
    ),
)

KIND_OF = {kind.name: kind for kind in KINDS}
ORDER = tuple(kind.name for kind in KINDS)
EXTENSIONS = (".csv", ".xlsx")
