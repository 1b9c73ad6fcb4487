"""Reads of deadlines that pages share. Status is derived from `now` in the query."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery

from accounts import roles
from deadlines.calendar import (
    CALENDAR_DAYS,
    CALENDAR_MONTHS,
    CALENDAR_WEEKS,
    END_OF_NEXT_WORKING_DAY,
    HOURS,
    WORKING_DAYS,
    Limit,
    WorkingCalendar,
    is_working_day,
    local_date,
)
from deadlines.events import event_label
from deadlines.models import Alert, ClosureDay, Deadline, Status


def deadlines_for_subject(*, now: datetime, contact=None, episode=None, limit: int = 100) -> list[Deadline]:
    """The clocks of one contact or episode, open ones first, with their derived status."""
    qs = Deadline.objects.with_status(now)
    if contact is not None:
        qs = qs.filter(contact=contact)
    elif episode is not None:
        qs = qs.filter(episode=episode)
    else:
        return []
    rows = list(qs.order_by("stopped_at", "due_at", "started_at")[:limit])
    for row in rows:
        row.rule_title = row.title
    return rows


def with_time_left(contacts: QuerySet, *, now: datetime) -> QuerySet:
    """Annotate each contact with its most urgent open clock, and order the most urgent first."""
    open_clocks = Deadline.objects.filter(contact=OuterRef("pk"), stopped_at__isnull=True, due_at__isnull=False)
    most_urgent = open_clocks.order_by("due_at")
    return contacts.annotate(
        next_due_at=Subquery(most_urgent.values("due_at")[:1]),
        next_due_rule=Subquery(most_urgent.values("rule_id")[:1]),
    ).order_by("next_due_at", "received_at", "pk")


# --- "Why is this due then?" -------------------------------------------------------------------

# Beyond this many days of counting the skipped days are summarised, not listed one by one.
_SKIPPED_LIST_LIMIT = 62

_UNIT_WORDS = {
    HOURS: ("hour", "hours"),
    CALENDAR_DAYS: ("calendar day", "calendar days"),
    WORKING_DAYS: ("working day", "working days"),
    CALENDAR_WEEKS: ("calendar week", "calendar weeks"),
    CALENDAR_MONTHS: ("calendar month", "calendar months"),
}

_UNIT_COUNTING = {
    HOURS: "counted by the clock, to the minute, nights, weekends and bank holidays included",
    CALENDAR_DAYS: "every day counts, weekends and bank holidays included; due by the end of the last day",
    CALENDAR_WEEKS: "seven days a week, weekends and bank holidays included; due by the end of the last day",
    CALENDAR_MONTHS: "to the same date in the later month (or its last day); due by the end of that day",
}


def may_see_worker_clock(user, worker) -> bool:
    """A worker's own clock (supervision, B20) is seen by that worker, a team leader of their team and a
    manager or duty manager of their service. (A contact's or an episode's clock follows the case's
    scope: workflows.clock_views.clock_visible_to.)"""
    if user.pk == worker.pk:
        return True
    if user.has_role(roles.TEAM_LEADER) and user.team_id is not None and user.team_id == worker.team_id:
        return True
    if user.has_role(roles.MANAGER, roles.DUTY_MANAGER) and worker.team_id is not None:
        return user.service_id_in_scope == worker.team.service_id
    return False


def limit_words(limit: Limit) -> str:
    """ "5 working days", "48 hours", "the end of the next working day"."""
    if limit.unit == END_OF_NEXT_WORKING_DAY:
        return "by the end of the next working day"
    one, many = _UNIT_WORDS[limit.unit]
    return f"{limit.amount} {one if limit.amount == 1 else many}"


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b}"


def skipped_days(cal: WorkingCalendar, start: datetime, until: datetime, closures: dict[date, str]) -> dict:
    """The days not counted between `start` and `until` (local dates, the start day excluded),
    grouped as weekend days, bank holidays and closure days, each in words."""
    first, last = local_date(start) + timedelta(days=1), local_date(until)
    groups: dict[str, list[date]] = {"weekend": [], "bank_holiday": [], "closure": []}
    if (last - first).days > _SKIPPED_LIST_LIMIT:
        return {"too_long": True, "groups": groups, "words": ""}
    day = first
    while day <= last:
        if not is_working_day(cal, day):
            if day.weekday() >= 5:
                groups["weekend"].append(day)
            elif day in closures:
                groups["closure"].append(day)
            else:
                groups["bank_holiday"].append(day)
        day += timedelta(days=1)
    parts = []
    if groups["weekend"]:
        parts.append(", ".join(_day(d) for d in groups["weekend"]))
    if groups["bank_holiday"]:
        noun = "bank holiday" if len(groups["bank_holiday"]) == 1 else "bank holidays"
        parts.append(f"{noun} " + ", ".join(_day(d) for d in groups["bank_holiday"]))
    if groups["closure"]:
        noun = "closure day" if len(groups["closure"]) == 1 else "closure days"
        parts.append(f"{noun} " + ", ".join(f"{_day(d)} ({closures[d]})" for d in groups["closure"]))
    return {"too_long": False, "groups": groups, "words": "skips " + ", ".join(parts) if parts else ""}


def _counting(limit: Limit | None, *, at: datetime | None, start: datetime, cal, closures) -> dict | None:
    if limit is None or at is None:
        return None
    words = limit_words(limit)
    if limit.unit in (WORKING_DAYS, END_OF_NEXT_WORKING_DAY):
        skipped = skipped_days(cal, start, at, closures)
        if skipped["too_long"]:
            how = "Monday to Friday, not counting bank holidays or the service's closure days"
        else:
            how = skipped["words"] or "no weekend, bank holiday or closure day falls in the count"
        how += "; the day it started does not count; due by the end of the last day"
    else:
        how = _UNIT_COUNTING[limit.unit]
    return {"words": words, "how": how, "at": at}


def clock_rulebook(deadline: Deadline):
    """The rulebook version this clock follows (`rulebook_version`; None: the file), or None if gone."""
    from deadlines import versions
    from deadlines.services import file_rulebooks

    if deadline.rulebook_version is None:
        return next((b for b in file_rulebooks() if b.slug == deadline.rulebook), None)
    return versions.published_book(deadline.rulebook, deadline.rulebook_version)


def clock_explanation(deadline: Deadline, *, now: datetime, cal: WorkingCalendar, rulebooks) -> dict:
    """Everything "Why is this due?" says about one clock, in plain words. Five queries."""
    book = next((b for b in rulebooks if b.slug == deadline.rulebook), None)
    if book is not None and book.version != deadline.rulebook_version:
        # The clock follows the version it started under (or was recomputed with), not the one in
        # force now: explain it with that version's figures.
        book = clock_rulebook(deadline) or book
    rule = book.rules.get(deadline.rule_id) if book is not None else None
    status = Deadline.objects.with_status(now).values_list("status", flat=True).get(pk=deadline.pk)
    first, last = (
        local_date(deadline.started_at),
        local_date(max(d for d in (deadline.started_at, deadline.expected_at, deadline.due_at) if d is not None)),
    )
    closures = dict(ClosureDay.objects.filter(date__gte=first, date__lte=last).values_list("date", "reason"))
    subject = {
        "episode": deadline.episode_id,
        "contact": deadline.contact_id,
        "worker": deadline.worker_id,
    }
    cycles = list(
        Deadline.objects.filter(
            rulebook=deadline.rulebook,
            rule_id=deadline.rule_id,
            episode_id=subject["episode"],
            contact_id=subject["contact"],
            worker_id=subject["worker"],
        )
        .select_related("started_by")
        .order_by("started_at", "id")
    )
    alerts = list(
        Alert.objects.filter(deadline__in=[c.pk for c in cycles])
        .select_related("recipient")
        .order_by("created_at", "id")
    )
    history: list[dict] = []
    for c in cycles:
        started = f"Clock started ({'cycle ' + str(c.cycle) if c.cycle > 1 else 'first clock'})"
        if c.start_event:
            started += f": {event_label(c.start_event)}"
        history.append({"at": c.started_at, "what": started, "by": c.started_by, "this": c.pk == deadline.pk})
        if c.stopped_at is not None:
            if c.stop_reason == Deadline.StopReason.WITHDRAWN:
                what = "Withdrawn: the rule no longer applies"
            else:
                late = (c.due_at and c.stopped_at > c.due_at) or (
                    not c.due_at and c.expected_at and c.stopped_at > c.expected_at
                )
                what = "Met late" if late else "Met in time"
                if rule is not None and rule.recurs:
                    what += "; the next clock started at once"
            history.append({"at": c.stopped_at, "what": what, "by": None, "this": c.pk == deadline.pk})
    for a in alerts:
        history.append(
            {
                "at": a.created_at,
                "what": f"{a.get_level_display()} alert sent to {a.recipient.get_full_name() or a.recipient.username}",
                "by": None,
                "this": a.deadline_id == deadline.pk,
            }
        )
    history.sort(key=lambda h: h["at"])
    routing = None
    if rule is not None:
        routing = {
            "acts": ROLE_WORDS[rule.acts],
            "escalate_to": [ROLE_WORDS[r] for r in rule.escalate_to],
        }
    return {
        "deadline": deadline,
        "status": status,
        "rulebook": book,
        "rule": rule,
        "source": rule.source if rule is not None else "",
        "start_event": event_label(deadline.start_event) if deadline.start_event else "",
        "starts_on": [event_label(e) for e in rule.starts_on] if rule else [],
        "stops_on": [event_label(e) for e in rule.stops_on] if rule else [],
        "ends_on": [event_label(e) for e in rule.ends_on] if rule else [],
        "expected": _counting(
            rule.expected if rule else None,
            at=deadline.expected_at,
            start=deadline.started_at,
            cal=cal,
            closures=closures,
        ),
        "maximum": _counting(
            rule.maximum if rule else None, at=deadline.due_at, start=deadline.started_at, cal=cal, closures=closures
        ),
        "history": history,
        "routing": routing,
    }


# The routing roles of the rulebooks (deadlines.rulebook.ROUTING_ROLES), in words.
ROLE_WORDS = {
    "lead_professional": "the lead professional",
    "team_leader": "the team leader",
    "mash_lead": "the EH MASH lead",
    "eh_manager": "the EH manager",
    "duty_manager": "the duty manager",
}


# --- Alerts: the header count and the alerts page's groups (ADR 0028) -----------------------------


# The header counts unread alerts up to here and shows "99+" from 100: a manager with thousands
# unread costs the same per page as one with a hundred.
UNSEEN_ALERTS_SHOWN = 100


def unseen_alert_count(user, *, cap: int | None = UNSEEN_ALERTS_SHOWN) -> int:
    """Alerts the user has not seen: those not yet marked read (one indexed COUNT), counted up to
    `cap` (None: all of them), so the header's count reads at most `cap` index entries per page.

    "Seen" is "read": an alert stays counted until its recipient marks it read (or marks all read),
    not merely because the alerts page was opened, so the count is what is still to be dealt with.
    """
    unread = Alert.objects.filter(recipient=user, read_at__isnull=True)
    if cap is None:
        return unread.count()
    # The recipient, not the id: the entries of `alert_unread` are enough (an index-only scan).
    return unread.order_by().values("recipient_id")[:cap].count()


# The attribute the signed-in user's request-time count is loaded into (deadlines.apps registers it
# with accounts.backends, so it comes in the query that loads the user: no query of its own per page).
UNSEEN_ALERTS_LOADED = "unseen_alerts_loaded"


class CappedCount(Subquery):
    """`(SELECT COUNT(*) FROM (<subquery>) AS capped)`: the rows of a subquery that has its own LIMIT,
    counted. The ORM's way to say it in an expression, `pk IN (<subquery>)` counted, reads the rows
    again by primary key (and PostgreSQL plans the IN as a bitmap over every matching index entry)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"

    def __init__(self, queryset, **extra):
        super().__init__(queryset, output_field=IntegerField(), **extra)


