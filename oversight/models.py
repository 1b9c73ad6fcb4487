"""Oversight records: what managers decide and sign, supervision, and what deletions they authorised."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from kit.dates import long_date

USER = settings.AUTH_USER_MODEL


class Tombstone(models.Model):
    """What is left of a family's records after retention deletion: no personal data, just the fact."""

    family_id_deleted = models.BigIntegerField(db_index=True)
    reference = models.CharField(max_length=20)
    deleted_at = models.DateTimeField()
    authorised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=100)
    # The legal basis the manager gave; it must name no one (the family's data is gone).
    reason = models.TextField("legal basis for the deletion", blank=True)
    counts = models.JSONField(default=dict, help_text="How many records of each kind were removed")

    class Meta:
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return f"{self.reference} deleted {long_date(self.deleted_at)}"


class ManagersDecision(models.Model):
    """A manager's recorded oversight ("Managers Decision" case note, rulebook B 11.1 / 11.2, rulebook C).

    It is linked to what it oversees, so the family chronology and the case show which assessment,
    plan, review, closure, step-up or case discussion the decision was about. Recording one is the
    `oversight_recorded` event that stops the B13, B14 and B19 clocks.
    """

    class Oversees(models.TextChoices):
        ASSESSMENT = "assessment", "Assessment"
        PLAN = "plan", "Plan"
        REVIEW = "review", "Review"
        CLOSURE = "closure", "Closure"
        STEP_UP = "step_up", "Step-up"
        CASE_DISCUSSION = "case_discussion", "Case discussion"
        MONTHLY = "monthly", "Monthly management oversight"

    episode = models.ForeignKey("cases.Episode", on_delete=models.CASCADE, related_name="managers_decisions")
    # Denormalised from the episode for the family chronology (one indexed range per family).
    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="managers_decisions")
    oversees = models.CharField("what the decision oversees", max_length=20, choices=Oversees.choices)
    assessment = models.ForeignKey(
        "cases.Assessment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan = models.ForeignKey("cases.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    review = models.ForeignKey("cases.Review", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closure_request = models.ForeignKey(
        "cases.ClosureRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step_up = models.ForeignKey("cases.StepUp", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    case_note = models.ForeignKey("cases.CaseNote", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.TextField("decision")
    rationale = models.TextField("rationale")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # "Cases without a decision this month": one index probe per open episode.
            models.Index(fields=["episode", "recorded_at"], name="mdecision_episode_at"),
            models.Index(fields=["family", "recorded_at"], name="mdecision_family_at"),
        ]

    def __str__(self) -> str:
        return f"Managers Decision ({self.get_oversees_display().lower()}) on {long_date(self.recorded_at)}"


class Supervision(models.Model):
    """A practitioner's supervision (rulebook B 11.6, every 4 calendar weeks)."""

    practitioner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="supervisions")
    supervisor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="supervisions_given")
    held_on = models.DateField("date of the supervision")
    cases_discussed = models.ManyToManyField("cases.Episode", blank=True, related_name="supervisions")
    notes = models.TextField("discussion and reflection")
    recorded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["practitioner", "held_on"], name="supervision_practitioner")]

    def __str__(self) -> str:
        return f"Supervision of {self.practitioner} on {long_date(self.held_on)}"


class SupervisionAction(models.Model):
    """An action agreed in supervision: a task with its own due date, maybe about one case."""

    supervision = models.ForeignKey(Supervision, on_delete=models.CASCADE, related_name="actions")
    # A task about a family goes when the family's records go (retention).
    episode = models.ForeignKey(
        "cases.Episode", null=True, blank=True, on_delete=models.CASCADE, related_name="supervision_actions"
    )
    text = models.TextField("action")
    assignee = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="supervision_tasks")
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["assignee", "due_on"], name="supervision_task_open", condition=models.Q(done_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class BreachAcknowledgement(models.Model):
    """A manager has seen a breached timescale and said what is being done about it."""

    deadline = models.ForeignKey("deadlines.Deadline", on_delete=models.CASCADE, related_name="acknowledgements")
    by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    comment = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deadline"], name="breach_acknowledged_once")]

    def __str__(self) -> str:
        return f"Breach of {self.deadline} acknowledged by {self.by}"


def annex_a_path(instance: AnnexAExport, filename: str) -> str:
    # Private storage under a random name: the path says nothing and cannot be guessed.
    return f"private/annex-a/{uuid.uuid4().hex}.xlsx"


class AnnexAExport(models.Model):
    """A manager's Ofsted Annex A workbook and its data-quality report, built by a Celery task.

    One per manager: asking again replaces it. The file lives in private storage (MEDIA_ROOT, never
    served) and only the manager who asked may download it; it is deleted after a day.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()
    as_at = models.DateField("date the return is for")
    period_start = models.DateField()
    period_end = models.DateField()
    values_mode = models.CharField(max_length=10, help_text="labels or codes (ANNEX_A_VALUES when it was built)")
    unassessed = models.CharField(max_length=10, help_text="exclude or include (ANNEX_A_LIST_2_UNASSESSED)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=annex_a_path, max_length=200, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    row_counts = models.JSONField(default=dict)
    report = models.JSONField(default=dict, help_text="Problems by list, column and rule, with the first rows")
    job = models.ForeignKey(
        "kit.BackgroundJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The background job whose page shows the build's progress",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["requested_by"], name="one_annex_a_export_per_user")]

    def __str__(self) -> str:
        return f"Annex A for {long_date(self.as_at)} ({self.get_status_display().lower()})"
