"""The dashboard at the same cost whatever the number of teams (ADR 68).

- Each service's clock summary rows (`ServiceClockCount`, `ServiceTimeliness`) are kept by triggers
  on the teams' rows in the writer's transaction: equal to the teams' rows summed, whoever writes;
  the reconcile finds drift in them and repairs it.
- The dashboard and its breaches list read the service's rows: adding teams (each with breaches of
  the same rules on the same days) changes neither the queries nor the summary rows read; the by-team
  page reads its page's 20 teams only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deadlines.counts import counts_reconcile, service_rows_drift
from deadlines.models import OpenClockCount, ServiceClockCount, ServiceTimeliness, Status
from tests.factories import TeamFactory
from tests.oversight.helpers import NOW, make_deadline, make_episode

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-08-01", "end": "2026-11-23"}
SUMMARY_TABLES = ("deadlines_openclockcount", "deadlines_clocktimeliness", "deadlines_serviceclockcount",
                  "deadlines_servicetimeliness")  # fmt: skip


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def _clocks(team) -> None:
    """Two breached clocks and a running one of the team, on the same rules and days for every team."""
    episode = make_episode(team)
    for rule in ("B6", "B8"):
        make_deadline(rule, team=team, episode=episode, started_at=NOW - timedelta(days=40),
                      due_at=NOW - timedelta(days=10))  # fmt: skip
    running = make_episode(team)
    make_deadline("B6", team=team, episode=running, started_at=NOW - timedelta(days=2), due_at=NOW + timedelta(days=9))


def _rows_scanned(node: dict) -> int:
    """Live table rows the plan read: what each table scan returned or filtered out. Not a bitmap index
    scan's entries: those include the index entries of row versions no longer live (every summary row is
    updated in place as work happens), which vacuum clears on its own schedule, not the rows' number."""
    kind = node["Node Type"]
    here = 0
    if "Scan" in kind and kind != "Bitmap Index Scan":
        read = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        here = (read + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
    return here + sum(_rows_scanned(child) for child in node.get("Plans", []))


def _cost(client, url: str) -> tuple[int, int]:
    """Queries of one request, and the summary rows its queries read (EXPLAIN ANALYZE of each, along
    the indexes as on a full-size dataset: a test's tables are small enough to read whole)."""
    client.get(url, PERIOD)  # warm: the session's first request reads more
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, PERIOD).status_code == 200
    with connection.cursor() as cursor:
        # The plan from the test's own rows, not from what autovacuum last saw of other tests' rows.
        cursor.execute("ANALYZE " + ", ".join(SUMMARY_TABLES))
        cursor.execute("SET LOCAL enable_seqscan = off")
    rows = 0
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.lstrip().upper().startswith("SELECT") and any(t in sql for t in SUMMARY_TABLES):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                rows += _rows_scanned(cursor.fetchone()[0][0]["Plan"])
    return len(captured.captured_queries), rows


def test_service_rows_follow_every_write_and_the_reconcile_repairs_them(pinned, users, team, other_team):
    _clocks(team)
    _clocks(other_team)
    assert service_rows_drift() == []
    breached = ServiceClockCount.objects.get(service_id=team.service_id, rule_id="B6", status=Status.BREACHED)
    per_team = dict(
        OpenClockCount.objects.filter(rule_id="B6", status=Status.BREACHED, n__gt=0).values_list("team_id", "n")
    )
    assert set(per_team) == {team.pk, other_team.pk} and breached.n == sum(per_team.values())  # the teams summed
    assert counts_reconcile(now=NOW).clean  # (moves the rows' instant to NOW)
    breached.refresh_from_db()

    ServiceClockCount.objects.filter(pk=breached.pk).update(n=7)
    ServiceTimeliness.objects.filter(service_id=team.service_id).delete()
    found = counts_reconcile(now=NOW, repair=False)
    assert any("service open clocks" in line and f"summary 7, teams {breached.n}" in line for line in found.drift)
    assert any(line.startswith("service timeliness") for line in found.drift)
    assert ServiceClockCount.objects.get(pk=breached.pk).n == 7  # a check repairs nothing
    repaired = counts_reconcile(now=NOW)
    assert repaired.drift == found.drift
    assert service_rows_drift() == [] and counts_reconcile(now=NOW).clean
    key = {"service_id": team.service_id, "rule_id": "B6", "status": Status.BREACHED, "day": None}
    assert ServiceClockCount.objects.get(**key).n == breached.n


def test_dashboard_cost_does_not_grow_with_the_teams(pinned, client, users, team, other_team, service):
    client.force_login(users["manager"])
    _clocks(team)
    _clocks(other_team)
    pages = [reverse("oversight:dashboard"), reverse("oversight:dashboard_breaches"),
             reverse("oversight:dashboard_rules"), reverse("oversight:dashboard_months")]  # fmt: skip
    counts_reconcile(now=NOW)  # the rows as of NOW
    before = {url: _cost(client, url) for url in pages}
    for n in range(12):
        _clocks(TeamFactory(name=f"Extra team {n:02}", service=service))
    counts_reconcile(now=NOW)
    after = {url: _cost(client, url) for url in pages}
    for url in pages:
        # The same queries; the same summary rows but for a key or two (a day a new clock made):
        # twelve teams more, each with rows of its own, would be a dozen rows more or many more.
        assert after[url][0] == before[url][0], url
        assert after[url][1] <= before[url][1] + 2, (url, before[url], after[url])
    response = client.get(reverse("oversight:dashboard"), PERIOD)
    breached = OpenClockCount.objects.filter(status=Status.BREACHED, n__gt=0).values_list("n", flat=True)
    assert response.context["open_breaches"] == sum(breached) >= 28  # 14 teams, two or more each


def test_by_team_page_reads_its_page_of_teams(pinned, client, users, team, other_team, service):
    client.force_login(users["manager"])
    for n in range(19):
        _clocks(TeamFactory(name=f"Extra team {n:02}", service=service))
    url = reverse("oversight:dashboard_teams")
    queries = _cost(client, url)[0]
    for n in range(21):  # named after the first page's teams
        _clocks(TeamFactory(name=f"Zeta team {n:02}", service=service))
    assert _cost(client, url)[0] == queries
    page = client.get(url, PERIOD).context["page"]
    assert len(page.object_list) == 20 and page.paginator.count == 43  # and the front door team
    assert [r["team"].name for r in page.object_list][:2] == ["Extra team 00", "Extra team 01"]
    assert all(r["breached"] >= 2 for r in page.object_list if r["team"].name.startswith("Extra"))
    # Only the page's teams were read: a team of page 3 is not in the figures of page 1.
    assert {r["team"].name for r in page.object_list}.isdisjoint({"Zeta team 20"})
