"""Summary rows of the clocks, kept as the work happens (ADR 0041).

Two tables, read by the team board and the dashboard instead of aggregating every clock:

- `OpenClockCount`: open clocks per team, assignee, rule, status (on time, due soon, overdue,
  breached) and day (see the model);
- `ClockTimeliness`: per team, rule and local month the clocks started: run, met and missed
  against the expected time and the maximum, stopped.

**One place writes them.** Every write to `deadlines.Deadline` goes through `DeadlineQuerySet`
(`update`, `bulk_create`, `bulk_update`) or `Deadline.save`, which read the rows they change
before and after, in the same transaction, and add the difference here (`Tally`). Deletes,
including cascades from a family, contact, episode or worker, are counted by a `pre_delete`
receiver (which also stops Django's fast delete, so no cascade goes uncounted). Raw SQL on the
table is only the alert job's claim of its alert stamps, which no summary reads
(tests/deadlines/test_counts.py lists every writer).

**Status changes with time.** The rows are exact as of `ClockCountsState.as_of`. Writers count
a clock's status at that instant (holding the state row FOR SHARE, so `as_of` cannot move under
them); the alert job moves `as_of` to now with `counts_advance`, which finds the clocks whose
status changed in between with the same index range scans the alert job uses (a limit, or a
limit less 24 hours, in the interval), and moves them. A reader adds the same correction from
`as_of` to its own `now` without writing (`open_counts`, `timeliness_counts`), so figures are
exact whether or not the job has run.

**Reconcile.** `counts_reconcile` recounts everything in SQL, compares, repairs any row that
differs and logs what it repaired (a Celery beat entry runs it every 30 minutes).

Team and assignee are stored as integers, 0 for none.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Case, Count, DateField, F, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Least, TruncDate, TruncMonth
from django.utils import timezone

from deadlines.models import (
    DUE_SOON,
    ClockCountsState,
    ClockTimeliness,
    Deadline,
    OpenClockCount,
    ServiceClockCount,
    ServiceTimeliness,
    Status,
)
from kit.compiled_sql import compiled_once
from kit.time import LONDON

logger = logging.getLogger(__name__)

__all__ = [
    "COUNTED_FIELDS",
    "TIMELINESS_MEASURES",
    "Tally",
    "counts_advance",
    "counts_as_of",
    "counts_rebuild",
    "counts_reconcile",
    "open_counts",
    "CompiledFilters",
    "open_totals",
    "open_totals_compiled",
    "timeliness_counts",
    "timeliness_totals",
    "timeliness_totals_compiled",
]

# What a clock's summary rows depend on: a write that changes none of these needs no counting.
COUNTED_FIELDS = frozenset(
    {
        "team",
        "team_id",
        "assignee",
        "assignee_id",
        "rule_id",
        "started_at",
        "expected_at",
        "due_at",
        "stopped_at",
        "stop_reason",
        "flag_only",
    }
)
_READ = ("id", "team_id", "assignee_id", "rule_id", "started_at", "expected_at", "due_at", "stopped_at")
_READ_ALL = (*_READ, "stop_reason", "flag_only")

TIMELINESS_MEASURES = (
    "run",
    "with_expected",
    "with_maximum",
    "stopped",
    "met_expected",
    "missed_expected",
    "met_maximum",
    "missed_maximum",
)
OPEN_STATUSES = (Status.ON_TIME, Status.DUE_SOON, Status.OVERDUE, Status.BREACHED)
# The status of the rows that count breached clocks by the day they breached (per team and rule).
BREACH_DAY = "breach_day"


# --- One clock's contribution at an instant ------------------------------------------------------


def _local_date(value: datetime) -> date:
    return value.astimezone(LONDON).date()


def open_status(row: dict, at: datetime) -> str:
    """An open clock's status at `at`: the same rules as `DeadlineQuerySet.with_status`."""
    expected, due = row["expected_at"], row["due_at"]
    if not row["flag_only"] and due is not None and due < at:
        return Status.BREACHED
    if (expected is not None and expected < at) or (due is not None and due < at):
        return Status.OVERDUE
    soon = at + DUE_SOON
    if (expected is not None and expected <= soon) or (due is not None and due <= soon):
        return Status.DUE_SOON
    return Status.ON_TIME


def _day(row: dict, status: str) -> date | None:
    if status in (Status.BREACHED, Status.OVERDUE):
        return None
    limits = [v for v in (row["expected_at"], row["due_at"]) if v is not None]
    return _local_date(min(limits)) if limits else None


def _open_keys(row: dict, at: datetime) -> list[tuple]:
    """The rows an open clock counts in: its status row and, when breached, its team and rule's
    row for the day it breached (assignee 0), for the dashboard's "breached in the period"."""
    if row["stopped_at"] is not None:
        return []
    status = open_status(row, at)
    team, rule = row["team_id"] or 0, row["rule_id"]
    keys = [(team, row["assignee_id"] or 0, rule, status, _day(row, status))]
    if status == Status.BREACHED:
        keys.append((team, 0, rule, BREACH_DAY, _local_date(row["due_at"])))
    return keys


