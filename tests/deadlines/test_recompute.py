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


@pytest.mark.django_db
def test_a_closure_day_moves_open_working_day_limits_and_leaves_closed_rows(make_episode, make_contact, book_b, cal):
    recorded, waiting = make_episode(opened_at=XMAS_EVE), make_episode(opened_at=XMAS_EVE)
    for ep in (recorded, waiting):  # B18: case recording by the end of the next working day
        deadline_record_event(event=ev.VISIT_RECORDED, now=XMAS_EVE, episode=ep, rulebooks=book_b, calendar=cal)
    deadline_record_event(
        event=ev.CASE_RECORDED, now=XMAS_EVE + timedelta(hours=1), episode=recorded, rulebooks=book_b, calendar=cal
    )
    contact = make_contact(received_at=XMAS_EVE)  # B1, B2: calendar-day maximums
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    before = {d.pk: (d.expected_at, d.due_at) for d in Deadline.objects.all()}
    assert latest("B18", episode=waiting).due_at == end_of(2026, 12, 29)  # 25 and 28 Dec are bank holidays
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=cal, rulebooks=book_b) == 0  # nothing to do

    for day in (29, 30, 31):
        ClosureDay.objects.create(date=date(2026, 12, day), reason="Christmas closure")
    with_closures = current_calendar()
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=with_closures, rulebooks=book_b) == 1
    assert latest("B18", episode=waiting).due_at == end_of(2027, 1, 4)
    # The met clock kept the limit it was judged against; calendar-day limits did not move, and
    # B2's expected time (1 working day) was already clamped to its 3-day maximum.
    after = {d.pk: (d.expected_at, d.due_at) for d in Deadline.objects.exclude(episode=waiting)}
    assert after == {pk: v for pk, v in before.items() if pk in after}
    assert latest("B18", episode=recorded).due_at == end_of(2026, 12, 29)
    assert latest("B2", contact=contact).expected_at == end_of(2026, 12, 27)
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=with_closures, rulebooks=book_b) == 0
    assert deadlines_recompute_open(now=XMAS_EVE, calendar=build_calendar(), rulebooks=book_b) == 1  # and back


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


@pytest.mark.django_db
def test_a_closure_day_preview_counts_what_would_move_and_saves_nothing(make_episode, make_contact, book_b, cal):
    from deadlines.services import closure_day_preview

    waiting = make_episode(opened_at=XMAS_EVE)  # B18: by the end of the next working day, 29 December
    deadline_record_event(event=ev.VISIT_RECORDED, now=XMAS_EVE, episode=waiting, rulebooks=book_b, calendar=cal)
    contact = make_contact(received_at=XMAS_EVE)  # calendar-day limits: never moved by a closure day
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    far = make_episode(opened_at=london(2026, 3, 2, 9))  # far from the day: not even read
    deadline_record_event(
        event=ev.VISIT_RECORDED, now=london(2026, 3, 2, 9), episode=far, rulebooks=book_b, calendar=cal
    )
    before = {d.pk: (d.expected_at, d.due_at) for d in Deadline.objects.all()}
    b18 = latest("B18", episode=waiting)

    # Before 29 December: B18 would be due on the 30th, and is already overdue by then.
    preview = closure_day_preview(day=date(2026, 12, 29), adding=True, now=london(2026, 12, 30, 12))
    assert (preview.moved, preview.overdue, preview.breached) == (1, 0, 0)
    assert [(c.pk, old, new) for c, old, new in preview.sample] == [
        (b18.pk, end_of(2026, 12, 29), end_of(2026, 12, 30))
    ]
    # Looked at on the 30th at noon, without the closure day B18 is already breached; with it, not yet.
    late = closure_day_preview(day=date(2026, 12, 29), adding=True, now=london(2026, 12, 31, 9))
    assert (late.moved, late.breached) == (1, 0)  # breached either way: not newly breached
    assert {d.pk: (d.expected_at, d.due_at) for d in Deadline.objects.all()} == before  # nothing saved

    # Removing a closure day that moved it brings it back, and can newly breach.
    ClosureDay.objects.create(date=date(2026, 12, 29), reason="Christmas closure")
    deadlines_recompute_open(now=XMAS_EVE, calendar=current_calendar())
    assert latest("B18", episode=waiting).due_at == end_of(2026, 12, 30)
    removing = closure_day_preview(day=date(2026, 12, 29), adding=False, now=london(2026, 12, 30, 12))
    assert (removing.moved, removing.breached) == (1, 1)
    assert removing.sample[0][1:] == (end_of(2026, 12, 30), end_of(2026, 12, 29))


@pytest.mark.django_db
def test_the_closure_day_pages_show_the_preview(client, users, make_episode, book_b, cal):
    from django.urls import reverse

    waiting = make_episode(opened_at=XMAS_EVE)
    deadline_record_event(event=ev.VISIT_RECORDED, now=XMAS_EVE, episode=waiting, rulebooks=book_b, calendar=cal)
    client.force_login(users["admin"])
    form = {"date_0": "29", "date_1": "12", "date_2": "2026", "reason": "Christmas closure"}
    page = client.post(reverse("deadlines:closure_day_add"), form)
    body = page.content.decode()
    assert page.status_code == 200 and 'id="closure-preview"' in body
    assert reverse("deadlines:clock_explain", args=[latest("B18", episode=waiting).pk]) in body
    assert 'name="confirm" value="yes"' in body and 'name="reason" value="Christmas closure"' in body
    assert not ClosureDay.objects.exists()
    day = ClosureDay.objects.create(date=date(2026, 12, 29), reason="Christmas closure")
    page = client.get(reverse("deadlines:closure_day_delete", args=[day.pk]))
    assert page.status_code == 200 and 'id="closure-preview"' in page.content.decode()
