"""Writes to deadlines: the one entry point the workflow calls, and recomputation.

`deadline_record_event` is called by the workflow services inside their own transaction, with
the time the thing happened. The engine never polls the case records: what the workflow tells
it is all it knows ("the workflow emits them in one place").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deadlines import engine
from deadlines.calendar import WorkingCalendar, build_calendar, compute_deadline
from deadlines.events import EVENTS
from deadlines.models import Alert, ClosureDay, Deadline
from deadlines.procedures import rulebooks_for
from deadlines.rulebook import DEFAULT_DIRECTORY, Rulebook, load_rulebooks
from kit.dates import long_datetime
from kit.jobs import job_advance, job_begin, job_checkpoint, job_finish
from kit.time import LONDON

logger = logging.getLogger(__name__)

__all__ = [
    "EventResult",
    "active_rulebooks",
    "file_rulebooks",
    "alert_mark_read",
    "alerts_mark_all_read",
    "closure_day_add",
    "closure_day_delete",
    "service_procedure_set",
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


def active_rulebooks(now: datetime | None = None) -> tuple[Rulebook, ...]:
    """The deployment's rulebooks (settings.EARLYHELP_RULEBOOKS) as they stand at `now` (default: now).

    Each is the published version in force at `now` (deadlines.versions, edited in the browser),
    else its file. Files are loaded once per process, keyed on the settings so a test that
    changes them gets the right books; a changed file needs a restart, then `recompute_deadlines`.
    """
    from deadlines import versions

    directory = settings.EARLYHELP_RULEBOOK_DIR or str(DEFAULT_DIRECTORY)
    files = _load(tuple(settings.EARLYHELP_RULEBOOKS), directory)
    return versions.in_force(files, timezone.now() if now is None else now)


def file_rulebooks() -> tuple[Rulebook, ...]:
    """The deployment's rulebooks as their files say (what `manage.py check` validates)."""
    directory = settings.EARLYHELP_RULEBOOK_DIR or str(DEFAULT_DIRECTORY)
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


@transaction.atomic(savepoint=False)  # one transaction (the caller's, if it has one): locks held to the end
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
       `now` to the minute (`engine.not_before`), so a late-recorded earlier visit cannot stop a
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

    What happens to the clocks is decided by the pure functions of `deadlines.engine` (the
    data generator uses the same ones); this function reads and writes the rows.

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
    # The versions in force when the thing happened: clocks started from a version's effective
    # time follow it (deadlines.versions).
    books = tuple(active_rulebooks(now) if rulebooks is None else rulebooks)
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

    present = frozenset(kind for kind, subject in subjects.items() if subject is not None)
    rules = engine.RuleIndex(books).for_event(event, present=present, route=route, may_start=starts_here)
    limits = engine.Limits(lambda: _calendar(calendar))

    verdict = engine.Judgement()
    if contact is not None and contact.pk is not None and (rules.touched or rules.start):
        # The contact before its clocks, the order a request on the contact takes them (it locks its
        # contact, then the engine its clocks): stopping, starting or moving a contact's clock updates
        # the contact's row (its earliest open due time, a trigger of cases 0024), so an event on an
        # episode that locked the clocks first would wait on such a request waiting on it: a deadlock.
        lock_contacts([contact.pk])
    if rules.touched:
        # Lock the rows so a concurrent event on the same subject waits rather than racing.
        touched = _open_for(subjects, rules.touched, rules.rule_of).select_for_update().order_by("id")
        verdict = engine.judge(rules, touched, at=now, key=key)
        for row, seen in verdict.seen:
            Deadline.objects.filter(pk=row.pk).update(stops_seen=seen)
        by_stop_time: dict[datetime, list[int]] = defaultdict(list)
        for row in verdict.met:
            by_stop_time[engine.met_at(row.started_at, now)].append(row.pk)
        for stopped_at, ids in by_stop_time.items():
            Deadline.objects.filter(pk__in=ids).update(stopped_at=stopped_at, stop_reason=Deadline.StopReason.MET)
        if verdict.withdrawn:
            Deadline.objects.filter(pk__in=[d.pk for d in verdict.withdrawn]).update(
                stopped_at=now, stop_reason=Deadline.StopReason.WITHDRAWN
            )

    new = engine.restarts(rules, verdict.met, at=now, may_start=starts_here, limits=limits)
    if rules.start:
        already_open = _open_for(subjects, rules.started, rules.rule_of).values_list("rulebook", "rule_id", "key")
        new += engine.starts(rules, set(already_open), at=now, key=key, limits=limits, pending=new)

    new_rows = [_new_row(start, subjects=subjects, event=event, actor=actor) for start in new]
    if new_rows:
        Deadline.objects.bulk_create(new_rows)

    if episode is not None:
        # The lead professional may have changed (allocation, reallocation): the open clocks of
        # the episode follow (engine.follows), so alerts reach whoever holds the case now.
        assignee_id, team_id = engine.follows(_owners(subjects, "episode"))
        Deadline.objects.filter(episode=episode, stopped_at__isnull=True).exclude(
            Q(assignee_id=assignee_id) & Q(team_id=team_id)
        ).update(assignee_id=assignee_id, team_id=team_id)

    return EventResult(
        opened=len(new_rows),
        stopped=len(verdict.met),
        withdrawn=len(verdict.withdrawn),
        opened_rules=tuple(d.rule_id for d in new_rows),
        stopped_rules=tuple(d.rule_id for d in verdict.met),
        withdrawn_rules=tuple(d.rule_id for d in verdict.withdrawn),
    )