def _timeliness(row: dict, at: datetime) -> tuple[tuple, tuple[int, ...]] | None:
    if row["stop_reason"] == Deadline.StopReason.WITHDRAWN:
        return None
    expected, due, stopped = row["expected_at"], row["due_at"], row["stopped_at"]

    def judged(limit):
        if limit is None:
            return 0, 0
        if stopped is not None:
            return (1, 0) if stopped <= limit else (0, 1)
        return (0, 1) if limit < at else (0, 0)

    met_e, missed_e = judged(expected)
    met_m, missed_m = judged(due)
    limits = (int(expected is not None), int(due is not None), int(stopped is not None))
    vector = (1, *limits, met_e, missed_e, met_m, missed_m)
    key = (row["team_id"] or 0, row["rule_id"], _local_date(row["started_at"]).replace(day=1))
    return key, vector


@dataclass
class Delta:
    """Changes to add to the summary rows."""

    open: Counter = field(default_factory=Counter)
    timeliness: dict = field(default_factory=lambda: defaultdict(lambda: [0] * len(TIMELINESS_MEASURES)))

    def add(self, rows: Iterable[dict], at: datetime, sign: int) -> None:
        for row in rows:
            for key in _open_keys(row, at):
                self.open[key] += sign
            found = _timeliness(row, at)
            if found is not None:
                key, vector = found
                total = self.timeliness[key]
                for i, v in enumerate(vector):
                    total[i] += sign * v

    def changes(self) -> tuple[dict, dict]:
        opened = {k: n for k, n in self.open.items() if n}
        timely = {k: v for k, v in self.timeliness.items() if any(v)}
        return opened, timely

    def apply(self) -> None:
        """Add the delta to the rows: one upsert per table."""
        opened, timely = self.changes()
        if opened:
            _upsert(
                OpenClockCount,
                ["team_id", "assignee_id", "rule_id", "status", "day"],
                ["n"],
                [(*k, n) for k, n in opened.items()],
            )
        if timely:
            _upsert(
                ClockTimeliness,
                ["team_id", "rule_id", "month"],
                list(TIMELINESS_MEASURES),
                [(*k, *v) for k, v in timely.items()],
            )


def _upsert(model, keys: list[str], values: list[str], rows: list[tuple]) -> None:
    # Rows in key order, so two writers moving clocks between the same rows lock them in the same
    # order (no deadlock); a busy row is held until its writer commits, like any counter.
    rows = sorted(rows, key=lambda row: tuple((v is None, v) for v in row[: len(keys)]))
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join([*keys, *values])
    adds = ", ".join(f"{v} = {table}.{v} + EXCLUDED.{v}" for v in values)
    conflict = ", ".join(keys)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(keys) + len(values))) + ")"] * len(rows))
    # Only column and table names are formatted in, from the model.
    sql = f"INSERT INTO {table} ({columns}) VALUES {placeholders} ON CONFLICT ({conflict}) DO UPDATE SET {adds}"  # noqa: S608
    if model is OpenClockCount:
        # NULLS NOT DISTINCT key: name the constraint so a null day conflicts too.
        sql = sql.replace(f"ON CONFLICT ({conflict})", "ON CONFLICT ON CONSTRAINT open_clock_count_key")
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])


# --- The instant the rows are as of ---------------------------------------------------------------


