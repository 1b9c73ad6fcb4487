"""Episodes of Early Help and what is recorded during one.

An episode is one period of Early Help work with one family (all the children in it) with
one lead professional. Its state field and the django-fsm transitions below are the pure
rules of what may follow what; performing a transition (permission, locking, who and when,
timescale events) is the job of workflows.episode_services.

Imported into cases.models (which re-exports everything here), so `from cases.models import
Episode` works and the models belong to the `cases` app.
"""

from __future__ import annotations

import calendar
import uuid
from datetime import date
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_fsm import GET_STATE, transition
from simple_history.models import HistoricalRecords

from cases.fsm import StateField, StateMachineModel
from cases.kept_fields import KeptFieldsModel
from cases.models import RiskIndicator
from kit.dates import long_date, long_datetime

USER = settings.AUTH_USER_MODEL

__all__ = [
    "Assessment",
    "AssessmentChild",
    "AssessmentNeed",
    "AssessmentRisk",
    "CaseNote",
    "ChildView",
    "ClosureReason",
    "ClosureRequest",
    "Document",
    "Draft",
    "Episode",
    "Escalation",
    "NeedLevel",
    "OutcomeArea",
    "Plan",
    "PlanAction",
    "PlanOutcome",
    "PlannedVisit",
    "Reallocation",
    "Review",
    "ReviewProgress",
    "StepUp",
    "TeamMeeting",
    "Transfer",
    "add_months",
    "assessment_needed",
    "why_not",
]


class ClosureReason(models.TextChoices):
    GOALS_MET = "goals_met", "Goals met"
    FAMILY_DECLINED = "family_declined", "Family declined or withdrew consent"
    MOVED_AWAY = "moved_away", "Family moved away"
    NO_LONGER_NEEDED = "no_longer_needed", "Support no longer needed"
    STEPPED_UP = "stepped_up", "Stepped up to children's social care"
    STEPPED_DOWN = "stepped_down", "Stepped down to universal or community support"
    OTHER = "other", "Other"


class OutcomeArea(models.TextChoices):
    """The ten headline outcomes of the national Supporting Families outcome framework."""

    EDUCATION = "education", "Getting a good education"
    EARLY_YEARS = "early_years", "Good early years development"
    HEALTH = "health", "Improved mental and physical health"
    SUBSTANCE = "substance", "Promoting recovery and reducing harm from substance use"
    RELATIONSHIPS = "relationships", "Improved family relationships"
    SAFE = "safe", "Children safe from abuse and exploitation"
    CRIME = "crime", "Crime prevention and tackling crime"
    DOMESTIC_ABUSE = "domestic_abuse", "Safe from domestic abuse"
    HOUSING = "housing", "Secure housing"
    FINANCIAL = "financial", "Financial stability"


class NeedLevel(models.IntegerChoices):
    NOT_ASSESSED = 0, "Not assessed"
    NO_NEED = 1, "No need"
    SOME_NEED = 2, "Some need"
    SIGNIFICANT_NEED = 3, "Significant need"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 January + 1 = 28/29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def assessment_needed(*, origin: str, social_care_assessment_date: date | None, today: date) -> bool:
    """Rulebook B 4.5: a step-down whose social care assessment is under 3 calendar months old needs no EHA."""
    if origin != Episode.Origin.STEP_DOWN or social_care_assessment_date is None:
        return True
    return add_months(social_care_assessment_date, 3) <= today


