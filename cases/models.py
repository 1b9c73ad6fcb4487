"""Families, people, contacts (requests for support), meetings and episodes.

State fields and their django-fsm transitions live here as pure rules of what may
follow what; performing a transition (permission, who/when, deadlines) is the job
of workflows.services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django_fsm import transition
from simple_history.models import HistoricalRecords

from cases import codes
from cases.fsm import StateField, StateMachineModel
from cases.kept_fields import KeptFieldsModel
from cases.validators import normalise_postcode, soundex
from kit.dates import long_date

USER = settings.AUTH_USER_MODEL


class Family(models.Model):
    """A household. Everything recorded about it merges into one chronology."""

    name = models.CharField("household name", max_length=200, help_text="For example, the Okafor–Reid household")
    address_line_1 = models.CharField(max_length=200, blank=True)
    address_line_2 = models.CharField(max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True, db_index=True)
    address_confidential = models.BooleanField(
        "address is confidential", default=False, help_text="For example, the family is fleeing domestic abuse"
    )
    language = models.CharField("main language", max_length=60, blank=True, default="English")
    # The team working with the family now; it decides who may see the record.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="families")
    legal_hold = models.BooleanField(default=False)
    duplicate_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "families"
        indexes = [models.Index(fields=["team", "id"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.postcode = normalise_postcode(self.postcode)
        super().save(*args, **kwargs)

    @property
    def reference(self) -> str:
        return f"F{self.pk:07d}"


class FamilyReach(models.Model):
    """Who a family's record reaches: one row per team, service or practitioner that may see it, and why.

    Derived, never edited: `cases.reach.refresh` rebuilds a family's rows from the records that decide
    scope (its team, its episodes' teams and lead professionals, its contacts' routing and the meetings
    waiting on them) in the transaction that changed them. The scope check is then an indexed equality
    on this table (cases.selectors._reach) instead of a sub-plan over every family and contact.
    Not in history: it is an index of recorded facts, rebuilt from them (ADR 43).
    """

    class Kind(models.TextChoices):
        TEAM = "team", "The family's team, or the team of one of its episodes"
        LEAD = "lead", "The lead professional of one of its episodes"
        CREATOR = "creator", "Who created the family record (at intake)"
        FRONT = "front", "A contact came through the front door"
        ROUTED = "routed", "A contact was allocated to, or received by, a team"
        MEETING = "meeting", "A contact waits on a meeting that invites a team"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    team = models.ForeignKey("accounts.Team", null=True, on_delete=models.CASCADE, related_name="+", db_index=False)
    service = models.ForeignKey(
        "accounts.Service", null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(USER, null=True, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        indexes = [
            models.Index(fields=["family"], name="reach_family"),
            models.Index(fields=["team", "kind", "family"], name="reach_team"),
            models.Index(fields=["service", "family"], name="reach_service"),
            models.Index(fields=["user", "family"], name="reach_lead"),
            models.Index(fields=["family"], name="reach_front", condition=Q(kind="front")),
        ]


class Caseload(models.Model):
    """How many open cases (episodes not closed) a lead professional holds: the caseloads of the
    board, the dashboard's caseload pages and supervision, read as one row per practitioner instead
    of counting their episodes (ADR 62).

    Derived, never edited: a trigger on `cases_episode` (`cases.caseload`, migration 0022) moves the
    counts in the transaction of every insert, delete and change of state or lead professional,
    whoever writes (the ORM, `update()`, raw SQL, COPY); `cases.caseload.reconcile` proves them
    equal to a recount and repairs drift (`manage.py reconcile_board_fields`, hourly). A plain
    integer, not a foreign key: the row of a deleted account goes with the trigger's next write
    or the reconcile, never blocks the delete.
    """

    lead_professional_id = models.BigIntegerField(primary_key=True)
    open_cases = models.IntegerField(default=0)
    # Where this user counts in `CaseloadBand` (ADR 68), kept by the same triggers: the band of
    # caseload against capacity ("" for a user who is not an active practitioner of a team; null
    # until first worked out), and the team and service counted in.
    band = models.CharField(max_length=10, null=True, blank=True)
    band_team_id = models.IntegerField(null=True, blank=True)
    band_service_id = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"user {self.lead_professional_id}: {self.open_cases} open cases"


class CaseloadBand(models.Model):
    """How many active practitioners of a team (team 0: of the whole service) sit in one band of
    caseload against capacity (`oversight.selectors.CASELOAD_BANDS`), kept by triggers (ADR 68,
    `cases.caseload`): on `cases_caseload` when an open-case count moves, on `accounts_user` when a
    team, capacity, working pattern, activity or partner organisation changes, and on
    `accounts_user_groups` when the practitioner role is given or taken. The caseloads page reads
    five rows for its distribution instead of every practitioner. Derived, never edited; the
    reconcile proves and repairs it (`cases.caseload.reconcile`)."""

    service_id = models.IntegerField()
    team_id = models.IntegerField()
    band = models.CharField(max_length=10)
    practitioners = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_id", "team_id", "band"], name="caseload_band_key"),
        ]

    def __str__(self) -> str:
        return f"service {self.service_id} team {self.team_id} {self.band}: {self.practitioners}"


# What a search by name reads of each match (cases.selectors.search_people), carried by its indexes.
NAMES = ("last_name", "first_name", "first_name_key", "id")


class Person(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    other_names = models.CharField("other names or aliases", max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    expected_date_of_birth = models.DateField(
        null=True, blank=True, help_text="For an unborn child: the expected date of delivery"
    )
    sex = models.CharField(max_length=1, choices=codes.SEXES, default="U")
    gender = models.CharField("gender identity", max_length=60, blank=True)
    ethnicity = models.CharField(max_length=4, choices=codes.ETHNICITIES, default="NOBT")
    language = models.CharField("main language", max_length=60, blank=True)
    nhs_number = models.CharField("NHS number", max_length=10, blank=True, db_index=True)
    upn = models.CharField("Unique Pupil Number", max_length=13, blank=True)
    address_confidential = models.BooleanField("address is confidential", default=False)
    # A member's own postal address, where it differs from the family's (blank: they live with the family).
    address_line_1 = models.CharField(max_length=200, blank=True)
    address_line_2 = models.CharField(max_length=200, blank=True)
    town = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    # Phonetic keys so that a misspelt name still finds the existing record.
    last_name_key = models.CharField(max_length=4, blank=True, editable=False)
    first_name_key = models.CharField(max_length=4, blank=True, editable=False)
    families = models.ManyToManyField(Family, through="Membership", related_name="people")
    duplicate_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "people"
        indexes = [
            models.Index(fields=["last_name_key", "date_of_birth"]),
            models.Index(fields=["date_of_birth"]),
            # Search and the intake's matching (ADR 61): a name's start (`istartswith`, UPPER(...) LIKE 'X%'),
            # its exact spelling (`iexact`) and its phonetic key are ranges of these, and each carries what a
            # search sorts and filters by, so that the matches are read without their rows; and a UPN.
            models.Index(
                OpClass(Upper("last_name"), name="text_pattern_ops"), name="person_last_name_upper", include=NAMES
            ),
            models.Index(
                OpClass(Upper("first_name"), name="text_pattern_ops"), name="person_first_name_upper", include=NAMES
            ),
            # The phonetic key, then the search's order: a key's people read in `SEARCH_ORDER` from the
            # index, a page of them, not every match sorted (a common key has thousands, ADR 91).
            models.Index(
                fields=["last_name_key", "last_name", "first_name", "id"],
                name="person_name_key_order",
                include=["first_name_key"],
            ),
            models.Index(fields=["first_name_key"], name="person_first_name_key"),
            models.Index(fields=["upn"], name="person_upn", condition=~Q(upn="")),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args, **kwargs):
        self.last_name_key = soundex(self.last_name)
        self.first_name_key = soundex(self.first_name)
        super().save(*args, **kwargs)

    @property
    def is_unborn(self) -> bool:
        return self.date_of_birth is None and self.expected_date_of_birth is not None

    def age_on(self, day) -> int | None:
        """Whole years on a day; -1 for an unborn child (the Annex A convention)."""
        if self.date_of_birth is None:
            return -1 if self.expected_date_of_birth else None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


class Membership(models.Model):
    class Relationship(models.TextChoices):
        CHILD = "child", "Child"
        PARENT = "parent", "Parent"
        CARER = "carer", "Carer"
        SIBLING = "sibling", "Sibling (adult)"
        OTHER = "other", "Other household member"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    relationship = models.CharField(max_length=10, choices=Relationship.choices)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["family", "person"], name="one_membership_per_family")]

    @property
    def is_child(self) -> bool:
        return self.relationship == self.Relationship.CHILD


class AgencyInvolvement(models.Model):
    """The team around the family: which services are engaged with it."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="agencies")
    agency = models.CharField(max_length=200)
    contact_name = models.CharField("named contact", max_length=200, blank=True)
    role = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    # A registered partner agency in the team: its named partner users see the plan and add updates,
    # while the family's consent to share with it is in force (cases.selectors.partner_family_or_none).
    organisation = models.ForeignKey(
        "accounts.PartnerOrganisation", null=True, blank=True, on_delete=models.PROTECT, related_name="families"
    )
    named_users = models.ManyToManyField(USER, blank=True, related_name="partner_teams")
    history = HistoricalRecords(m2m_fields=[named_users])

    def __str__(self) -> str:
        return self.agency


