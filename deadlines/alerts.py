"""Alert jobs as plain functions: detection (`alerts_raise`), delivery (`alerts_deliver`), digests.

Celery tasks in `deadlines.tasks` only call these with `now=timezone.now()`. The guarantees
(conventions.md items 3-5):

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
from collections.abc import Iterator, Sequence
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from accounts import roles
from accounts.models import Team
from deadlines.calendar import LONDON, WorkingCalendar, add_working_days, end_of_local_day, is_working_day
from deadlines.models import Alert, Deadline, DigestDelivery
from deadlines.rulebook import DEFAULT_ACTS, DEFAULT_ESCALATE_TO, Rule, Rulebook
from kit.dates import long_date, long_datetime

logger = logging.getLogger(__name__)

__all__ = [
    "ALERTS_LOCK_ID",
    "ESCALATION_ROLES",
    "RoleDirectory",
    "alert_message_failed",
    "alert_new_contact",
    "alert_recipients",
    "alerts_deliver",
    "alerts_raise",
    "digest_send",
    "overseers_of",
    "routing_roles",
]

# Any constant bigint shared by every process running the job ("earlyhelp" in ASCII, trimmed).
ALERTS_LOCK_ID = 0x6561726C7968

# Who gets a team's daily digest: its team leader(s), and at the front door, which has no
# team leader, the Early Help MASH lead. (Alerts follow each rule's `acts`/`escalate_to`.)
ESCALATION_ROLES = (roles.TEAM_LEADER, roles.EH_MASH_LEAD)

_LEVEL_SQL = {
    # level: (claim stamp, limit column, extra condition). The conditions repeat the partial
    # indexes' predicates (models.Deadline.Meta) so the planner can use them.
    Alert.Level.OVERDUE: ("overdue_alerted_at", "expected_at", ""),
    Alert.Level.BREACHED: ("breach_alerted_at", "due_at", "AND NOT flag_only"),
    Alert.Level.ESCALATED: ("escalation_alerted_at", "due_at", "AND NOT flag_only"),
}

# The levels the detection job raises, in order (a new contact is raised by the workflow).
DETECTED_LEVELS = (Alert.Level.OVERDUE, Alert.Level.BREACHED, Alert.Level.ESCALATED)


def escalate_after_hours() -> int:
    """Hours a breach may stay open before the service's EH managers are told (a setting)."""
    return settings.ALERT_ESCALATE_AFTER_HOURS


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
    threshold = "%(now)s"
    if level == Alert.Level.ESCALATED:
        # An int from settings, formatted in: the statement stays one literal per setting.
        threshold = f"(%(now)s - interval '{escalate_after_hours():d} hours')"
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
              AND {limit} < {threshold} {extra}
            ORDER BY {limit}
            LIMIT %(batch)s
            FOR UPDATE SKIP LOCKED
        ))
        AND stopped_at IS NULL AND {stamp} IS NULL
        RETURNING id, assignee_id, team_id, due_at, flag_only, rulebook, rule_id
    """  # noqa: S608


def alerts_raise(*, now: datetime, batch_size: int = 1000, rulebooks: Sequence[Rulebook] | None = None) -> int:
    """Raise the alerts for deadlines that became overdue, breached or due for escalation before `now`.

    Returns how many (deadline, level) pairs were alerted; 0 if another run holds the lock.
    A deadline found past both limits at once (e.g. after an outage) gets only the breach
    alert: its overdue level is claimed without a second, stale message. Aims (`flag_only`,
    A11) raise the overdue alert (their flag) and never a breach.

    Who is told is the rule's routing (`acts`, `escalate_to` in the rulebook): the overdue
    alert goes to the role that acts, the breach to it and the escalation roles, and a breach
    still open `ALERT_ESCALATE_AFTER_HOURS` after its maximum to the service's EH managers.
    """
    books = _rulebooks(rulebooks)
    with advisory_lock(ALERTS_LOCK_ID) as acquired:
        if not acquired:
            logger.info("alerts_raise: another run holds the lock; skipping")
            return 0
        raised = sum(_raise_level(level, now=now, batch_size=batch_size, books=books) for level in DETECTED_LEVELS)
        # The clocks that crossed due soon, overdue or breached since the last run move in the
        # summary rows (deadlines.counts): the same index range scans as the claims above.
        from deadlines.counts import counts_advance

        counts_advance(now=now)
        return raised


def _rulebooks(rulebooks: Sequence[Rulebook] | None) -> dict[tuple[str, str], Rule]:
    if rulebooks is None:
        from deadlines.services import active_rulebooks

        rulebooks = active_rulebooks()
    return {(book.slug, rule.id): rule for book in rulebooks for rule in book.rules.values()}


def _raise_level(level: str, *, now: datetime, batch_size: int, books: dict | None = None) -> int:
    books = _rulebooks(None) if books is None else books
    sql = detection_sql(level)
    raised = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, {"now": now, "batch": batch_size})
                claimed = cursor.fetchall()
            rows = [
                (deadline_id, assignee_id, team_id, books.get((rulebook, rule_id)))
                for deadline_id, assignee_id, team_id, due_at, flag_only, rulebook, rule_id in claimed
                # Superseded: past its maximum too, so the breach alert says it all.
                if not (level == Alert.Level.OVERDUE and due_at is not None and not flag_only and due_at < now)
            ]
            raised += _create_alerts(level, rows, now=now)
        if len(claimed) < batch_size:
            return raised


def routing_roles(rule: Rule | None, level: str) -> tuple[str, ...]:
    """The roles (rulebook.ROUTING_ROLES) a rule's alert of `level` goes to, first the one that acts."""
    acts = rule.acts if rule is not None else DEFAULT_ACTS
    escalate_to = rule.escalate_to if rule is not None else DEFAULT_ESCALATE_TO
    if level == Alert.Level.OVERDUE:
        return (acts,)
    if level == Alert.Level.BREACHED:
        return (acts, *escalate_to)
    return ("eh_manager",)