@dataclass(frozen=True)
class Retraction:
    """What `deadline_retract_event` did: the clocks opened again, and those it could not (a later cycle of
    a recurring rule has itself been met since: the caller is told, and the alert says what happened)."""

    reopened: tuple[str, ...] = ()
    left: tuple[str, ...] = ()


@transaction.atomic
def deadline_retract_event(
    *, event: str, at: datetime, contact=None, episode=None, key: str = "", rulebooks: Sequence[Rulebook] | None = None
) -> Retraction:
    """`event`, recorded as happening at `at`, did not happen after all (a letter whose sending stopped a
    clock was later reported undelivered): the clocks it met are open again, as if it had never come.

    A clock is taken as met by this event when its rule stops on it (`stops_on`), it was met, and it stopped
    at the moment the event would stop it (`engine.met_at`), on the same subject (an event on an episode
    also counts for its contact, as in `deadline_record_event`) and, for a per-record rule, the same `key`.
    Its limits are unchanged, so a clock now past its maximum is breached at once and alerts as any other.
    The next cycle a recurring rule started when it was met is deleted while still open (it should never
    have started); if it has been met itself since, nothing is changed and the clock is reported as left.
    `stops_on_all` rules are not reopened (no shipped rule stops on a communication that way).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; events are listed in deadlines/events.py")
    if contact is None and episode is not None and episode.contact_id is not None:
        contact = episode.contact
    subjects = {"contact": contact, "episode": episode}
    books = tuple(active_rulebooks(at) if rulebooks is None else rulebooks)
    condition = Q()
    for book in books:
        for rule in book.rules.values():
            subject = subjects.get(rule.applies_to)
            if event in rule.stops_on and subject is not None:
                one = Q(rulebook=book.slug, rule_id=rule.id, **{_SUBJECT_FIELD[rule.applies_to]: subject})
                condition |= one & Q(key=key) if rule.per_record and key else one
    if not condition:
        return Retraction()
    if contact is not None and contact.pk is not None:
        lock_contacts([contact.pk])  # the contact before its clocks, as in deadline_record_event
    met = Deadline.objects.filter(condition, stop_reason=Deadline.StopReason.MET).select_for_update().order_by("id")
    reopened, left = [], []
    for row in met:
        if row.stopped_at != engine.met_at(row.started_at, at):
            continue  # met by something else, at another moment
        later = Deadline.objects.filter(
            rulebook=row.rulebook,
            rule_id=row.rule_id,
            contact_id=row.contact_id,
            episode_id=row.episode_id,
            worker_id=row.worker_id,
            key=row.key,
            cycle__gt=row.cycle,
        )
        if later.filter(stopped_at__isnull=False).exists():
            left.append(row.rule_id)
            continue
        later.delete()  # counted (deadlines.counts' pre_delete receiver)
        Deadline.objects.filter(pk=row.pk).update(stopped_at=None, stop_reason="")
        reopened.append(row.rule_id)
    return Retraction(reopened=tuple(reopened), left=tuple(left))


def _open_for(subjects: dict, keys: set[tuple[str, str]], rule_of: dict):
    """Open deadlines of the given (rulebook, rule) keys, each on the subject its rule names."""
    condition = Q()
    for slug, rule_id in keys:
        rule = rule_of[(slug, rule_id)]
        subject = subjects[rule.applies_to]
        condition |= Q(rulebook=slug, rule_id=rule_id, **{_SUBJECT_FIELD[rule.applies_to]: subject})
    return Deadline.objects.filter(condition, stopped_at__isnull=True)


def _owners(subjects: dict, applies_to: str) -> engine.Owners:
    """The subjects' state that decides whose a clock on `applies_to` is (engine.clock_owner)."""
    if applies_to == "episode":
        episode = subjects["episode"]
        return engine.Owners(episode_lead=episode.lead_professional_id, episode_team=episode.team_id)
    if applies_to == "contact":
        contact = subjects["contact"]
        # Front-door work belongs to a team: the one it was allocated to, else its recorder's.
        return engine.Owners(contact_team=contact.allocated_team_id or _creator_team_id(contact))
    worker = subjects["worker"]
    return engine.Owners(worker=worker.pk, worker_team=worker.team_id)


