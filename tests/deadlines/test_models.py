"""Deadline status is derived from timestamps and `now` in the query; constraints hold the line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from deadlines.models import Deadline, Status
from tests.deadlines.conftest import london

START = london(2026, 3, 2, 9, 0)  # Monday


@pytest.fixture
def contact(make_contact):
    return make_contact(received_at=START)


def make(subject, rule_id="B2", **fields) -> Deadline:
    values = {
        "rulebook": "family-solutions",
        "rule_id": rule_id,
        "title": "t",
        "contact": subject,
        "family_id": subject.family_id if subject else None,
        "started_at": START,
        "expected_at": START + timedelta(days=1),
        "due_at": START + timedelta(days=3),
    }
    values.update(fields)
    return Deadline.objects.create(**values)


def status_at(deadline: Deadline, now) -> str:
    return Deadline.objects.with_status(now).get(pk=deadline.pk).status


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hours_after_start", "expected"),
    [
        (0, Status.ON_TIME),
        (23, Status.ON_TIME),
        (24, Status.DUE_SOON),  # 24 hours left counts as within 24 hours
        (48, Status.DUE_SOON),  # exactly at the expected time is not past it
        (49, Status.OVERDUE),
        (72, Status.OVERDUE),  # and now within 24h of the maximum: overdue wins
        (96, Status.OVERDUE),  # at the maximum, not past it
        (97, Status.BREACHED),
        (24 * 30, Status.BREACHED),
    ],
)
def test_open_status_at_pinned_times(contact, hours_after_start, expected):
    deadline = make(contact, expected_at=START + timedelta(days=2), due_at=START + timedelta(days=4))
    assert status_at(deadline, START + timedelta(hours=hours_after_start)) == expected


@pytest.mark.django_db
def test_status_is_never_stored_the_same_row_reads_differently_at_different_times(contact):
    deadline = make(contact)
    statuses = Deadline.objects.with_status(START + timedelta(hours=25)).values_list("status", flat=True)
    assert list(statuses) == [Status.OVERDUE]
    assert status_at(deadline, START - timedelta(hours=1)) == Status.ON_TIME
    assert not hasattr(Deadline.objects.get(pk=deadline.pk), "status")


@pytest.mark.django_db
def test_a_maximum_only_rule_is_due_soon_then_breached(contact):
    deadline = make(contact, expected_at=None, due_at=START + timedelta(hours=24))
    assert status_at(deadline, START) == Status.DUE_SOON
    assert status_at(deadline, START + timedelta(hours=25)) == Status.BREACHED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stopped_after", "expected"),
    [
        (timedelta(hours=2), Status.MET),
        (timedelta(hours=30), Status.MET),  # after the expectation, within the maximum
        (timedelta(days=3), Status.MET),  # exactly at the maximum
        (timedelta(days=3, seconds=1), Status.MET_LATE),
    ],
)
def test_stopped_clocks_are_met_or_met_late_whatever_now_is(contact, stopped_after, expected):
    deadline = make(contact, stopped_at=START + stopped_after, stop_reason="met")
    for now in (START, START + timedelta(days=400)):
        assert status_at(deadline, now) == expected


@pytest.mark.django_db
def test_withdrawn_clock_is_neither_met_nor_late(contact):
    deadline = make(contact, stopped_at=START + timedelta(days=10), stop_reason="withdrawn")
    assert status_at(deadline, START + timedelta(days=20)) == Status.WITHDRAWN


@pytest.mark.django_db
def test_an_aim_is_overdue_never_breached_and_met_late_after_its_expected_time(contact):
    aim = make(contact, rule_id="A11", flag_only=True, expected_at=START + timedelta(days=10), due_at=None)
    assert status_at(aim, START + timedelta(days=100)) == Status.OVERDUE
    aim.stopped_at, aim.stop_reason = START + timedelta(days=11), "met"
    aim.save()
    assert status_at(aim, START + timedelta(days=100)) == Status.MET_LATE


@pytest.mark.django_db
def test_an_aim_with_a_maximum_still_only_becomes_overdue(contact):
    aim = make(contact, rule_id="X1", flag_only=True)
    assert status_at(aim, START + timedelta(days=30)) == Status.OVERDUE
    assert not Deadline.objects.breached(START + timedelta(days=30)).exists()


@pytest.mark.django_db
def test_queryset_helpers_partition_open_rows(contact, make_contact):
    other = make_contact(received_at=START)
    breached = make(contact, rule_id="B1")
    overdue = make(contact, rule_id="B2", due_at=START + timedelta(days=10))
    soon = make(other, rule_id="B2", expected_at=START + timedelta(days=2, hours=12), due_at=START + timedelta(days=4))
    make(other, rule_id="B1", stopped_at=START, stop_reason="met")
    now = START + timedelta(days=3, hours=2)
    assert list(Deadline.objects.breached(now)) == [breached]
    assert list(Deadline.objects.overdue(now)) == [overdue, soon]
    assert list(Deadline.objects.falling_due(now=now, until=now + timedelta(days=1))) == []  # overdue already
    # From the start, everything's first limit (1 day, 1 day, 2.5 days) falls within 2.5 days.
    assert list(Deadline.objects.falling_due(now=START, until=START + timedelta(days=2))) == [breached, overdue]
    assert Deadline.objects.falling_due(now=START, until=START + timedelta(days=3)).count() == 3
    assert Deadline.objects.open().count() == 3


@pytest.mark.django_db
def test_exactly_one_subject(contact, users):
    with pytest.raises(IntegrityError), transaction.atomic():
        make(contact, worker=users["coach"])
    with pytest.raises(IntegrityError), transaction.atomic():
        make(None, family_id=contact.family_id)


@pytest.mark.django_db
def test_one_open_clock_per_rule_and_subject_but_any_number_closed(contact):
    make(contact, stopped_at=START, stop_reason="met")
    make(contact, stopped_at=START, stop_reason="met", cycle=2)
    make(contact, cycle=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        make(contact, cycle=4)


@pytest.mark.django_db
def test_a_stopped_clock_needs_a_stop_reason(contact):
    with pytest.raises(IntegrityError), transaction.atomic():
        make(contact, stopped_at=START)