def _state(*, lock: str) -> ClockCountsState:
    """The state row, locked FOR SHARE (writers) or FOR UPDATE (the job); created on first use."""
    if lock == "share":
        # Django has no FOR SHARE: the one statement is written out (the table name from the model).
        table = connection.ops.quote_name(ClockCountsState._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT as_of FROM {table} WHERE id = 1 FOR SHARE")  # noqa: S608
            found = cursor.fetchone()
        if found is not None:
            return ClockCountsState(pk=1, as_of=found[0])
    else:
        state = ClockCountsState.objects.select_for_update().filter(pk=1).first()
        if state is not None:
            return state
    ClockCountsState.objects.get_or_create(pk=1, defaults={"as_of": timezone.now()})
    return _state(lock=lock)


_AS_OF = Subquery(ClockCountsState.objects.filter(pk=1).values("as_of")[:1])


def counts_as_of() -> datetime:
    """The instant the summary rows' statuses are as of (no lock: for readers)."""
    found = ClockCountsState.objects.filter(pk=1).values_list("as_of", flat=True).first()
    return found if found is not None else timezone.now()


# --- Writers: before and after ---------------------------------------------------------------------


class Tally:
    """Counts one write: `before` reads (and locks) the rows it will change, `after` reads them again.

    Used only by `DeadlineQuerySet` and `Deadline.save`, inside their transaction.
    """

    def __init__(self, ids: list[int], rows: list[dict], as_of: datetime) -> None:
        self.ids, self.rows, self.as_of = ids, rows, as_of

    @classmethod
    def before(cls, queryset) -> Tally:
        as_of = _state(lock="share").as_of
        rows = list(
            Deadline.objects.filter(pk__in=queryset.values("pk")).order_by("pk").select_for_update().values(*_READ_ALL)
        )
        return cls([r["id"] for r in rows], rows, as_of)

    @classmethod
    def before_ids(cls, ids: list) -> Tally:
        as_of = _state(lock="share").as_of
        ids = [i for i in ids if i is not None]
        rows = []
        if ids:
            rows = list(Deadline.objects.filter(pk__in=ids).order_by("pk").select_for_update().values(*_READ_ALL))
        return cls(ids, rows, as_of)

    def after(self, ids: list | None = None) -> None:
        ids = self.ids if ids is None else ids
        now_rows = list(Deadline.objects.filter(pk__in=ids).values(*_READ_ALL)) if ids else []
        delta = Delta()
        delta.add(self.rows, self.as_of, -1)
        delta.add(now_rows, self.as_of, +1)
        delta.apply()

    @staticmethod
    def created(objs: Iterable[Deadline]) -> None:
        as_of = _state(lock="share").as_of
        delta = Delta()
        delta.add(({f: getattr(o, f) for f in _READ_ALL} for o in objs), as_of, +1)
        delta.apply()

    @classmethod
    def deleting(cls, instance: Deadline) -> None:
        """Before a delete: the row as stored (the instance may be stale) leaves the counts."""
        tally = cls.before_ids([instance.pk])
        delta = Delta()
        delta.add(tally.rows, tally.as_of, -1)
        delta.apply()


# --- Status moving with time ------------------------------------------------------------------------


def _crossing(start: datetime, end: datetime) -> Q:
    """Open clocks whose status may differ between two instants: a limit, or a limit less 24 hours,
    between them. The ranges follow the partial indexes of open clocks on each limit."""
    lo, hi = min(start, end), max(start, end)
    return _crossing_between(lo, hi, lo + DUE_SOON, hi + DUE_SOON)


def _crossing_between(lo: datetime, hi: datetime, lo_soon: datetime, hi_soon: datetime) -> Q:
    q = Q()
    for limit in ("expected_at", "due_at"):
        q |= Q(**{f"{limit}__gte": lo, f"{limit}__lte": hi})
        q |= Q(**{f"{limit}__gte": lo_soon, f"{limit}__lte": hi_soon})
    return Q(stopped_at__isnull=True) & q


def _movement(start: datetime, end: datetime, *, where: Q | None = None) -> Delta:
    delta = Delta()
    if start == end:
        return delta
    rows = list(Deadline.objects.filter(_crossing(start, end)).filter(where or Q()).values(*_READ_ALL))
    delta.add(rows, start, -1)
    delta.add(rows, end, +1)
    return delta


def counts_advance(*, now: datetime) -> int:
    """Move the summary rows' statuses to `now` (the alert job calls this); returns the clocks moved."""
    with transaction.atomic():
        state = _state(lock="update")
        if state.as_of == now:
            return 0
        delta = _movement(state.as_of, now)
        delta.apply()
        ClockCountsState.objects.filter(pk=1).update(as_of=now)
    moved = sum(abs(n) for n in delta.open.values()) // 2
    return moved


# --- Readers ------------------------------------------------------------------------------------------


def open_counts(
    *,
    now: datetime,
    where: Q | None = None,
    clock_where: Q | None = None,
    keep: Callable[[tuple], bool] | None = None,
) -> dict[tuple, int]:
    """Open clocks at `now` by (team, assignee, rule, status, day): the rows matching `where`
    plus the correction from `as_of` to `now` for the clocks matching `clock_where` (the same
    filter said of Deadline). `keep` says which keys the caller wants once corrected (the rows'
    filter on status and day, said in Python: the correction can move a clock into or out of it).
    A few hundred rows whatever the number of clocks."""
    out: Counter = Counter()
    rows = list(
        OpenClockCount.objects.filter(where or Q())
        .filter(n__gt=0)
        .annotate(as_of=_AS_OF)
        .values_list("team_id", "assignee_id", "rule_id", "status", "day", "n", "as_of")
    )
    # The instant comes with the rows (one query); only with no rows is it asked for alone.
    as_of = (rows[0][6] if rows else None) or counts_as_of()
    for row in rows:
        out[row[:5]] += row[5]
    out.update(_movement(as_of, now, where=clock_where).open)
    return {k: n for k, n in out.items() if n and (keep is None or keep(k))}


def timeliness_counts(*, now: datetime, where: Q | None = None, clock_where: Q | None = None) -> dict[tuple, dict]:
    """Timeliness by (team, rule, month) at `now`, like `open_counts`."""
    out: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(TIMELINESS_MEASURES))
    rows = list(
        ClockTimeliness.objects.filter(where or Q())
        .annotate(as_of=_AS_OF)
        .values_list("team_id", "rule_id", "month", *TIMELINESS_MEASURES, "as_of")
    )
    as_of = (rows[0][-1] if rows else None) or counts_as_of()
    for row in rows:
        total = out[row[:3]]
        for i, v in enumerate(row[3:-1]):
            total[i] += v
    for key, vector in _movement(as_of, now, where=clock_where).timeliness.items():
        total = out[key]
        for i, v in enumerate(vector):
            total[i] += v
    return {k: dict(zip(TIMELINESS_MEASURES, v, strict=True)) for k, v in out.items() if any(v)}


