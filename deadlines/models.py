"""Closure days, deadline rows and alerts.

A deadline is a row of timestamps (conventions.md item 1): whether it is on time, overdue or
breached is derived from them and `now` in the query (`DeadlineQuerySet.with_status`), never
stored, so every page is right even when no job has run.

Deadlines are derived records: `deadlines.services` writes them from workflow events and
`recompute_deadlines` may rewrite open ones in bulk. They carry no simple-history (the
workflow's own history records what happened; the rows are reproducible from it), and bulk
`update()`s would bypass history anyway. Closure days are edited by people and do keep history.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from kit.dates import long_date

USER = settings.AUTH_USER_MODEL

# "Due soon": a limit falls within this window of now.
DUE_SOON = timedelta(hours=24)

_OPEN = Q(stopped_at__isnull=True)

# Set while a write is being counted as a whole (deadlines.counts), so the steps inside it are not.
_COUNTING: ContextVar[bool] = ContextVar("deadline_counting", default=False)


class ClosureDay(models.Model):
    """A local day on which the council's Early Help service is closed (not a working day)."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, help_text="For example, Christmas closure")
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{long_date(self.date)}: {self.reason}"


class Status(models.TextChoices):
    """A deadline's status at a moment; computed in the query, never stored."""

    ON_TIME = "on_time", "On time"
    DUE_SOON = "due_soon", "Due soon"
    OVERDUE = "overdue", "Overdue"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"
    MET_LATE = "met_late", "Met late"
    WITHDRAWN = "withdrawn", "Withdrawn"


class DeadlineQuerySet(models.QuerySet):
    """Every write of clocks keeps the summary rows (deadlines.counts) in the same transaction."""

    def update(self, **kwargs):
        from deadlines.counts import COUNTED_FIELDS, Tally

        if not COUNTED_FIELDS & set(kwargs) or _COUNTING.get():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            tally = Tally.before(self)
            # By primary key: exactly the rows read (and locked) above.
            changed = models.QuerySet.update(Deadline.objects.filter(pk__in=tally.ids), **kwargs)
            tally.after()
        return changed

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        from deadlines.counts import Tally

        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError("clocks are created one by one or all of them: conflicts would go uncounted")
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            Tally.created(created)
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, *args, **kwargs):
        from deadlines.counts import COUNTED_FIELDS, Tally

        objs = list(objs)
        if not COUNTED_FIELDS & set(fields):
            return super().bulk_update(objs, fields, *args, **kwargs)
        with transaction.atomic(using=self.db):
            tally = Tally.before_ids([o.pk for o in objs])
            # Django's bulk_update runs `update()` per batch: counted once, here.
            token = _COUNTING.set(True)
            try:
                changed = super().bulk_update(objs, fields, *args, **kwargs)
            finally:
                _COUNTING.reset(token)
            tally.after()
        return changed

    bulk_update.alters_data = True

    def open(self) -> DeadlineQuerySet:
        return self.filter(_OPEN)

    def with_status(self, now: datetime) -> DeadlineQuerySet:
        """Annotate `status` (a `Status` value) as it stands at `now`.

        - breached: open and past its maximum (`due_at`), unless the rule is only an aim;
        - overdue: open and past its expected time (or past the maximum of an aim);
        - due soon: open and a limit falls within 24 hours;
        - met late: stopped after its maximum, or after its expected time if it has no maximum;
        - met: stopped in time; withdrawn: ended without being judged (`ends_on`).
        """
        soon = now + DUE_SOON
        limit = Q(due_at__isnull=False, stopped_at__gt=F("due_at")) | Q(
            due_at__isnull=True, expected_at__isnull=False, stopped_at__gt=F("expected_at")
        )
        return self.annotate(
            status=Case(
                When(stop_reason=Deadline.StopReason.WITHDRAWN, then=Value(Status.WITHDRAWN)),
                When(Q(stopped_at__isnull=False) & limit, then=Value(Status.MET_LATE)),
                When(stopped_at__isnull=False, then=Value(Status.MET)),
                When(flag_only=False, due_at__lt=now, then=Value(Status.BREACHED)),
                When(Q(expected_at__lt=now) | Q(due_at__lt=now), then=Value(Status.OVERDUE)),
                When(Q(expected_at__lte=soon) | Q(due_at__lte=soon), then=Value(Status.DUE_SOON)),
                default=Value(Status.ON_TIME),
                output_field=models.CharField(max_length=10, choices=Status.choices),
            )
        )

    def overdue(self, now: datetime) -> DeadlineQuerySet:
        """Open and past the expected time, but not (yet) breached."""
        return self.with_status(now).filter(status=Status.OVERDUE)

    def breached(self, now: datetime) -> DeadlineQuerySet:
        return self.open().filter(flag_only=False, due_at__lt=now)

    def falling_due(self, *, now: datetime, until: datetime) -> DeadlineQuerySet:
        """Open rows, not yet overdue, whose first limit (expected time, else maximum) is in [now, until]."""
        return self.open().filter(
            Q(expected_at__gte=now, expected_at__lte=until)
            | Q(expected_at__isnull=True, due_at__gte=now, due_at__lte=until)
        )


