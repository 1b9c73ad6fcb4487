"""Where the working calendar comes from at run time: bank holidays plus closure days in the DB.

Kept apart from `deadlines.calendar` so the arithmetic stays pure: this is the only module
that reads the database, and callers pass the calendar it returns into the pure functions.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from deadlines.calendar import WorkingCalendar, build_calendar


def closure_days_from_db() -> list[date]:
    """The deployment's local closure days (e.g. between Christmas and New Year)."""
    # Imported here so the pure modules and their tests never need Django set up.
    from deadlines.models import ClosureDay

    return list(ClosureDay.objects.values_list("date", flat=True))


def current_calendar() -> WorkingCalendar:
    """The working calendar with today's closure days, built once per set of closure days.

    Keyed on the closure days themselves rather than cached for the process, so a closure day
    added by an administrator takes effect on the next call without a restart.
    """
    return _calendar_for(tuple(sorted(set(closure_days_from_db()))))


@lru_cache(maxsize=8)
def _calendar_for(closure_days: tuple[date, ...]) -> WorkingCalendar:
    return build_calendar(closure_days=closure_days)