class Episode(KeptFieldsModel, StateMachineModel):
    """One period of Early Help work with one family, with one lead professional."""

    class State(models.TextChoices):
        AWAITING_ALLOCATION = "awaiting_allocation", "Awaiting allocation"
        ALLOCATED = "allocated", "Allocated"
        INITIAL_CONTACT = "initial_contact", "Initial contact made"
        FIRST_VISIT = "first_visit", "First visit made"
        ASSESSMENT = "assessment", "Assessment in progress"
        ASSESSMENT_COMPLETED = "assessment_completed", "Assessment completed"
        PLANNING = "planning", "Initial planning meeting held"
        PLAN_ACTIVE = "plan_active", "Plan active"
        CLOSURE_REQUESTED = "closure_requested", "Closure requested"
        STEP_UP_REQUESTED = "step_up_requested", "Step-up requested"
        WRAPAROUND = "wraparound", "Wraparound alongside social care"
        CLOSED = "closed", "Closed"

    OPEN_STATES = tuple(State.values[:-1])  # every state but closed (the last)
    # Allocated and being worked with, before anything is waiting for a manager.
    ALLOCATED_STATES = (
        State.ALLOCATED,
        State.INITIAL_CONTACT,
        State.FIRST_VISIT,
        State.ASSESSMENT,
        State.ASSESSMENT_COMPLETED,
        State.PLANNING,
        State.PLAN_ACTIVE,
    )
    WORKING_STATES = (*ALLOCATED_STATES, State.WRAPAROUND)

    class Origin(models.TextChoices):
        FRONT_DOOR = "front_door", "Front door"
        MEETING = "meeting", "Multi-agency meeting"
        STEP_DOWN = "step_down", "Step-down from social care"
        WRAPAROUND = "wraparound", "Wraparound request"

    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="episodes")
    contact = models.ForeignKey(
        "cases.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes"
    )
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="episodes")
    lead_professional = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="lead_episodes"
    )
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.FRONT_DOOR)
    # Single-agency support led by a registered partner agency (ADR 52): its lead professional is one of
    # the agency's partner users, working in the partner portal; `team` is the EH team keeping oversight.
    partner_organisation = models.ForeignKey(
        "accounts.PartnerOrganisation", null=True, blank=True, on_delete=models.PROTECT, related_name="led_episodes"
    )
    state = StateField(default=State.AWAITING_ALLOCATION, choices=State.choices)
    opened_at = models.DateTimeField()
    referral_notes = models.TextField("why the family was referred", blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    allocated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Required when the practitioner was at or above their caseload capacity (rulebook B 12).
    allocation_reason = models.TextField("reason for allocating above capacity", blank=True)
    # Where a returned closure or step-up request goes back to.
    state_before_request = models.CharField(max_length=30, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    ended_on = models.DateField("end date", null=True, blank=True)
    closure_reason = models.CharField(max_length=30, choices=ClosureReason.choices, blank=True)
    closure_note = models.TextField(blank=True)
    social_care_assessment_date = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    # ADR 37: set when any of its records is amended, so the episode page looks for amendments only then.
    records_amended = models.BooleanField(default=False, db_default=False)
    # What the team board reads (ADR 56), kept from the records by `cases.board.refresh` in the
    # transaction that changes them, never edited, not in history (derived, like the reach rows):
    # the highest risk level from the opening contact, later contacts and the assessment; the
    # indicators at high level (codes, comma-separated); the latest Managers Decision.
    risk_level = models.PositiveSmallIntegerField(default=0, db_default=0)
    high_risks = models.CharField(max_length=200, blank=True, default="", db_default="")
    last_decision_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["risk_level", "high_risks", "last_decision_at"])

    BOARD_FIELDS = ("risk_level", "high_risks", "last_decision_at")

    class Meta:
        indexes = [
            models.Index(fields=["team", "state"]),
            models.Index(fields=["lead_professional"], name="episode_open_lead", condition=~Q(state="closed")),
            # The board's counts (an index-only scan of the team's open cases) and its long-open list.
            models.Index(
                fields=["team", "opened_at", "id"],
                include=["lead_professional", "last_decision_at", "risk_level", "partner_organisation"],
                name="episode_open_team_opened",
                condition=~Q(state="closed"),
            ),
            # The board's no-oversight list (never decided first, then the oldest decision) and its
            # high-risk list (highest first), each read in its order.
            models.Index(
                F("team"),
                F("last_decision_at").asc(nulls_first=True),
                F("opened_at"),
                F("id"),
                name="episode_open_team_decided",
                condition=~Q(state="closed"),
            ),
            models.Index(
                fields=["team", "-risk_level", "opened_at", "id"],
                name="episode_open_team_risk",
                condition=~Q(state="closed"),
            ),
        ]

    def __str__(self) -> str:
        return f"Episode {self.reference}"

    @property
    def reference(self) -> str:
        return self.reference_of(self.pk)

    @staticmethod
    def reference_of(pk: int) -> str:
        """The reference of the record with this id, without the record (a list read as values, ADR 58)."""
        return f"E{pk:07d}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CLOSED

    @property
    def is_partner_led(self) -> bool:
        """Single-agency support whose lead professional works for a partner agency."""
        return self.partner_organisation_id is not None

    @property
    def key_worker_role(self) -> str:
        # Rulebook B 7: once social care leads, the Early Help worker's role is "wraparound".
        return "Wraparound worker" if self.state == self.State.WRAPAROUND else "Lead professional"

    def _return_state(self) -> str:
        return self.state_before_request or self.State.PLAN_ACTIVE

    # --- transitions: pure rules of what may follow what -----------------------------
    @transition(field=state, source=State.AWAITING_ALLOCATION, target=State.ALLOCATED)
    def allocate(self):
        pass

    @transition(field=state, source=State.AWAITING_ALLOCATION, target=None)
    def record_duty_contact(self):
        pass

    @transition(field=state, source=State.ALLOCATED, target=State.INITIAL_CONTACT)
    def record_initial_contact(self):
        pass

    @transition(field=state, source=State.INITIAL_CONTACT, target=State.FIRST_VISIT)
    def record_first_visit(self):
        pass

    @transition(field=state, source=State.FIRST_VISIT, target=State.ASSESSMENT)
    def start_assessment(self):
        pass

    @transition(field=state, source=State.ASSESSMENT, target=None)
    def update_assessment(self):
        pass

    @transition(field=state, source=State.ASSESSMENT, target=State.ASSESSMENT_COMPLETED)
    def complete_assessment(self):
        pass

    # Whether the social care assessment is recent enough depends on today: the service asks
    # `assessment_needed` with its `now`; the condition here is what never changes.
    @transition(
        field=state,
        source=[State.FIRST_VISIT, State.ASSESSMENT],
        target=State.ASSESSMENT_COMPLETED,
        conditions=[lambda e: e.origin == Episode.Origin.STEP_DOWN and e.social_care_assessment_date is not None],
    )
    def skip_assessment(self):
        pass

    @transition(field=state, source=State.ASSESSMENT_COMPLETED, target=State.PLANNING)
    def hold_planning_meeting(self):
        pass

    @transition(
        field=state,
        source=[State.ASSESSMENT_COMPLETED, State.PLANNING, State.PLAN_ACTIVE, State.WRAPAROUND],
        target=None,
    )
    def edit_plan(self):
        pass

    # From a completed assessment only where the procedure has no planning meeting: the service
    # asks the rulebook (`procedure_has_step`), so one council's step never blocks another's.
    @transition(field=state, source=[State.ASSESSMENT_COMPLETED, State.PLANNING], target=State.PLAN_ACTIVE)
    def activate_plan(self):
        pass

    @transition(field=state, source=[State.PLAN_ACTIVE, State.WRAPAROUND], target=None)
    def hold_review(self):
        pass

    @transition(field=state, source=[State.PLAN_ACTIVE, State.WRAPAROUND], target=None)
    def hold_ending_meeting(self):
        pass

    @transition(field=state, source=list(ALLOCATED_STATES), target=State.CLOSED)
    def family_declines(self):
        pass

    @transition(field=state, source=list(WORKING_STATES), target=State.CLOSURE_REQUESTED)
    def request_closure(self):
        self.state_before_request = self.state

    @transition(field=state, source=State.CLOSURE_REQUESTED, target=State.CLOSED)
    def sign_off_closure(self):
        pass

    @transition(
        field=state,
        source=State.CLOSURE_REQUESTED,
        target=GET_STATE(lambda e: e._return_state(), states=list(WORKING_STATES)),
    )
    def return_closure(self):
        pass

    # A family still on the pre-allocation list can leave it without being allocated.
    @transition(field=state, source=State.AWAITING_ALLOCATION, target=State.CLOSED)
    def close_before_allocation(self):
        pass

    @transition(field=state, source=State.AWAITING_ALLOCATION, target=State.CLOSED)
    def step_down_before_allocation(self):
        pass

    @transition(field=state, source=[State.AWAITING_ALLOCATION, *ALLOCATED_STATES], target=State.STEP_UP_REQUESTED)
    def request_step_up(self):
        self.state_before_request = self.state

    @transition(field=state, source=State.STEP_UP_REQUESTED, target=None)
    def send_step_up(self):
        pass

    @transition(field=state, source=State.STEP_UP_REQUESTED, target=State.WRAPAROUND)
    def step_up_accepted_with_wraparound(self):
        pass

    # Rulebook B 7.3: the manager moves the worker from the key worker role to "wraparound".
    @transition(field=state, source=State.WRAPAROUND, target=None)
    def confirm_wraparound_worker(self):
        pass

    @transition(field=state, source=State.STEP_UP_REQUESTED, target=State.CLOSED)
    def step_up_accepted_and_close(self):
        pass

    @transition(
        field=state,
        source=State.STEP_UP_REQUESTED,
        target=GET_STATE(lambda e: e._return_state(), states=[State.AWAITING_ALLOCATION, *ALLOCATED_STATES]),
    )
    def step_up_returned(self):
        pass


# What each transition needs, in staff's words: the reason a refused action gives.
TRANSITION_NEEDS: dict[str, tuple[str, str]] = {
    "allocate": ("be allocated", "only an episode on the pre-allocation list (awaiting allocation) can be allocated"),
    "record_duty_contact": (
        "have a duty contact recorded",
        "duty contacts are for families on the pre-allocation list; once allocated, the lead professional records "
        "visits",
    ),
    "record_initial_contact": ("have its initial contact recorded", "the initial contact follows allocation"),
    "record_first_visit": ("have its first visit recorded", "the first visit follows the initial contact"),
    "start_assessment": (
        "start its assessment",
        "the assessment starts after the first visit, when the child has been seen and spoken to",
    ),
    "update_assessment": ("have its assessment changed", "only an assessment in progress can be changed"),
    "complete_assessment": ("complete its assessment", "only an assessment in progress can be completed"),
    "skip_assessment": (
        "go ahead without an Early Help assessment",
        "only a step-down from social care with a social care assessment under 3 months old can, after the first visit",
    ),
    "hold_planning_meeting": (
        "record the initial planning meeting",
        "the initial planning meeting follows the completed assessment",
    ),
    "edit_plan": ("have its plan changed", "the plan is written once the assessment is completed"),
    "activate_plan": (
        "make the plan active",
        "the plan becomes active once the assessment is completed (at the initial planning meeting, where the "
        "procedure has one)",
    ),
    "hold_review": ("record a review", "reviews are held while the plan is active"),
    "hold_ending_meeting": ("record an ending meeting", "the ending meeting is held while the plan is active"),
    "family_declines": (
        "be closed because the family declines",
        "the family can decline while the episode is allocated and open",
    ),
    "request_closure": (
        "have closure requested",
        "closure can be requested for an allocated episode that is not already waiting for a manager",
    ),
    "sign_off_closure": ("have its closure signed off", "only a requested closure can be signed off"),
    "return_closure": ("have its closure returned", "only a requested closure can be returned"),
    "request_step_up": (
        "be proposed for step-up",
        "a step-up is proposed for an episode awaiting allocation or allocated, not already waiting for a manager",
    ),
    "close_before_allocation": (
        "be closed from the pre-allocation list",
        "only a family still awaiting allocation can be closed without a closure request",
    ),
    "step_down_before_allocation": (
        "be stepped down from the pre-allocation list",
        "only a family still awaiting allocation can be stepped down from the list",
    ),
    "send_step_up": ("be sent to the duty manager", "only a step-up request can be sent"),
    "step_up_accepted_with_wraparound": ("have a step-up decided", "only a step-up request can be decided"),
    "confirm_wraparound_worker": (
        "have its wraparound worker confirmed",
        "the wraparound worker is confirmed once social care accept a step-up with Early Help continuing as wraparound",
    ),
    "step_up_accepted_and_close": ("have a step-up decided", "only a step-up request can be decided"),
    "step_up_returned": ("have a step-up decided", "only a step-up request can be decided"),
}


def why_not(episode: Episode, transition_name: str) -> str:
    """The message for a refused transition: what was asked, what it needs and where the episode is."""
    verb, needs = TRANSITION_NEEDS.get(transition_name, ("do that", "it does not follow from here"))
    return f"{episode.reference} cannot {verb} now: {needs}. It is {episode.get_state_display().lower()}."


# --- Case notes: visits and other contacts ------------------------------------------------


class CaseNote(models.Model):
    """A visit or other contact with the family, a duty contact or a supervisor's case discussion."""

    class Kind(models.TextChoices):
        HOME_VISIT = "home_visit", "Home visit"
        OFFICE_VISIT = "office_visit", "Office or family hub visit"
        PHONE_CALL = "phone_call", "Phone call"
        DIRECT_WORK = "direct_work", "Direct work / voice of the child"
        DUTY_CONTACT = "duty_contact", "Duty contact (pre-allocation list)"
        CASE_DISCUSSION = "case_discussion", "Case discussion with supervisor"

    # Contacts with the family: they count for "visit or contact" (B18) and the coach's visits (A9).
    FAMILY_CONTACT_KINDS = (Kind.HOME_VISIT, Kind.OFFICE_VISIT, Kind.PHONE_CALL, Kind.DIRECT_WORK, Kind.DUTY_CONTACT)
    # A first visit means the child was seen: it cannot be a phone call (rulebook B 4.1).
    IN_PERSON_KINDS = (Kind.HOME_VISIT, Kind.OFFICE_VISIT, Kind.DIRECT_WORK)

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="notes")
    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="case_notes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    happened_at = models.DateTimeField("when it happened")
    recorded_at = models.DateTimeField("when it was recorded")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    purpose = models.TextField(blank=True)
    present = models.TextField("who was there", blank=True)
    details = models.TextField()
    actions = models.TextField(blank=True)
    analysis = models.TextField(blank=True)
    child_seen_and_spoken_to = models.BooleanField(default=False)
    is_initial_contact = models.BooleanField(default=False)
    is_first_visit = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["episode", "happened_at"]),
            models.Index(fields=["family", "happened_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {long_date(self.happened_at)}"


class ChildView(models.Model):
    """One child's part in a case note: seen, spoken to, and their views in their own words."""

    note = models.ForeignKey(CaseNote, on_delete=models.CASCADE, related_name="child_views")
    child = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    seen = models.BooleanField(default=False)
    spoken_to = models.BooleanField(default=False)
    views = models.TextField("the child's views, in their own words", blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["note", "child"], name="one_view_per_child_per_note")]


class PlannedVisit(models.Model):
    """A visit the practitioner has planned: when, what kind, who visits and whom they will see.

    From its planned time the visit's case recording is due by the end of the next working day
    (rulebook B 10.1, B18): recording the visit's case note (`note`) stops that clock.
    """

    KIND_CHOICES = [
        (CaseNote.Kind.HOME_VISIT, CaseNote.Kind.HOME_VISIT.label),
        (CaseNote.Kind.OFFICE_VISIT, CaseNote.Kind.OFFICE_VISIT.label),
        (CaseNote.Kind.DIRECT_WORK, CaseNote.Kind.DIRECT_WORK.label),
        (CaseNote.Kind.PHONE_CALL, CaseNote.Kind.PHONE_CALL.label),
    ]

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="planned_visits")
    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="planned_visits")
    planned_at = models.DateTimeField("when")
    kind = models.CharField(max_length=20, choices=KIND_CHOICES, default=CaseNote.Kind.HOME_VISIT)
    visitor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="planned_visits")
    seeing = models.TextField("who will be seen", blank=True)
    # The case note that recorded the visit; empty while it is still to be recorded.
    note = models.OneToOneField(
        CaseNote, null=True, blank=True, on_delete=models.SET_NULL, related_name="planned_visit"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["planned_at", "id"]
        indexes = [
            models.Index(fields=["episode", "planned_at"]),
            # "My work" and the team board: visits still to be recorded.
            models.Index(
                fields=["visitor", "planned_at"],
                name="planned_visit_unrecorded",
                condition=Q(note__isnull=True, cancelled_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} planned for {long_datetime(self.planned_at)}"

    @property
    def is_pending(self) -> bool:
        return self.note_id is None and self.cancelled_at is None

    @property
    def clock_key(self) -> str:
        return f"planned_visit:{self.pk}"


# --- Assessment ------------------------------------------------------------------------------


class Assessment(models.Model):
    """The Early Help assessment of the whole family."""

    episode = models.OneToOneField(Episode, on_delete=models.CASCADE, related_name="assessment")
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    family_history = models.TextField("the family's history", blank=True)
    previous_interventions = models.TextField("previous help and interventions", blank=True)
    agency_views = models.TextField("what each agency thinks", blank=True)
    family_views = models.TextField("what the family thinks", blank=True)
    child_voice = models.TextField("the child's voice", blank=True)
    recommendation = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Assessment for {self.episode.reference}"


class AssessmentChild(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="children")
    child = models.ForeignKey("cases.Person", on_delete=models.PROTECT, related_name="+")
    developmental_needs = models.TextField(blank=True)
    child_voice = models.TextField("the child's views, in their own words", blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assessment", "child"], name="one_row_per_assessed_child")]


class AssessmentNeed(models.Model):
    """The family's need in one of the ten headline outcome areas."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="needs")
    area = models.CharField(max_length=20, choices=OutcomeArea.choices)
    level = models.PositiveSmallIntegerField(choices=NeedLevel.choices, default=NeedLevel.NOT_ASSESSED)
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assessment", "area"], name="one_need_per_area")]


class AssessmentRisk(models.Model):
    """One of the nine key risk indicators as the assessment found it."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="risks")
    indicator = models.CharField(max_length=20, choices=RiskIndicator.Indicator.choices)
    level = models.PositiveSmallIntegerField(choices=RiskIndicator.Level.choices, default=RiskIndicator.Level.NONE)
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assessment", "indicator"], name="one_assessed_risk_each")]


# --- Meetings of the team around the family, plan and reviews -------------------------------


class TeamMeeting(models.Model):
    class Kind(models.TextChoices):
        INITIAL_PLANNING = "initial_planning", "Initial planning meeting"
        REVIEW = "review", "Review meeting"
        ENDING = "ending", "Ending meeting"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="team_meetings")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    held_at = models.DateTimeField()
    attendees = models.TextField(help_text="One per line: name, role and agency")
    notes = models.TextField("what was agreed", blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["episode", "held_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {long_date(self.held_at)}"

    @property
    def attendee_list(self) -> list[str]:
        return [line.strip() for line in self.attendees.splitlines() if line.strip()]


class Plan(models.Model):
    """The family's Early Help plan: SMART outcomes with actions."""

    episode = models.OneToOneField(Episode, on_delete=models.CASCADE, related_name="plan")
    if_not_working = models.TextField("what happens if the plan is not working", blank=True)
    # Seed 003, 9.1: the voice of the child is evident in the plan (needed to make it active, ADR 37).
    child_voice = models.TextField("the child's voice", blank=True, db_default="")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Plan for {self.episode.reference}"


class PlanOutcome(models.Model):
    """A SMART outcome: specific (what will be different), measured, and by when."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="outcomes")
    number = models.PositiveSmallIntegerField()
    area = models.CharField("outcome area", max_length=20, choices=OutcomeArea.choices, blank=True)
    description = models.TextField("what will be different", blank=True)
    how_measured = models.TextField("how progress will be measured", blank=True)
    by_when = models.DateField(null=True, blank=True)
    # ADR 4: an edit form carries the version it was drawn from; a stale save is refused.
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="outcome_number_unique_in_plan")]

    def __str__(self) -> str:
        return f"Outcome {self.number}"


class PlanAction(models.Model):
    outcome = models.ForeignKey(PlanOutcome, on_delete=models.CASCADE, related_name="actions")
    what = models.TextField("what will be done", blank=True)
    who = models.CharField("who is responsible", max_length=200, blank=True)
    by_when = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)
    note = models.TextField("progress or why it was not done", blank=True)
    # A named partner user in the team around the family who holds this action (sees it in the portal).
    partner_assignee = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="partner_actions"
    )
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        ordering = ["by_when", "pk"]


class Review(models.Model):
    """A review of the plan: progress against each outcome, and when the next review is."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="reviews")
    meeting = models.OneToOneField(TeamMeeting, on_delete=models.PROTECT, related_name="review")
    summary = models.TextField("what has changed")
    family_views = models.TextField("what the family thinks", blank=True)
    child_voice = models.TextField("the child's voice")
    next_review_on = models.DateField("date of the next review")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()


class ReviewProgress(models.Model):
    class Rating(models.IntegerChoices):
        WORSE = 0, "Things are worse"
        NO_CHANGE = 1, "No change"
        SOME = 2, "Some progress"
        GOOD = 3, "Good progress"
        ACHIEVED = 4, "Achieved"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="progress")
    outcome = models.ForeignKey(PlanOutcome, on_delete=models.CASCADE, related_name="progress")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "outcome"], name="one_rating_per_outcome")]


# --- Documents --------------------------------------------------------------------------------


def document_path(instance: Document, filename: str) -> str:
    # A random name: the stored path says nothing about the family and cannot be guessed.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"private/episodes/{instance.episode_id}/{uuid.uuid4().hex}{suffix}"


class Document(models.Model):
    class Kind(models.TextChoices):
        CONSENT = "consent", "Signed consent"
        ASSESSMENT = "assessment", "Assessment or report"
        PLAN = "plan", "Plan or meeting minutes"
        LETTER = "letter", "Letter"
        AGENCY = "agency", "Information from another agency"
        CHILD = "child", "Child's own work"
        OTHER = "other", "Other"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="documents")
    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=document_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["episode", "uploaded_at"])]

    def __str__(self) -> str:
        return self.title


