"""An episode's next task is read along its own index (ADR 0064).

`with_next_task` (my cases, my work, the pre-allocation list) asks, for each case, for its open clock
with the soonest limit. Without an index in that order PostgreSQL read every clock of the episode, open
or stopped (`deadline_episode`), or walked the one-open-clock-per-rule index, whose leading columns are
the rulebook and rule, five times per case. `deadline_open_episode_next` holds the open clocks of each
episode in the order of the next limit: each subquery is one entry.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import roles
from tests.conftest import make_user
from tests.oversight.helpers import NOW, make_deadline, make_episode
from workflows import list_rows

pytestmark = pytest.mark.django_db


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_my_cases_reads_each_next_task_from_the_open_clocks_index(team):
    coach = make_user("nextcoach", roles.PRACTITIONER, team)
    for n in range(3):
        episode = make_episode(team, lead=coach)
        for k in range(30):  # a long history of stopped clocks, and a few open ones
            make_deadline(
                f"S{n}{k}",
                team=team,
                episode=episode,
                started_at=NOW - timedelta(days=200 - k),
                due_at=NOW - timedelta(days=190 - k),
                stopped_at=NOW - timedelta(days=195 - k),
            )
        for k in range(3):
            make_deadline(f"O{n}{k}", team=team, episode=episode, started_at=NOW, due_at=NOW + timedelta(days=k + 1))
    with CaptureQueriesContext(connection) as captured:
        rows = list_rows.my_cases(coach, now=NOW)
    assert len(rows) == 3
    sql = next(q["sql"] for q in captured.captured_queries if "deadlines_deadline" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deadlines_deadline")
        cursor.execute("SET enable_seqscan = off")  # a handful of rows: the table is not what is tested
        try:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
            value = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET enable_seqscan")
    plan = (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]
    clock_scans = [n for n in _nodes(plan) if n.get("Relation Name") == "deadlines_deadline"]
    assert len(clock_scans) >= 5  # five columns (and the ORDER BY may read the due time again)
    assert {n.get("Index Name") for n in clock_scans} == {"deadline_open_episode_next"}
