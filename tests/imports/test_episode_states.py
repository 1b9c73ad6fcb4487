"""Episodes in every state import: waiting for a closure sign-off, a step-up proposed or with the duty manager,
wraparound before and after the worker is confirmed. Each imported episode has exactly the clocks of one
driven to the same state through the services at the same times; dates that do not fit a state are refused
with their row and column."""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
import time_machine

from cases.models import ClosureRequest, Episode, Family, StepUp
from deadlines.models import Deadline
from imports.checks import check_set
from imports.layout import KIND_OF
from imports.models import SourceKey
from imports.services import import_set
from kit.time import LONDON
from workflows.episode_services import (
    closure_request,
    episode_allocate,
    step_up_decide,
    step_up_propose,
    step_up_send_to_duty_manager,
    wraparound_worker_confirm,
)
from workflows.services import episode_open

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 11, 0, tzinfo=LONDON)
OPENED = datetime(2026, 11, 3, 10, 15, tzinfo=LONDON)
ALLOCATED = datetime(2026, 11, 4, 11, 40, tzinfo=LONDON)
REQUESTED = datetime(2026, 11, 16, 10, 0, tzinfo=LONDON)
SENT = datetime(2026, 11, 16, 15, 30, tzinfo=LONDON)
DECIDED = datetime(2026, 11, 17, 9, 30, tzinfo=LONDON)
CONFIRMED = datetime(2026, 11, 17, 14, 0, tzinfo=LONDON)


def _t(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _closure(episode, users, at):
    closure_request(
        episode=episode, checklist=dict.fromkeys(ClosureRequest.CHECKLIST, True), summary="Goals met.",
        child_voice="Happier at school.", proposed_reason="goals_met", by=users["coach"], now=at,
    )  # fmt: skip


def _propose(episode, users, at):
    step_up_propose(episode=episode, concern="increasing_risk", reason="Risk rising.", multi_agency_views="Agreed.",
                    family_views="Worried.", by=users["coach"], now=at)  # fmt: skip


def _send(episode, users, at):
    step_up_send_to_duty_manager(step_up=StepUp.objects.get(episode=episode), next_step="marf", parenting="yes",
                                 judgement="Needs social care.", by=users["manager"], now=at)  # fmt: skip


def _decide(episode, users, at):
    step_up_decide(step_up=StepUp.objects.get(episode=episode), decision="accepted", notes="Accepted.",
                   wraparound=True, by=users["dutymanager"], now=at)  # fmt: skip


def _confirm(episode, users, at):
    wraparound_worker_confirm(episode=Episode.objects.get(pk=episode.pk), practitioner=users["coach"],
                              by=users["teamlead"], now=at)  # fmt: skip


# state: (steps through the services after the allocation, the dates of the imported row)
SCENARIOS = {
    "closure_requested": (
        [(REQUESTED, _closure)],
        {"closure_requested_at": _t(REQUESTED), "closure_reason": "goals_met"},
    ),
    "step_up_requested": ([(REQUESTED, _propose)], {"step_up_requested_at": _t(REQUESTED)}),
    "step_up_requested, sent to the duty manager": (
        [(REQUESTED, _propose), (SENT, _send)],
        {"step_up_requested_at": _t(REQUESTED), "step_up_sent_at": _t(SENT)},
    ),
    "wraparound": (
        [(REQUESTED, _propose), (SENT, _send), (DECIDED, _decide)],
        {"step_up_requested_at": _t(REQUESTED), "step_up_sent_at": _t(SENT), "step_up_decided_at": _t(DECIDED)},
    ),
    "wraparound, worker confirmed": (
        [(REQUESTED, _propose), (SENT, _send), (DECIDED, _decide), (CONFIRMED, _confirm)],
        {
            "step_up_requested_at": _t(REQUESTED),
            "step_up_sent_at": _t(SENT),
            "step_up_decided_at": _t(DECIDED),
            "wraparound_confirmed_at": _t(CONFIRMED),
        },
    ),  # fmt: skip
}


def _write_set(directory, team, coach, episode_row: dict) -> None:
    rows = {
        "teams": [{"team_id": "T1", "name": team.name, "service": team.service.name}],
        "staff": [
            {
                "staff_id": "S1",
                "email": coach.email,
                "first_name": "C",
                "last_name": "Coach",
                "roles": "Practitioner",
                "team_id": "T1",
            }
        ],  # fmt: skip
        "families": [{"family_id": "F1", "name": "The Okafor household", "team_id": "T1"}],
        "episodes": [
            {
                "episode_id": "E1",
                "family_id": "F1",
                "team_id": "T1",
                "lead_staff_id": "S1",
                "opened_at": _t(OPENED),
                "allocated_at": _t(ALLOCATED),
                **episode_row,
            }
        ],  # fmt: skip
    }
    for kind, data in rows.items():
        with (directory / f"{kind}.csv").open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=[c.name for c in KIND_OF[kind].columns])
            writer.writeheader()
            writer.writerows(data)