def _grouped(queryset, sets: tuple[tuple[str, ...], ...], measures: tuple[str, ...]) -> tuple[list, datetime]:
    """The rows of `queryset` summed in SQL by each grouping set (one GROUP BY GROUPING SETS query):
    a list per set of (*the set's columns, *sums), and the instant the rows are as of."""
    columns = list(dict.fromkeys(c for group in sets for c in group))
    try:
        inner, params = queryset.order_by().values(*columns, *measures).query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing (an empty list of teams): no query
        return [[] for _ in sets], counts_as_of()
    return _grouped_run(inner, params, sets, measures)


def _grouped_run(inner: str, params, sets: tuple[tuple[str, ...], ...], measures: tuple[str, ...]) -> tuple:
    """`_grouped` for the SQL of its rows (`inner`, with `params`)."""
    columns = list(dict.fromkeys(c for group in sets for c in group))
    state = connection.ops.quote_name(ClockCountsState._meta.db_table)
    grouping = ", ".join(columns)
    sums = ", ".join(f"SUM(s.{m})" for m in measures)
    group_sets = ", ".join("(" + ", ".join(group) + ")" for group in sets)
    # Only column and table names are formatted in, from the model and the callers' field names;
    # the values are the ORM's own parameters.
    # The instant the rows are as of, on the first row only: a timestamp on every row (a board's hundreds)
    # cost as many timestamps parsed in Python for one value (session 12).
    sql = (
        f"SELECT {grouping}, {sums}, GROUPING({grouping}), "  # noqa: S608
        f"CASE WHEN row_number() OVER () = 1 THEN (SELECT as_of FROM {state} WHERE id = 1) END "
        f"FROM ({inner}) s GROUP BY GROUPING SETS ({group_sets})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    # GROUPING(...) has a bit set for each column not grouped: the set a row belongs to.
    width = len(columns)
    masks = {
        sum(1 << (width - 1 - i) for i, c in enumerate(columns) if c not in group): n for n, group in enumerate(sets)
    }
    out: list[list] = [[] for _ in sets]
    # Each set's columns as positions in the row, found once, not per row (a board reads hundreds of rows).
    picks = [[columns.index(c) for c in group] for group in sets]
    end = width + len(measures)
    for row in found:
        n = masks[row[end]]
        out[n].append((*[row[i] for i in picks[n]], *[int(v or 0) for v in row[width:end]]))
    as_of = next((row[-1] for row in found if row[-1] is not None), None) or counts_as_of()
    return out, as_of


_OPEN_KEY = ("team_id", "assignee_id", "rule_id", "status", "day")
_TIMELINESS_KEY = ("team_id", "rule_id", "month")


def open_totals(
    *,
    now: datetime,
    by: tuple[tuple[str, ...], ...],
    where: Q | None = None,
    clock_where: Q | None = None,
    keep: Callable[[tuple], bool] | None = None,
    annotate: dict | None = None,
    annotated: Callable[[tuple], dict] | None = None,
    service_id: int | None = None,
) -> list[dict[tuple, int]]:
    """`open_counts` summed by each of the groupings `by` (columns of (team_id, assignee_id, rule_id,
    status, day)): the summary rows summed in SQL, so a few rows per grouping whatever the number of
    teams, staff and days, plus the correction from `as_of` to `now` (the few clocks that crossed a
    limit) summed the same way in Python. The same figures as summing `open_counts(...)` by hand, for
    the same `where`, `clock_where` and `keep` (which must keep every row `where` reads); a group
    that sums to nothing is left out. A grouping may name a column of `annotate` (an expression on
    the rows, e.g. the board's bucket), which `annotated(key)` says of a clock's key in Python.

    With `service_id`, the service's rows (`ServiceClockCount`, every team of the service summed by a
    trigger, ADR 68) are read instead of the teams' rows: `by` and `where` name only rule_id, status
    and day, and `clock_where` must be the service's teams (the correction is keyed by team)."""
    rows = OpenClockCount.objects if service_id is None else ServiceClockCount.objects.filter(service_id=service_id)
    queryset = rows.filter(n__gt=0).annotate(**(annotate or {})).filter(where or Q())
    found, as_of = _grouped(queryset, by, ("n",))
    out: list[Counter] = [Counter({row[:-1]: row[-1] for row in rows}) for rows in found]
    for key, n in _movement(as_of, now, where=clock_where).open.items():
        if not n or (keep is not None and not keep(key)):
            continue
        values = dict(zip(_OPEN_KEY, key, strict=True))
        if annotated is not None:
            values.update(annotated(key))
        for total, group in zip(out, by, strict=True):
            total[tuple(values[c] for c in group)] += n
    return [{k: n for k, n in total.items() if n} for total in out]


def timeliness_totals(
    *,
    now: datetime,
    by: tuple[tuple[str, ...], ...],
    where: Q | None = None,
    clock_where: Q | None = None,
    keep: Callable[[tuple], bool] | None = None,
    service_id: int | None = None,
) -> list[dict[tuple, dict]]:
    """`timeliness_counts` summed by each of the groupings `by` (columns of (team_id, rule_id,
    month)), in SQL, with the correction to `now` summed the same way (`keep`: which (team, rule,
    month) keys of the correction count). A group that sums to nothing is left out. With `service_id`,
    the service's rows (`ServiceTimeliness`, ADR 68): `by` and `where` name only rule_id and month."""
    nothing = Q(**dict.fromkeys(TIMELINESS_MEASURES, 0))
    rows = ClockTimeliness.objects if service_id is None else ServiceTimeliness.objects.filter(service_id=service_id)
    queryset = rows.filter(where or Q()).exclude(nothing)
    found, as_of = _grouped(queryset, by, TIMELINESS_MEASURES)
    size = len(TIMELINESS_MEASURES)
    out: list[dict] = [{row[:-size]: list(row[-size:]) for row in rows} for rows in found]
    positions = [[_TIMELINESS_KEY.index(c) for c in group] for group in by]
    for key, vector in _movement(as_of, now, where=clock_where).timeliness.items():
        if not any(vector) or (keep is not None and not keep(key)):
            continue
        for total, picks in zip(out, positions, strict=True):
            row = total.setdefault(tuple(key[i] for i in picks), [0] * size)
            for i, v in enumerate(vector):
                row[i] += v
    return [{k: dict(zip(TIMELINESS_MEASURES, v, strict=True)) for k, v in total.items() if any(v)} for total in out]


# --- The same readers with their SQL compiled once (ADR 74) -----------------------------------------


@dataclass(frozen=True)
class CompiledFilters:
    """A reader's filters said as functions of the request's values, so that `open_totals_compiled`
    and `timeliness_totals_compiled` compile their SQL once per `key` (kit.compiled_sql): `where(*values)`
    and `clock_where(*clock_values)` are `open_totals`' `where` and `clock_where`. `key` names everything
    else that shapes them (which filters there are); `stand_ins` and `clock_stand_ins` are two sets of
    values of the same kinds, unlike any real one and each other (see `compiled_once`). A list of ids
    must be one array parameter: an `IN` of a list changes the SQL with its length (the read is then
    built with the ORM each time, as it is whenever the SQL cannot be shared)."""

    key: Hashable
    where: Callable[..., Q]
    values: tuple
    stand_ins: tuple[tuple, tuple]
    clock_where: Callable[..., Q]
    clock_values: tuple
    clock_stand_ins: tuple[tuple, tuple]


def open_totals_compiled(
    filters: CompiledFilters,
    *,
    now: datetime,
    by: tuple[tuple[str, ...], ...],
    keep: Callable[[tuple], bool] | None = None,
    service_rows: bool = False,
) -> list[dict[tuple, int]]:
    """`open_totals(now=now, by=by, where=filters.where(*filters.values),
    clock_where=filters.clock_where(*filters.clock_values), keep=keep)`, its two queries compiled once
    per key; `service_rows`: the service's rows (`ServiceClockCount`), whose `where` names the service."""
    model = ServiceClockCount if service_rows else OpenClockCount

    def rows(*values):
        return model.objects.filter(n__gt=0).filter(filters.where(*values))

    found, as_of = _grouped_compiled(("open totals", service_rows, by, filters.key), rows, filters, by, ("n",))
    out: list[Counter] = [Counter({row[:-1]: row[-1] for row in found_rows}) for found_rows in found]
    for key, n in _movement_compiled(filters, as_of, now).open.items():
        if not n or (keep is not None and not keep(key)):
            continue
        values = dict(zip(_OPEN_KEY, key, strict=True))
        for total, group in zip(out, by, strict=True):
            total[tuple(values[c] for c in group)] += n
    return [{k: n for k, n in total.items() if n} for total in out]


def timeliness_totals_compiled(
    filters: CompiledFilters,
    *,
    now: datetime,
    by: tuple[tuple[str, ...], ...],
    keep: Callable[[tuple], bool] | None = None,
    service_rows: bool = False,
) -> list[dict[tuple, dict]]:
    """`timeliness_totals` like `open_totals_compiled` is `open_totals` (`ServiceTimeliness` with
    `service_rows`)."""
    nothing = Q(**dict.fromkeys(TIMELINESS_MEASURES, 0))
    model = ServiceTimeliness if service_rows else ClockTimeliness

    def rows(*values):
        return model.objects.filter(filters.where(*values)).exclude(nothing)

    key = ("timeliness totals", service_rows, by, filters.key)
    found, as_of = _grouped_compiled(key, rows, filters, by, TIMELINESS_MEASURES)
    size = len(TIMELINESS_MEASURES)
    out: list[dict] = [{row[:-size]: list(row[-size:]) for row in found_rows} for found_rows in found]
    positions = [[_TIMELINESS_KEY.index(c) for c in group] for group in by]
    for key, vector in _movement_compiled(filters, as_of, now).timeliness.items():
        if not any(vector) or (keep is not None and not keep(key)):
            continue
        for total, picks in zip(out, positions, strict=True):
            row = total.setdefault(tuple(key[i] for i in picks), [0] * size)
            for i, v in enumerate(vector):
                row[i] += v
    return [{k: dict(zip(TIMELINESS_MEASURES, v, strict=True)) for k, v in total.items() if any(v)} for total in out]


def _grouped_compiled(key, rows, filters: CompiledFilters, sets, measures) -> tuple[list, datetime]:
    """`_grouped(rows(*filters.values), sets, measures)`, the rows' SQL compiled once per key."""
    columns = list(dict.fromkeys(c for group in sets for c in group))

    def build(*values):
        return rows(*values).order_by().values(*columns, *measures)

    try:
        compiled = compiled_once(key, build, filters.stand_ins, using=connection.alias)
    except EmptyResultSet:  # a filter the stand-ins make empty: never shared
        compiled = None
    if compiled is None:
        return _grouped(rows(*filters.values), sets, measures)
    return _grouped_run(compiled.sql, compiled.params_for(filters.values), sets, measures)


def _movement_compiled(filters: CompiledFilters, start: datetime, end: datetime) -> Delta:
    """`_movement(start, end, where=filters.clock_where(*filters.clock_values))`, compiled once per key."""
    if start == end:
        return Delta()
    lo, hi = min(start, end), max(start, end)
    values = (lo, hi, lo + DUE_SOON, hi + DUE_SOON, *filters.clock_values)

    def build(lo, hi, lo_soon, hi_soon, *rest):
        crossing = _crossing_between(lo, hi, lo_soon, hi_soon)
        return Deadline.objects.filter(crossing).filter(filters.clock_where(*rest)).values(*_READ_ALL)

    taken = {repr(v) for stand_ins in filters.clock_stand_ins for v in stand_ins}
    instants = [t for t in (datetime(1971, 1, 1 + i, tzinfo=UTC) for i in range(20)) if repr(t) not in taken][:8]
    stand_ins = ((*instants[:4], *filters.clock_stand_ins[0]), (*instants[4:], *filters.clock_stand_ins[1]))
    try:
        compiled = compiled_once(("movement", filters.key), build, stand_ins, using=connection.alias)
    except EmptyResultSet:
        compiled = None
    if compiled is None:
        return _movement(start, end, where=filters.clock_where(*filters.clock_values))
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(values))
        found = [dict(zip(_READ_ALL, row, strict=True)) for row in cursor.fetchall()]
    delta = Delta()
    delta.add(found, start, -1)
    delta.add(found, end, +1)
    return delta


