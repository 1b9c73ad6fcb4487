"""What made some requests of a page slow and not others (ADR 0069), each checked on its plan.

- A paginated list's page N computed its rows' subqueries (the children's names, the next task, the
  last duty contact) for every row its OFFSET skipped: page 3 of the triage queue ran them 150 times.
  Now the page's ids are chosen first and only those rows are computed.
- The scope check of a list bounded by its own index (`visible_per_row`) was a correlated EXISTS that
  PostgreSQL may turn into a hash of the user's whole scope when it expects many rows (a practitioner
  with a big caseload, a long queue). It is fenced so that it is probed once per row, whatever the
  statistics or cost settings; here the planner is pushed towards the hash to prove it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Episode
from cases.selectors import triage_queue
from earlyhelp.home import home_sections
from tests.factories import NOW, ContactFactory, DeadlineFactory, EpisodeFactory, family_with_children
from workflows import list_rows

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def plan_of(sql: str, params, *, analyse: bool = False, settings: tuple[str, ...] = ()) -> dict:
    with connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyse else ''}FORMAT JSON) {sql}", params)
        value = cursor.fetchone()[0]
        for setting in settings:
            cursor.execute(f"RESET {setting.split('=')[0].strip()}")
    document = json.loads(value) if isinstance(value, str) else value
    return document[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def selects(captured) -> list[tuple[str, tuple]]:
    return [(q["sql"], ()) for q in captured if re.match(r"^\s*SELECT", q["sql"])]


def queue(n: int, team) -> None:
    for i in range(n):
        family, children = family_with_children(1, team=team)
        contact = ContactFactory(family=family, subjects=children, received_at=NOW - i * H)
        DeadlineFactory(contact=contact, rule_id="A1", title="Decide", due_at=NOW + (i + 1) * H, expected_at=None)


def subplan_loops(plan: dict, relation: str) -> int:
    """How many times the subqueries reading `relation` were computed (the most of any one of them)."""
    return max(
        (
            node.get("Actual Loops", 0)
            for node in nodes(plan)
            if node.get("Parent Relationship") == "SubPlan"
            and any(n.get("Relation Name") == relation for n in nodes(node))
        ),
        default=0,
    )


def loops_of(captured, relation: str) -> int:
    return max(subplan_loops(plan_of(sql, (), analyse=True), relation) for sql, _ in selects(captured))


def test_a_later_page_of_the_triage_queue_computes_only_its_own_rows(users, team, pinned):
    queue(70, team)
    user = users["mash"]
    loops, shown = {}, []
    for number in (1, 2):
        with CaptureQueriesContext(connection) as captured:
            page = list_rows.triage_queue(triage_queue(user), page_number=number, now=NOW)
        assert page.number == number and page.paginator.count == 70
        assert all(row.children for row in page.object_list)
        shown += [row.pk for row in page.object_list]
        loops[number] = loops_of(captured.captured_queries, "cases_contact_subjects")
    # Page 2 computes its 20 rows' children, not the 50 rows it skips as well (70 before).
    assert loops == {1: 50, 2: 20}
    # The same rows in the same order as one query gives: due an hour apart, the last received first.
    assert shown == list(triage_queue(user).order_by("-received_at", "-pk").values_list("pk", flat=True))


def test_a_later_page_of_the_pre_allocation_list_computes_only_its_own_rows(users, team, pinned):
    for i in range(60):
        EpisodeFactory(team=team, opened_at=NOW - (i + 1) * H)
    with CaptureQueriesContext(connection) as captured:
        page = list_rows.pre_allocation(users["teamlead"], team_id=team.pk, page_number=2, now=NOW)
    assert len(page.object_list) == 10 and page.paginator.count == 60
    # Each next-task subquery runs once per row shown (10), not for the 50 rows of page 1 as well.
    assert loops_of(captured.captured_queries, "deadlines_deadline") == 10


# Costs that make a hash of the whole scope look cheap: index probes dear, sequential reads cheap.
HASH_FRIENDLY = ("random_page_cost = 400", "seq_page_cost = 0.01", "cpu_tuple_cost = 0.0001")


def reach_read_whole(plan: dict) -> list[str]:
    """Scans of the reach rows that are not a probe for the outer row's family."""
    found = []
    for node in nodes(plan):
        if node.get("Relation Name") == "cases_familyreach":
            cond = node.get("Index Cond", "") + node.get("Recheck Cond", "") + node.get("Filter", "")
            if not re.search(r"family_id = \(?[a-z]\w*\.", cond):
                found.append(f"{node['Node Type']} on cases_familyreach ({cond})")
    return found


def test_scope_per_row_is_probed_whatever_the_planner_prefers(users, team, pinned):
    coach = users["coach"]
    for i in range(12):
        episode = EpisodeFactory(team=team, allocated=True, lead_professional=coach, opened_at=NOW - (i + 1) * H)
        DeadlineFactory(episode=episode, due_at=NOW + (i - 4) * H, expected_at=None)
    for _ in range(3):
        EpisodeFactory(team=team, opened_at=NOW - H)
    queue(3, team)
    reads = {
        "home page as coach": lambda: home_sections(coach, now=NOW),
        "home page as teamlead": lambda: home_sections(users["teamlead"], now=NOW),
        "my cases": lambda: list_rows.my_cases(coach, now=NOW),
        "triage queue": lambda: list_rows.triage_queue(triage_queue(users["mash"]), page_number=1, now=NOW),
        "pre-allocation list": lambda: list_rows.pre_allocation(
            users["teamlead"], team_id=None, page_number=1, now=NOW
        ),
    }
    checked = 0
    for name, read in reads.items():
        with CaptureQueriesContext(connection) as captured:
            read()
        for sql, params in selects(captured.captured_queries):
            if "cases_familyreach" not in sql:
                continue
            bad = reach_read_whole(plan_of(sql, params, settings=HASH_FRIENDLY))
            assert not bad, f"{name}: {bad}\n{sql[:1500]}"
            checked += 1
    assert checked >= 8
    assert Episode.objects.filter(lead_professional=coach).count() == 12
