"""What one event does to a subject's clocks: the deadline engine's rules as pure functions.

Two writers keep clocks, and both use these functions, so there is one engine (ADR 0023):
- `deadlines.services.deadline_record_event`: one event at a time, the clocks as database rows;
- the data generator (`tooling/generator`): every event of a family in memory (`Replay`), the
  rows then loaded in bulk.

No database and no settings here: the caller gives the rulebooks, the clocks that are open, which
rulebooks may start clocks and how to compute limits. For one event at `at`, in order:

1. `judge`: the open clocks the event stops are met (only clocks started at or before `at` to the
   minute, `not_before`; a met clock stops at `met_at`), an all-of rule notes the event and stops
   once it has seen all of its events, and the clocks the event ends are withdrawn. A stop or end
   naming a record (`key`) touches that record's clock only (per-record rules).
2. `restarts`: a met recurring rule starts its next clock (cycle + 1) where the last one stopped.
3. `starts`: the rules the event starts open a clock unless one is already open for that subject
   (and record), or the contact's route is exempt.

Who a new clock belongs to is `clock_owner`; open episode clocks follow the episode's lead
professional after every event on the episode (`follows`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from deadlines.calendar import HOURS, WorkingCalendar, compute_deadline, local_date
from deadlines.events import EVENTS
from deadlines.rulebook import Rule, Rulebook

__all__ = [
    "MET",
    "WITHDRAWN",
    "Clock",
    "EventRules",
    "Judgement",
    "Limits",
    "Owners",
    "Replay",
    "RuleIndex",
    "Start",
    "clock_owner",
    "judge",
    "met_at",
    "not_before",
    "restarts",
    "starts",
]

MET = "met"  # a `stops_on` event: the task was done, judged against the limits
WITHDRAWN = "withdrawn"  # an `ends_on` event: the rule no longer applies

RuleKey = tuple[str, str]  # (rulebook slug, rule id)


class OpenClock(Protocol):
    """What the engine reads of an open clock: a `Deadline` row or a `Clock`."""

    rulebook: str
    rule_id: str
    key: str
    cycle: int
    started_at: datetime
    stops_seen: list[str] | None


def not_before(stop: datetime, start: datetime) -> bool:
    """Whether a stop at `stop` can stop a clock started at `start`.

    Times people type have minutes; clocks start to the second (a contact received at 10:05:37
    by the system, or an allocation made then). A stop typed as 10:05 is "at or after" that
    start: compared with the start's minute, it stops the clock. A stop in an earlier minute
    (a late-recorded earlier visit) still cannot stop a clock started after it.
    """
    return stop >= start.replace(second=0, microsecond=0)


def met_at(started_at: datetime, at: datetime) -> datetime:
    """When a clock met at `at` stopped: a stop typed in the clock's own starting minute is
    stamped at the start, never before it (a clock cannot be met in negative time)."""
    return max(started_at, at)


class Limits:
    """(expected_at, due_at) of a rule's clock started at a moment, from the working calendar.

    The calendar may be given as a function, called the first time a limit is needed (the
    service reads closure days from the database only when it starts a clock). Day-, week- and
    month-based limits end at the end of a local day, so they are kept per local start date.
    """

    def __init__(self, calendar: WorkingCalendar | Callable[[], WorkingCalendar]):
        self._calendar = calendar
        self._cache: dict[tuple[int, datetime | object], tuple[datetime | None, datetime | None]] = {}
        self._by_hours: dict[int, bool] = {}

    @property
    def calendar(self) -> WorkingCalendar:
        if callable(self._calendar):
            self._calendar = self._calendar()
        return self._calendar

    def __call__(self, rule: Rule, started_at: datetime) -> tuple[datetime | None, datetime | None]:
        by_hours = self._by_hours.get(id(rule))
        if by_hours is None:
            limits = (rule.expected, rule.maximum)
            by_hours = self._by_hours[id(rule)] = any(limit is not None and limit.unit == HOURS for limit in limits)
        key = (id(rule), started_at if by_hours else local_date(started_at))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = compute_deadline(self.calendar, started_at, rule.expected, rule.maximum)
        return found


class RuleIndex:
    """The rules of some rulebooks by the events that start, stop, all-of stop and end them."""

    def __init__(self, rulebooks: Iterable[Rulebook]):
        self.books: tuple[Rulebook, ...] = tuple(rulebooks)
        self.book_of = {book.slug: book for book in self.books}
        self._by: dict[str, dict[str, list[tuple[Rulebook, Rule]]]] = {
            attr: defaultdict(list) for attr in ("starts_on", "stops_on", "stops_on_all", "ends_on")
        }
        for book in self.books:
            for rule in book.rules.values():
                for attr, index in self._by.items():
                    for event in getattr(rule, attr):
                        index[event].append((book, rule))
        self._cache: dict[tuple[str, frozenset[str], str | None, frozenset[str]], EventRules] = {}

    def for_event_starting(
        self, event: str, *, present: frozenset[str], route: str | None, starting: frozenset[str]
    ) -> EventRules:
        """`for_event` when the rulebooks that may start are known (`starting`, their slugs):
        the same answer every time, so it is kept."""
        key = (event, present, route, starting)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.for_event(
                event, present=present, route=route, may_start=lambda book: book.slug in starting
            )
        return found

    def for_event(
        self, event: str, *, present: Collection[str], route: str | None, may_start: Callable[[Rulebook], bool]
    ) -> EventRules:
        """The rules `event` touches on the subjects `present` ("contact", "episode", "worker").

        Rules it starts are those not exempt for the contact's `route` whose rulebook `may_start`
        (the subject's procedure and the shared rulebooks); `may_start` is asked only about them.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}; events are listed in deadlines/events.py")

        def applicable(attr: str) -> list[tuple[Rulebook, Rule]]:
            return [(b, r) for b, r in self._by[attr].get(event, ()) if r.applies_to in present]

        start = [(b, r) for b, r in applicable("starts_on") if not r.is_exempt(route) and may_start(b)]
        return EventRules(
            event=event,
            stop=applicable("stops_on"),
            all_of=applicable("stops_on_all"),
            end=applicable("ends_on"),
            start=start,
            book_of=self.book_of,
        )


@dataclass
class EventRules:
    """The rules one event touches for the subjects it concerns; see `RuleIndex.for_event`."""

    event: str
    stop: list[tuple[Rulebook, Rule]]
    all_of: list[tuple[Rulebook, Rule]]
    end: list[tuple[Rulebook, Rule]]
    start: list[tuple[Rulebook, Rule]]
    book_of: dict[str, Rulebook]
    rule_of: dict[RuleKey, Rule] = field(init=False)
    stop_keys: set[RuleKey] = field(init=False)
    all_keys: set[RuleKey] = field(init=False)
    end_keys: set[RuleKey] = field(init=False)
    # Rules whose open clocks the event may stop, note or withdraw; rules it may start.
    touched: set[RuleKey] = field(init=False)
    started: set[RuleKey] = field(init=False)

    def __post_init__(self) -> None:
        self.rule_of = {(b.slug, r.id): r for b, r in (*self.stop, *self.all_of, *self.end, *self.start)}
        self.stop_keys = {(b.slug, r.id) for b, r in self.stop}
        self.all_keys = {(b.slug, r.id) for b, r in self.all_of}
        # Stopping wins if a rulebook says both.
        self.end_keys = {(b.slug, r.id) for b, r in self.end} - self.stop_keys - self.all_keys
        self.touched = self.stop_keys | self.all_keys | self.end_keys
        self.started = {(b.slug, r.id) for b, r in self.start}


@dataclass
class Judgement:
    """What an event does to open clocks (step 1)."""

    met: list = field(default_factory=list)  # clocks met, each stopped at `met_at(started_at, at)`
    seen: list = field(default_factory=list)  # (clock, all-of events seen so far): still open
    withdrawn: list = field(default_factory=list)  # clocks withdrawn at `at`


def judge(rules: EventRules, open_clocks: Iterable[OpenClock], *, at: datetime, key: str = "") -> Judgement:
    """Step 1: which of the subject's `open_clocks` the event at `at` stops, notes or withdraws.

    `open_clocks` are the open clocks of the subjects the event concerns (others are ignored);
    `key` names the record the event is about ("assessment:12").
    """
    result = Judgement()
    touched = rules.touched
    for clock in open_clocks:
        rk = (clock.rulebook, clock.rule_id)
        if rk not in touched:
            continue
        rule = rules.rule_of[rk]
        # A stop or end naming a record touches that record's clock only (per-record rules).
        # A clock kept before clocks were per record (no key) is about no one record: any stop applies.
        this_record = not (rule.per_record and key and clock.key and clock.key != key)
        if not this_record:
            continue
        if rk in rules.stop_keys:
            if not_before(at, clock.started_at):
                result.met.append(clock)
        elif rk in rules.all_keys:
            if not_before(at, clock.started_at):
                seen = sorted({*(clock.stops_seen or ()), rules.event})
                if set(rule.stops_on_all) <= set(seen):
                    result.met.append(clock)
                else:
                    result.seen.append((clock, seen))
        else:
            result.withdrawn.append(clock)
    return result


@dataclass(frozen=True)
class Start:
    """A clock an event starts (steps 2 and 3)."""

    book: Rulebook
    rule: Rule
    key: str
    cycle: int
    started_at: datetime
    expected_at: datetime | None
    due_at: datetime | None


def _start(
    book: Rulebook, rule: Rule, *, key: str, cycle: int, at: datetime, limits: Callable[[Rule, datetime], tuple]
) -> Start:
    expected_at, due_at = limits(rule, at)
    return Start(book, rule, key, cycle, at, expected_at, due_at)


def restarts(
    rules: EventRules,
    met: Iterable[OpenClock],
    *,
    at: datetime,
    may_start: Callable[[Rulebook], bool],
    limits: Callable[[Rule, datetime], tuple],
) -> list[Start]:
    """Step 2: the next clock of each met recurring rule, from where the last one stopped.

    A recurring clock of a rulebook the subject no longer follows finishes its cycle and does
    not start another (deadlines/procedures.py).
    """
    found = []
    for clock in met:
        rule = rules.rule_of[(clock.rulebook, clock.rule_id)]
        book = rules.book_of[clock.rulebook]
        if rule.recurs and may_start(book):
            found.append(
                _start(book, rule, key=clock.key, cycle=clock.cycle + 1, at=met_at(clock.started_at, at), limits=limits)
            )
    return found


def starts(
    rules: EventRules,
    already_open: Collection[tuple[str, str, str]],
    *,
    at: datetime,
    key: str = "",
    limits: Callable[[Rule, datetime], tuple],
    pending: Sequence[Start] = (),
) -> list[Start]:
    """Step 3: the clocks the event starts, skipping a rule already open for the subject.

    `already_open` holds (rulebook, rule id, key) of the subject's open clocks after step 1;
    `pending` the clocks step 2 starts. A per-record rule keeps one clock per record (`key`).
    """
    taken = set(already_open) | {(s.book.slug, s.rule.id, s.key) for s in pending}
    found = []
    for book, rule in rules.start:
        record = key if rule.per_record else ""
        if (book.slug, rule.id, record) in taken:
            continue
        found.append(_start(book, rule, key=record, cycle=1, at=at, limits=limits))
        taken.add((book.slug, rule.id, record))
    return found


# --- Whose clock it is -------------------------------------------------------------------------


class Owners(NamedTuple):
    """The subjects' state that decides whose clock is whose, at the moment of an event."""

    contact_team: int | None = None  # the team the contact was allocated to, else its recorder's team
    episode_lead: int | None = None  # the lead professional (none while awaiting allocation)
    episode_team: int | None = None
    worker: int | None = None
    worker_team: int | None = None


def clock_owner(applies_to: str, owners: Owners) -> tuple[int | None, int | None]:
    """(assignee, team) of a new clock on the `applies_to` subject.

    An episode's clock is its lead professional's (none while it awaits allocation: the team
    leaders are the escalation); a contact's belongs to a team, not a person (front-door work);
    a worker's clock is theirs, on their team.
    """
    if applies_to == "episode":
        return owners.episode_lead, owners.episode_team
    if applies_to == "contact":
        return None, owners.contact_team
    return owners.worker, owners.worker_team


def follows(owners: Owners) -> tuple[int | None, int | None]:
    """(assignee, team) that an episode's open clocks take after an event on the episode: the
    lead professional may have changed (allocation, reallocation), so alerts reach whoever holds
    the case now."""
    return owners.episode_lead, owners.episode_team


# --- Clocks in memory --------------------------------------------------------------------------


@dataclass(eq=False)
class Clock:
    """One clock kept in memory by `Replay`: the fields of a `Deadline` row it decides."""

    rulebook: str
    rule: Rule
    key: str
    cycle: int
    started_at: datetime
    expected_at: datetime | None
    due_at: datetime | None
    start_event: str
    assignee_id: int | None
    team_id: int | None
    stopped_at: datetime | None = None
    stop_reason: str = ""
    stops_seen: list[str] | None = None

    @property
    def rule_id(self) -> str:
        return self.rule.id


class Replay:
    """The clocks of one contact, its episode and one worker, moved by events one at a time in
    memory exactly as `deadline_record_event` moves the rows (steps 1-3 and `follows`).

    `starting`: the slugs of the rulebooks whose rules may start clocks (the subjects' procedure
    and the shared rulebooks). Every clock made is in `clocks`, in the order started.
    """

    def __init__(self, index: RuleIndex, *, starting: Collection[str], limits: Limits):
        self.index = index
        self.starting = frozenset(starting)
        self.limits = limits
        self.clocks: list[Clock] = []
        self._open: dict[tuple[str, str, str], Clock] = {}
        self._followed: tuple[int | None, int | None] | None = None  # what open episode clocks follow

    def _may_start(self, book: Rulebook) -> bool:
        return book.slug in self.starting

    def record(
        self,
        event: str,
        at: datetime,
        *,
        present: frozenset[str],
        owners: Owners,
        route: str | None = None,
        key: str = "",
    ) -> None:
        """One event at `at` on the subjects `present` ("contact", "episode", "worker")."""
        rules = self.index.for_event_starting(event, present=present, route=route, starting=self.starting)
        if not (rules.touched or rules.start) and "episode" not in present:
            return
        verdict = judge(rules, list(self._open.values()), at=at, key=key) if rules.touched else Judgement()
        for clock in verdict.met:
            clock.stopped_at, clock.stop_reason = met_at(clock.started_at, at), MET
            del self._open[(clock.rulebook, clock.rule.id, clock.key)]
        for clock, seen in verdict.seen:
            clock.stops_seen = seen
        for clock in verdict.withdrawn:
            clock.stopped_at, clock.stop_reason = at, WITHDRAWN
            del self._open[(clock.rulebook, clock.rule.id, clock.key)]
        new = restarts(rules, verdict.met, at=at, may_start=self._may_start, limits=self.limits) if verdict.met else []
        if rules.start:
            new += starts(rules, self._open.keys(), at=at, key=key, limits=self.limits, pending=new)
        for s in new:
            assignee, team = clock_owner(s.rule.applies_to, owners)
            clock = Clock(
                s.book.slug, s.rule, s.key, s.cycle, s.started_at, s.expected_at, s.due_at, event, assignee, team
            )
            self._open[(clock.rulebook, s.rule.id, clock.key)] = clock
            self.clocks.append(clock)
        if "episode" in present and follows(owners) != self._followed:
            # Episode clocks start only on events about the episode, so after each such event every
            # open one already has what the last one said: only a change needs applying.
            assignee, team = self._followed = follows(owners)
            for clock in self._open.values():
                if clock.rule.applies_to == "episode":
                    clock.assignee_id, clock.team_id = assignee, team