class PartnerUpdate(models.Model):
    """An update from a partner agency in the team around the family: on the chronology, marked with the
    agency, until the lead professional acknowledges it."""

    class Kind(models.TextChoices):
        ATTENDANCE = "attendance", "School attendance"
        HEALTH = "health", "Health appointment"
        RISK = "risk", "A change in risk"
        OTHER = "other", "Other update"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="partner_updates")
    organisation = models.ForeignKey("accounts.PartnerOrganisation", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("what it is about", max_length=12, choices=Kind.choices)
    details = models.TextField("the update")
    written_at = models.DateTimeField()
    written_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-written_at", "-pk"]
        indexes = [models.Index(fields=["family", "written_at"], name="partnerupdate_family")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.organisation}"


class Contact(KeptFieldsModel, StateMachineModel):
    """A request for support arriving at the front door."""

    class Route(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        PORTAL = "portal", "Online portal"
        WALK_IN = "walk_in", "Walk-in"
        STEP_DOWN = "step_down", "Step-down from children's social care"
        WRAPAROUND = "wraparound", "Wraparound request"
        DART = "dart", "DART"
        OTHER = "other", "Other"

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        SCREENING = "screening", "Screening"
        AWAITING_CONSENT = "awaiting_consent", "Awaiting consent"
        AT_MEETING = "at_meeting", "Waiting for a multi-agency meeting"
        STEPPED_UP = "stepped_up", "Stepped up to children's social care"
        ALLOCATED_TO_TEAM = "allocated_to_team", "Allocated to an Early Help team"
        SINGLE_AGENCY = "single_agency", "Single-agency support"
        SIGNPOSTED = "signposted", "Signposted"
        NO_FURTHER_ACTION = "no_further_action", "No further action"

    OPEN_STATES = (State.RECEIVED, State.SCREENING, State.AWAITING_CONSENT, State.AT_MEETING)

    class Decision(models.TextChoices):
        STEP_UP = "step_up", "Step up to children's social care"
        MEETING = "meeting", "Take to a multi-agency meeting"
        ALLOCATE = "allocate", "Allocate to an Early Help team"
        SINGLE_AGENCY = "single_agency", "Single-agency support"
        SIGNPOST = "signpost", "Signpost"
        NO_FURTHER_ACTION = "no_further_action", "No further action"
        AWAIT_CONSENT = "await_consent", "Awaiting consent"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="contacts")
    received_at = models.DateTimeField()
    route = models.CharField("how it came in", max_length=12, choices=Route.choices)
    source = models.CharField("contact source", max_length=3, choices=codes.CONTACT_SOURCES)
    referrer_agency = models.CharField(max_length=200, blank=True)
    referrer_name = models.CharField(max_length=200, blank=True)
    referrer_role = models.CharField(max_length=200, blank=True)
    referrer_phone = models.CharField(max_length=40, blank=True)
    referrer_email = models.EmailField(blank=True)
    presenting_needs = models.TextField()
    subjects = models.ManyToManyField(Person, related_name="contacts", blank=True)
    state = StateField(default=State.RECEIVED, choices=State.choices)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decision_rationale = models.TextField(blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    single_agency_name = models.CharField("agency that agreed to support", max_length=200, blank=True)
    # When that agency is a registered partner agency naming one of its people as lead professional (ADR 52).
    single_agency_organisation = models.ForeignKey(
        "accounts.PartnerOrganisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    meeting_kind = models.CharField(max_length=4, blank=True)
    allocated_team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="contacts_routed"
    )
    # Rulebook C: a contact within 3 months of a step-up decision needs a social care assessment.
    recent_step_up_flag = models.BooleanField(default=False)
    # Rulebook C, as a routing rule: such a contact waits for the duty manager, who records whether a
    # Child and Family Assessment is triggered (ADR 0038).
    duty_manager_reviewed_at = models.DateTimeField(null=True, blank=True)
    duty_manager_reviewed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duty_manager_outcome = models.TextField(blank=True)
    # Rulebook D: the lead professional of an open episode was told about this contact.
    lead_professional_notified = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The earliest due time of the contact's open clocks (None when none is open): the triage queue's
    # order. Kept by triggers on the clocks (migration 0024, ADR 86), never written by the application:
    # a save leaves it out (below), and it is not recorded in the history.
    earliest_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords(excluded_fields=["earliest_due_at"])

    # Derived columns written in SQL, not by a save (the name `Episode` gives its own, ADR 56: the case
    # file leaves them out too).
    BOARD_FIELDS = ("earliest_due_at",)

    class Meta:
        indexes = [
            models.Index(fields=["received_at"], name="contact_open_received", condition=Q(decided_at__isnull=True)),
            # The triage queue: contacts still at the front door, oldest first.
            models.Index(
                fields=["received_at"],
                name="contact_in_triage",
                condition=Q(state__in=["received", "screening", "awaiting_consent"]),
            ),
            # The triage queue in its order (the most urgent clock first, ADR 86): a page reads its
            # rows along this index, however long the queue.
            models.Index(
                F("earliest_due_at").asc(nulls_last=True),
                F("received_at"),
                F("id"),
                name="contact_triage_next_due",
                condition=Q(state__in=["received", "screening", "awaiting_consent"]),
            ),
            models.Index(fields=["family", "received_at"]),
            models.Index(fields=["received_at"]),
        ]

    def __str__(self) -> str:
        return f"Contact {self.reference}"

    @property
    def reference(self) -> str:
        return self.reference_of(self.pk)

    @staticmethod
    def reference_of(pk: int) -> str:
        """The reference of the record with this id, without the record (a list read as values, ADR 58)."""
        return f"C{pk:07d}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    # --- transitions: pure rules of what may follow what -----------------
    @transition(field=state, source=State.RECEIVED, target=State.SCREENING)
    def start_screening(self):
        pass

    @transition(field=state, source=[State.SCREENING, State.AT_MEETING], target=State.STEPPED_UP)
    def step_up(self):
        pass

    @transition(field=state, source=State.SCREENING, target=State.AT_MEETING)
    def take_to_meeting(self):
        pass

    @transition(field=state, source=[State.SCREENING, State.AT_MEETING], target=State.ALLOCATED_TO_TEAM)
    def allocate_to_team(self):
        pass

    @transition(field=state, source=[State.SCREENING, State.AT_MEETING], target=State.SINGLE_AGENCY)
    def single_agency(self):
        pass

    @transition(field=state, source=[State.SCREENING, State.AT_MEETING], target=State.SIGNPOSTED)
    def signpost(self):
        pass

    @transition(field=state, source=[State.SCREENING, State.AT_MEETING], target=State.NO_FURTHER_ACTION)
    def no_further_action(self):
        pass

    @transition(field=state, source=State.SCREENING, target=State.AWAITING_CONSENT)
    def await_consent(self):
        pass

    @transition(field=state, source=State.AWAITING_CONSENT, target=State.SCREENING)
    def consent_resolved(self):
        pass


class RiskIndicator(models.Model):
    """The nine key risk indicators for families, each as a level with a note."""

    class Indicator(models.TextChoices):
        HEALTH = "health", "Mental and physical health"
        SUBSTANCE = "substance", "Substance misuse"
        DOMESTIC_ABUSE = "domestic_abuse", "Domestic abuse"
        OFFENDING = "offending", "Offending"
        PROBATION = "probation", "Probation"
        FINANCIAL = "financial", "Financial stability (benefits, housing)"
        BEHAVIOUR = "behaviour", "Behaviour"
        ATTENDANCE = "attendance", "School attendance"
        DEVELOPMENT = "development", "Child development"

    class Level(models.IntegerChoices):
        NONE = 0, "None known"
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="risk_indicators")
    indicator = models.CharField(max_length=20, choices=Indicator.choices)
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.NONE)
    note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "indicator"], name="one_level_per_indicator")]


