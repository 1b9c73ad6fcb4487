"""A contact's `earliest_due_at` (ADR 86): the earliest due time of its open clocks, kept by triggers on the
clocks whatever writes them (a save, a queryset update, a delete, a clock moved to another contact), never
put back by a stale save of the contact, not in its history, and filled by the migration as the triggers
keep it. The triage queue's order by it is `with_time_left`'s order over the computed "next due"."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Min, Q

from cases.models import Contact
from deadlines.models import Deadline
from deadlines.selectors import with_time_left
from tests.factories import NOW, ContactFactory, DeadlineFactory, EpisodeFactory
from workflows.list_rows import in_triage_order

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def stored(contact) -> object:
    return Contact.objects.values_list("earliest_due_at", flat=True).get(pk=contact.pk)


def computed(contact) -> object:
    open_clocks = Deadline.objects.filter(contact=contact, stopped_at__isnull=True, due_at__isnull=False)
    return open_clocks.aggregate(m=Min("due_at"))["m"]


def test_every_change_of_a_contact_s_clocks_keeps_its_earliest_open_due_time():
    contact, other = ContactFactory(), ContactFactory()
    assert stored(contact) is None
    later = DeadlineFactory(contact=contact, rule_id="A1", due_at=NOW + 5 * H)
    assert stored(contact) == NOW + 5 * H
    sooner = DeadlineFactory(contact=contact, rule_id="A2", due_at=NOW + H)
    assert stored(contact) == NOW + H
    DeadlineFactory(contact=contact, rule_id="A3", due_at=NOW - 9 * H, stopped_at=NOW - 10 * H)  # started stopped
    DeadlineFactory(contact=contact, rule_id="A4", due_at=None)  # no due time
    DeadlineFactory(due_at=NOW - 99 * H)  # an episode's clock
    assert stored(contact) == NOW + H
    sooner.stopped_at, sooner.stop_reason = NOW, Deadline.StopReason.MET
    sooner.save()
    assert stored(contact) == NOW + 5 * H
    later.due_at = NOW + 2 * H
    later.save()
    assert stored(contact) == NOW + 2 * H
    # A queryset's update and delete (no signal, no save) are seen too.
    Deadline.objects.filter(pk=sooner.pk).update(stopped_at=None, stop_reason="")
    assert stored(contact) == NOW + H
    Deadline.objects.filter(pk=sooner.pk).update(contact=other)
    assert (stored(contact), stored(other)) == (NOW + 2 * H, NOW + H)
    Deadline.objects.filter(contact=contact).delete()
    assert stored(contact) is None and stored(other) == NOW + H
    # The alert job's columns change nothing, and fire nothing.
    Deadline.objects.filter(contact=other).update(breach_alerted_at=NOW)
    assert stored(other) == computed(other) == NOW + H


def test_a_stale_save_keeps_the_kept_value_and_history_does_not_see_it():
    contact = ContactFactory()
    stale = Contact.objects.get(pk=contact.pk)
    versions = contact.history.count()
    DeadlineFactory(contact=contact, rule_id="A1", due_at=NOW + H)
    assert contact.history.count() == versions  # the trigger's write is not a save
    stale.referrer_name = "Read before the clock started"
    stale.save()
    assert stored(contact) == NOW + H
    assert Contact.objects.get(pk=contact.pk).referrer_name == "Read before the clock started"
    assert "earliest_due_at" not in {f.name for f in Contact.history.model._meta.fields}


def test_the_migration_fills_what_the_triggers_keep():
    contacts = [ContactFactory() for _ in range(4)]
    for i, contact in enumerate(contacts[:3]):
        for j in range(i + 1):
            DeadlineFactory(contact=contact, rule_id=f"A{j}", due_at=NOW + (j - i) * H, stopped_at=None)
    DeadlineFactory(contact=contacts[2], rule_id="S", due_at=NOW - 50 * H, stopped_at=NOW - 60 * H)
    kept = {c.pk: stored(c) for c in contacts}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_contact SET earliest_due_at = NULL")
        cursor.execute(importlib.import_module("cases.migrations.0024_contact_next_due").FILL)
    assert {c.pk: stored(c) for c in contacts} == kept == {c.pk: computed(c) for c in contacts}
    assert kept[contacts[3].pk] is None and None not in [kept[c.pk] for c in contacts[:3]]


def test_the_queue_s_order_is_with_time_left_s():
    states = (Contact.State.RECEIVED, Contact.State.SCREENING, Contact.State.AWAITING_CONSENT)
    for n in range(18):
        contact = ContactFactory(state=states[n % 3], received_at=NOW - (n % 5) * H)
        for k in range(n % 3):  # none, one or two open clocks; ties on due time and on received time
            DeadlineFactory(contact=contact, rule_id=f"R{k}", due_at=NOW + ((n + k) % 4 - 1) * H)
    EpisodeFactory()
    queue = Contact.objects.filter(Q(state__in=states))
    expected = list(with_time_left(queue, now=NOW).values_list("pk", "next_due_at"))
    assert list(in_triage_order(queue).values_list("pk", "earliest_due_at")) == expected
    assert sum(due is None for _, due in expected) == 6