def unseen_alert_count_expression(cap: int = UNSEEN_ALERTS_SHOWN) -> Subquery:
    """`unseen_alert_count` as a correlated subquery over the outer user row, counted up to `cap` like
    the header's own count: the first `cap` entries of `alert_unread` for the user (no order, the
    recipient column only: an index-only scan of at most `cap` entries), counted. A manager with
    800,000 unread alerts reads a few index pages when their user row is loaded (ADR 67)."""
    first = Alert.objects.filter(recipient=OuterRef("pk"), read_at__isnull=True).order_by().values("recipient_id")
    return CappedCount(first[:cap])


def _alert_urgency(row: dict) -> int:
    """0: unread and breached now (or a breach alert); 1: unread and overdue; 2: other unread; 3: read."""
    alert = row["alert"]
    if alert.read_at is not None:
        return 3
    if row.get("status") == Status.BREACHED or alert.level in (Alert.Level.BREACHED, Alert.Level.ESCALATED):
        return 0
    if row.get("status") == Status.OVERDUE or alert.level == Alert.Level.OVERDUE:
        return 1
    return 2


def alert_groups(rows: list[dict]) -> list[dict]:
    """The alerts page's rows grouped by case (the record each alert is about), most urgent group first.

    A group's urgency is that of its most urgent alert (see `_alert_urgency`), then its newest
    alert; inside a group the rows keep the page's order (unread first, newest first). Works on the
    one page of rows the view already built: no query.
    """
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(
            row["reference"],
            {"reference": row["reference"], "url": row.get("family_url", ""), "rows": [], "unread": 0},
        )
        group["rows"].append(row)
        group["unread"] += row["alert"].read_at is None
    for group in groups.values():
        group["urgency"] = min(_alert_urgency(row) for row in group["rows"])
        group["newest"] = max(row["alert"].created_at for row in group["rows"])
    ordered = sorted(groups.values(), key=lambda g: g["newest"], reverse=True)
    return sorted(ordered, key=lambda g: g["urgency"])


def clocks_by_key(keys: list[str], *, now: datetime) -> dict[str, Deadline]:
    """The open or last clock kept for each record key ("escalation:12"), in one query (ADR 0038)."""
    if not keys:
        return {}
    found: dict[str, Deadline] = {}
    for deadline in Deadline.objects.with_status(now).filter(key__in=keys).order_by("key", "-cycle", "-id"):
        found.setdefault(deadline.key, deadline)
    return found