class RoleDirectory:
    """Who holds each routing role for a set of deadlines: three queries, however many rows."""

    _GROUPS = {
        roles.TEAM_LEADER: "team_leader",
        roles.EH_MASH_LEAD: "mash_lead",
        roles.MANAGER: "eh_manager",
        roles.DUTY_MANAGER: "duty_manager",
    }

    def __init__(self, *, team_ids: set[int], assignee_ids: set[int]) -> None:
        User = get_user_model()
        self.team_service = dict(Team.objects.filter(id__in=team_ids).values_list("id", "service_id"))
        services = set(self.team_service.values())
        assignees = User.objects.filter(id__in=assignee_ids, is_active=True).values_list(
            "id", "partner_organisation_id"
        )
        self.active: set[int] = set()
        # A partner agency's lead professional (ADR 52) is never alerted: their pages are the portal's,
        # which shows what is due and overdue on the episode. The overseeing team's leaders are told.
        self.partners: set[int] = set()
        for user_id, organisation_id in assignees:
            (self.partners if organisation_id is not None else self.active).add(user_id)
        # (role, team id) and (role, service id) -> user ids; front-door MASH leads by service.
        self.by_team: dict[tuple[str, int], set[int]] = defaultdict(set)
        self.by_service: dict[tuple[str, int], set[int]] = defaultdict(set)
        self.front_door: dict[int, set[int]] = defaultdict(set)
        people = (
            User.objects.filter(is_active=True, groups__name__in=self._GROUPS, partner_organisation__isnull=True)
            .filter(Q(team_id__in=team_ids) | Q(service_id__in=services) | Q(team__service_id__in=services))
            .values_list("id", "groups__name", "team_id", "team__kind", "team__service_id", "service_id")
            .distinct()
        )
        for user_id, group, team_id, team_kind, team_service_id, service_id in people:
            role = self._GROUPS[group]
            if team_id is not None:
                self.by_team[role, team_id].add(user_id)
            service = team_service_id if team_id is not None else service_id
            if service is not None:
                self.by_service[role, service].add(user_id)
                if role == "mash_lead" and team_kind == Team.Kind.FRONT_DOOR:
                    self.front_door[service].add(user_id)

    def team_leads(self, team_id: int) -> set[int]:
        return set(self.by_team.get(("team_leader", team_id), ())) | set(self.by_team.get(("mash_lead", team_id), ()))

    def resolve(self, role: str, *, assignee_id: int | None, team_id: int | None) -> set[int]:
        """The people holding `role` for a deadline on `team_id` assigned to `assignee_id`."""
        if role == "lead_professional":
            if assignee_id in self.partners and team_id is not None:
                # Partner-led support: the team keeping oversight acts for its lead professional.
                return set(self.by_team.get(("team_leader", team_id), ()))
            return {assignee_id} if assignee_id in self.active else set()
        if team_id is None:
            return set()
        service = self.team_service.get(team_id)
        if role == "team_leader":
            return set(self.by_team.get((role, team_id), ()))
        if role == "mash_lead":
            # The MASH leads of the deadline's own (front-door) team, else the service's front door.
            return set(self.by_team.get((role, team_id), ())) or set(self.front_door.get(service, ()))
        # Managers and duty managers: the service's, whether placed in a team or above them.
        return set(self.by_service.get((role, service), ()))


