"""The factories give what they say: each state reached, each status as the boards compute it."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from cases.models import Contact, Episode
from deadlines.models import Deadline, Status
from kit.time import LONDON
from tests.factories import (
    NOW,
    TODAY,
    ContactFactory,
    ContactJourneyFactory,
    DeadlineFactory,
    EpisodeFactory,
    EpisodeJourneyFactory,
    PersonFactory,
    children_of,
    family_with_children,
)

pytestmark = pytest.mark.django_db
S = Episode.State
C = Contact.State


@pytest.mark.parametrize("state", [s for s in S.values if s != S.AWAITING_ALLOCATION])
def test_episode_journey_reaches_each_state_through_the_services(users, team, state):
    episode = EpisodeJourneyFactory(users=users, team=team, **{state: True})
    assert episode.state == state
    assert episode.opened_at == NOW
    if state != S.WRAPAROUND:
        assert episode.lead_professional == users["coach"]
    # The services moved the clocks: the allocation clock started at opening and stopped on allocation.
    assert Deadline.objects.filter(episode=episode).exists()
    if state == S.CLOSED:
        assert episode.closure_reason == "goals_met"
        assert episode.ended_on == episode.closed_at.date()


def test_episode_journey_records_reviews_on_an_active_plan(users, team):
    episode = EpisodeJourneyFactory(users=users, team=team, plan_active=True, reviews=2)
    assert episode.state == S.PLAN_ACTIVE
    assert [r.summary[:8] for r in episode.reviews.order_by("recorded_at")] == ["Review 1", "Review 2"]


@pytest.mark.parametrize("state", [s for s in C.values if s != C.RECEIVED])
def test_contact_journey_reaches_each_state_through_the_services(users, team, state):
    contact = ContactJourneyFactory(users=users, team=team, **{state: True})
    assert contact.state == state
    assert list(contact.subjects.all()) == children_of(contact.family)
    if state == C.ALLOCATED_TO_TEAM:
        assert contact.episodes.get().team == team


@pytest.mark.parametrize("state", [s for s in S.values if s not in (S.AWAITING_ALLOCATION, S.CLOSED)])
def test_stored_episode_in_each_state(team, state):
    episode = EpisodeFactory(team=team, **{state: True})
    episode.refresh_from_db()
    assert episode.state == state
    assert episode.family.team == team
    assert len(children_of(episode.family)) == 2


def test_stored_closed_episode_ends_the_day_it_closed(team, users):
    episode = EpisodeFactory(team=team, closed=True, lead_professional=users["coach"])
    assert episode.state == S.CLOSED
    assert episode.ended_on == episode.closed_at.date()
    assert episode.allocated_at == episode.opened_at + (NOW - NOW.replace(hour=8))


@pytest.mark.parametrize("state", [s for s in C.values if s not in (C.RECEIVED, C.SCREENING)])
def test_stored_contact_decided_into_each_state(state):
    family, children = family_with_children(1)
    contact = ContactFactory(family=family, subjects=children, **{state: True})
    contact.refresh_from_db()
    assert contact.state == state
    assert contact.decided_at == contact.received_at + (NOW - NOW.replace(hour=7))
    assert list(contact.subjects.all()) == children


@pytest.mark.parametrize(
    ("trait", "status"),
    [
        ({}, Status.ON_TIME),
        ({"overdue": True}, Status.OVERDUE),
        ({"breached": True}, Status.BREACHED),
        ({"met": True}, Status.MET),
        ({"withdrawn": True}, Status.WITHDRAWN),
    ],
)
def test_stored_deadline_has_each_status_as_the_boards_compute_it(trait, status):
    deadline = DeadlineFactory(**trait)
    assert Deadline.objects.with_status(NOW).get(pk=deadline.pk).status == status
    assert deadline.family == deadline.episode.family
    assert deadline.team == deadline.episode.team


def test_stored_deadline_of_a_worker_has_no_episode(users):
    deadline = DeadlineFactory(worker=users["coach"], team=users["coach"].team, breached=True, at=NOW)
    assert deadline.episode is None
    assert deadline.assignee == users["coach"]
    assert Deadline.objects.with_status(NOW).get(pk=deadline.pk).status == Status.BREACHED


@pytest.mark.parametrize("year", [2026, 2027, 2029, 2035])
def test_children_are_aged_1_to_16_on_the_pinned_day_whatever_year_the_suite_runs_in(year):
    """Birth dates are counted from the suite's pinned day, never from the real today: run in 2029, the
    children are still 1 to 16 on NOW (a date from the real today made them 4 to 19 by then)."""
    with time_machine.travel(datetime(year, 6, 1, 12, 0, tzinfo=LONDON), tick=False):
        children = PersonFactory.build_batch(200)
    ages = {child.age_on(TODAY) for child in children}
    assert ages <= set(range(1, 17)) and len(ages) >= 10, sorted(ages)
    assert all(child.date_of_birth < TODAY for child in children)


def test_a_familys_children_are_aged_from_the_pinned_day(team):
    with time_machine.travel(datetime(2029, 6, 1, 12, 0, tzinfo=LONDON), tick=False):
        episode = EpisodeFactory(team=team)
    assert all(1 <= child.age_on(NOW.date()) <= 16 for child in children_of(episode.family))
