"""The one way a date is written in the product's text: "6 December 2026", with a time "6 December 2026, 14:05".

No leading zero on the day ("06 December" reads as a typing error), the month in full, the time in 24-hour
London time. Templates use the same formats: `|date:"j F Y"` and `|date:"j F Y, H:i"` (ADR 0036).
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from kit.time import LONDON


def long_date(value: date | datetime) -> str:
    """ "6 December 2026" (a datetime is taken in London time)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value, LONDON)
    return f"{value.day} {value:%B %Y}"


def long_datetime(value: datetime) -> str:
    """ "6 December 2026, 14:05" in London time."""
    if timezone.is_aware(value):
        value = timezone.localtime(value, LONDON)
    return f"{value.day} {value:%B %Y}, {value:%H:%M}"
