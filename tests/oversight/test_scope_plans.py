"""No scope check is planned as a SubPlan that scans the whole scope once per row.

`x IN (SELECT family_id FROM cases_familyreach WHERE ...)` inside an OR (`worker clock OR visible family`,
`contact visible OR episode visible`) cannot become a semi-join. PostgreSQL then evaluates it as a
SubPlan: hashed if the scope's rows fit in `work_mem`, otherwise a Materialize that is scanned from the
start for every outer row. At 200,000 families a manager's scope is about 400,000 reach rows, which do
not fit, and the breaches CSV ran for more than ten minutes (400,000 breached clocks × a linear scan;
BENCHMARKS.md, session 6). The scope must be said as a correlated EXISTS (one index probe a row).

The tests run every CSV export and the unbounded scoped selectors as a manager and a team leader,
capture their queries and EXPLAIN each with the smallest `work_mem` PostgreSQL allows, so that any such
SubPlan shows as the linear kind: a Materialize under a SubPlan that is not hashed.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oversight import exports, home_selectors, selectors
from tests.oversight import test_board
from tests.oversight.helpers import NOW
from tests.oversight.test_exports_equivalence import request_as, written

pytestmark = pytest.mark.django_db
board = test_board.board


@pytest.fixture
def large_scope(board):
    """Every reach row of the board's families 5,000 times over (the same families stay visible, so no
    result changes), analysed: PostgreSQL now plans the scope as the large set it is in a council."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_familyreach (family_id, kind, team_id, service_id, user_id) "
            "SELECT family_id, kind, team_id, service_id, user_id FROM cases_familyreach, generate_series(1, 5000)"
        )
        cursor.execute("ANALYZE cases_familyreach")
        cursor.execute("SELECT count(*) FROM cases_familyreach")
        assert cursor.fetchone()[0] > 20_000


DECLARE = re.compile(r"^DECLARE .*? CURSOR (?:WITH(?:OUT)? HOLD )?FOR ", re.S)


def linear_subplans(plan: dict, path: str = "") -> list[str]:
    """Materialize nodes run as a non-hashed SubPlan: re-scanned from the start for every outer row."""
    found = []
    here = f"{path} > {plan['Node Type']}"
    name = plan.get("Subplan Name", "")
    in_subplan = plan.get("Parent Relationship") == "SubPlan" and not name.startswith("hashed")
    if in_subplan and plan["Node Type"] == "Materialize":
        found.append(f"{name}: {here}")
    for child in plan.get("Plans", []):
        found += linear_subplans(child, here)
    return found


def plan_of(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '64kB'")
        cursor.execute("SET hash_mem_multiplier = 1")
        try:
            cursor.execute("EXPLAIN (FORMAT JSON) " + DECLARE.sub("", sql))
            value = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET work_mem")
            cursor.execute("RESET hash_mem_multiplier")
    document = json.loads(value) if isinstance(value, str) else value
    return document[0]["Plan"]


def assert_no_linear_scope(queries, what: str) -> int:
    checked = 0
    for query in queries:
        sql = query["sql"]
        if not re.match(r"^\s*(SELECT|DECLARE)", sql):
            continue
        bad = linear_subplans(plan_of(sql))
        assert not bad, f"{what}: a SubPlan re-scans its rows for every row:\n{bad}\n{sql[:2000]}"
        checked += 1
    return checked


@pytest.mark.parametrize("role", ["manager", "teamlead"])
def test_no_export_checks_scope_by_rescanning_it(users, large_scope, pinned, role):
    user = users[role]
    checked = 0
    for name, build in exports.EXPORTS.items():
        with CaptureQueriesContext(connection) as captured:
            try:
                table = build(request_as(user, ""), NOW)
            except Exception as refused:  # noqa: BLE001 - a role without the export is refused, as on its page
                if refused.__class__.__name__ in {"PermissionDenied", "Http404"}:
                    continue
                raise
            written(table)
            list(table.families)
        checked += assert_no_linear_scope(captured.captured_queries, f"CSV {name} as {role}")
    assert checked >= 10


def test_no_scoped_list_checks_scope_by_rescanning_it(users, large_scope, pinned):
    from cases.selectors import escalation_queue, escalations_visible_to

    manager, lead, coach = users["manager"], users["teamlead"], users["coach"]
    lists = {
        "service_deadlines": selectors.service_deadlines(manager),
        "service_breaches": selectors.service_breaches(manager, now=NOW, acknowledged="all"),
        "team clocks": home_selectors.team_clocks(lead),
        "service clocks": home_selectors.service_clocks(manager),
        "my case clocks": home_selectors.my_case_clocks(coach),
        "escalations": escalations_visible_to(manager),
        "escalation queue": escalation_queue(manager),
        "my tasks": selectors.my_tasks(coach, include_done=True),
    }
    for name, qs in lists.items():
        with CaptureQueriesContext(connection) as captured:
            list(qs.values_list("pk", flat=True))
        assert assert_no_linear_scope(captured.captured_queries, name) == 1


def reach_read_whole(plan: dict) -> list[str]:
    """Scans of the reach rows that are not a probe for one family (a condition on `family_id` equal to
    the outer row's): the user's whole scope read (into a hash, a sort or a join) to answer a page that
    shows a few rows. (How the probe reads is the planner's choice: this fixture gives each family 5,000
    reach rows, where a council's families have a handful.)"""
    found = []
    if plan.get("Relation Name") == "cases_familyreach":
        cond = plan.get("Index Cond", "") + plan.get("Recheck Cond", "") + plan.get("Filter", "")
        if "family_id =" not in cond:
            found.append(f"{plan['Node Type']} on cases_familyreach ({cond or plan.get('Filter', '')})")
    for child in plan.get("Plans", []):
        found += reach_read_whole(child)
    return found


def test_home_page_and_my_lists_probe_scope_per_row(users, large_scope, pinned):
    """The home page's sections (every role), my cases and my work check scope per row shown, never by
    reading the user's whole scope (ADR 0064): a team leader's team reaches thousands of families and a
    manager's service hundreds of thousands, while these pages show a few dozen rows."""
    from earlyhelp.home import home_sections
    from workflows import list_rows

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # every table's statistics, as a council's database has them

    reads = {
        # The front door's reach is every family that came through it, so a hash of it is a fair plan
        # for its queue's clocks; every other role's work is a small part of its scope.
        **{
            f"home page as {role}": (lambda u=users[role]: home_sections(u, now=NOW))
            for role in users
            if role not in ("mash", "mashlead")
        },
        "my cases": lambda: list_rows.my_cases(users["coach"], now=NOW),
        "my work": lambda: selectors.my_work_items(users["coach"]),
        "my planned visits": lambda: selectors.my_planned_visits(users["coach"], now=NOW),
    }
    for name, read in reads.items():
        with CaptureQueriesContext(connection) as captured:
            read()
        for query in captured.captured_queries:
            if re.match(r"^\s*SELECT", query["sql"]) and "cases_familyreach" in query["sql"]:
                bad = reach_read_whole(plan_of(query["sql"]))
                assert not bad, f"{name}: {bad}\n{query['sql'][:1500]}"