class Deadline(models.Model):
    """One running (or finished) clock of one rule for one contact, episode or worker.

    No history on purpose: see the module docstring.
    """

    class StopReason(models.TextChoices):
        MET = "met", "Met"  # a `stops_on` event: the task was done, judged against the limits
        WITHDRAWN = "withdrawn", "Withdrawn"  # an `ends_on` event: the rule no longer applies

    rulebook = models.CharField(max_length=60)
    rule_id = models.CharField(max_length=20)
    # Copied from the rulebook so boards and emails read well even if the rulebook changes.
    title = models.CharField(max_length=200)
    # The subject: exactly one of the three (see the CheckConstraint).
    # (db_index=False: the composite indexes in Meta lead with these columns.)
    contact = models.ForeignKey(
        "cases.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    episode = models.ForeignKey(
        "cases.Episode", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    worker = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.CASCADE, related_name="worker_deadlines", db_index=False
    )
    # Denormalised from the subject for the family page and scoping; none for worker clocks.
    family = models.ForeignKey(
        "cases.Family", null=True, blank=True, on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    # 1 for the first clock of a rule on a subject; a recurring rule's next clock is cycle + 1.
    cycle = models.PositiveIntegerField(default=1)
    # The record a `per_record` rule's clock is for (e.g. "assessment:12", "planned_visit:3");
    # empty for a rule with one clock per subject.
    # (db_default too: bulk loads that name their columns, e.g. COPY, need not know of it.)
    key = models.CharField(max_length=60, blank=True, default="", db_default="")
    # The `stops_on_all` events seen so far while the clock is open (B10); null: none yet.
    stops_seen = models.JSONField(null=True, blank=True, default=None)
    started_at = models.DateTimeField()
    expected_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=10, choices=StopReason.choices, blank=True)
    # An aim rather than a standard (A11): it can become overdue, never breached.
    flag_only = models.BooleanField(default=False)
    # The clock summaries (deadlines.counts, ADR 41) count clocks by assignee and team: deleting either
    # would change their clocks behind the counts' back (Django's SET_NULL is an UPDATE no signal tells
    # of), so a member of staff or a team with clocks is deactivated, never deleted (PROTECT; the admin
    # says so). `worker` cascades: those deletes are counted (the pre_delete receiver).
    assignee = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_deadlines"
    )
    # Whose board it is on, and whose team leaders are the escalation.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="deadlines")
    # Claimed by the alert job (conditional UPDATE): set once, so each level alerts once ever.
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)
    breach_alerted_at = models.DateTimeField(null=True, blank=True)
    # Claimed when a breach still open after ALERT_ESCALATE_AFTER_HOURS went to the service's managers.
    escalation_alerted_at = models.DateTimeField(null=True, blank=True)
    # What started this clock (an event of deadlines.events) and who did it, for "Why is this due?".
    start_event = models.CharField(max_length=40, blank=True, default="", db_default="")
    # The stored version of its rulebook the clock follows (deadlines.versions); null: the file.
    # Recomputes keep it on that version unless its publisher chose to move running clocks.
    rulebook_version = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = DeadlineQuerySet.as_manager()

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="deadline_exactly_one_subject",
                condition=(
                    Q(contact__isnull=False, episode__isnull=True, worker__isnull=True)
                    | Q(contact__isnull=True, episode__isnull=False, worker__isnull=True)
                    | Q(contact__isnull=True, episode__isnull=True, worker__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="deadline_stop_reason_iff_stopped",
                condition=Q(stopped_at__isnull=True, stop_reason="")
                | (Q(stopped_at__isnull=False) & ~Q(stop_reason="")),
            ),
            # One open clock per rule per subject (and per record, for `per_record` rules): the last
            # line of defence behind the service's "skip if already open" check. Three partial
            # indexes because NULLs never collide.
            models.UniqueConstraint(
                fields=["rulebook", "rule_id", "contact", "key"],
                condition=Q(stopped_at__isnull=True, contact__isnull=False),
                name="deadline_one_open_per_contact_rule",
            ),
            models.UniqueConstraint(
                fields=["rulebook", "rule_id", "episode", "key"],
                condition=Q(stopped_at__isnull=True, episode__isnull=False),
                name="deadline_one_open_per_episode_rule",
            ),
            models.UniqueConstraint(
                fields=["rulebook", "rule_id", "worker", "key"],
                condition=Q(stopped_at__isnull=True, worker__isnull=False),
                name="deadline_one_open_per_worker_rule",
            ),
        ]
        indexes = [
            # Dashboards: open clocks by their limits, overall and per team.
            models.Index(fields=["expected_at"], name="deadline_open_expected", condition=_OPEN),
            models.Index(fields=["due_at"], name="deadline_open_due", condition=_OPEN),
            models.Index(fields=["team", "due_at"], name="deadline_open_team_due", condition=_OPEN),
            # Breach counts by team on the dashboard: an index-only scan, no heap visits.
            models.Index(
                fields=["team", "due_at"], name="deadline_open_team_breach", condition=_OPEN & Q(flag_only=False)
            ),
            models.Index(fields=["assignee", "due_at"], name="deadline_open_assignee_due", condition=_OPEN),
            # The dashboard's list of breaches, newest first: `(-due_at, -id)` read in order along it, a
            # page's 20 entries, not the whole group of clocks sharing one maximum (23:59:59 of a day);
            # the team and rule filters answered from the index (ADR 0085).
            models.Index(
                fields=["due_at", "id"],
                name="deadline_open_breach_order",
                include=["team", "rule_id"],
                condition=_OPEN & Q(flag_only=False),
            ),
            # The alert job: only rows still waiting for an alert are in these, so a run with
            # nothing to do is one empty index range scan however many clocks are open.
            models.Index(
                fields=["expected_at"],
                name="deadline_overdue_pending",
                condition=Q(stopped_at__isnull=True, overdue_alerted_at__isnull=True, expected_at__isnull=False),
            ),
            models.Index(
                fields=["due_at"],
                name="deadline_breach_pending",
                condition=Q(
                    stopped_at__isnull=True, breach_alerted_at__isnull=True, due_at__isnull=False, flag_only=False
                ),
            ),
            models.Index(
                fields=["due_at"],
                name="deadline_escalation_pending",
                condition=Q(
                    stopped_at__isnull=True,
                    escalation_alerted_at__isnull=True,
                    due_at__isnull=False,
                    flag_only=False,
                ),
            ),
            # An episode's next task (`with_next_task`: my cases, my work, the pre-allocation list): its
            # open clocks in the order of the next limit, so each case reads one entry (ADR 0064).
            models.Index(
                F("episode"),
                Coalesce("expected_at", "due_at"),
                F("due_at"),
                name="deadline_open_episode_next",
                condition=Q(stopped_at__isnull=True, episode__isnull=False),
            ),
            # Pages of one record (all clocks, open or not).
            models.Index(fields=["episode", "started_at"], name="deadline_episode"),
            models.Index(fields=["contact", "started_at"], name="deadline_contact"),
            models.Index(fields=["worker", "started_at"], name="deadline_worker"),
            models.Index(fields=["family", "started_at"], name="deadline_family"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.title}"

    def save(self, *args, **kwargs) -> None:
        """Saved with its summary rows (deadlines.counts) in one transaction."""
        from deadlines.counts import Tally

        with transaction.atomic():
            tally = Tally.before_ids([self.pk])
            super().save(*args, **kwargs)
            tally.after([self.pk])

    @property
    def subject(self):
        return self.contact or self.episode or self.worker

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


class Alert(models.Model):
    """An in-app notice for one recipient: a deadline overdue, breached or escalated, or a new contact.

    At most one per deadline, level and recipient, ever (the UniqueConstraint); `emailed_at`
    is set when email delivery was settled (sent, or the recipient has no address). A
    "new contact" alert has no deadline: it names the contact that arrived on a family whose
    episode the recipient leads (one per contact and recipient).
    """

    class Level(models.TextChoices):
        OVERDUE = "overdue", "Overdue"
        BREACHED = "breached", "Breached"
        ESCALATED = "escalated", "Breach escalated"
        NEW_CONTACT = "new_contact", "New contact"
        MESSAGE_FAILED = "message_failed", "Letter or e-mail failed"

    deadline = models.ForeignKey(Deadline, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    contact = models.ForeignKey("cases.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    # A letter or e-mail the recipient sent that could not be delivered (cases.Message).
    message = models.ForeignKey("cases.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=16, choices=Level.choices)
    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="deadline_alerts")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["deadline", "level", "recipient"], name="alert_once_per_level_recipient"),
            models.UniqueConstraint(
                fields=["contact", "level", "recipient"],
                condition=Q(contact__isnull=False),
                name="alert_once_per_contact_recipient",
            ),
            models.UniqueConstraint(
                fields=["message", "level", "recipient"],
                condition=Q(message__isnull=False),
                name="alert_once_per_message_recipient",
            ),
            models.CheckConstraint(
                name="alert_deadline_or_contact",
                condition=Q(deadline__isnull=False) | Q(contact__isnull=False) | Q(message__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "created_at"], name="alert_recipient"),
            models.Index(fields=["recipient"], name="alert_unread", condition=Q(read_at__isnull=True)),
            models.Index(fields=["id"], name="alert_unsent", condition=Q(emailed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.deadline or self.contact}"


class DigestDelivery(models.Model):
    """One team leader's daily digest for one local date: claimed once, so never sent twice."""

    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    for_date = models.DateField()
    sent_at = models.DateTimeField()
    items = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "for_date"], name="digest_once_per_day")]