# --- The full recount ------------------------------------------------------------------------------


def recount_open(at: datetime) -> dict[tuple, int]:
    """Every open clock counted in SQL at `at` (one GROUP BY)."""
    least = Least("expected_at", "due_at")
    day = Case(
        When(status__in=[Status.BREACHED, Status.OVERDUE], then=Value(None, output_field=DateField())),
        default=TruncDate(least, tzinfo=LONDON),
        output_field=DateField(),
    )
    rows = (
        Deadline.objects.open()
        .with_status(at)
        .annotate(t=Coalesce("team_id", 0), a=Coalesce("assignee_id", 0), d=day)
        .order_by()
        .values("t", "a", "rule_id", "status", "d")
        .annotate(n=Count("pk"))
    )
    out = {(r["t"], r["a"], r["rule_id"], r["status"], r["d"]): r["n"] for r in rows}
    breached = (
        Deadline.objects.breached(at)
        .annotate(t=Coalesce("team_id", 0), d=TruncDate("due_at", tzinfo=LONDON))
        .order_by()
        .values("t", "rule_id", "d")
        .annotate(n=Count("pk"))
    )
    out.update({(r["t"], 0, r["rule_id"], BREACH_DAY, r["d"]): r["n"] for r in breached})
    return out


def recount_timeliness(at: datetime) -> dict[tuple, tuple[int, ...]]:
    """Every clock's timeliness counted in SQL at `at` (one GROUP BY)."""

    def missed(limit: str) -> Q:
        return Q(**{f"{limit}__isnull": False}) & (
            Q(stopped_at__gt=F(limit)) | Q(stopped_at__isnull=True, **{f"{limit}__lt": at})
        )

    met = Q(stopped_at__isnull=False)
    measures = {
        "run": Count("pk"),
        "with_expected": Count("pk", filter=Q(expected_at__isnull=False)),
        "with_maximum": Count("pk", filter=Q(due_at__isnull=False)),
        "stopped": Count("pk", filter=Q(stopped_at__isnull=False)),
        "met_expected": Count("pk", filter=met & Q(expected_at__isnull=False, stopped_at__lte=F("expected_at"))),
        "missed_expected": Count("pk", filter=missed("expected_at")),
        "met_maximum": Count("pk", filter=met & Q(due_at__isnull=False, stopped_at__lte=F("due_at"))),
        "missed_maximum": Count("pk", filter=missed("due_at")),
    }
    rows = (
        Deadline.objects.exclude(stop_reason=Deadline.StopReason.WITHDRAWN)
        .annotate(t=Coalesce("team_id", 0), m=TruncMonth("started_at", tzinfo=LONDON))
        .order_by()
        .values("t", "rule_id", "m")
        .annotate(**measures)
    )
    out = {}
    for r in rows:
        month = r["m"].date() if isinstance(r["m"], datetime) else r["m"]
        out[(r["t"], r["rule_id"], month)] = tuple(r[k] for k in TIMELINESS_MEASURES)
    return out


