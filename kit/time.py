"""Time as councils count it: every clock, date field and report is in Europe/London."""

from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
