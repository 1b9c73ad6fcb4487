"""The team board and the dashboard as summaries with drill-down lists: every filter filters what it
says, breaches newest first, dates with the year when not this year, pages of 20, and a bounded
number of queries whatever the number of cases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from oversight.templatetags.oversight_tags import day_text, when_text
from tests.conftest import make_user
from tests.oversight.helpers import NOW, london, make_deadline, make_episode

pytestmark = pytest.mark.django_db
BOARD = reverse("oversight:team_board")
LIST = reverse("oversight:team_board_list")
DASHBOARD = reverse("oversight:dashboard")
BREACHES = reverse("oversight:dashboard_breaches")


def rows(client, url, params) -> list:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return list(response.context["page"].object_list)


@pytest.fixture
def work(users, team, other_team, coach2, other_coach, pinned):
    """A breach from 2021 and one from this week, an overdue, a due-today and a due-this-week clock,
    split between two practitioners; and another team's breach."""
    coach = users["coach"]
    e1, e2 = make_episode(team, lead=coach), make_episode(team, lead=coach2)
    old = make_deadline(
        "B2", team=team, episode=e1, started_at=london(2021, 12, 1, 9), due_at=london(2021, 12, 20, 23, 59)
    )
    new = make_deadline(
        "B8", team=team, episode=e2, started_at=NOW - timedelta(days=3), due_at=NOW - timedelta(hours=2)
    )
    overdue = make_deadline(
        "B9", team=team, episode=e1, started_at=NOW - timedelta(days=3),
        expected_at=NOW - timedelta(hours=1), due_at=NOW + timedelta(days=2),
    )  # fmt: skip
    today = make_deadline(
        "B10", team=team, episode=e2, started_at=NOW - timedelta(days=1), due_at=NOW + timedelta(hours=5)
    )
    week = make_deadline(
        "B11", team=team, episode=e2, started_at=NOW - timedelta(days=1), due_at=NOW + timedelta(days=3)
    )
    other = make_deadline(
        "B8", team=other_team, episode=make_episode(other_team, lead=other_coach),
        started_at=NOW - timedelta(days=5), due_at=london(2026, 9, 10, 12),
    )  # fmt: skip
    return {"old": old, "new": new, "overdue": overdue, "today": today, "week": week, "other": other}


@pytest.mark.parametrize(
    "url, params",
    [(BOARD, {}), (LIST, {"list": "timescales"}), (LIST, {"list": "long-open"}), (LIST, {"list": "high-risk"})],
)
def test_the_board_and_its_lists_log_a_view_of_each_family_they_show(client, users, work, url, params):
    """The board logs the families of the rows it shows, read from those rows (not the whole context):
    each one shown once, and none of another team's."""
    from cases.access import families_in
    from cases.models import AccessLog

    client.force_login(users["teamlead"])
    response = client.get(url, params)
    shown = families_in(response.context["deadlines"] if url == BOARD else response.context["page"])
    views = AccessLog.objects.filter(user=users["teamlead"], action="view")
    logged = list(views.values_list("family_id_logged", flat=True))
    assert sorted(logged) == sorted(shown)
    assert work["other"].episode.family_id not in logged
    if url == BOARD or params["list"] == "timescales":
        assert shown == {work[k].episode.family_id for k in ("old", "new", "overdue", "today", "week")}