@dataclass(frozen=True)
class Reconciled:
    """What a reconcile found: rows that differed from the recount (and were repaired)."""

    as_of: datetime
    open_rows: int
    timeliness_rows: int
    drift: list[str]

    @property
    def clean(self) -> bool:
        return not self.drift


def counts_reconcile(
    *, now: datetime, repair: bool = True, services: bool = True, rebuilding: bool = False
) -> Reconciled:
    """Recount every clock at `now`, prove the summary rows equal the recount, repair and log any drift.

    `rebuilding` is for a summary that is expected to be empty or stale (after a bulk load): the rows
    are replaced the same way, but the difference is not drift, so it logs one line, not one a row.

    Holds the state row FOR UPDATE, so no clock write interleaves with the recount (writers wait
    for it: a few seconds at council scale, twice an hour); moves `as_of` to `now` on the way.
    """
    with transaction.atomic():
        state = _state(lock="update")
        if repair:
            _movement(state.as_of, now).apply()
            ClockCountsState.objects.filter(pk=1).update(as_of=now)
        at = now if repair else state.as_of
        want_open = recount_open(at)
        want_time = recount_timeliness(at)
        have_open = {
            r[:5]: r[5]
            for r in OpenClockCount.objects.values_list("team_id", "assignee_id", "rule_id", "status", "day", "n")
        }
        have_time = {
            r[:3]: tuple(r[3:])
            for r in ClockTimeliness.objects.values_list("team_id", "rule_id", "month", *TIMELINESS_MEASURES)
        }
        drift: list[str] = []
        zero_time = (0,) * len(TIMELINESS_MEASURES)
        for key in sorted(set(want_open) | set(have_open), key=str):
            want, have = want_open.get(key, 0), have_open.get(key, 0)
            if want != have:
                drift.append(f"open clocks {key}: summary {have}, recount {want}")
        for key in sorted(set(want_time) | set(have_time), key=str):
            want, have = want_time.get(key, zero_time), have_time.get(key, zero_time)
            if want != have:
                drift.append(f"timeliness {key}: summary {have}, recount {want}")
        if repair and drift:
            _replace(want_open, want_time)
        # The services' rows against the teams' rows as they now are (repaired above if they drifted).
        service_drift = service_rows_drift() if services else []
        drift += service_drift
        if repair:
            if service_drift:
                service_rows_rewrite()
            # A rebuild's differences are the load it follows, not drift: its rows now equal the recount.
            last_drift = 0 if rebuilding else len(drift)
            ClockCountsState.objects.filter(pk=1).update(reconciled_at=now, last_drift=last_drift)
    if rebuilding:
        logger.info(
            "clock counts rebuilt: %d open rows, %d timeliness rows (%d differed from the summary before)",
            len(want_open),
            len(want_time),
            len(drift),
        )
        return Reconciled(as_of=at, open_rows=len(want_open), timeliness_rows=len(want_time), drift=drift)
    for line in drift:
        logger.warning("clock counts drifted, repaired: %s", line)
    if drift:
        logger.warning("clock counts: %d summary rows differed from the recount and were repaired", len(drift))
    return Reconciled(as_of=at, open_rows=len(want_open), timeliness_rows=len(want_time), drift=drift)


