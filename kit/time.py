"""Time as councils count it: every clock, date field and report is in Europe/London."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

LONDON = ZoneInfo("Europe/London")


def london_date(moment):
    """The day it is in England at `moment` (an aware datetime): never the UTC date, which is the
    day before between midnight and 01:00 in summer time."""
    return moment.astimezone(LONDON).date()


# --- The time an action happens, for the permission rules that depend on it -----------------------
#
# A `rules` predicate receives the user and the object only, so a rule that depends on the date (a
# partner agency's lead professional may act only while the family's consent to share is in force)
# takes the time from the caller this way: the service (`require_perm(..., now=now)`) or the view
# (ActionView reads the clock once) says when the action happens.

_ACTING_AT: ContextVar[datetime | None] = ContextVar("acting_at", default=None)


@contextmanager
def acting_at(now: datetime | None) -> Iterator[None]:
    """Permission rules asked inside this block judge the action as happening at `now` (None: no change)."""
    if now is None:
        yield
        return
    token = _ACTING_AT.set(now)
    try:
        yield
    finally:
        _ACTING_AT.reset(token)


def acting_now() -> datetime:
    """When the action a permission rule is judging happens: the `now` its service or view gave
    (`acting_at`), else the moment of asking (a page deciding which links to show, a shell)."""
    return _ACTING_AT.get() or timezone.now()