# --- Closure, step-up, escalation ------------------------------------------------------------


class ClosureRequest(models.Model):
    """The practitioner's request to close, with the readiness checklist, and the manager's answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for sign-off"
        SIGNED_OFF = "signed_off", "Signed off"
        RETURNED = "returned", "Returned"

    # The readiness checklist (rulebook B 8): field name -> what the practitioner confirms.
    CHECKLIST = {
        "records_up_to_date": "Case records are up to date",
        "documents_uploaded": "Documents are uploaded",
        "plan_actions_done": "Plan actions are completed, or why not is explained",
        "supervisor_tasks_done": "The supervisor's tasks are done",
    }

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="closure_requests")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    records_up_to_date = models.BooleanField(default=False)
    documents_uploaded = models.BooleanField(default=False)
    plan_actions_done = models.BooleanField(default=False)
    supervisor_tasks_done = models.BooleanField(default=False)
    summary = models.TextField("closure summary")
    child_voice = models.TextField("the child's voice at closure")
    family_views = models.TextField("what the family thinks at closure", blank=True, db_default="")
    proposed_reason = models.CharField(max_length=30, choices=ClosureReason.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    return_reason = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["requested_at"], name="closure_pending", condition=Q(status="pending"))]


class StepUp(models.Model):
    """A request to step a family up to children's social care (rulebook C)."""

    class Concern(models.TextChoices):
        LIMITED_CHANGE = "limited_change", "Limited change over 6 weeks with continuing high risk"
        INCREASING_RISK = "increasing_risk", "Increasing risk or safeguarding concerns"
        NO_ENGAGEMENT = "no_engagement", "No engagement with the plan"

    class NextStep(models.TextChoices):
        CONSULT_DUTY = "consult_duty", "Consult the duty worker"
        MARF = "marf", "Multi-agency referral form, confirmed with the duty worker"
        IMMEDIATE = "immediate", "Immediate safeguarding concern: duty and assessment team contacted at once"

    class Parenting(models.TextChoices):
        YES = "yes", "Yes, attributable to parenting"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted: social care assessment"
        RETURNED = "returned", "Returned to Early Help with a family meeting and a focused plan"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="step_ups")
    proposed_at = models.DateTimeField()
    proposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    concern = models.CharField(max_length=20, choices=Concern.choices)
    reason = models.TextField("reason for concern")
    multi_agency_views = models.TextField()
    family_views = models.TextField()
    # The EH manager's oversight.
    next_step = models.CharField(max_length=12, choices=NextStep.choices, blank=True)
    parenting = models.CharField(
        "concerns attributable to parenting", max_length=6, choices=Parenting.choices, blank=True
    )
    manager_judgement = models.TextField("manager's professional judgement", blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The duty manager's decision.
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    wraparound = models.BooleanField(null=True, blank=True)
    decision_notes = models.TextField("duty manager's oversight", blank=True)
    focused_plan_note = models.TextField("family meeting and focused plan", blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Early Help's side of a wraparound decision (rulebook B 7.1, 7.3): the manager confirms who
    # is the wraparound worker, which screens and allocates the request (B16).
    wraparound_worker = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    wraparound_confirmed_at = models.DateTimeField(null=True, blank=True)
    wraparound_confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["proposed_at"], name="step_up_undecided", condition=Q(decided_at__isnull=True))]

    @property
    def awaits_wraparound_worker(self) -> bool:
        """Accepted with wraparound, and Early Help has not yet confirmed the wraparound worker."""
        return bool(self.decided_at and self.wraparound and not self.wraparound_confirmed_at)

    @property
    def status(self) -> str:
        if self.decided_at:
            return self.get_decision_display()
        if self.sent_at:
            return "With the duty manager"
        return "Waiting for the Early Help manager"


