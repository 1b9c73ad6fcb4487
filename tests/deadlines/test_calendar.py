"""The worked examples in docs/practice-frameworks.md ("Units"), and the edges around them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from deadlines.calendar import (
    LONDON,
    UNITS,
    Limit,
    WorkingCalendar,
    add_calendar_months,
    add_working_days,
    build_calendar,
    compute_deadline,
    compute_limit,
    end_of_local_day,
    is_working_day,
)

CAL = build_calendar()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def end_of(y: int, m: int, d: int) -> datetime:
    return london(y, m, d, 23, 59, 59)


# --- the calendar itself ---------------------------------------------------------------------


def test_bank_holidays_2026_are_non_working():
    for d in [
        date(2026, 1, 1),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),  # Boxing Day (substitute day)
    ]:
        assert not is_working_day(CAL, d), d


def test_weekends_are_not_working_days_and_ordinary_weekdays_are():
    assert not is_working_day(CAL, date(2026, 5, 2))  # Saturday
    assert not is_working_day(CAL, date(2026, 5, 3))  # Sunday
    assert is_working_day(CAL, date(2026, 5, 5))  # Tuesday


def test_scottish_only_holidays_do_not_count():
    # 2 January and St Andrew's Day are bank holidays in Scotland, not in England.
    assert is_working_day(CAL, date(2026, 1, 2))
    assert is_working_day(CAL, date(2026, 11, 30))


def test_is_working_day_uses_the_local_date_of_an_aware_datetime():
    # 23:30 UTC on Monday 3 August 2026 is already Tuesday in London (BST).
    assert is_working_day(CAL, datetime(2026, 8, 3, 23, 30, tzinfo=UTC))
    # 23:30 UTC on Friday 1 May 2026 is Saturday 00:30 in London.
    assert not is_working_day(CAL, datetime(2026, 5, 1, 23, 30, tzinfo=UTC))


def test_default_calendar_covers_2015_to_2040():
    assert not is_working_day(CAL, date(2015, 12, 25))
    assert not is_working_day(CAL, date(2040, 12, 25))


def test_dates_outside_the_calendar_years_are_refused_not_guessed():
    small = build_calendar(years=range(2026, 2027))
    with pytest.raises(ValueError, match="outside the working calendar"):
        is_working_day(small, date(2027, 1, 4))


def test_build_calendar_rejects_datetimes_as_closure_days():
    with pytest.raises(ValueError, match="dates"):
        build_calendar(closure_days=[london(2026, 12, 29)])


def test_calendar_is_frozen_and_hashable():
    cal = build_calendar(closure_days=[date(2026, 12, 29)])
    assert hash(cal) == hash(build_calendar(closure_days=[date(2026, 12, 29)]))
    with pytest.raises(AttributeError):
        cal.non_working = frozenset()  # type: ignore[misc]


# --- working days ------------------------------------------------------------------------------


def test_one_working_day_from_saturday_skips_the_may_bank_holiday():
    # 4 May 2026 is the Early May bank holiday; the Saturday start never counts.
    assert add_working_days(CAL, date(2026, 5, 2), 1) == date(2026, 5, 5)


def test_the_start_date_never_counts_even_when_it_is_a_working_day():
    assert add_working_days(CAL, date(2026, 5, 5), 1) == date(2026, 5, 6)
    assert add_working_days(CAL, date(2026, 5, 8), 1) == date(2026, 5, 11)  # Fri -> Mon


def test_zero_working_days_is_the_start_date():
    assert add_working_days(CAL, date(2026, 5, 2), 0) == date(2026, 5, 2)


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(CAL, date(2026, 5, 2), -1)


def test_ten_working_days_over_easter_2026():
    # Thu 2 Apr 2026: Good Friday 3 and Easter Monday 6 April are skipped, so the 10th
    # working day is Monday 20 April, not Thursday 16 April.
    assert add_working_days(CAL, date(2026, 4, 2), 10) == date(2026, 4, 20)


# --- the worked examples ------------------------------------------------------------------------


CHRISTMAS_EVE_2026_3PM = london(2026, 12, 24, 15, 0)


def test_three_calendar_days_from_christmas_eve_ends_end_of_sunday():
    assert compute_limit(CAL, CHRISTMAS_EVE_2026_3PM, 3, "calendar_days") == end_of(2026, 12, 27)


def test_one_working_day_from_christmas_eve_ends_end_of_tuesday_29th():
    # 25 and 28 December 2026 are bank holidays; 26, 27 are the weekend.
    assert compute_limit(CAL, CHRISTMAS_EVE_2026_3PM, 1, "working_days") == end_of(2026, 12, 29)


def test_christmas_eve_example_as_a_deadline_with_both_figures():
    expected_at, due_at = compute_deadline(
        CAL,
        CHRISTMAS_EVE_2026_3PM,
        Limit(1, "working_days"),
        Limit(3, "calendar_days"),
    )
    assert due_at == end_of(2026, 12, 27)
    # 1 working day (29th) lands after the 3-calendar-day maximum (27th): clamped.
    assert expected_at == due_at


def test_one_working_day_from_saturday_2_may_ends_tuesday_5_may():
    start = london(2026, 5, 2, 10, 0)
    assert compute_limit(CAL, start, 1, "working_days") == end_of(2026, 5, 5)


def test_24_hours_across_the_spring_clock_change_is_exact_elapsed_time():
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026.
    start = london(2026, 3, 28, 12, 0)  # GMT
    limit = compute_limit(CAL, start, 24, "hours")
    assert limit == london(2026, 3, 29, 13, 0)
    assert limit.utcoffset() == timedelta(hours=1)
    assert (limit.hour, limit.minute) == (13, 0)
    # Same-zone subtraction is wall-clock arithmetic in Python; compare real time in UTC.
    assert limit.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)


def test_24_hours_across_the_autumn_clock_change_is_exact_elapsed_time():
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    start = london(2026, 10, 24, 12, 0)  # BST
    limit = compute_limit(CAL, start, 24, "hours")
    assert limit.utcoffset() == timedelta(0)
    assert (limit.day, limit.hour, limit.minute) == (25, 11, 0)
    assert limit.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)


def test_day_limits_end_at_local_midnight_across_clock_changes():
    spring = compute_limit(CAL, london(2026, 3, 28, 12, 0), 1, "calendar_days")
    assert spring == end_of(2026, 3, 29)
    assert spring.astimezone(UTC) == datetime(2026, 3, 29, 22, 59, 59, tzinfo=UTC)
    autumn = compute_limit(CAL, london(2026, 10, 24, 12, 0), 1, "calendar_days")
    assert autumn.astimezone(UTC) == datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC)


def test_every_calendar_month_from_31_january_ends_on_the_last_day_of_february():
    assert compute_limit(CAL, london(2026, 1, 31, 9, 0), 1, "calendar_months") == end_of(2026, 2, 28)
    assert compute_limit(CAL, london(2027, 1, 31, 9, 0), 1, "calendar_months") == end_of(2027, 2, 28)


def test_every_calendar_month_in_a_leap_year_ends_on_29_february():
    assert compute_limit(CAL, london(2028, 1, 31, 9, 0), 1, "calendar_months") == end_of(2028, 2, 29)
    assert compute_limit(CAL, london(2028, 1, 29, 9, 0), 1, "calendar_months") == end_of(2028, 2, 29)


def test_calendar_months_roll_over_the_year_and_keep_the_day_when_they_can():
    assert add_calendar_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_calendar_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_calendar_months(date(2026, 4, 15), 12) == date(2027, 4, 15)
    assert add_calendar_months(date(2026, 1, 31), 0) == date(2026, 1, 31)


def test_easter_2026_two_working_days_outlast_five_calendar_days_so_expected_is_the_maximum():
    start = london(2026, 4, 2, 14, 0)  # Maundy Thursday
    assert compute_limit(CAL, start, 2, "working_days") == end_of(2026, 4, 8)
    expected_at, due_at = compute_deadline(CAL, start, Limit(2, "working_days"), Limit(5, "calendar_days"))
    assert due_at == end_of(2026, 4, 7)
    assert expected_at == due_at


def test_expected_stays_earlier_than_maximum_when_it_is():
    start = london(2026, 6, 1, 10, 0)  # Monday
    expected_at, due_at = compute_deadline(CAL, start, Limit(2, "working_days"), Limit(5, "calendar_days"))
    assert expected_at == end_of(2026, 6, 3)
    assert due_at == end_of(2026, 6, 6)


def test_new_year_one_working_day_from_new_years_eve():
    # Fri 1 January 2027 is a bank holiday, then the weekend.
    start = london(2026, 12, 31, 16, 30)
    assert compute_limit(CAL, start, 1, "working_days") == end_of(2027, 1, 4)
    assert compute_limit(CAL, start, 1, "end_of_next_working_day") == end_of(2027, 1, 4)
    assert compute_limit(CAL, start, 1, "calendar_days") == end_of(2027, 1, 1)


def test_local_closure_days_are_not_working_days():
    closed = build_calendar(closure_days=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])
    assert not is_working_day(closed, date(2026, 12, 29))
    assert is_working_day(CAL, date(2026, 12, 29))
    assert compute_limit(closed, CHRISTMAS_EVE_2026_3PM, 1, "working_days") == end_of(2027, 1, 4)
    # Calendar days do not care about closures.
    assert compute_limit(closed, CHRISTMAS_EVE_2026_3PM, 3, "calendar_days") == end_of(2026, 12, 27)


def test_end_of_next_working_day_from_a_friday_afternoon():
    assert compute_limit(CAL, london(2026, 6, 5, 17, 0), 1, "end_of_next_working_day") == end_of(2026, 6, 8)


def test_end_of_next_working_day_takes_amount_one_only():
    with pytest.raises(ValueError, match="amount 1"):
        compute_limit(CAL, london(2026, 6, 5, 17, 0), 2, "end_of_next_working_day")


def test_calendar_weeks_are_seven_day_blocks():
    assert compute_limit(CAL, london(2026, 6, 1, 10, 0), 4, "calendar_weeks") == end_of(2026, 6, 29)
    assert compute_limit(CAL, london(2026, 6, 1, 10, 0), 6, "calendar_weeks") == end_of(2026, 7, 13)


# --- time zones -----------------------------------------------------------------------------------


def test_day_limits_count_from_the_local_date_not_the_utc_date():
    # 23:30 UTC on 30 June 2026 is 00:30 BST on 1 July: one calendar day ends end of 2 July.
    start = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert compute_limit(CAL, start, 1, "calendar_days") == end_of(2026, 7, 2)


def test_results_are_in_europe_london():
    start = datetime(2026, 6, 30, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    for unit in UNITS:
        limit = compute_limit(CAL, start, 1, unit)
        assert limit.tzinfo is LONDON, unit
        assert limit.microsecond == 0 or unit == "hours"


def test_end_of_local_day_is_23_59_59_london():
    value = end_of_local_day(date(2026, 3, 29))
    assert (value.hour, value.minute, value.second, value.microsecond) == (23, 59, 59, 0)
    assert value.tzinfo is LONDON
    assert value.utcoffset() == timedelta(hours=1)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 12, 24, 15, 0)  # naive on purpose
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_limit(CAL, naive, 1, "calendar_days")
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_deadline(CAL, naive, None, Limit(1, "hours"))
    with pytest.raises(ValueError, match="timezone-aware"):
        is_working_day(CAL, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        end_of_local_day(naive)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "message"),
    [
        (1, "fortnights", "unknown unit"),
        (-1, "hours", "negative"),
        (1.5, "hours", "whole number"),
        (True, "hours", "whole number"),
    ],
)
def test_bad_limits_are_refused(amount, unit, message):
    with pytest.raises(ValueError, match=message):
        compute_limit(CAL, london(2026, 6, 1, 10, 0), amount, unit)


def test_deadline_without_limits_is_none_none():
    assert compute_deadline(CAL, london(2026, 6, 1, 10, 0), None, None) == (None, None)


def test_deadline_with_only_one_figure():
    start = london(2026, 6, 1, 10, 0)
    assert compute_deadline(CAL, start, Limit(6, "calendar_months"), None) == (end_of(2026, 12, 1), None)
    assert compute_deadline(CAL, start, None, Limit(24, "hours")) == (None, london(2026, 6, 2, 10, 0))


def test_a_hand_built_calendar_works_without_the_holidays_package():
    cal = WorkingCalendar(non_working=frozenset({date(2026, 6, 2)}), years=range(2026, 2027))
    assert add_working_days(cal, date(2026, 6, 1), 1) == date(2026, 6, 3)