class RulebookVersion(models.Model):
    """One version of a rulebook, edited in the browser (deadlines.versions, ADR 0034).

    `data` holds the rulebook's tables exactly as its TOML file would (title, source, steps and
    the `rule` list), validated by the same loader. A rulebook with no version here is read from
    its file. Published versions are never edited again: a change is a new draft, published
    with the time it takes effect; old versions stay readable.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    class OpenClocks(models.TextChoices):
        KEEP = "keep", "Keep the due times they have"
        RECOMPUTE = "recompute", "Recompute them with this version"

    slug = models.CharField(max_length=60)
    number = models.PositiveIntegerField()
    data = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    effective_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    # Optimistic locking (ADR 0004): every save of a draft adds one; a form sent with an older
    # value was typed over someone else's change and is refused.
    edit_version = models.PositiveIntegerField(default=1)
    published_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    open_clocks = models.CharField(max_length=10, choices=OpenClocks.choices, blank=True)
    recompute_job = models.ForeignKey(
        "kit.BackgroundJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The background job that moved the open clocks to this version (publishing with recompute)",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "number"], name="rulebook_version_number_unique"),
            models.UniqueConstraint(fields=["slug"], condition=Q(state="draft"), name="rulebook_version_one_draft"),
            models.CheckConstraint(
                name="rulebook_version_published_has_time",
                condition=Q(state="draft") | Q(effective_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slug} version {self.number} ({self.get_state_display()})"


# --- Summary rows of the clocks (deadlines.counts, ADR 0041) -------------------------------------
#
# Derived from Deadline like Deadline is derived from the workflow: no history (a full recount,
# `counts_reconcile`, rebuilds them from the clocks at any time). Team and assignee are plain
# integers, 0 for none, so every key is NOT NULL and one upsert (ON CONFLICT) adds a delta.


class OpenClockMeasures(models.Model):
    """What one open-clock summary row counts, whoever it belongs to (a team and assignee, or a service)."""

    rule_id = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices)
    day = models.DateField(null=True)
    n = models.IntegerField(default=0)

    class Meta:
        abstract = True


class TimelinessMeasures(models.Model):
    """What one timeliness summary row counts for a rule and month, whoever it belongs to (a team or a service)."""

    rule_id = models.CharField(max_length=20)
    month = models.DateField()
    run = models.IntegerField(default=0)
    with_expected = models.IntegerField(default=0)
    with_maximum = models.IntegerField(default=0)
    stopped = models.IntegerField(default=0)
    met_expected = models.IntegerField(default=0)
    missed_expected = models.IntegerField(default=0)
    met_maximum = models.IntegerField(default=0)
    missed_maximum = models.IntegerField(default=0)

    class Meta:
        abstract = True


class OpenClockCount(OpenClockMeasures):
    """How many open clocks share one team, assignee, rule, status and day, as of `ClockCountsState.as_of`.

    `day` is the local date of its first limit for a clock not yet overdue (the board's "due today"
    and "due later this week"), null for an overdue or breached clock or one without limits. A
    breached clock also counts in one row of status "breach_day" (assignee 0) for the local date of
    its maximum: the dashboard's "breached in the period", per team and rule.
    """

    team_id = models.IntegerField()
    assignee_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "assignee_id", "rule_id", "status", "day"],
                name="open_clock_count_key",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["status", "day"], name="open_clock_count_status_day")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.status} team {self.team_id}: {self.n}"


class ClockTimeliness(TimelinessMeasures):
    """Timeliness of the clocks of one team and rule started in one local month (withdrawn ones excluded).

    Met and missed against the expected time and the maximum: a clock is missed once stopped late
    or still open past the limit (as of `ClockCountsState.as_of`); open = run - stopped.
    """

    team_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team_id", "rule_id", "month"], name="clock_timeliness_key"),
        ]
        indexes = [models.Index(fields=["month"], name="clock_timeliness_month")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.month:%Y-%m} team {self.team_id}: {self.run}"


class ServiceClockCount(OpenClockMeasures):
    """`OpenClockCount` summed over the teams of one service: open clocks per service, rule, status and
    day (ADR 68). Kept by statement triggers on `deadlines_openclockcount` (migration
    `deadlines.0013_service_counts`) in the writer's transaction, so the dashboard's headline reads
    O(rules x statuses x days) rows whatever the number of teams. Rows of team 0 (no team) count in
    no service."""

    service_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service_id", "status", "day", "rule_id"],
                name="service_clock_count_key",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.status} service {self.service_id}: {self.n}"


class ServiceTimeliness(TimelinessMeasures):
    """`ClockTimeliness` summed over the teams of one service, per rule and month (ADR 68), kept by
    statement triggers on `deadlines_clocktimeliness`."""

    service_id = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_id", "month", "rule_id"], name="service_timeliness_key"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.month:%Y-%m} service {self.service_id}: {self.run}"


class ClockCountsState(models.Model):
    """One row: the instant the summary rows' statuses are as of (moved on by the alert job)."""

    as_of = models.DateTimeField()
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # What the last reconcile found wrong and repaired (0: the summaries equalled the recount).
    last_drift = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"clock counts as of {self.as_of:%Y-%m-%d %H:%M}"