class Escalation(models.Model):
    """A disagreement escalated to operational leads (rulebook D; seed 004): over a step-up or step-down
    on an episode, or over a contact's routing at the front door (a diversion). Routed to the
    operational leads (service managers) of the service, or to a named one (ADR 0038)."""

    class About(models.TextChoices):
        STEP_UP = "step_up", "Step-up to social care"
        STEP_DOWN = "step_down", "Step-down to Early Help"
        ROUTING = "routing", "A contact's routing at the front door (a diversion)"

    episode = models.ForeignKey(Episode, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations")
    contact = models.ForeignKey(
        "cases.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    about = models.CharField(max_length=10, choices=About.choices)
    disagreement = models.TextField("what the disagreement is")
    escalated_to = models.CharField("operational lead escalated to", max_length=200, blank=True)
    escalated_to_user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    raised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    outcome = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="escalation_on_episode_or_contact",
                condition=Q(episode__isnull=False) | Q(contact__isnull=False),
            )
        ]

    @property
    def reference(self) -> str:
        return f"X{self.pk:07d}"


class Draft(models.Model):
    """What a user has typed into a long form and not yet submitted, saved as they go.

    No history on purpose: it is rewritten every few seconds and deleted on submit; the
    submitted record carries the history.
    """

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="drafts")
    # The record the draft is about: what was typed about a family goes when the family's records go.
    episode = models.ForeignKey("cases.Episode", on_delete=models.CASCADE, related_name="drafts")
    form_key = models.CharField(max_length=40)
    object_key = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "form_key", "object_key"], name="one_draft_per_form_and_object")
        ]


# --- Moving work between teams and practitioners (ADR 0032) ----------------------------


class Transfer(models.Model):
    """One team leader asks another team to take an open episode; the receiving leader accepts
    (allocating a lead professional of their team) or declines, saying why. The rows are the
    episode's transfer history."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the receiving team"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="transfers")
    from_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="transfers_in")
    reason = models.TextField("why the case should move")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decline_reason = models.TextField(blank=True)
    previous_lead = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    new_lead = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    allocation_reason = models.TextField("reason for allocating above capacity", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["episode"], condition=Q(status="pending"), name="one_pending_transfer_per_episode"
            )
        ]
        indexes = [models.Index(fields=["to_team", "status"])]

    def __str__(self) -> str:
        return f"Transfer of {self.episode.reference} to {self.to_team}"


class Reallocation(models.Model):
    """One case moved to another lead professional by a team leader's bulk reallocation; the rows
    sharing a `batch` are one confirmation (its summary page lists them)."""

    batch = models.UUIDField(db_index=True)
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="reallocations")
    from_lead = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    to_lead = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField()
    moved_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("why the cases moved")

    def __str__(self) -> str:
        return f"{self.episode.reference}: {self.from_lead} to {self.to_lead}"