def alert_recipients(
    directory: RoleDirectory, rule: Rule | None, level: str, *, assignee_id: int | None, team_id: int | None
) -> set[int]:
    """The user ids an alert of `level` on one deadline goes to.

    If nobody holds the role that acts (an episode awaiting allocation has no lead
    professional), the escalation roles are told instead, so an overdue task is never
    silent; an escalation with no manager in the service falls back to the breach's roles;
    and if still nobody, the leaders of the deadline's own team.
    """
    wanted = routing_roles(rule, level)
    recipients: set[int] = set()
    for role in wanted:
        recipients |= directory.resolve(role, assignee_id=assignee_id, team_id=team_id)
    if not recipients and level != Alert.Level.BREACHED:
        for role in routing_roles(rule, Alert.Level.BREACHED):
            recipients |= directory.resolve(role, assignee_id=assignee_id, team_id=team_id)
    if not recipients and team_id is not None:
        # Last resort, so a task is never silent: whoever leads the deadline's own team (its
        # team leaders, or at the front door, which has none, its EH MASH leads).
        recipients = directory.team_leads(team_id)
    return recipients


def _create_alerts(level: str, rows: list[tuple[int, int | None, int | None, Rule | None]], *, now: datetime) -> int:
    if not rows:
        return 0
    directory = RoleDirectory(
        team_ids={team_id for _, _, team_id, _ in rows if team_id is not None},
        assignee_ids={assignee_id for _, assignee_id, _, _ in rows if assignee_id is not None},
    )
    alerts = []
    for deadline_id, assignee_id, team_id, rule in rows:
        recipients = alert_recipients(directory, rule, level, assignee_id=assignee_id, team_id=team_id)
        if not recipients:
            # Visible on boards all the same; nobody to tell is a configuration gap worth logging.
            logger.warning("deadline %s is %s but nobody holds the roles its rule routes to", deadline_id, level)
        alerts.extend(
            Alert(deadline_id=deadline_id, level=level, recipient_id=user_id, created_at=now)
            for user_id in sorted(recipients)
        )
    Alert.objects.bulk_create(alerts, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def alert_new_contact(*, contact, episode, now: datetime) -> Alert | None:
    """Tell the lead professional of `episode` that `contact` arrived on their family.

    An in-app alert (header count, My work, the alerts page) that `alerts_deliver` emails like
    any other. Once per contact and recipient; none if the episode has no active lead professional.
    """
    lead_id = episode.lead_professional_id
    if episode.partner_organisation_id is not None:
        # Partner-led support (ADR 52): the partner's pages are the portal's, so the team keeping
        # oversight is told instead, its team leaders; never the partner agency's user.
        alerts = [
            Alert.objects.get_or_create(
                contact=contact, level=Alert.Level.NEW_CONTACT, recipient_id=user_id, defaults={"created_at": now}
            )[0]
            for user_id in overseers_of(episode)
        ]
        return alerts[0] if alerts else None
    if lead_id is None or not get_user_model().objects.filter(pk=lead_id, is_active=True).exists():
        return None
    alert, _ = Alert.objects.get_or_create(
        contact=contact,
        level=Alert.Level.NEW_CONTACT,
        recipient_id=lead_id,
        defaults={"created_at": now},
    )
    return alert


def overseers_of(episode) -> list[int]:
    """The active team leaders of the team keeping oversight of a partner-led episode (ADR 52), by id."""
    return list(
        get_user_model()
        .objects.filter(
            team_id=episode.team_id, is_active=True, groups__name=roles.TEAM_LEADER, partner_organisation__isnull=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def alert_message_failed(*, message, now: datetime) -> Alert | None:
    """Tell whoever sent a letter or e-mail (a cases.Message) that it could not be delivered.

    An in-app alert that `alerts_deliver` emails like any other. One per message and sender: a message
    that fails again after being sent again makes the same alert unread (and e-mailed) again. None when
    the sender is not an active user (a message the system wrote).
    """
    sender_id = message.created_by_id
    if sender_id is None or not get_user_model().objects.filter(pk=sender_id, is_active=True).exists():
        return None
    alert, created = Alert.objects.get_or_create(
        message_id=message.pk,
        level=Alert.Level.MESSAGE_FAILED,
        recipient_id=sender_id,
        defaults={"created_at": now},
    )
    if not created:
        Alert.objects.filter(pk=alert.pk).update(created_at=now, read_at=None, emailed_at=None)
        alert.refresh_from_db()
    return alert


# --- Delivery --------------------------------------------------------------------------------


def _alerts_url() -> str:
    try:
        path = reverse("deadlines:alerts")
    except NoReverseMatch:  # the pages are not wired into this build
        return ""
    return settings.EARLYHELP_BASE_URL.rstrip("/") + path


def _when(value: datetime | None) -> str:
    return "–" if value is None else f"{long_datetime(value.astimezone(LONDON))}"


def subject_reference(deadline: Deadline) -> str:
    """A reference that identifies the record without naming the family (emails leave the system)."""
    if deadline.episode_id:
        return f"E{deadline.episode_id:07d}"
    if deadline.contact_id:
        return f"C{deadline.contact_id:07d}"
    return f"supervision of {deadline.worker}"


def message_reference(alert: Alert) -> str:
    """The record a failed message was written from (contact or episode), without naming the family."""
    message = alert.message
    if message is not None and message.episode_id:
        return f"E{message.episode_id:07d}"
    if message is not None and message.contact_id:
        return f"C{message.contact_id:07d}"
    return f"letter {alert.message_id}"


def _alert_message(alert: Alert) -> tuple[str, str]:
    url = _alerts_url()
    if alert.level == Alert.Level.MESSAGE_FAILED:
        lines = [
            f"A letter or e-mail you sent ({message_reference(alert)}) could not be delivered.",
            "Its page says why and lets you send it again. The clock that waits for it is still running.",
        ]
        if url:
            lines += ["", f"Your alerts: {url}"]
        return f"Not delivered: a letter or e-mail you sent ({message_reference(alert)})", "\n".join(lines) + "\n"
    if alert.level == Alert.Level.NEW_CONTACT:
        ref = f"C{alert.contact_id:07d}"
        lines = [
            f"A new contact ({ref}) has arrived on a family whose Early Help episode you lead.",
            "Read it before your next contact with the family.",
        ]
        if url:
            lines += ["", f"Your alerts: {url}"]
        return f"New contact on your family ({ref})", "\n".join(lines) + "\n"
    d = alert.deadline
    word = {Alert.Level.BREACHED: "Breached", Alert.Level.ESCALATED: "Breach escalated"}.get(alert.level, "Overdue")
    subject = f"{word}: {d.rule_id} {d.title} ({subject_reference(d)})"
    state = "is overdue" if alert.level == Alert.Level.OVERDUE else "is breached"
    if alert.level == Alert.Level.ESCALATED:
        state = f"is still breached {escalate_after_hours()} hours after its maximum"
    lines = [
        f"{d.rule_id} {d.title} for {subject_reference(d)} {state}.",
        "",
        f"Started: {_when(d.started_at)}",
        f"Expected by: {_when(d.expected_at)}",
        f"Maximum: {_when(d.due_at)}",
    ]
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
        alert = Alert.objects.select_related("deadline", "deadline__worker", "recipient", "message").get(pk=alert_id)
        if alert.recipient.is_partner:
            # Never e-mail a partner agency's user a link to internal pages (they are 404 to them).
            logger.warning("alert %s: %s is a partner agency's user; not e-mailed", alert_id, alert.recipient)
            return 0
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
    if local.hour < settings.EARLYHELP_DIGEST_HOUR or not is_working_day(calendar, local):
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
    lines = [f"Timescales for {leader.team} on {long_date(today)}.", ""]
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
    return f"Timescales digest: {leader.team}, {long_date(today)}", "\n".join(lines) + "\n"
