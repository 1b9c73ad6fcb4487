"""Time as councils count it: every clock, date field and report is in Europe/London."""

from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def london_date(moment):
    """The day it is in England at `moment` (an aware datetime): never the UTC date, which is the
    day before between midnight and 01:00 in summer time."""
    return moment.astimezone(LONDON).date()