WITHDRAWAL_METHODS = [
    ("phone", "Phone"),
    ("email", "Email"),
    ("letter", "Letter"),
    ("in_person", "In person"),
    ("portal", "Online portal"),
]


class Consent(models.Model):
    class Purpose(models.TextChoices):
        EARLY_HELP = "early_help", "Early Help work"
        SHARE = "share", "Sharing with a named agency"

    class Status(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        NOT_SOUGHT = "not_sought", "Not yet sought"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="consents")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents")
    given_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents")
    given_by_name = models.CharField("from whom", max_length=200, blank=True)
    purpose = models.CharField(max_length=12, choices=Purpose.choices, default=Purpose.EARLY_HELP)
    agency = models.CharField("agency (for sharing)", max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_SOUGHT)
    recorded_on = models.DateField(null=True, blank=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The withdrawal (ADR 0038): when the family told us, who told us (a person in the family or a
    # name typed), how, and who recorded it. `withdrawn_on` is its local date, which the gates read.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_told_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="consent_withdrawals"
    )
    withdrawn_told_by_name = models.CharField("who told us (name)", max_length=200, blank=True)
    withdrawn_how = models.CharField("how we were told", max_length=10, choices=WITHDRAWAL_METHODS, blank=True)
    withdrawn_recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    @property
    def withdrawn_told_by_label(self) -> str:
        return str(self.withdrawn_told_by) if self.withdrawn_told_by_id else self.withdrawn_told_by_name

    @property
    def is_in_force(self) -> bool:
        return self.status == self.Status.GIVEN and self.withdrawn_on is None


class Communication(models.Model):
    """An acknowledgement, outcome or letter sent to a referrer, family or partner."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement to referrer"
        SCREENING_OUTCOME = "screening_outcome", "Screening outcome to referrer"
        MEETING_OUTCOME = "meeting_outcome", "Meeting outcome to referrer"
        CONSENT_REQUEST = "consent_request", "Outcome letter and consent request"
        DECISION_OUTCOME = "decision_outcome", "Decision outcome"
        LEAD_PROFESSIONAL_NOTICE = "lead_professional_notice", "Notice to lead professional"
        REFERRAL_TO_TEAM = "referral_to_team", "Referral sent to the Early Help team"
        PLAN_COPY = "plan_copy", "Copy of assessment and plan to family"
        CLOSURE_LETTER = "closure_letter", "Closure letter to family"
        PARTNER_NOTICE = "partner_notice", "Closure notice to partners"
        OTHER = "other", "Other"

    class Method(models.TextChoices):
        EMAIL = "email", "Email"
        LETTER = "letter", "Letter"
        PHONE = "phone", "Phone"
        PORTAL = "portal", "Portal"
        IN_PERSON = "in_person", "In person"

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="communications")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="communications")
    episode = models.ForeignKey(
        "cases.Episode", null=True, blank=True, on_delete=models.CASCADE, related_name="communications"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    recipient = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.EMAIL)
    sent_at = models.DateTimeField()
    summary = models.TextField(blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["family", "sent_at"])]


class Meeting(models.Model):
    """A multi-agency meeting at the front door: NAM, MAAM or ICDM."""

    class Kind(models.TextChoices):
        NAM = "NAM", "Neighbourhood Action Meeting (NAM)"
        MAAM = "MAAM", "Multi Agency Action Meeting (MAAM)"
        ICDM = "ICDM", "Integrated Case Discussion Meeting (ICDM)"

    kind = models.CharField(max_length=4, choices=Kind.choices)
    scheduled_for = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    attendees = models.TextField(blank=True, help_text="One attendee per line: name and agency")
    held_at = models.DateTimeField(null=True, blank=True)
    chair = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who, besides the front door, may see the meeting and its agenda (cases.selectors.meetings_visible_to).
    invited_teams = models.ManyToManyField(
        "accounts.Team",
        blank=True,
        related_name="meetings_invited_to",
        help_text="The teams asked to the meeting: their team leaders and their service's managers see it",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-scheduled_for"]

    def __str__(self) -> str:
        return f"{self.kind} on {long_date(self.scheduled_for)}"


class MeetingItem(models.Model):
    """A contact on a meeting's agenda and the meeting's outcome for it."""

    class Outcome(models.TextChoices):
        ALLOCATE = "allocate", "Allocate to an Early Help team"
        SINGLE_AGENCY = "single_agency", "Single-agency support"
        SIGNPOST = "signpost", "Signpost"
        STEP_UP = "step_up", "Step up to children's social care"
        NO_FURTHER_ACTION = "no_further_action", "No further action"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="meeting_items")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    reason = models.TextField(blank=True)
    allocated_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.PROTECT)
    single_agency_name = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "contact"], name="contact_once_per_meeting")]


class Screening(models.Model):
    """A daily screening at the front door (seed 003, 2.1): when it was held, who was there, who chaired.

    Each contact screened is a ScreeningItem with its outcome and the time it was screened, the moment
    the screening clocks (B3) start from, whatever time the decision is typed in.
    """

    held_on = models.DateField()
    started_at = models.DateTimeField()
    attendees = models.TextField(help_text="One attendee per line: name and agency")
    chair = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-started_at"]

    def __str__(self) -> str:
        return f"Screening on {long_date(self.held_on)}"


class ScreeningItem(models.Model):
    """One contact screened at a daily screening, with the outcome and the time it was screened."""

    class Outcome(models.TextChoices):
        STEP_UP = "step_up", "Step up to children's social care"
        MEETING = "meeting", "Take to a multi-agency meeting"
        ALLOCATE = "allocate", "Allocate to an Early Help team"
        SINGLE_AGENCY = "single_agency", "Single-agency support"
        SIGNPOST = "signpost", "Signpost"
        NO_FURTHER_ACTION = "no_further_action", "No further action"
        AWAIT_CONSENT = "await_consent", "Awaiting consent"
        CARRIED_OVER = "carried_over", "Screened, not yet decided (more information needed)"

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="items")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="screening_items")
    screened_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reason = models.TextField()
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["screening", "contact"], name="contact_once_per_screening")]


class AccessLog(models.Model):
    """Append-only: every view, search, export and download of a family's or person's data.

    A PostgreSQL trigger refuses UPDATE and DELETE (migration 0002).
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        SEARCH = "search", "Searched"
        EXPORT = "export", "Exported"
        DOWNLOAD = "download", "Downloaded"
        # Retention deletion: the row names the tombstone, never the deleted family's id.
        DELETE = "delete", "Deleted"

    at = models.DateTimeField()
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", db_index=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    family_id_logged = models.BigIntegerField(null=True, blank=True)
    person_id_logged = models.BigIntegerField(null=True, blank=True)
    what = models.CharField(max_length=200)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    break_glass_reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["family_id_logged", "at"]),
            models.Index(fields=["person_id_logged", "at"]),
            models.Index(fields=["user", "at"]),
        ]


# Episodes and their records, and the council's letter and e-mail templates and each message sent
# live in their own modules; re-exported so `from cases.models import Episode` keeps
# working and Django finds the models.
from cases.correspondence import *  # noqa: E402, F403
from cases.episode_models import *  # noqa: E402, F403
