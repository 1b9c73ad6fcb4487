"""After the calendar changes, open deadlines are recomputed; finished ones keep their history."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from deadlines import events as ev
from deadlines.calendar import build_calendar
from deadlines.calendar_source import current_calendar
from deadlines.models import ClosureDay, Deadline
from deadlines.services import deadline_record_event, deadlines_recompute_open
from tests.deadlines.conftest import latest, london

XMAS_EVE = london(2026, 12, 24, 15, 0)


def end_of(y: int, m: int, d: int):
    return london(y, m, d, 23, 59, 59)


@pytest.fixture
def two_contacts(make_contact, book_b, cal):
    """Two contacts received on Christmas Eve; the first was acknowledged at once (B2 met)."""
    done, running = make_contact(received_at=XMAS_EVE), make_contact(received_at=XMAS_EVE)
    for contact in (done, running):
        deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    deadline_record_event(
        event=ev.SCREENING_HELD, now=XMAS_EVE, contact=running, rulebooks=book_b, calendar=cal
    )  # B3: 1 working day expected, 3 calendar days maximum
    deadline_record_event(
        event=ev.ACKNOWLEDGEMENT_SENT, now=XMAS_EVE + timedelta(hours=1), contact=done, rulebooks=book_b, calendar=cal
    )
    return done, running


@pytest.mark.django_db
def test_a_closure_day_moves_open_working_day_limits_and_leaves_closed_rows(two_contacts, book_b):
    done, running = two_contacts
    closed_before = latest("B2", contact=done)
    # B18-like working-day limit: use a rule with a working-day maximum on the running contact.
    b3 = latest("B3", contact=running)
    # 1 working day from Christmas Eve is Tuesday 29th, after the maximum (Sunday 27th): clamped.
    assert (b3.expected_at, b3.due_at) == (end_of(2026, 12, 27), end_of(2026, 12, 27))

    # A rulebook with a longer, working-day only limit shows the move clearly.
    b9 = Deadline.objects.create(
        rulebook="family-solutions",
        rule_id="B9",
        title="First visit",
        contact=running,
        family_id=running.family_id,
        started_at=XMAS_EVE,
        due_at=end_of(2026, 12, 31),  # 5 working days: 29, 30, 31 Dec... computed below
    )
    cal = build_calendar()
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=cal, rulebooks=book_b) == 1  # B9 was wrong
    b9.refresh_from_db()
    assert b9.due_at == end_of(2027, 1, 4)  # 29, 30, 31 Dec, 1 Jan is a bank holiday, 4 Jan

    for day in (29, 30, 31):
        ClosureDay.objects.create(date=date(2026, 12, day), reason="Christmas closure")
    with_closures = current_calendar()
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=with_closures, rulebooks=book_b) == 1
    b9.refresh_from_db()
    assert b9.due_at == end_of(2027, 1, 7)  # 4, 5, 6, 7 Jan... the 5th working day after 24 Dec
    # Nothing else moved: the calendar-day clocks did not change, the met clock kept its history.
    assert latest("B3", contact=running).due_at == end_of(2026, 12, 27)
    closed_after = latest("B2", contact=done)
    assert (closed_after.expected_at, closed_after.due_at, closed_after.stopped_at) == (
        closed_before.expected_at,
        closed_before.due_at,
        closed_before.stopped_at,
    )
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=with_closures, rulebooks=book_b) == 0


@pytest.mark.django_db
def test_closure_days_change_open_working_day_deadlines_not_closed_ones(make_episode, users, cal, book_a):
    start = london(2026, 12, 18, 10, 0)  # Friday
    open_ep, closed_ep = make_episode(opened_at=start), make_episode(opened_at=start)
    for ep in (open_ep, closed_ep):
        deadline_record_event(event=ev.PLANNING_MEETING_HELD, now=start, episode=ep, rulebooks=book_a, calendar=cal)
    deadline_record_event(
        event=ev.EPISODE_CLOSED, now=start + timedelta(days=1), episode=closed_ep, rulebooks=book_a, calendar=cal
    )
    # A9: 10 working days from Fri 18 Dec: 21-24 Dec (4), 29-31 Dec (3), 4-6 Jan (3) -> Wed 6 Jan.
    assert latest("A9", episode=open_ep).due_at == end_of(2027, 1, 6)

    for day in (29, 30, 31):
        ClosureDay.objects.create(date=date(2026, 12, day), reason="Christmas closure")
    out = StringIO()
    call_command("recompute_deadlines", stdout=out)
    assert "1 changed" in out.getvalue()
    assert latest("A9", episode=open_ep).due_at == end_of(2027, 1, 11)  # three days later, over a weekend
    assert latest("A9", episode=closed_ep).due_at == end_of(2027, 1, 6)  # withdrawn: history kept


@pytest.mark.django_db
def test_a_rulebook_edit_reaches_open_clocks_and_a_removed_rule_is_left_alone(make_contact, book_b, cal, caplog):
    import dataclasses

    contact = make_contact(received_at=XMAS_EVE)
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    book = book_b[0]
    b1 = book.rules["B1"]
    edited = dataclasses.replace(
        book, rules={"B1": dataclasses.replace(b1, maximum=dataclasses.replace(b1.maximum, amount=10))}
    )
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=cal, rulebooks=(edited,)) == 1
    assert latest("B1", contact=contact).due_at == end_of(2027, 1, 3)
    assert latest("B2", contact=contact).due_at == end_of(2026, 12, 27)  # B2 dropped: untouched
    assert "rule B2 in rulebook family-solutions: the rule is no longer configured" in caplog.text
