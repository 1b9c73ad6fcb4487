"""Alert jobs as plain functions: detection (`alerts_raise`), delivery (`alerts_deliver`), digests.

Celery tasks in `deadlines.tasks` only call these with `now=timezone.now()`. The guarantees
(issue 5, conventions.md items 3-5):

- Detection selects with `<` ("past its limit and not yet alerted"), so a missed stretch of
  runs catches up on its next run instead of losing alerts.
- Each deadline is claimed per level by a conditional UPDATE (`... WHERE overdue_alerted_at IS
  NULL ... RETURNING id`) and its alert rows are inserted in the same transaction: a worker
  killed mid-run rolls back its unfinished batch, which the next run redoes, so nothing is lost
  or doubled. The unique constraint on (deadline, level, recipient) is the last line of defence
  and a PostgreSQL advisory lock keeps a second run (a second beat, a redelivered task) out.
- Delivery is separate from detection: it claims unsent alerts one by one; a failed email
  leaves that alert unsent for the next run and is re-raised after the others were tried.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse

from accounts import roles
from deadlines.calendar import LONDON, WorkingCalendar, add_working_days, end_of_local_day, is_working_day
from deadlines.models import Alert, Deadline, DigestDelivery

logger = logging.getLogger(__name__)

__all__ = ["ALERTS_LOCK_ID", "ESCALATION_ROLES", "alerts_deliver", "alerts_raise", "digest_send"]

# Any constant bigint shared by every process running the job ("earlyhelp" in ASCII, trimmed).
ALERTS_LOCK_ID = 0x6561726C7968

# Who is the escalation for a team's deadlines: its team leader(s), and at the front door,
# which has no team leader, the Early Help MASH lead.
ESCALATION_ROLES = (roles.TEAM_LEADER, roles.EH_MASH_LEAD)

_LEVEL_SQL = {
    # level: (claim stamp, limit column, extra condition). The conditions repeat the partial
    # indexes' predicates (models.Deadline.Meta) so the planner can use them.
    Alert.Level.OVERDUE: ("overdue_alerted_at", "expected_at", ""),
    Alert.Level.BREACHED: ("breach_alerted_at", "due_at", "AND NOT flag_only"),
}


@contextlib.contextmanager
def advisory_lock(lock_id: int) -> Iterator[bool]:
    """Hold a session-level PostgreSQL advisory lock for the block; yields whether we got it.

    Session-level rather than transaction-level because the job commits batch by batch; if
    the process dies the server ends the session and releases the lock.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])


def detection_sql(level: str) -> str:
    """The claim statement for one level: pick a batch past its limit, stamp it, return it."""
    stamp, limit, extra = _LEVEL_SQL[level]
    table = connection.ops.quote_name(Deadline._meta.db_table)
    # Only column and table names are formatted in, from the constants above and the model.
    # `id = ANY(ARRAY(SELECT ...))`, not `id IN (SELECT ... LIMIT n)`: PostgreSQL may re-run an
    # IN subquery for each row it checks, and with SKIP LOCKED each run can pick other rows, so
    # the UPDATE could claim far more than one batch. ARRAY(...) is an InitPlan, run exactly
    # once, and the UPDATE then finds its rows by primary key.
    return f"""
        UPDATE {table} SET {stamp} = %(now)s
        WHERE id = ANY(ARRAY(
            SELECT id FROM {table}
            WHERE stopped_at IS NULL AND {stamp} IS NULL AND {limit} IS NOT NULL
              AND {limit} < %(now)s {extra}
            ORDER BY {limit}
            LIMIT %(batch)s
            FOR UPDATE SKIP LOCKED
        ))
        AND stopped_at IS NULL AND {stamp} IS NULL
        RETURNING id, assignee_id, team_id, due_at, flag_only
    """  # noqa: S608


def alerts_raise(*, now: datetime, batch_size: int = 1000) -> int:
    """Raise the alerts for deadlines that became overdue or breached before `now`.

    Returns how many (deadline, level) pairs were alerted; 0 if another run holds the lock.
    A deadline found past both limits at once (e.g. after an outage) gets only the breach
    alert: its overdue level is claimed without a second, stale message. Aims (`flag_only`,
    A11) raise the overdue alert (their flag) and never a breach.
    """
    with advisory_lock(ALERTS_LOCK_ID) as acquired:
        if not acquired:
            logger.info("alerts_raise: another run holds the lock; skipping")
            return 0
        return sum(_raise_level(level, now=now, batch_size=batch_size) for level in Alert.Level.values)


