"""The dashboard's summary and drill-down pages: linked, paginated, and the same cost at any size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.oversight.helpers import NOW, make_contact, make_deadline, make_episode

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("oversight:dashboard")
PAGES = [
    DASHBOARD,
    reverse("oversight:dashboard_rules"),
    reverse("oversight:dashboard_teams"),
    reverse("oversight:dashboard_months"),
    reverse("oversight:dashboard_caseloads"),
    reverse("oversight:team_board"),
]
MAX_QUERIES = 20


def build(team, other_team, users, n: int, *, offset: int = 0) -> None:
    """n cases per team with clocks met, missed, breached and running, in several months, and contacts."""
    for i in range(offset, offset + n):
        for t in (team, other_team):
            e = make_episode(t, lead=users["coach"])
            started = NOW - timedelta(days=5 + 9 * (i % 20))
            day = timedelta(days=1)
            make_deadline("B6", team=t, episode=e, started_at=started, expected_at=started + day,
                          due_at=started + 2 * day, stopped_at=started + (1 + i % 3) * day)  # fmt: skip
            make_deadline("B8", team=t, episode=e, started_at=started, due_at=NOW - timedelta(hours=i + 1),
                          assignee=users["coach"])  # fmt: skip
            make_deadline(
                "B10", team=t, episode=e, started_at=NOW - timedelta(days=1), due_at=NOW + timedelta(hours=i + 2)
            )
            make_contact(e.family, received_at=NOW - timedelta(days=i % 40 + 1), decision="allocate")


def test_every_page_costs_the_same_at_two_sizes(client, users, team, other_team, pinned, django_assert_max_num_queries):
    client.force_login(users["manager"])
    for url in PAGES:
        client.get(url)  # the first request of a session also saves it

    def figures():
        out = []
        for url in PAGES:
            with django_assert_max_num_queries(MAX_QUERIES) as captured:
                response = client.get(url, {"team": team.pk} if url == PAGES[-1] else {})
            assert response.status_code == 200, url
            out.append(len(captured.captured_queries))
        return out

    build(team, other_team, users, 3)
    small = figures()
    build(team, other_team, users, 30, offset=3)
    large = figures()
    assert small == large, (small, large)
    # The dashboard and its drill-down pages: at most 15 (the board has its other lists' counts too).
    assert max(large[:5]) <= 15, large


def test_the_summary_links_each_drill_down_page_and_they_link_back(client, users, team, other_team, pinned):
    build(team, other_team, users, 2)
    client.force_login(users["manager"])
    html = client.get(DASHBOARD, {"start": "2026-09-01", "end": "2026-11-23"}).content.decode()
    for url in PAGES[1:5]:
        assert f'href="{url}?start=2026-09-01&amp;end=2026-11-23"' in html, url
        page = client.get(url, {"start": "2026-09-01", "end": "2026-11-23"})
        assert page.status_code == 200
        assert f'href="{DASHBOARD}?start=2026-09-01&amp;end=2026-11-23"' in page.content.decode()
    # The summary is no longer the 15,000-pixel page: its tables of figures are on the drill-downs.
    assert "govuk-details" not in html
    assert 'id="months-table"' not in html


def test_the_drill_down_figures(client, users, team, other_team, pinned):
    build(team, other_team, users, 2)
    client.force_login(users["manager"])
    period = {"start": "2026-09-01", "end": "2026-11-23"}
    rules = {r["rule_id"]: r for r in client.get(reverse("oversight:dashboard_rules"), period).context["page"]}
    assert rules["B8"]["breached"] == 4 and rules["B8"]["unacknowledged"] == 4
    assert rules["B6"]["timeliness"]["run"] == 4
    teams = {r["team"].pk: r for r in client.get(reverse("oversight:dashboard_teams"), period).context["page"]}
    assert teams[team.pk]["breached"] == teams[other_team.pk]["breached"] == 2
    assert teams[team.pk]["timeliness"]["run"] == 6  # B6, B8 and B10 of two cases
    months = client.get(reverse("oversight:dashboard_months"), period).context
    assert [m["month"].month for m in months["by_month"]] == [9, 10, 11]
    assert sum(w["received"] for w in months["page"]) == 4


def test_long_tables_are_paginated(client, users, team, pinned):
    e = make_episode(team)
    for i in range(25):  # 25 rules with a breach each: 20 on the first page
        make_deadline(
            f"Z{i:02d}", team=team, episode=e, started_at=NOW - timedelta(days=3), due_at=NOW - timedelta(days=1)
        )
    client.force_login(users["manager"])
    url = reverse("oversight:dashboard_rules")
    first = client.get(url).context["page"]
    assert len(first.object_list) == 20 and first.paginator.count == 25
    second = client.get(url, {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()
