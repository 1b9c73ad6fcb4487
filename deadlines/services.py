"""Writes to deadlines: the one entry point the workflow calls, and recomputation.

`deadline_record_event` is called by the workflow services inside their own transaction, with
the time the thing happened. The engine never polls the case records: what the workflow tells
it is all it knows (issue 5, "the workflow emits them in one place").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from deadlines.calendar import WorkingCalendar, compute_deadline
from deadlines.events import EVENTS
from deadlines.models import Alert, ClosureDay, Deadline
from deadlines.procedures import rulebooks_for
from deadlines.rulebook import (
    DEFAULT_DIRECTORY,
    Rule,
    Rulebook,
    load_rulebooks,
    rules_ended_by,
    rules_started_by,
    rules_stopped_by,
    rules_stopped_by_all,
)

logger = logging.getLogger(__name__)

__all__ = [
    "EventResult",
    "active_rulebooks",
    "alert_mark_read",
    "alerts_mark_all_read",
    "closure_day_add",
    "closure_day_delete",
    "deadline_record_event",
    "deadlines_recompute_open",
    "procedure_has_step",
    "rulebooks_for_episode",
]

_SUBJECT_FIELD = {"contact": "contact", "episode": "episode", "worker": "worker"}


@dataclass(frozen=True)
class EventResult:
    """What one event did: counts, and the rule ids for messages and tests."""

    opened: int = 0  # new clocks, including the next clock of a recurring rule
    stopped: int = 0  # clocks met by the event
    withdrawn: int = 0  # clocks ended by the event without being judged
    opened_rules: tuple[str, ...] = ()
    stopped_rules: tuple[str, ...] = ()
    withdrawn_rules: tuple[str, ...] = ()


def active_rulebooks() -> tuple[Rulebook, ...]:
    """The deployment's rulebooks (settings.EARLYHELP_RULEBOOKS), loaded once per process.

    Keyed on the settings so a test that changes them gets the right books; a changed file
    needs a restart, then `recompute_deadlines`.
    """
    directory = getattr(settings, "EARLYHELP_RULEBOOK_DIR", None) or str(DEFAULT_DIRECTORY)
    return _load(tuple(settings.EARLYHELP_RULEBOOKS), directory)


@lru_cache(maxsize=4)
def _load(slugs: tuple[str, ...], directory: str) -> tuple[Rulebook, ...]:
    return load_rulebooks(slugs, Path(directory))


def rulebooks_for_episode(episode) -> tuple[Rulebook, ...]:
    """The rulebooks whose procedure an episode follows: its service's procedure plus the shared
    rulebooks (step-up), deadlines/procedures.py."""
    from deadlines.procedures import rulebooks_for

    return rulebooks_for(active_rulebooks(), episode=episode)


def procedure_has_step(step: str, *, episode) -> bool:
    """Whether the procedure the episode follows has this optional step (its rulebook's `[steps]`)."""
    return any(book.has_step(step) for book in rulebooks_for_episode(episode))


def _calendar(calendar: WorkingCalendar | None) -> WorkingCalendar:
    if calendar is not None:
        return calendar
    from deadlines.calendar_source import current_calendar

    return current_calendar()


def _key(book: Rulebook, rule: Rule) -> tuple[str, str]:
    return book.slug, rule.id


def deadline_record_event(
    *,
    event: str,
    now: datetime,
    contact=None,
    episode=None,
    worker=None,
    actor=None,
    calendar: WorkingCalendar | None = None,
    rulebooks: Sequence[Rulebook] | None = None,
    key: str = "",
) -> EventResult:
    """Stop, withdraw, restart and start the clocks that `event` at `now` touches.

    The subject of each rule is the record its `applies_to` names: the `contact`, the
    `episode` or the `worker`. An event on an episode also counts for the contact the episode
    was opened from (so `allocated` stops B4 and B6, kept on the contact). In order:

    1. clocks the event stops are met (`stop_reason="met"`); only clocks started at or before
       `now` to the minute (`_not_before`), so a late-recorded earlier visit cannot stop a
       clock that started after it, but a stop typed in the start's own minute does;
    2. clocks the event ends are withdrawn (`stop_reason="withdrawn"`);
    3. a met recurring rule starts its next clock at `now` (cycle + 1);
    4. rules the event starts open a clock unless one is already open for that subject or
       the contact's route is exempt (B2 and B3 do not apply to DART contacts).

    3 and 4 start only rules of the subject's service's procedure and the shared rulebooks
    (step-up), deadlines/procedures.py; 1 and 2 apply to every loaded rulebook's open clocks.

    `key` names the record the event is about ("assessment:12"): a `per_record` rule keeps
    one clock per record it starts on, and a stop naming a record stops only that record's
    clock. A `stops_on_all` rule stops when the last of its events has happened.

    `actor` (who recorded the event) is kept on the clocks the event starts, with the event,
    so "Why is this due?" can say what started each clock and who.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; events are listed in deadlines/events.py")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if contact is None and episode is not None and episode.contact_id is not None:
        contact = episode.contact
    subjects = {"contact": contact, "episode": episode, "worker": worker}
    if not any(subjects.values()):
        raise ValueError("deadline_record_event needs a contact, an episode or a worker")
    books = tuple(active_rulebooks() if rulebooks is None else rulebooks)
    route = contact.route if contact is not None else None
    starting: list[set[str]] = []

    def starts_here(book: Rulebook) -> bool:
        # Only the subject's service's procedure and the shared rulebooks start clocks
        # (deadlines/procedures.py); explicit `rulebooks` are the caller's choice. Looked up once,
        # and only when a rule would start.
        if not starting:
            chosen = (
                books
                if rulebooks is not None
                else rulebooks_for(books, contact=contact, episode=episode, worker=worker)
            )
            starting.append({b.slug for b in chosen})
        return book.slug in starting[0]

    def applicable(pairs: Iterable[tuple[Rulebook, Rule]]) -> list[tuple[Rulebook, Rule]]:
        return [(b, r) for b, r in pairs if subjects[r.applies_to] is not None]

    stop_rules = applicable(rules_stopped_by(books, event))
    all_rules = applicable(rules_stopped_by_all(books, event))
    end_rules = applicable(rules_ended_by(books, event))
    start_rules = [
        (b, r) for b, r in applicable(rules_started_by(books, event)) if not r.is_exempt(route) and starts_here(b)
    ]
    rule_of = {_key(b, r): r for b, r in (*stop_rules, *all_rules, *end_rules, *start_rules)}
    book_of = {b.slug: b for b in books}

    stop_keys = {_key(b, r) for b, r in stop_rules}
    all_keys = {_key(b, r) for b, r in all_rules}
    end_keys = {_key(b, r) for b, r in end_rules} - stop_keys - all_keys  # stopping wins if a file says both

    stopped: list[Deadline] = []
    withdrawn: list[Deadline] = []
    if stop_keys or all_keys or end_keys:
        touched = _open_for(subjects, stop_keys | all_keys | end_keys, rule_of)
        # Lock the rows so a concurrent event on the same subject waits rather than racing.
        for row in touched.select_for_update().order_by("id"):
            rk = (row.rulebook, row.rule_id)
            rule = rule_of[rk]
            # A stop or end naming a record touches that record's clock only (per-record rules); a
            # clock kept before clocks were per record (no key) is about no one record: any stops it.
            this_record = not (rule.per_record and key and row.key and row.key != key)
            if rk in stop_keys and _not_before(now, row.started_at) and this_record:
                stopped.append(row)
            elif rk in all_keys and _not_before(now, row.started_at) and this_record:
                seen = sorted({*(row.stops_seen or ()), event})
                if set(rule.stops_on_all) <= set(seen):
                    stopped.append(row)
                else:
                    Deadline.objects.filter(pk=row.pk).update(stops_seen=seen)
            elif rk in end_keys and this_record:
                withdrawn.append(row)
        if stopped:
            # A stop typed in the clock's own starting minute is stamped at the start, never
            # before it (a clock cannot be met in negative time).
            Deadline.objects.filter(pk__in=[d.pk for d in stopped]).update(
                stopped_at=Greatest(F("started_at"), Value(now)), stop_reason=Deadline.StopReason.MET
            )
        if withdrawn:
            Deadline.objects.filter(pk__in=[d.pk for d in withdrawn]).update(
                stopped_at=now, stop_reason=Deadline.StopReason.WITHDRAWN
            )

    cal = None
    new_rows: list[Deadline] = []
    for row in stopped:
        rule = rule_of[(row.rulebook, row.rule_id)]
        if rule.recurs and starts_here(book_of[row.rulebook]):
            cal = cal or _calendar(calendar)
            next_start = max(now, row.started_at)
            new_rows.append(
                _new_row(
                    book_of[row.rulebook],
                    rule,
                    subjects=subjects,
                    started_at=next_start,
                    cycle=row.cycle + 1,
                    cal=cal,
                    key=row.key,
                )
            )

    if start_rules:
        start_keys = {_key(b, r) for b, r in start_rules}
        already_open = set(_open_for(subjects, start_keys, rule_of).values_list("rulebook", "rule_id", "key"))
        already_open |= {(d.rulebook, d.rule_id, d.key) for d in new_rows}
        for book, rule in start_rules:
            record = key if rule.per_record else ""
            if (*_key(book, rule), record) in already_open:
                continue
            cal = cal or _calendar(calendar)
            new_rows.append(_new_row(book, rule, subjects=subjects, started_at=now, cycle=1, cal=cal, key=record))
            already_open.add((*_key(book, rule), record))

    if new_rows:
        for row in new_rows:  # for "Why is this due?": the event that started it, and who recorded it
            row.start_event, row.started_by_id = event, getattr(actor, "pk", None)
        Deadline.objects.bulk_create(new_rows)

    if episode is not None:
        # The lead professional may have changed (allocation, reallocation): the open clocks of
        # the episode follow, so alerts reach whoever holds the case now.
        Deadline.objects.filter(episode=episode, stopped_at__isnull=True).exclude(
            Q(assignee_id=episode.lead_professional_id) & Q(team_id=episode.team_id)
        ).update(assignee_id=episode.lead_professional_id, team_id=episode.team_id)

    return EventResult(
        opened=len(new_rows),
        stopped=len(stopped),
        withdrawn=len(withdrawn),
        opened_rules=tuple(d.rule_id for d in new_rows),
        stopped_rules=tuple(d.rule_id for d in stopped),
        withdrawn_rules=tuple(d.rule_id for d in withdrawn),
    )


def _not_before(stop: datetime, start: datetime) -> bool:
    """Whether a stop at `stop` can stop a clock started at `start`.

    Times people type have minutes; clocks start to the second (a contact received at 10:05:37
    by the system, or an allocation made then). A stop typed as 10:05 is "at or after" that
    start: compared with the start's minute, it stops the clock. A stop in an earlier minute
    (a late-recorded earlier visit) still cannot stop a clock started after it.
    """
    return stop >= start.replace(second=0, microsecond=0)


def _open_for(subjects: dict, keys: set[tuple[str, str]], rule_of: dict):
    """Open deadlines of the given (rulebook, rule) keys, each on the subject its rule names."""
    condition = Q()
    for slug, rule_id in keys:
        rule = rule_of[(slug, rule_id)]
        subject = subjects[rule.applies_to]
        condition |= Q(rulebook=slug, rule_id=rule_id, **{_SUBJECT_FIELD[rule.applies_to]: subject})
    return Deadline.objects.filter(condition, stopped_at__isnull=True)


def _new_row(
    book: Rulebook, rule: Rule, *, subjects: dict, started_at: datetime, cycle: int, cal: WorkingCalendar, key: str = ""
) -> Deadline:
    expected_at, due_at = compute_deadline(cal, started_at, rule.expected, rule.maximum)
    row = Deadline(
        rulebook=book.slug,
        rule_id=rule.id,
        title=rule.title,
        cycle=cycle,
        key=key,
        started_at=started_at,
        expected_at=expected_at,
        due_at=due_at,
        flag_only=rule.flag_only,
    )
    subject = subjects[rule.applies_to]
    if rule.applies_to == "episode":
        row.episode = subject
        row.family_id = subject.family_id
        # While the episode awaits allocation there is no assignee: its team leaders are the
        # escalation (alerts go to them).
        row.assignee_id = subject.lead_professional_id
        row.team_id = subject.team_id
    elif rule.applies_to == "contact":
        row.contact = subject
        row.family_id = subject.family_id
        # Front-door work belongs to a team, not a person.
        row.team_id = subject.allocated_team_id or _creator_team_id(subject)
    else:
        row.worker = subject
        row.assignee = subject
        row.team_id = subject.team_id
    return row


def _creator_team_id(contact) -> int | None:
    if contact.created_by_id is None:
        return None
    return contact.created_by.team_id


def deadlines_recompute_open(
    *,
    now: datetime,
    calendar: WorkingCalendar,
    rulebooks: Sequence[Rulebook] | None = None,
    batch_size: int = 2000,
) -> int:
    """Recompute the limits of the open clocks after a calendar or rulebook change.

    Returns how many rows changed. Limits depend only on each clock's start, the rule and the
    calendar; `now` (when the recompute runs) is taken for the services' uniform contract.
    Stopped clocks keep the limits they were judged against. A clock whose rule is no longer
    in the deployment's rulebooks is left as it is (and logged): silently withdrawing it would
    hide work that was due. Alert stamps are kept, so a deadline pushed back after its alert is
    not alerted twice ("at most one alert per level").
    """
    books = tuple(active_rulebooks() if rulebooks is None else rulebooks)
    rules = {(b.slug, r.id): r for b in books for r in b.rules.values()}
    fields = ["expected_at", "due_at", "flag_only", "title"]
    changed = 0
    missing: set[tuple[str, str]] = set()
    last_id = 0
    while True:
        # Keyset pages: cheap at any depth, and rows updated behind us are not re-read.
        batch = list(
            Deadline.objects.filter(stopped_at__isnull=True, id__gt=last_id)
            .order_by("id")
            .only("id", "rulebook", "rule_id", "started_at", *fields)[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1].id
        dirty = []
        for row in batch:
            rule = rules.get((row.rulebook, row.rule_id))
            if rule is None:
                missing.add((row.rulebook, row.rule_id))
                continue
            expected_at, due_at = compute_deadline(calendar, row.started_at, rule.expected, rule.maximum)
            new = {"expected_at": expected_at, "due_at": due_at, "flag_only": rule.flag_only, "title": rule.title}
            if any(getattr(row, f) != v for f, v in new.items()):
                for f, v in new.items():
                    setattr(row, f, v)
                dirty.append(row)
        if dirty:
            with transaction.atomic():
                # Guard on still being open: an event may have stopped the clock meanwhile.
                open_ids = set(
                    Deadline.objects.filter(pk__in=[r.pk for r in dirty], stopped_at__isnull=True)
                    .select_for_update()
                    .values_list("id", flat=True)
                )
                dirty = [r for r in dirty if r.pk in open_ids]
                Deadline.objects.bulk_update(dirty, fields)
            changed += len(dirty)
    for slug, rule_id in sorted(missing):
        logger.warning("open deadlines of rule %s in rulebook %s: the rule is no longer configured", rule_id, slug)
    return changed


# --- Closure days and alerts: the writes behind the pages ------------------------------------


def _queue_recompute() -> None:
    from deadlines.tasks import recompute_deadlines

    # After commit, so the task sees the new calendar; robust, so a broker outage after the
    # row was saved is logged instead of failing the administrator's request (the command
    # `recompute_deadlines` does the same work by hand).
    transaction.on_commit(recompute_deadlines.delay, robust=True)


@transaction.atomic
def closure_day_add(*, day: date, reason: str, by) -> ClosureDay:
    """Record a local closure day; open deadlines are recomputed in the background."""
    closure = ClosureDay.objects.create(date=day, reason=reason, created_by=by)
    _queue_recompute()
    return closure


@transaction.atomic
def closure_day_delete(*, closure_day: ClosureDay, by) -> None:
    # Who deleted it is recorded by simple-history (its middleware knows the request's user).
    closure_day.delete()
    _queue_recompute()


def alert_mark_read(*, alert: Alert, now: datetime) -> bool:
    """Mark one alert read; False if it already was (the first reading time is kept)."""
    return bool(Alert.objects.filter(pk=alert.pk, read_at__isnull=True).update(read_at=now))


def alerts_mark_all_read(*, user, now: datetime) -> int:
    return Alert.objects.filter(recipient=user, read_at__isnull=True).update(read_at=now)
