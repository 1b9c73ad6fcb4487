"""The fast `date` filter writes exactly what Django's writes (kit/templatetags/fast_date.py, ADR 0077)."""

from __future__ import annotations

import datetime
import functools
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Engine, engines
from django.utils import timezone, translation

from kit.templatetags.fast_date import FORMATS

LONDON = ZoneInfo("Europe/London")
OTHER_FORMATS = ["j M Y", "d/m/Y H:i", "N j, Y, P", "DATE_FORMAT", ""]


SOURCE = "{{ v|date:f }}"
DJANGOS = Engine().from_string(SOURCE)  # Django's builtins only


def _both(value, fmt: str) -> tuple[str, str]:
    ours = _ours().render({"v": value, "f": fmt})
    return ours, DJANGOS.render(Context({"v": value, "f": fmt}))


@functools.cache
def _ours():
    return engines["django"].from_string(SOURCE)


def _values():
    start = datetime.datetime(2026, 1, 1, 0, 30, tzinfo=datetime.UTC)
    for hour in range(0, 366 * 24, 29):  # every 29th hour of 2026: every hour of the day, weekday and month
        yield start + datetime.timedelta(hours=hour)
    for moment in ("2026-03-29T00:59", "2026-03-29T01:00", "2026-10-25T00:59", "2026-10-25T01:00"):
        yield datetime.datetime.fromisoformat(moment).replace(tzinfo=datetime.UTC)  # either side of the changes
    yield datetime.datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON)
    yield datetime.datetime(999, 5, 4, 3, 2, tzinfo=datetime.UTC)  # a year of three digits
    yield datetime.datetime(2026, 7, 4, 9, 5)  # naive
    for day in range(1, 32):
        yield datetime.date(2026, 12, day)


@pytest.mark.parametrize("fmt", [*FORMATS, *OTHER_FORMATS])
def test_every_format_matches_django_for_every_kind_of_value(fmt, settings):
    settings.USE_TZ = True
    for value in _values():
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime) and ("H" in fmt or "P" in fmt):
            continue  # Django refuses a time of day for a date; ours hands it to Django (below)
        ours, djangos = _both(value, fmt)
        assert ours == djangos, (value, fmt)


@pytest.mark.parametrize("value", [None, "", "not a date", 0, datetime.time(9, 30)])
def test_anything_else_goes_to_django(value):
    for fmt in [*FORMATS, *OTHER_FORMATS]:
        if isinstance(value, datetime.time) and "j" in fmt:
            continue  # Django raises for a day of a time; the same call is made
        assert _both(value, fmt)[0] == _both(value, fmt)[1]


def test_a_date_asked_for_a_time_of_day_behaves_as_django_does():
    for fmt in ("j F Y, H:i", "l j F Y, H:i"):
        with pytest.raises(TypeError):
            _both(datetime.date(2026, 12, 1), fmt)


def test_another_language_is_written_by_django():
    value = timezone.make_aware(datetime.datetime(2026, 6, 1, 12, 0))
    with translation.override("fr"):
        ours, djangos = _both(value, "j F Y")
    assert ours == djangos == "1 juin 2026"


def test_aware_values_are_shown_in_london_time():
    summer = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)
    assert _both(summer, "j F Y, H:i")[0] == "2 July 2026, 00:30"
