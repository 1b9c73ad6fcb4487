"""Pure date arithmetic for Early Help timescales.

Everything here is a pure function of its arguments: the caller captures `now` once and passes
the calendar in, so deadlines are reproducible in tests and never depend on a web API or the
database (conventions.md items 1-2). The counting conventions are those of
docs/practice-frameworks.md ("Units"):

- an hour-based limit is exact elapsed time, so across a clock change the wall clock shifts;
- a day-, week- or month-based limit ends at 23:59:59 Europe/London on the day it lands on;
- "N working days" ends on the Nth working day after the start's local date; the start date
  itself never counts, whether or not it is a working day.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from kit.time import LONDON

HOURS = "hours"
CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
CALENDAR_WEEKS = "calendar_weeks"
CALENDAR_MONTHS = "calendar_months"
END_OF_NEXT_WORKING_DAY = "end_of_next_working_day"

UNITS: tuple[str, ...] = (
    HOURS,
    CALENDAR_DAYS,
    WORKING_DAYS,
    CALENDAR_WEEKS,
    CALENDAR_MONTHS,
    END_OF_NEXT_WORKING_DAY,
)

# Wide enough for historic records migrated from the councils' old systems and for any
# deadline a case opened today can reach; outside it we refuse rather than guess.
DEFAULT_YEARS = range(2015, 2041)

# 23:59:59 exists on every day in Europe/London (the clocks change at 01:00 UTC), so the
# end of a local day is never ambiguous.
_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Limit:
    """An amount of one unit ("3 calendar_days"): one figure of a rule's timescale."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}; expected one of {', '.join(UNITS)}")
        # bool is an int subclass; `amount = true` in a rulebook is a typo, not 1.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"amount must be a whole number, not {self.amount!r}")
        if self.amount < 0:
            raise ValueError(f"amount must not be negative, got {self.amount}")
        if self.unit == END_OF_NEXT_WORKING_DAY and self.amount != 1:
            raise ValueError(f"{END_OF_NEXT_WORKING_DAY} takes amount 1, got {self.amount}")

    def __str__(self) -> str:
        if self.unit == END_OF_NEXT_WORKING_DAY:
            return "end of next working day"
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@dataclass(frozen=True)
class WorkingCalendar:
    """The days on which nobody works, for the years we can vouch for.

    `non_working` holds bank holidays and local closure days; weekends are implied. `years`
    is the span the bank holidays were loaded for: counting working days outside it would
    silently treat Christmas as a working day, so we raise instead.
    """

    non_working: frozenset[date]
    years: range = DEFAULT_YEARS


@lru_cache(maxsize=4)
def _bank_holidays(years: range) -> frozenset[date]:
    # The holidays package computes dates in-process (no network); cached because
    # build_calendar is called again whenever local closure days change.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years).keys())


def build_calendar(years: range | None = None, closure_days: Iterable[date] = ()) -> WorkingCalendar:
    """Build a calendar of England & Wales bank holidays plus the deployment's closure days.

    Bank holidays include substitute days ("Boxing Day (observed)"), which are the days
    councils actually close.
    """
    years = DEFAULT_YEARS if years is None else years
    closures = frozenset(closure_days)
    for day in closures:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"closure days must be dates, got {day!r}")
    return WorkingCalendar(non_working=_bank_holidays(years) | closures, years=years)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def local_date(value: date | datetime) -> date:
    """The Europe/London calendar date of an aware datetime (a date is returned as is)."""
    if isinstance(value, datetime):
        _require_aware(value, "datetime")
        return value.astimezone(LONDON).date()
    return value


def is_working_day(cal: WorkingCalendar, d: date | datetime) -> bool:
    """Monday to Friday and neither a bank holiday nor a local closure day."""
    day = local_date(d)
    if day.year not in cal.years:
        raise ValueError(
            f"{day.isoformat()} is outside the working calendar "
            f"({cal.years.start}-{cal.years.stop - 1}); build it with more years"
        )
    return day.weekday() < 5 and day not in cal.non_working


def add_working_days(cal: WorkingCalendar, d: date | datetime, n: int) -> date:
    """The Nth working day after `d`'s local date; `d` itself never counts."""
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    day = local_date(d)
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(cal, day):
            remaining -= 1
    return day


def add_calendar_months(d: date, months: int) -> date:
    """Same day number `months` later, or the last day of that month if it is shorter."""
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    last_day = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


def end_of_local_day(d: date | datetime) -> datetime:
    """23:59:59 Europe/London on `d` (the local date, if given an aware datetime)."""
    return datetime.combine(local_date(d), _END_OF_DAY, tzinfo=LONDON)


def compute_limit(cal: WorkingCalendar, start: datetime, amount: int, unit: str) -> datetime:
    """When a clock started at `start` runs out after `amount` `unit`s (Europe/London)."""
    _require_aware(start, "start")
    limit = Limit(amount=amount, unit=unit)  # validates unit and amount in one place
    if limit.unit == HOURS:
        # Add in UTC: aware arithmetic in a zoneinfo zone is wall-clock arithmetic, which
        # would make "24 hours" 23 or 25 real hours across a clock change.
        return (start.astimezone(UTC) + timedelta(hours=limit.amount)).astimezone(LONDON)
    day = local_date(start)
    if limit.unit == CALENDAR_DAYS:
        day += timedelta(days=limit.amount)
    elif limit.unit == CALENDAR_WEEKS:
        day += timedelta(weeks=limit.amount)
    elif limit.unit == CALENDAR_MONTHS:
        day = add_calendar_months(day, limit.amount)
    elif limit.unit == WORKING_DAYS:
        day = add_working_days(cal, day, limit.amount)
    else:  # END_OF_NEXT_WORKING_DAY
        day = add_working_days(cal, day, 1)
    return end_of_local_day(day)


def compute_deadline(
    cal: WorkingCalendar,
    start: datetime,
    expected: Limit | None,
    maximum: Limit | None,
) -> tuple[datetime | None, datetime | None]:
    """(expected_at, due_at) for a clock started at `start`; None where there is no such limit.

    The expected time never falls after the maximum: over Easter "2 working days" can outlast
    "5 calendar days", and a task cannot be merely overdue once it is in breach.
    """
    _require_aware(start, "start")
    expected_at = None if expected is None else compute_limit(cal, start, expected.amount, expected.unit)
    due_at = None if maximum is None else compute_limit(cal, start, maximum.amount, maximum.unit)
    if expected_at is not None and due_at is not None and expected_at > due_at:
        expected_at = due_at
    return expected_at, due_at