def _new_row(start: engine.Start, *, subjects: dict, event: str, actor) -> Deadline:
    rule = start.rule
    subject = subjects[rule.applies_to]
    assignee_id, team_id = engine.clock_owner(rule.applies_to, _owners(subjects, rule.applies_to))
    return Deadline(
        rulebook=start.book.slug,
        rule_id=rule.id,
        title=rule.title,
        cycle=start.cycle,
        key=start.key,
        started_at=start.started_at,
        expected_at=start.expected_at,
        due_at=start.due_at,
        flag_only=rule.flag_only,
        **{_SUBJECT_FIELD[rule.applies_to]: subject},
        family_id=None if rule.applies_to == "worker" else subject.family_id,
        assignee_id=assignee_id,
        team_id=team_id,
        # For "Why is this due?": the event that started it, and who recorded it.
        start_event=event,
        started_by_id=getattr(actor, "pk", None),
        # The version of its rulebook it follows (deadlines.versions); None: the file.
        rulebook_version=start.book.version,
    )


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
    slugs: Sequence[str] | None = None,
    adopt: bool = False,
    start_after: int = 0,
    on_batch: Callable[[int, int, list], None] | None = None,
    where: Q | None = None,
    dry_run: bool = False,
) -> int:
    """Recompute the limits of the open clocks after a calendar or rulebook change.

    Returns how many rows changed. Limits depend only on each clock's start, the rule and the
    calendar; `now` (when the recompute runs) is taken for the services' uniform contract.
    Stopped clocks keep the limits they were judged against. A clock whose rule is no longer
    in the deployment's rulebooks is left as it is (and logged): silently withdrawing it would
    hide work that was due. Alert stamps are kept, so a deadline pushed back after its alert is
    not alerted twice ("at most one alert per level").

    Each clock is recomputed with the rulebook version it started under (`rulebook_version`;
    None: the file), so a version published with "keep their due times" keeps them through a
    calendar change; `adopt` moves the clocks to the version in force now instead (publishing
    with "recompute", deadlines.versions). `rulebooks` given explicitly apply to every clock.
    `slugs`: only the clocks of these rulebooks.

    `start_after` and `on_batch` serve a recompute run as a background job (`rulebook_recompute`):
    clocks are read in id order from after `start_after`, and after each batch is saved
    `on_batch(last id, clocks checked, [(clock, old expected, old due, old flag_only)] moved)` runs.
    `where` narrows the clocks read; `dry_run` saves nothing (a preview of what would move: the
    clocks handed to `on_batch` carry their new times, unsaved).
    """
    books = tuple(active_rulebooks(now) if rulebooks is None else rulebooks)
    rules = {(b.slug, r.id): r for b in books for r in b.rules.values()}
    in_force = {b.slug: b.version for b in books}
    own_version = rulebooks is None and not adopt
    only = {} if slugs is None else {"rulebook__in": list(slugs)}
    fields = ["expected_at", "due_at", "flag_only", "title"]
    if adopt:
        fields.append("rulebook_version")
    changed = 0
    missing: set[tuple[str, str]] = set()
    last_id = start_after
    while True:
        # Keyset pages: cheap at any depth, and rows updated behind us are not re-read.
        batch = list(
            Deadline.objects.filter(stopped_at__isnull=True, id__gt=last_id, **only)
            .filter(where if where is not None else Q())
            .order_by("id")
            .only("id", "rulebook", "rule_id", "started_at", "rulebook_version", "contact_id", *fields)[:batch_size]
        )
        if not batch:
            break
        last_id = batch[-1].id
        dirty = []
        before = {}
        for row in batch:
            if own_version and row.rulebook in in_force and row.rulebook_version != in_force[row.rulebook]:
                rule = _versioned_rule(row.rulebook, row.rulebook_version, row.rule_id)
            else:
                rule = rules.get((row.rulebook, row.rule_id))
            if rule is None:
                missing.add((row.rulebook, row.rule_id))
                continue
            expected_at, due_at = compute_deadline(calendar, row.started_at, rule.expected, rule.maximum)
            new = {"expected_at": expected_at, "due_at": due_at, "flag_only": rule.flag_only, "title": rule.title}
            if adopt:
                new["rulebook_version"] = in_force.get(row.rulebook)
            if any(getattr(row, f) != v for f, v in new.items()):
                before[row.pk] = (row.expected_at, row.due_at, row.flag_only)
                for f, v in new.items():
                    setattr(row, f, v)
                dirty.append(row)
        if dry_run:
            if on_batch is not None:
                on_batch(last_id, len(batch), [(r, *before[r.pk]) for r in dirty])
            changed += len(dirty)
            continue
        if dirty or on_batch is not None:
            with transaction.atomic():
                if dirty:
                    # The contacts first, in id order, then their clocks: the order a request takes them
                    # (it locks its contact, then the engine its clocks). A contact's clock moved here
                    # updates the contact's row (its earliest open due time, a trigger of cases 0024);
                    # taking the clocks first would wait on a request that waits on us: a deadlock.
                    lock_contacts_of(dirty)
                    # Guard on still being open: an event may have stopped the clock meanwhile.
                    open_ids = set(
                        Deadline.objects.filter(pk__in=[r.pk for r in dirty], stopped_at__isnull=True)
                        .select_for_update()
                        .values_list("id", flat=True)
                    )
                    dirty = [r for r in dirty if r.pk in open_ids]
                    Deadline.objects.bulk_update(dirty, fields)
                if on_batch is not None:
                    # In the batch's transaction: the batch and its record (a job's checkpoint) commit together.
                    on_batch(last_id, len(batch), [(r, *before[r.pk]) for r in dirty])
            changed += len(dirty)
    for slug, rule_id in sorted(missing):
        logger.warning("open deadlines of rule %s in rulebook %s: the rule is no longer configured", rule_id, slug)
    return changed


