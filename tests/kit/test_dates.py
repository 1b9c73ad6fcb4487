"""One date format in the product's text: "6 December 2026", "6 December 2026, 14:05" (ADR 0036)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from kit.dates import long_date, long_datetime


def test_a_date_has_no_leading_zero_and_the_month_in_full():
    assert long_date(date(2026, 12, 6)) == "6 December 2026"


def test_a_datetime_is_written_in_london_time_with_a_comma_before_the_time():
    assert long_datetime(datetime(2026, 7, 6, 13, 5, tzinfo=UTC)) == "6 July 2026, 14:05"
    assert long_date(datetime(2026, 7, 5, 23, 30, tzinfo=UTC)) == "6 July 2026"