def _clocks(episode) -> list[tuple]:
    """The episode's clocks; a per-record clock's key names the kind of record, not its id."""
    fields = ("rulebook", "rule_id", "cycle", "key", "started_at", "expected_at", "due_at", "stopped_at",
              "stop_reason", "assignee_id", "team_id")  # fmt: skip
    rows = Deadline.objects.filter(episode=episode).values_list(*fields)
    return sorted((*r[:3], r[3].split(":")[0], *r[4:]) for r in rows)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_an_imported_episode_in_each_state_has_the_clocks_of_one_driven_there(scenario, tmp_path, users, team):
    coach = users["coach"]
    if not coach.email:
        type(coach).objects.filter(pk=coach.pk).update(email="coach@example.org")
        coach.refresh_from_db()
    steps, dates = SCENARIOS[scenario]
    state = scenario.split(",")[0]
    with time_machine.travel(OPENED, tick=False):
        family = Family.objects.create(name="The Reid household")
        episode = episode_open(contact=None, family=family, team=team, now=OPENED, by=users["mashlead"],
                               origin=Episode.Origin.FRONT_DOOR)  # fmt: skip
    with time_machine.travel(ALLOCATED, tick=False):
        episode_allocate(episode=episode, practitioner=coach, by=users["teamlead"], now=ALLOCATED)
    for at, step in steps:
        with time_machine.travel(at, tick=False):
            step(Episode.objects.get(pk=episode.pk), users, at)
    driven = Episode.objects.get(pk=episode.pk)
    assert driven.state == state

    _write_set(tmp_path, team, coach, {"state": state, "step_up_concern": "increasing_risk" if "step" in str(dates)
                                       else "", **dates})  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        checked = check_set(tmp_path, now=NOW)
        assert checked.ok, checked.problems
        import_set(checked, by=users["admin"], now=NOW)
    imported = Episode.objects.get(pk=SourceKey.objects.get(kind="episodes", source_id="E1").object_id)
    assert imported.state == driven.state
    assert imported.state_before_request == driven.state_before_request
    assert imported.lead_professional == coach
    assert _clocks(imported), "the imported open episode has clocks"
    assert _clocks(imported) == _clocks(driven)
    # The request the state waits on is a record of its own, as the services make it, with its history.
    assert imported.closure_requests.count() == driven.closure_requests.count()
    assert list(imported.step_ups.values_list("proposed_at", "sent_at", "decided_at", "wraparound_confirmed_at")) == (
        list(driven.step_ups.values_list("proposed_at", "sent_at", "decided_at", "wraparound_confirmed_at"))
    )
    for record in (*imported.closure_requests.all(), *imported.step_ups.all()):
        assert record.history.count() == 1


BAD_ROWS = [
    # (the row's state and dates, the column named, words of the message)
    ({"state": "closure_requested", "closure_reason": "goals_met"}, "closure_requested_at", "needs this date"),
    ({"state": "closure_requested", "closure_requested_at": _t(REQUESTED)}, "closure_reason", "reason proposed"),
    ({"state": "step_up_requested", "step_up_requested_at": _t(REQUESTED)}, "step_up_concern", "concern"),
    (
        {
            "state": "step_up_requested",
            "step_up_requested_at": _t(REQUESTED),
            "step_up_concern": "increasing_risk",
            "step_up_decided_at": _t(DECIDED),
        },
        "step_up_decided_at",
        "does not fit",
    ),  # fmt: skip
    (
        {
            "state": "wraparound",
            "step_up_requested_at": _t(REQUESTED),
            "step_up_concern": "no_engagement",
            "step_up_sent_at": _t(SENT),
        },
        "step_up_decided_at",
        "needs this date",
    ),  # fmt: skip
    (
        {
            "state": "step_up_requested",
            "step_up_requested_at": _t(SENT),
            "step_up_concern": "no_engagement",
            "step_up_sent_at": _t(REQUESTED),
        },
        "step_up_sent_at",
        "before step_up_requested_at",
    ),  # fmt: skip
    ({"state": "plan_active", "closure_requested_at": _t(REQUESTED)}, "closure_requested_at", "does not fit"),
    (
        {"state": "closure_requested", "closure_requested_at": _t(OPENED), "closure_reason": "goals_met"},
        "closure_requested_at",
        "before allocated_at",
    ),  # fmt: skip
]


def test_request_dates_that_do_not_fit_the_state_are_refused_with_row_and_column(tmp_path, users, team):
    coach = users["coach"]
    coach.email = coach.email or "coach@example.org"
    for i, (row, column, words) in enumerate(BAD_ROWS):
        directory = tmp_path / str(i)
        directory.mkdir()
        _write_set(directory, team, coach, row)
        checked = check_set(directory, now=NOW)
        found = [p for p in checked.problems if p.file == "episodes.csv" and p.row == 2 and p.column == column]
        assert found and words in found[0].message, (row, checked.problems)