def lock_contacts_of(clocks: Sequence[Deadline]) -> None:
    """Lock the contacts of these clocks (those of a contact), in id order, for a change of their rows."""
    lock_contacts([c.contact_id for c in clocks if c.contact_id is not None])


def lock_contacts(contact_ids) -> None:
    """Lock these contacts' rows, in id order, as a change of a row does (FOR NO KEY UPDATE)."""
    ids = sorted(set(contact_ids))
    if ids:
        contact = Deadline._meta.get_field("contact").related_model  # the records' model, not imported here
        list(contact._base_manager.filter(pk__in=ids).order_by("pk").select_for_update(no_key=True).values_list("pk"))


def _versioned_rule(slug: str, number: int | None, rule_id: str):
    """A rule as version `number` of its rulebook has it (None: the file); None if it has no such rule."""
    from deadlines import versions

    if number is None:
        book = next((b for b in file_rulebooks() if b.slug == slug), None)
    else:
        book = versions.published_book(slug, number)
    return None if book is None else book.rules.get(rule_id)


# --- The recompute after publishing, as a background job with a report ----------------------

REPORT_SAMPLE = 20


def _late(expected_at, due_at, now, flag_only) -> tuple[bool, bool]:
    """(overdue but not breached, breached) at `now` for these limits."""
    overdue = (expected_at is not None and expected_at < now) or (due_at is not None and due_at < now)
    breached = not flag_only and due_at is not None and due_at < now
    return overdue and not breached, breached


def _when(value) -> str:
    return long_datetime(value) if value else "–"


