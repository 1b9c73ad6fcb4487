"""deadlines.engine without a database: the rules every clock writer shares (ADR 0023)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deadlines import events as ev
from deadlines.calendar import build_calendar
from deadlines.engine import MET, WITHDRAWN, Limits, Owners, Replay, RuleIndex, met_at, not_before
from deadlines.rulebook import load_rulebooks
from kit.time import LONDON

BOOKS = load_rulebooks(["family-solutions", "step-up"])
CONTACT = frozenset({"contact"})
EPISODE = frozenset({"contact", "episode"})
WORKER = frozenset({"worker"})
WAITING = Owners(contact_team=1, episode_team=2)
HELD = Owners(contact_team=2, episode_lead=7, episode_team=2)
T0 = datetime(2026, 3, 2, 10, 5, 37, tzinfo=LONDON)  # a Monday


def _replay(starting=("family-solutions", "step-up")) -> Replay:
    return Replay(RuleIndex(BOOKS), starting=starting, limits=Limits(build_calendar()))


def _clocks(replay: Replay, rule_id: str):
    return [c for c in replay.clocks if c.rule_id == rule_id]


def test_a_stop_in_the_starting_minute_stops_the_clock_at_its_start():
    assert not_before(T0.replace(second=0), T0)
    assert not not_before(T0 - timedelta(minutes=1), T0)
    assert met_at(T0, T0.replace(second=0)) == T0
    replay = _replay()
    replay.record(ev.EPISODE_OPENED, T0 - timedelta(hours=1), present=EPISODE, owners=WAITING)
    replay.record(ev.ALLOCATED, T0, present=EPISODE, owners=HELD)
    replay.record(ev.INITIAL_CONTACT_MADE, T0.replace(second=0), present=EPISODE, owners=HELD)
    (b8,) = _clocks(replay, "B8")
    assert (b8.stop_reason, b8.stopped_at) == (MET, T0)


def test_per_record_clocks_are_stopped_by_their_own_record_and_all_by_none():
    replay = _replay()
    replay.record(ev.EPISODE_OPENED, T0, present=EPISODE, owners=WAITING)
    for n in (1, 2):
        replay.record(ev.VISIT_RECORDED, T0 + timedelta(hours=n), present=EPISODE, owners=HELD, key=f"note:{n}")
    replay.record(ev.CASE_RECORDED, T0 + timedelta(hours=3), present=EPISODE, owners=HELD, key="note:2")
    b18 = {c.key: c for c in _clocks(replay, "B18")}
    assert b18["note:2"].stop_reason == MET and b18["note:1"].stopped_at is None
    replay.record(ev.ASSESSMENT_COMPLETED, T0 + timedelta(days=1), present=EPISODE, owners=HELD, key="assessment:1")
    replay.record(ev.PLAN_COMPLETED, T0 + timedelta(days=1), present=EPISODE, owners=HELD, key="plan:1")
    assert len(_clocks(replay, "B13")) == 2
    replay.record(ev.OVERSIGHT_RECORDED, T0 + timedelta(days=2), present=EPISODE, owners=HELD)
    assert {c.stop_reason for c in _clocks(replay, "B13")} == {MET}
    replay.record(ev.EPISODE_CLOSED, T0 + timedelta(days=3), present=EPISODE, owners=HELD)
    assert b18["note:1"].stop_reason == WITHDRAWN


def test_an_all_of_rule_remembers_what_it_has_seen_and_stops_at_the_last():
    replay = _replay()
    replay.record(ev.ALLOCATED, T0, present=EPISODE, owners=HELD)
    replay.record(ev.PLAN_STARTED, T0 + timedelta(days=1), present=EPISODE, owners=HELD, key="plan:1")
    (b10,) = _clocks(replay, "B10")
    assert b10.stopped_at is None and b10.stops_seen == [ev.PLAN_STARTED]
    done = T0 + timedelta(days=2)
    replay.record(ev.ASSESSMENT_COMPLETED, done, present=EPISODE, owners=HELD, key="assessment:1")
    assert (b10.stop_reason, b10.stopped_at) == (MET, done)


def test_a_recurring_clock_restarts_where_it_stopped_only_in_a_procedure_that_starts_it():
    replay = _replay()
    worker = Owners(worker=5, worker_team=2)
    replay.record(ev.TEAM_JOINED, T0, present=WORKER, owners=worker)
    replay.record(ev.ALLOCATED, T0 + timedelta(days=1), present=WORKER, owners=worker)  # already running
    replay.record(ev.SUPERVISION_RECORDED, T0 + timedelta(days=20), present=WORKER, owners=worker)
    first, second = _clocks(replay, "B20")
    assert (first.start_event, first.stop_reason, first.assignee_id, first.team_id) == (ev.TEAM_JOINED, MET, 5, 2)
    assert (second.cycle, second.started_at, second.start_event) == (2, first.stopped_at, ev.SUPERVISION_RECORDED)
    other = _replay(starting=("step-up",))
    other.record(ev.TEAM_JOINED, T0, present=WORKER, owners=worker)
    assert not other.clocks


@pytest.mark.parametrize(("route", "expected"), [("dart", set()), ("email", {"B2"})])
def test_exempt_routes_start_no_clock(route, expected):
    replay = _replay()
    replay.record(ev.CONTACT_RECEIVED, T0, present=CONTACT, owners=WAITING, route=route)
    assert {c.rule_id for c in replay.clocks} & {"B2"} == expected


def test_open_episode_clocks_follow_the_lead_professional_and_contact_clocks_stay_with_their_team():
    replay = _replay()
    replay.record(ev.CONTACT_RECEIVED, T0, present=CONTACT, owners=Owners(contact_team=1))
    replay.record(ev.EPISODE_OPENED, T0, present=EPISODE, owners=WAITING)
    (b14,) = _clocks(replay, "B14")
    (b7,) = _clocks(replay, "B7")
    assert (b14.assignee_id, b14.team_id) == (None, 2)
    replay.record(ev.ALLOCATED, T0 + timedelta(hours=2), present=EPISODE, owners=HELD)
    assert (b14.assignee_id, b14.team_id) == (7, 2)
    assert b7.stop_reason == WITHDRAWN and b7.assignee_id is None  # stopped before it could follow
    assert {(c.assignee_id, c.team_id) for c in replay.clocks if c.rule.applies_to == "contact"} == {(None, 1)}
