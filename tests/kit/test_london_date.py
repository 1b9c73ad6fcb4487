""" "Today" is the day in England, never the UTC date: at 00:30 in summer time UTC is still on the day
before. The rulebook editor's example start times and the demo's morning contacts count from it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from deadlines import versions
from deadlines.calendar import build_calendar
from kit.time import LONDON, london_date
from tests.factories import FamilyFactory, children_of
from workflows.demo import record_demo_contacts

# Tuesday 1 September 2026, 00:30 BST: 23:30 UTC on Monday 31 August, the summer bank holiday.
AFTER_THE_BANK_HOLIDAY = datetime(2026, 9, 1, 0, 30, tzinfo=LONDON)
# Monday 29 March 2027, 00:30 BST: 23:30 UTC on Sunday 28 March, the night the clocks went forward.
AFTER_THE_CLOCKS_WENT_FORWARD = datetime(2027, 3, 29, 0, 30, tzinfo=LONDON)


def test_london_date_is_the_day_in_england():
    assert AFTER_THE_BANK_HOLIDAY.date() == date(2026, 9, 1)
    utc = AFTER_THE_BANK_HOLIDAY.astimezone(UTC)
    assert utc.date() == date(2026, 8, 31)
    assert london_date(utc) == london_date(AFTER_THE_BANK_HOLIDAY) == date(2026, 9, 1)
    assert london_date(datetime(2026, 12, 1, 0, 30, tzinfo=LONDON)) == date(2026, 12, 1)  # GMT: the same day


@pytest.mark.parametrize("now", [AFTER_THE_BANK_HOLIDAY, AFTER_THE_CLOCKS_WENT_FORWARD])
def test_example_start_times_are_never_before_the_day_in_england(now):
    calendar = build_calendar()
    utc_now = now.astimezone(UTC)
    examples = dict(versions.example_starts(utc_now, calendar))
    assert len(examples) == 10
    holiday = next(start for label, start in examples.items() if label.startswith("A bank holiday"))
    assert holiday.date() >= london_date(now), holiday  # not yesterday's bank holiday
    assert holiday.date() in calendar.non_working
    forward = examples["The night the clocks go forward"]
    assert forward > now, forward  # not the night just gone
    assert all(start.date() >= london_date(now) for label, start in examples.items() if "clocks" in label)


@pytest.mark.django_db
def test_the_demo_leaves_out_a_child_who_turns_18_today_in_england_at_00_30(users, team):
    family = FamilyFactory(team=team, children=2)
    older, younger = children_of(family)
    older.date_of_birth = date(2008, 9, 1)  # 18 on Tuesday 1 September 2026
    older.save()
    younger.date_of_birth = date(2015, 5, 5)
    younger.save()
    with time_machine.travel(AFTER_THE_BANK_HOLIDAY, tick=False):
        now = AFTER_THE_BANK_HOLIDAY.astimezone(UTC)
        (contact,) = record_demo_contacts([family], by=users["mash"], now=now)
    assert list(contact.subjects.all()) == [younger]
