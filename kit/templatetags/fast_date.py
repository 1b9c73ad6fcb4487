"""The `date` filter, for the formats the templates use, without Django's general formatter (ADR 0077).

Django's `date` filter interprets its format string character by character on every call, through the
localisation machinery: about 50 µs a date. The family page shows about 90 dates (its chronology and
history): 4.4 ms of its 27 ms of CPU at 5,000 families. The templates use five formats, all in English
(LANGUAGE_CODE en-gb). This library is one of the template engine's builtins (settings `TEMPLATES`), so
its `date` replaces Django's everywhere: those five formats are written directly; any other format, value
or language goes to Django's own filter, unchanged. tests/kit/test_fast_date.py compares the two over
every hour of a year (both clock changes), dates, naive and aware values, and the other cases.
"""

from __future__ import annotations

import datetime

from django import template
from django.template import defaultfilters
from django.utils import translation

register = template.Library()

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGLISH = {"en", "en-gb", "en-us"}


def _day_month_year(v: datetime.date) -> str:
    return f"{v.day} {MONTHS[v.month - 1]} {v.year:04d}"


def _time(v: datetime.datetime) -> str:
    return f"{v.hour:02d}:{v.minute:02d}"


# format -> (writer, whether it needs a time of day)
FORMATS = {
    "j F Y": (_day_month_year, False),
    "F Y": (lambda v: f"{MONTHS[v.month - 1]} {v.year:04d}", False),
    "l j F Y": (lambda v: f"{WEEKDAYS[v.weekday()]} {_day_month_year(v)}", False),
    "j F Y, H:i": (lambda v: f"{_day_month_year(v)}, {_time(v)}", True),
    "l j F Y, H:i": (lambda v: f"{WEEKDAYS[v.weekday()]} {_day_month_year(v)}, {_time(v)}", True),
}


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    """Django's `date` filter (the value already in local time, as Django's gets it)."""
    known = FORMATS.get(arg) if isinstance(arg, str) else None
    if known is not None and (translation.get_language() or "").lower() in ENGLISH:
        writer, needs_time = known
        kind = type(value)
        if kind is datetime.datetime or (kind is datetime.date and not needs_time):
            return writer(value)
    return defaultfilters.date(value, arg)