class TestBoardFilters:
    def test_most_urgent_is_this_weeks_breach_not_the_2021_one(self, client, users, work):
        client.force_login(users["teamlead"])
        response = client.get(BOARD)
        assert [d.pk for d in response.context["deadlines"]] == [
            work[k].pk for k in ("new", "old", "overdue", "today", "week")
        ]
        html = response.content.decode()
        assert "20 December 2021, 23:59" in html  # the old breach shows its year
        assert "Mon 20 Dec" not in html

    def test_each_filter_changes_the_list(self, client, users, team, other_team, coach2, work):
        client.force_login(users["manager"])
        everything = {d.pk for d in rows(client, LIST, {"team": team.pk})}
        assert everything == {work[k].pk for k in ("old", "new", "overdue", "today", "week")}
        by_team = {d.pk for d in rows(client, LIST, {"team": other_team.pk})}
        assert by_team == {work["other"].pk}
        by_person = {d.pk for d in rows(client, LIST, {"team": team.pk, "practitioner": users["coach"].pk})}
        assert by_person == {work["old"].pk, work["overdue"].pk}
        by_rule = {d.pk for d in rows(client, LIST, {"team": team.pk, "rule": "B10"})}
        assert by_rule == {work["today"].pk}
        breached = [d.pk for d in rows(client, LIST, {"team": team.pk, "status": "breached"})]
        assert breached == [work["new"].pk, work["old"].pk]  # newest breach first
        assert [d.pk for d in rows(client, LIST, {"team": team.pk, "status": "week"})] == [work["week"].pk]
        both = {d.pk for d in rows(client, LIST, {"team": team.pk, "practitioner": coach2.pk, "status": "breached"})}
        assert both == {work["new"].pk}
        # The board's own counts follow the same filters.
        response = client.get(BOARD, {"team": team.pk, "status": "breached"})
        assert response.context["summary"]["totals"] == {
            "breached": 2, "overdue": 0, "today": 0, "week": 0, "total": 2
        }  # fmt: skip
        by_rule = {r["rule_id"]: r["breached"] for r in response.context["by_rule"]}
        assert by_rule == {"B2": 1, "B8": 1}

    def test_filtering_by_anyone_in_the_team_shows_them(self, client, users, team, work):
        """Filtering by a duty worker (not a practitioner) used to say "No practitioners in this team"."""
        client.force_login(users["teamlead"])
        duty = users["duty"]
        make_deadline("B3", team=team, episode=make_episode(team), assignee=duty,
                      started_at=NOW - timedelta(days=2), due_at=NOW - timedelta(days=1))  # fmt: skip
        response = client.get(BOARD, {"practitioner": duty.pk})
        html = response.content.decode()
        assert "No practitioners in this team" not in html
        assert [r["name"] for r in response.context["people"]] == [duty.get_full_name()]
        assert response.context["people"][0]["breached"] == 1
        # A practitioner with nothing due still has their row, with their caseload.
        quiet = make_user("quiet", roles.PRACTITIONER, team)
        response = client.get(BOARD, {"practitioner": quiet.pk})
        people = response.context["people"]
        assert len(people) == 1 and people[0]["person"].pk == quiet.pk and people[0]["total"] == 0

    def test_lists_are_pages_of_20(self, client, users, team, pinned):
        coach = users["coach"]
        for i in range(30):
            make_deadline("B8", team=team, episode=make_episode(team, lead=coach),
                          started_at=NOW - timedelta(days=40), due_at=NOW - timedelta(days=i + 1))  # fmt: skip
        client.force_login(users["teamlead"])
        first = rows(client, LIST, {"list": "timescales"})
        second = rows(client, LIST, {"list": "timescales", "page": 2})
        assert (len(first), len(second)) == (20, 10)
        assert [d.due_at for d in first + second] == sorted((d.due_at for d in first + second), reverse=True)
        assert len(client.get(BOARD).context["deadlines"]) == 5

    def test_who_may_see_the_lists(self, client, users, other_team, work):
        client.force_login(users["coach"])
        assert client.get(LIST).status_code == 403
        client.force_login(users["teamlead"])
        assert client.get(LIST, {"team": other_team.pk}).status_code == 404
        assert client.get(LIST, {"list": "nothing"}).status_code == 404
        assert work["other"].episode.family.name not in client.get(LIST).content.decode()
        for name in (
            "timescales",
            "long-open",
            "no-oversight",
            "high-risk",
            "unrecorded-visits",
            "deactivated",
            "escalations",
        ):
            assert client.get(LIST, {"list": name, "status": "nonsense"}).status_code == 200, name


