"""The board's timescales and the dashboard's breaches read only their page (ADR 0050): the counts come
from the summary rows, a page is read along the indexes, and a clock of a family outside the user's
reach is never shown, even though the team's counts include it (ADR 0041)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.oversight.helpers import NOW, make_deadline, make_episode

pytestmark = pytest.mark.django_db
BOARD = reverse("oversight:team_board")
LIST = reverse("oversight:team_board_list")
BREACHES = reverse("oversight:dashboard_breaches")


def _breach(team, episode, *, days_ago: int, rule: str = "B8"):
    return make_deadline(
        rule, team=team, episode=episode, started_at=NOW - timedelta(days=days_ago + 5),
        due_at=NOW - timedelta(days=days_ago, hours=1),
    )  # fmt: skip


def test_a_clock_of_a_family_outside_the_leaders_reach_is_counted_but_never_listed(
    client, users, team, other_team, pinned
):
    mine = make_episode(team, lead=users["coach"])
    theirs = make_episode(other_team)  # a family of another team: not in the team leader's reach
    shown = _breach(team, mine, days_ago=2)
    hidden = _breach(team, theirs, days_ago=1)  # newer: it would be first
    client.force_login(users["teamlead"])
    board = client.get(BOARD)
    assert board.context["bucket_counts"][0][2] == 2  # the team's count: both clocks (ADR 0041)
    assert [d.pk for d in board.context["deadlines"]] == [shown.pk]
    page = client.get(LIST, {"list": "timescales"})
    assert page.status_code == 200
    assert [d.pk for d in page.context["page"].object_list] == [shown.pk]
    html = page.content.decode()
    assert theirs.family.name not in html and mine.family.name in html
    assert hidden.pk not in [d.pk for d in page.context["page"].object_list]


def test_the_timescales_list_pages_through_every_bucket_in_order(client, users, team, pinned):
    coach = users["coach"]
    made = []
    for i in range(23):
        e = make_episode(team, lead=coach)
        made.append(_breach(team, e, days_ago=i + 1))  # newest breach first
    for i in range(3):  # overdue: expected time passed, maximum ahead
        e = make_episode(team, lead=coach)
        made.append(
            make_deadline("B6", team=team, episode=e, started_at=NOW - timedelta(days=3),
                          expected_at=NOW - timedelta(hours=3 - i), due_at=NOW + timedelta(days=2))
        )  # fmt: skip
    e = make_episode(team, lead=coach)
    made.append(make_deadline("B10", team=team, episode=e, started_at=NOW, due_at=NOW + timedelta(hours=2)))
    client.force_login(users["teamlead"])
    first = client.get(LIST, {"list": "timescales"})
    second = client.get(LIST, {"list": "timescales", "page": 2})
    listed = [d.pk for d in first.context["page"].object_list] + [d.pk for d in second.context["page"].object_list]
    assert listed == [d.pk for d in made]
    assert first.context["page"].paginator.count == 27
    assert [d.bucket for d in second.context["page"].object_list] == ["breached"] * 3 + ["overdue"] * 3 + ["today"]
    overdue = client.get(LIST, {"list": "timescales", "status": "overdue"})
    assert [d.pk for d in overdue.context["page"].object_list] == [d.pk for d in made[23:26]]
    # A page past the end is the last page, as before.
    assert client.get(LIST, {"list": "timescales", "page": 9}).context["page"].number == 2


def test_the_dashboards_breaches_page_by_page_newest_first(client, users, team, other_team, pinned):
    made = [_breach(team if i % 2 else other_team, make_episode(team), days_ago=i + 1) for i in range(25)]
    client.force_login(users["manager"])
    first = client.get(BREACHES)
    second = client.get(BREACHES, {"page": 2})
    assert first.context["page"].paginator.count == 25
    listed = [d.pk for d in first.context["page"].object_list] + [d.pk for d in second.context["page"].object_list]
    assert listed == [d.pk for d in made]
    only = client.get(BREACHES, {"team": team.pk})
    assert [d.pk for d in only.context["page"].object_list] == [d.pk for d in made if d.team_id == team.pk][:20]


def test_the_pages_cost_the_same_queries_with_few_or_many_clocks(client, users, team, pinned):
    client.force_login(users["teamlead"])
    client.get(BOARD)

    def count(url, params=None) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, params or {}).status_code == 200
        return len(ctx.captured_queries)

    pages = [(BOARD, {}), (LIST, {"list": "timescales"}), (LIST, {"list": "timescales", "page": 2})]
    for i in range(3):
        _breach(team, make_episode(team, lead=users["coach"]), days_ago=i + 1)
    small = [count(url, params) for url, params in pages]
    for i in range(40):
        _breach(team, make_episode(team, lead=users["coach"]), days_ago=i + 10)
    large = [count(url, params) for url, params in pages]
    assert small == large
    assert large[0] <= 15, large