def rulebook_recompute(*, job_id: int, slug: str, now: datetime, calendar: WorkingCalendar, batch_size: int = 2000):
    """Move the open clocks of `slug` to the version in force, reporting progress and what moved.

    Each batch is saved in one transaction with the job's record of where it got to and what moved
    so far (its checkpoint): a rerun after an interruption (a worker killed, a database restart)
    carries on after the last batch saved, and the report counts every clock once. The recompute
    itself sets each clock to what the version says, so a batch done twice changes nothing twice.
    """
    report = {
        "checked": 0,
        "moved": 0,
        "overdue": 0,
        "breached": 0,
        "sample": [],
        "last_id": 0,
        **job_checkpoint(job_id),
    }
    total = Deadline.objects.filter(rulebook=slug, stopped_at__isnull=True, id__gt=report["last_id"]).count()
    total += report["checked"]
    job_begin(job_id, total=total, now=now, message="Recomputing the open clocks")

    def batch_done(last_id: int, checked: int, moved: list) -> None:
        report["last_id"] = last_id
        report["checked"] += checked
        for clock, old_expected, old_due, old_flag in moved:
            if (clock.expected_at, clock.due_at, clock.flag_only) == (old_expected, old_due, old_flag):
                continue  # only its version (or title) changed: its times stay
            report["moved"] += 1
            was_overdue, was_breached = _late(old_expected, old_due, now, old_flag)
            is_overdue, is_breached = _late(clock.expected_at, clock.due_at, now, clock.flag_only)
            report["overdue"] += is_overdue and not was_overdue and not was_breached
            report["breached"] += is_breached and not was_breached
            if len(report["sample"]) < REPORT_SAMPLE:
                report["sample"].append(
                    {"id": clock.pk, "rule": clock.rule_id, "old_due": _when(old_due), "new_due": _when(clock.due_at)}
                )
        job_advance(
            job_id,
            done=min(report["checked"], total),
            now=timezone.now(),
            message=f"{report['checked']} of {total} open clocks checked, {report['moved']} moved",
            result=report,
        )

    deadlines_recompute_open(
        now=now,
        calendar=calendar,
        slugs=[slug],
        adopt=True,
        batch_size=batch_size,
        start_after=report["last_id"],
        on_batch=batch_done,
    )
    job_finish(
        job_id,
        now=timezone.now(),
        result=report,
        message=f"{report['checked']} open clocks checked: {report['moved']} moved to the new version's times",
    )
    return report


# --- Closure days and alerts: the writes behind the pages ------------------------------------


@dataclass
class CalendarPreview:
    """What a closure day added or removed would do to the open clocks now."""

    moved: int = 0
    overdue: int = 0  # not overdue before, overdue after
    breached: int = 0  # not breached before, breached after
    sample: list = field(default_factory=list)  # (clock, old due, new due)


def closure_day_preview(*, day: date, adding: bool, now: datetime, sample_size: int = 10) -> CalendarPreview:
    """How many open clocks adding (or removing) closure day `day` would move, make overdue or breach.

    Only a clock whose counting spans the day can move: started before the day ends and due (or
    expected) after it begins. Each clock is recomputed as the recompute after the change would do
    it (its own rulebook version), with nothing saved.
    """
    from deadlines.calendar_source import closure_days_from_db

    days = set(closure_days_from_db())
    days = days | {day} if adding else days - {day}
    calendar = build_calendar(closure_days=sorted(days))
    start = datetime.combine(day, time.min, tzinfo=LONDON)
    spans = Q(started_at__lt=start + timedelta(days=1)) & (Q(due_at__gte=start) | Q(expected_at__gte=start))
    result = CalendarPreview()

    def collect(_last_id: int, _checked: int, moved: list) -> None:
        for clock, old_expected, old_due, old_flag in moved:
            if (clock.expected_at, clock.due_at) == (old_expected, old_due):
                continue
            result.moved += 1
            was_overdue, was_breached = _late(old_expected, old_due, now, old_flag)
            is_overdue, is_breached = _late(clock.expected_at, clock.due_at, now, clock.flag_only)
            result.overdue += is_overdue and not was_overdue and not was_breached
            result.breached += is_breached and not was_breached
            if len(result.sample) < sample_size:
                result.sample.append((clock, old_due, clock.due_at))

    deadlines_recompute_open(now=now, calendar=calendar, where=spans, dry_run=True, on_batch=collect)
    return result


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


# --- A service's procedure (ADR 0019) -----------------------------------------------------------


@transaction.atomic
def service_procedure_set(*, service, rulebook: str, expected: str, by, now: datetime):
    """Set the council procedure (rulebook slug, blank: the deployment default) a service follows.

    `expected` is the procedure the administrator saw when the page was opened: a change made
    meanwhile by someone else is refused rather than overwritten. The change applies to clocks
    started after it; simple-history records who changed it and when (the request's user).
    """
    from accounts.models import Service
    from accounts.services import AccountRefused
    from deadlines.procedures import procedure_choices

    if rulebook and rulebook not in {slug for slug, _ in procedure_choices()}:
        raise AccountRefused("Choose one of the procedures this deployment has loaded", field="rulebook")
    locked = Service.objects.select_for_update().get(pk=service.pk)
    if locked.rulebook != expected:
        raise AccountRefused(
            "Someone else changed this service's procedure while you were looking at it: check the procedure "
            "it follows now, then choose again",
            field="rulebook",
        )
    if locked.rulebook != rulebook:
        locked.rulebook = rulebook
        locked._history_user = by
        locked._change_reason = f"procedure set on {long_datetime(now)}"[:100]
        locked.save(update_fields=["rulebook"])
    return locked