def _raise_level(level: str, *, now: datetime, batch_size: int) -> int:
    sql = detection_sql(level)
    raised = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, {"now": now, "batch": batch_size})
                claimed = cursor.fetchall()
            rows = [
                (deadline_id, assignee_id, team_id)
                for deadline_id, assignee_id, team_id, due_at, flag_only in claimed
                # Superseded: past its maximum too, so the breach alert says it all.
                if not (level == Alert.Level.OVERDUE and due_at is not None and not flag_only and due_at < now)
            ]
            raised += _create_alerts(level, rows, now=now)
        if len(claimed) < batch_size:
            return raised


def _create_alerts(level: str, rows: list[tuple[int, int | None, int | None]], *, now: datetime) -> int:
    if not rows:
        return 0
    User = get_user_model()
    team_ids = {team_id for _, _, team_id in rows if team_id is not None}
    leaders: dict[int, set[int]] = defaultdict(set)
    for team_id, user_id in (
        User.objects.filter(team_id__in=team_ids, is_active=True, groups__name__in=ESCALATION_ROLES)
        .values_list("team_id", "id")
        .distinct()
    ):
        leaders[team_id].add(user_id)
    assignee_ids = {assignee_id for _, assignee_id, _ in rows if assignee_id is not None}
    active = set(User.objects.filter(id__in=assignee_ids, is_active=True).values_list("id", flat=True))

    alerts = []
    for deadline_id, assignee_id, team_id in rows:
        recipients = set(leaders.get(team_id, ()))
        if assignee_id in active:
            recipients.add(assignee_id)
        if not recipients:
            # Visible on boards all the same; nobody to tell is a configuration gap worth logging.
            logger.warning("deadline %s is %s but has no assignee or team leader to alert", deadline_id, level)
        alerts.extend(
            Alert(deadline_id=deadline_id, level=level, recipient_id=user_id, created_at=now)
            for user_id in sorted(recipients)
        )
    Alert.objects.bulk_create(alerts, ignore_conflicts=True, batch_size=1000)
    return len(rows)


# --- Delivery --------------------------------------------------------------------------------


def _alerts_url() -> str:
    try:
        path = reverse("deadlines:alerts")
    except NoReverseMatch:  # the pages are not wired into this build
        return ""
    return getattr(settings, "EARLYHELP_BASE_URL", "").rstrip("/") + path


def _when(value: datetime | None) -> str:
    return "–" if value is None else f"{value.astimezone(LONDON):%a %d %b %Y %H:%M}"


def subject_reference(deadline: Deadline) -> str:
    """A reference that identifies the record without naming the family (emails leave the system)."""
    if deadline.episode_id:
        return f"E{deadline.episode_id:07d}"
    if deadline.contact_id:
        return f"C{deadline.contact_id:07d}"
    return f"supervision of {deadline.worker}"


def _alert_message(alert: Alert) -> tuple[str, str]:
    d = alert.deadline
    word = "Breached" if alert.level == Alert.Level.BREACHED else "Overdue"
    subject = f"{word}: {d.rule_id} {d.title} ({subject_reference(d)})"
    lines = [
        f"{d.rule_id} {d.title} for {subject_reference(d)} is {word.lower()}.",
        "",
        f"Started: {_when(d.started_at)}",
        f"Expected by: {_when(d.expected_at)}",
        f"Maximum: {_when(d.due_at)}",
    ]
    url = _alerts_url()
    if url:
        lines += ["", f"Your alerts: {url}"]
    return subject, "\n".join(lines) + "\n"