def _replace(want_open: dict, want_time: dict) -> None:
    OpenClockCount.objects.all().delete()
    ClockTimeliness.objects.all().delete()
    OpenClockCount.objects.bulk_create(
        [
            OpenClockCount(team_id=k[0], assignee_id=k[1], rule_id=k[2], status=k[3], day=k[4], n=n)
            for k, n in want_open.items()
        ],
        batch_size=2000,
    )
    ClockTimeliness.objects.bulk_create(
        [
            ClockTimeliness(team_id=k[0], rule_id=k[1], month=k[2], **dict(zip(TIMELINESS_MEASURES, v, strict=True)))
            for k, v in want_time.items()
        ],
        batch_size=2000,
    )


# --- The services' rows (ADR 68): the teams' rows summed by the service of each team -------------

SERVICE_OPEN_SUM = """
SELECT t.service_id, x.rule_id, x.status, x.day, sum(x.n) AS n
  FROM deadlines_openclockcount x JOIN accounts_team t ON t.id = x.team_id
 GROUP BY 1, 2, 3, 4 HAVING sum(x.n) <> 0
"""
_SUMS = ", ".join(f"sum(x.{m}) AS {m}" for m in TIMELINESS_MEASURES)
_ANY = " OR ".join(f"sum(x.{m}) <> 0" for m in TIMELINESS_MEASURES)
SERVICE_TIMELY_SUM = f"""
SELECT t.service_id, x.rule_id, x.month, {_SUMS}
  FROM deadlines_clocktimeliness x JOIN accounts_team t ON t.id = x.team_id
 GROUP BY 1, 2, 3 HAVING {_ANY}
"""  # noqa: S608 (constants only)
_NO_DAY = "DATE '0001-01-01'"
_SERVICE_OPEN_DRIFT = f"""
SELECT COALESCE(s.service_id, r.service_id), COALESCE(s.rule_id, r.rule_id), COALESCE(s.status, r.status),
       COALESCE(s.day, r.day), COALESCE(s.n, 0), COALESCE(r.n, 0)
  FROM deadlines_serviceclockcount s
  FULL JOIN ({SERVICE_OPEN_SUM}) r
    ON r.service_id = s.service_id AND r.rule_id = s.rule_id AND r.status = s.status
   AND COALESCE(r.day, {_NO_DAY}) = COALESCE(s.day, {_NO_DAY})
 WHERE COALESCE(s.n, 0) <> COALESCE(r.n, 0)
 ORDER BY 1, 2, 3, 4
"""  # noqa: S608
_VECTOR = ", ".join(f"COALESCE(s.{m}, 0)::bigint" for m in TIMELINESS_MEASURES)
_WANT = ", ".join(f"COALESCE(r.{m}, 0)::bigint" for m in TIMELINESS_MEASURES)
_SERVICE_TIMELY_DRIFT = f"""
SELECT COALESCE(s.service_id, r.service_id), COALESCE(s.rule_id, r.rule_id), COALESCE(s.month, r.month),
       ARRAY[{_VECTOR}], ARRAY[{_WANT}]
  FROM deadlines_servicetimeliness s
  FULL JOIN ({SERVICE_TIMELY_SUM}) r ON r.service_id = s.service_id AND r.rule_id = s.rule_id AND r.month = s.month
 WHERE ARRAY[{_VECTOR}] <> ARRAY[{_WANT}]
 ORDER BY 1, 2, 3
"""  # noqa: S608


