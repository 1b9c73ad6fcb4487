"""Deadline clocks for generated records, kept the way `deadlines.services` keeps them.

The generator gives each contact (and the episode opened from it) its timeline of workflow
events; `ClockEngine.run` replays it against the real rulebooks in memory, exactly as
`deadline_record_event` would one event at a time: stop (only clocks started by then), withdraw,
restart recurring rules, start new clocks unless one is open or the route is exempt. Limits come
from `deadlines.calendar.compute_deadline` with the working calendar, so the rows are those the
engine would have written. Then `alerts` says when the alert job would have claimed each
crossing, so a freshly generated database leaves the alert job nothing to do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from deadlines.calendar import HOURS, LONDON, WorkingCalendar, compute_deadline
from deadlines.rulebook import Rule, Rulebook

# The alert job runs every few minutes: a crossing is claimed this long after it happens.
CLAIM_LAG = timedelta(minutes=3)

MET = "met"
WITHDRAWN = "withdrawn"


class Clock:
    __slots__ = ("slug", "rule", "cycle", "started", "expected", "due", "stopped", "reason", "seen")

    def __init__(self, slug: str, rule: Rule, cycle: int, started: datetime, expected, due):
        self.slug, self.rule, self.cycle, self.started = slug, rule, cycle, started
        self.expected, self.due = expected, due
        self.stopped = None
        self.reason = ""
        self.seen: set[str] = set()  # `stops_on_all` events seen while open


class ClockEngine:
    def __init__(self, rulebooks: Sequence[Rulebook], calendar: WorkingCalendar):
        self.calendar = calendar
        self.starts: dict[str, list[tuple[str, Rule]]] = defaultdict(list)
        self.stops: dict[str, list[tuple[str, Rule]]] = defaultdict(list)
        self.ends: dict[str, list[tuple[str, Rule]]] = defaultdict(list)
        for book in rulebooks:
            for rule in book.rules.values():
                for event in rule.starts_on:
                    self.starts[event].append((book.slug, rule))
                for event in (*rule.stops_on, *rule.stops_on_all):
                    self.stops[event].append((book.slug, rule))
                for event in rule.ends_on:
                    self.ends[event].append((book.slug, rule))
        self._limits: dict = {}

    def limits(self, slug: str, rule: Rule, started: datetime) -> tuple[datetime | None, datetime | None]:
        units = {limit.unit for limit in (rule.expected, rule.maximum) if limit is not None}
        if HOURS in units:
            return compute_deadline(self.calendar, started, rule.expected, rule.maximum)
        # Day-based limits depend only on the local date the clock started.
        key = (slug, rule.id, started.astimezone(LONDON).date())
        found = self._limits.get(key)
        if found is None:
            found = self._limits[key] = compute_deadline(self.calendar, started, rule.expected, rule.maximum)
        return found

    def run(
        self, events: Iterable[tuple[datetime, str, bool]], *, route: str | None, worker: bool = False
    ) -> list[Clock]:
        """Replay (when, event, on_episode) in time order; returns every clock, open or stopped.

        `on_episode` events concern the episode and also count for its contact, as in the service;
        with `worker`, every event is about one member of staff.
        """
        open_: dict[tuple[str, str], Clock] = {}
        clocks: list[Clock] = []
        for at, event, on_episode in sorted(events, key=lambda e: e[0]):
            kinds = ("worker",) if worker else ("contact", "episode") if on_episode else ("contact",)

            stop_keys = set()
            restart: list[tuple[str, Rule, int]] = []
            for slug, rule in self.stops.get(event, ()):
                if rule.applies_to not in kinds:
                    continue
                key = (slug, rule.id)
                stop_keys.add(key)
                clock = open_.get(key)
                if clock is not None and clock.started <= at and event in rule.stops_on_all:
                    clock.seen.add(event)  # an all-of stop: stops once every one has happened
                    if not set(rule.stops_on_all) <= clock.seen:
                        continue
                if clock is not None and clock.started <= at:
                    clock.stopped, clock.reason = at, MET
                    del open_[key]
                    if rule.recurs:
                        restart.append((slug, rule, clock.cycle + 1))
            for slug, rule in self.ends.get(event, ()):
                key = (slug, rule.id)
                if rule.applies_to not in kinds or key in stop_keys:
                    continue
                clock = open_.pop(key, None)
                if clock is not None:
                    clock.stopped, clock.reason = at, WITHDRAWN
            for slug, rule, cycle in restart:
                clock = Clock(slug, rule, cycle, at, *self.limits(slug, rule, at))
                open_[(slug, rule.id)] = clock
                clocks.append(clock)
            for slug, rule in self.starts.get(event, ()):
                key = (slug, rule.id)
                if rule.applies_to not in kinds or key in open_ or rule.is_exempt(route):
                    continue
                clock = Clock(slug, rule, 1, at, *self.limits(slug, rule, at))
                open_[key] = clock
                clocks.append(clock)
        return clocks


def alerts(clock: Clock, now: datetime) -> tuple[datetime | None, datetime | None, list[tuple[str, datetime]]]:
    """(overdue_alerted_at, breach_alerted_at, [(level, created_at) of alert rows]) at `now`.

    Mirrors `deadlines.alerts`: only open clocks are claimed; a clock found past its maximum
    when its overdue level is claimed gets the breach alert only; aims never breach.
    """
    end = clock.stopped or now

    def claimed(limit: datetime | None) -> datetime | None:
        if limit is None or limit >= end:
            return None
        at = limit + CLAIM_LAG
        if at < end:
            return at
        return now if clock.stopped is None else None

    rule = clock.rule
    overdue_at = claimed(clock.expected)
    breach_at = None if rule.flag_only else claimed(clock.due)
    rows = []
    if overdue_at is not None and (rule.flag_only or clock.due is None or clock.due >= overdue_at):
        rows.append(("overdue", overdue_at))
    if breach_at is not None:
        rows.append(("breached", breach_at))
    return overdue_at, breach_at, rows