def alerts_deliver(*, now: datetime, batch_size: int = 500) -> int:
    """Email every alert not yet emailed; returns how many emails were sent.

    Each alert is claimed by a conditional UPDATE of `emailed_at` and emailed inside the same
    transaction: a concurrent run waits on the row and then finds it claimed; a failed send
    rolls the claim back so the alert stays unsent for the next run. Failures are collected
    and the first is re-raised after every other alert was tried.
    """
    errors: list[Exception] = []
    sent = 0
    last_id = 0
    while True:
        ids = list(
            Alert.objects.filter(emailed_at__isnull=True, id__gt=last_id)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        for alert_id in ids:
            try:
                sent += _deliver_one(alert_id, now=now)
            except Exception as exc:  # noqa: BLE001 - postponed, not swallowed: re-raised below
                logger.exception("emailing alert %s failed; it stays unsent", alert_id)
                errors.append(exc)
    if errors:
        first = errors[0]
        first.add_note(f"{len(errors)} alert email(s) failed and stay unsent; {sent} sent")
        raise first
    return sent


def _deliver_one(alert_id: int, *, now: datetime) -> int:
    with transaction.atomic():
        if not Alert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(emailed_at=now):
            return 0  # another run got there first
        alert = Alert.objects.select_related("deadline", "deadline__worker", "recipient").get(pk=alert_id)
        if not alert.recipient.email:
            logger.warning("alert %s: %s has no email address; in-app only", alert_id, alert.recipient)
            return 0
        subject, body = _alert_message(alert)
        send_mail(subject, body, None, [alert.recipient.email], fail_silently=False)
        return 1


# --- Digest ----------------------------------------------------------------------------------

DIGEST_LIST_LIMIT = 50


def digest_send(*, now: datetime, calendar: WorkingCalendar | None = None) -> int:
    """Send each team leader their team's daily digest, once per local working day.

    From `settings.EARLYHELP_DIGEST_HOUR` (Europe/London, default 7) on a working day, each
    active team leader (or front-door lead) with a team gets one email: the team's breached
    and overdue deadlines, and what falls due before the end of the next working day (so
    Friday's digest covers the weekend). The day is claimed per recipient (DigestDelivery), so
    the hourly task, a second beat or a retry never sends twice. Returns emails sent.
    """
    if calendar is None:
        from deadlines.calendar_source import current_calendar

        calendar = current_calendar()
    local = now.astimezone(LONDON)
    if local.hour < getattr(settings, "EARLYHELP_DIGEST_HOUR", 7) or not is_working_day(calendar, local):
        return 0
    today = local.date()
    until = end_of_local_day(add_working_days(calendar, today, 1))
    leaders = (
        get_user_model()
        .objects.filter(is_active=True, team__isnull=False, groups__name__in=ESCALATION_ROLES)
        .exclude(pk__in=DigestDelivery.objects.filter(for_date=today).values("recipient_id"))
        .select_related("team")
        .distinct()
        .order_by("pk")
    )
    sent = 0
    errors: list[Exception] = []
    for leader in leaders:
        try:
            sent += _digest_one(leader, today=today, until=until, now=now)
        except Exception as exc:  # noqa: BLE001 - postponed, not swallowed: re-raised below
            logger.exception("digest for %s failed; it will be tried again on the next run", leader)
            errors.append(exc)
    if errors:
        first = errors[0]
        first.add_note(f"{len(errors)} digest(s) failed; {sent} sent")
        raise first
    return sent


def digest_items(*, team, now: datetime, until: datetime) -> dict[str, list[Deadline]]:
    """A team's digest sections: breached, overdue and falling due up to `until`."""
    base = Deadline.objects.filter(team=team).select_related("worker")
    return {
        "breached": list(base.breached(now).order_by("due_at")[:DIGEST_LIST_LIMIT]),
        "overdue": list(base.overdue(now).order_by("expected_at")[:DIGEST_LIST_LIMIT]),
        "due": list(base.falling_due(now=now, until=until).order_by("due_at", "expected_at")[:DIGEST_LIST_LIMIT]),
    }


def _digest_one(leader, *, today, until: datetime, now: datetime) -> int:
    with transaction.atomic():
        claim, created = DigestDelivery.objects.get_or_create(
            recipient=leader, for_date=today, defaults={"sent_at": now}
        )
        if not created:
            return 0
        sections = digest_items(team=leader.team, now=now, until=until)
        claim.items = sum(len(v) for v in sections.values())
        claim.save(update_fields=["items"])
        if not claim.items or not leader.email:
            return 0
        subject, body = _digest_message(leader, sections, today=today, until=until)
        send_mail(subject, body, None, [leader.email], fail_silently=False)
        return 1


def _digest_message(leader, sections: dict[str, list[Deadline]], *, today, until: datetime) -> tuple[str, str]:
    headings = {
        "breached": "Breached (past the maximum)",
        "overdue": "Overdue (past the expected time)",
        "due": f"Falling due by {_when(until)}",
    }
    lines = [f"Timescales for {leader.team} on {today:%A %d %B %Y}.", ""]
    for key, heading in headings.items():
        items = sections[key]
        lines.append(f"{heading}: {len(items)}{'+' if len(items) == DIGEST_LIST_LIMIT else ''}")
        for d in items:
            limit = d.due_at if key == "breached" else d.expected_at or d.due_at
            line = f"  - {d.rule_id} {d.title}, {subject_reference(d)}, {_when(limit)}"
            if key == "overdue" and d.due_at is not None:
                line += f" (maximum {_when(d.due_at)})"
            lines.append(line)
        lines.append("")
    url = _alerts_url()
    if url:
        lines.append(f"Your alerts: {url}")
    return f"Timescales digest: {leader.team}, {today:%d %B %Y}", "\n".join(lines) + "\n"