def service_rows_drift() -> list[str]:
    """Every service row that differs from the sum of its teams' rows (one query per table)."""
    out = []
    with connection.cursor() as cursor:
        cursor.execute(_SERVICE_OPEN_DRIFT)
        for service, rule, status, day, have, want in cursor.fetchall():
            out.append(f"service open clocks {(service, rule, status, day)}: summary {have}, teams {want}")
        cursor.execute(_SERVICE_TIMELY_DRIFT)
        for service, rule, month, have, want in cursor.fetchall():
            out.append(f"service timeliness {(service, rule, month)}: summary {tuple(have)}, teams {tuple(want)}")
    return out


def service_rows_rewrite() -> None:
    """The service rows rewritten from the teams' rows (the caller holds the state row FOR UPDATE, so
    no writer moves a team row meanwhile)."""
    columns = ", ".join(TIMELINESS_MEASURES)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM deadlines_serviceclockcount")
        cursor.execute(
            f"INSERT INTO deadlines_serviceclockcount (service_id, rule_id, status, day, n) {SERVICE_OPEN_SUM}"
        )  # noqa: S608
        cursor.execute("DELETE FROM deadlines_servicetimeliness")
        cursor.execute(
            f"INSERT INTO deadlines_servicetimeliness (service_id, rule_id, month, {columns}) {SERVICE_TIMELY_SUM}"  # noqa: S608
        )


def counts_rebuild(*, now: datetime, services: bool = True) -> Reconciled:
    """Build the summary rows from the clocks (after a bulk load that bypassed the ORM: the generator).
    `services=False`: not the services' rows (a migration older than the table). What it replaces is
    not drift: it logs one line, however many rows it wrote."""
    return counts_reconcile(now=now, services=services, rebuilding=True)


def _deadline_deleting(sender, instance: Deadline, **kwargs) -> None:
    """Any delete of a clock, cascades included (a receiver also turns Django's fast delete off).

    Django deletes inside a transaction after sending `pre_delete`, so the row leaves the counts
    in the same transaction as it leaves the table."""
    Tally.deleting(instance)


def connect_signals() -> None:
    from django.db.models.signals import pre_delete

    pre_delete.connect(_deadline_deleting, sender=Deadline, dispatch_uid="deadlines.counts.deleting")