class TestDashboardFilters:
    def test_breaches_newest_first_and_from_to_filters_them(self, client, users, team, other_team, work):
        client.force_login(users["manager"])
        wide = {"start": "2021-12-01", "end": "2023-11-30"}
        response = client.get(BREACHES, wide)
        assert [d.pk for d in response.context["page"].object_list] == [work["old"].pk]
        recent = [d.pk for d in rows(client, BREACHES, {})]  # the default period: the last six months
        assert recent == [work["new"].pk, work["other"].pk]  # newest first
        dashboard = client.get(DASHBOARD)
        assert [d.pk for d in dashboard.context["breaches"]] == recent
        assert dashboard.context["breach_total"] == 2
        assert dashboard.context["open_breaches"] == 3  # the 2021 breach is still open, outside the period
        # GOV.UK date inputs: day, month and year.
        parts = {
            "start-day": "1",
            "start-month": "11",
            "start-year": "2026",
            "end-day": "23",
            "end-month": "11",
            "end-year": "2026",
        }
        assert [d.pk for d in rows(client, BREACHES, parts)] == [work["new"].pk]
        assert client.get(DASHBOARD, parts).context["period"].start == date(2026, 11, 1)
        assert [d.pk for d in rows(client, BREACHES, {"team": other_team.pk})] == [work["other"].pk]
        assert [d.pk for d in rows(client, BREACHES, {"rule": "B8", "team": team.pk})] == [work["new"].pk]
        assert rows(client, BREACHES, {"acknowledged": "yes"}) == []

    def test_by_team_and_by_rule_counts_follow_the_period(self, client, users, team, other_team, work):
        client.force_login(users["manager"])
        response = client.get(DASHBOARD, {"start": "2026-10-01", "end": "2026-11-23"})
        assert [(r["rule_id"], r["breached"]) for r in response.context["breaches_by_rule"]] == [("B8", 1)]
        response = client.get(reverse("oversight:dashboard_teams"), {"start": "2026-10-01", "end": "2026-11-23"})
        assert [(r["team"].name, r["breached"]) for r in response.context["page"] if r["breached"]] == [(team.name, 1)]

    def test_date_inputs_not_type_date_and_a_bad_date_is_kept_as_typed(self, client, users, work):
        client.force_login(users["manager"])
        html = client.get(DASHBOARD).content.decode()
        assert 'type="date"' not in html
        assert 'name="start-day"' in html and 'name="end-year"' in html
        response = client.get(DASHBOARD, {"start-day": "31", "start-month": "2", "start-year": "2026"})
        html = response.content.decode()
        assert response.status_code == 200
        assert "Enter the start of the period as a real date" in html
        assert 'name="start-day" type="text" inputmode="numeric" value="31"' in html
        assert response.context["period"].end == NOW.date()


class TestDates:
    def test_the_year_only_when_not_this_year(self, settings):
        assert day_text(date(2021, 12, 20), NOW) == "20 December 2021"
        assert day_text(date(2026, 12, 20), NOW) == "20 December"
        assert when_text(london(2021, 12, 20, 23, 59), NOW) == "20 December 2021, 23:59"
        assert when_text(london(2026, 7, 1, 9, 5), NOW) == "1 July, 09:05"
        assert when_text(None, NOW) == "–"


def build(team, users, n: int) -> None:
    """n cases that are on every one of the board's lists and the dashboard's breaches."""
    from cases.models import Escalation, PlannedVisit
    from tests.oversight.helpers import make_contact

    coach = users["coach"]
    leaver = make_user(f"leaver{Escalation.objects.count()}", roles.PRACTITIONER, team, is_active=False)
    for i in range(n):
        e = make_episode(team, lead=coach if i % 2 else leaver, opened_at=NOW - timedelta(days=120 + 30 * i))
        make_deadline(
            "B8", team=team, episode=e, started_at=NOW - timedelta(days=9), due_at=NOW - timedelta(hours=i + 1)
        )
        make_deadline(
            "B10", team=team, episode=e, started_at=NOW - timedelta(days=3), due_at=NOW + timedelta(hours=i + 1)
        )
        make_contact(e.family, received_at=e.opened_at - timedelta(days=1), risks={"attendance": 3})
        PlannedVisit.objects.create(
            episode=e, family=e.family, planned_at=NOW - timedelta(hours=i + 2), visitor=coach,
            created_at=NOW - timedelta(days=2), created_by=coach,
        )  # fmt: skip
        Escalation.objects.create(
            episode=e, about="step_up", disagreement="Threshold not met", escalated_to="Head of service",
            raised_at=NOW - timedelta(days=i + 1), raised_by=users["teamlead"],
        )  # fmt: skip


class TestQueryCounts:
    def _count(self, client, url, params=None) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params or {})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def test_one_case_or_thirty_cost_the_same(self, client, users, team, pinned):
        pages = [(BOARD, {}), (DASHBOARD, {}), (BREACHES, {})] + [
            (LIST, {"list": name})
            for name in (
                "timescales",
                "long-open",
                "no-oversight",
                "high-risk",
                "unrecorded-visits",
                "deactivated",
                "escalations",
            )
        ]
        client.force_login(users["manager"])
        for url, params in pages:
            client.get(url, params)  # the first request of a session also saves the session
        build(team, users, 1)
        small = [self._count(client, url, {"team": team.pk, **params}) for url, params in pages]
        build(team, users, 29)
        large = [self._count(client, url, {"team": team.pk, **params}) for url, params in pages]
        assert small == large
        assert max(large) <= 20, large
