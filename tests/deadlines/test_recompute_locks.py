"""A recompute job and a request on the same contact at once: neither waits on the other in a cycle.

A request locks its contact, then the engine its clocks (workflows' services). Moving a contact's clock
also updates the contact's row (its earliest open due time, a trigger of cases 0024), so a recompute that
locked the clocks first and the contact second would deadlock with such a request: PostgreSQL would end
one of them. The recompute takes the contacts first, in id order, then the clocks.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from django.db import connection, transaction

from cases.models import Contact
from deadlines import events as ev
from deadlines.models import Deadline
from deadlines.services import deadline_record_event, deadlines_recompute_open
from tests.deadlines.conftest import latest, london

XMAS_EVE = london(2026, 12, 24, 15, 0)


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_locks, not pg_stat_activity: the latter is a snapshot kept for the rest of a transaction.
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid())")
        return cursor.fetchone()[0]


def _beside_a_request_holding(contact, work, *, what: str) -> tuple[list, list]:
    """Run `work()` in another connection while a request holds `contact`, then has the request lock the
    contact's open clocks (its order: the contact, then its clocks). `work` must wait for the contact,
    not hold a clock the request waits for; both must finish. Returns what `work` gave and the clocks
    the request locked."""
    results: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                results.append(work())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    job = threading.Thread(target=run)
    with transaction.atomic():
        Contact.objects.select_for_update().get(pk=contact.pk)
        job.start()
        waited = time.monotonic() + 10
        while not _someone_waits_on_a_lock() and time.monotonic() < waited:
            time.sleep(0.05)
        assert _someone_waits_on_a_lock(), (f"the {what} should wait for the request's contact", results, errors)
        time.sleep(0.2)
        locked = list(Deadline.objects.select_for_update().filter(contact=contact, stopped_at__isnull=True))
    job.join(timeout=30)
    assert not job.is_alive()
    assert not errors, errors
    return results, locked


@pytest.mark.django_db(transaction=True)
def test_a_recompute_and_a_request_holding_the_contact_both_finish(make_contact, book_b, cal):
    contact = make_contact(received_at=XMAS_EVE)
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    book = book_b[0]
    b1 = book.rules["B1"]
    edited = dataclasses.replace(
        book, rules={**book.rules, "B1": dataclasses.replace(b1, maximum=dataclasses.replace(b1.maximum, amount=10))}
    )
    before = latest("B1", contact=contact).due_at
    moved, locked = _beside_a_request_holding(
        contact,
        lambda: deadlines_recompute_open(now=XMAS_EVE, calendar=cal, rulebooks=(edited,)),
        what="recompute",
    )
    assert len(locked) == 2
    assert moved == [1]
    assert latest("B1", contact=contact).due_at != before
    assert Contact.objects.values_list("earliest_due_at", flat=True).get(pk=contact.pk) == min(
        Deadline.objects.filter(contact=contact, stopped_at__isnull=True).values_list("due_at", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_an_event_on_the_episode_and_a_request_holding_its_contact_both_finish(make_contact, make_episode, book_b, cal):
    """`allocated` on an episode stops B4 on the contact it came from: the event takes the contact before
    the contact's clocks, so it waits on a request holding the contact rather than holding the clocks
    the request locks next (a deadlock PostgreSQL would end by failing one of them)."""
    contact = make_contact(received_at=XMAS_EVE)
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal)
    deadline_record_event(
        event=ev.SCREENING_DECIDED_ALLOCATE, now=XMAS_EVE, contact=contact, rulebooks=book_b, calendar=cal
    )
    episode = make_episode(opened_at=XMAS_EVE, contact=contact)
    assert Deadline.objects.filter(contact=contact, rule_id="B4", stopped_at__isnull=True).exists()
    results, locked = _beside_a_request_holding(
        contact,
        lambda: deadline_record_event(
            event=ev.ALLOCATED, now=XMAS_EVE, episode=episode, rulebooks=book_b, calendar=cal
        ),
        what="event",
    )
    assert locked
    assert "B4" in results[0].stopped_rules
    assert Contact.objects.values_list("earliest_due_at", flat=True).get(pk=contact.pk) == min(
        Deadline.objects.filter(contact=contact, stopped_at__isnull=True).values_list("due_at", flat=True),
        default=None,
    )
