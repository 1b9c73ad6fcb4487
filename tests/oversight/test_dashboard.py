"""The manager dashboard and the timeliness report: known clocks in, exact percentages and medians out."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Contact, Episode
from oversight.models import BreachAcknowledgement
from tests.factories import family_with_children
from tests.oversight.helpers import NOW, london, make_contact, make_deadline, make_episode

pytestmark = pytest.mark.django_db
S = Episode.State
DASHBOARD = reverse("oversight:dashboard")
PERIOD = {"start": "2026-09-01", "end": "2026-11-23"}
# The breaches list shows clocks that breached in the period: old_breach breached on 3 August.
SINCE_AUGUST = {"start": "2026-08-01", "end": "2026-11-23"}


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def end_of(*args) -> object:
    return london(*args, 23, 59, 59)


@pytest.fixture
def clocks(users, team, other_team, far_service, pinned):
    """B6 clocks in our team (expected and maximum), B8 clocks in the other team (maximum only)."""
    e = make_episode(team)
    other = make_episode(other_team)
    far = make_episode(far_service)
    c = {}

    def b6(name, started, expected, due, stopped=None, **kw):
        # One open clock per rule per episode: each B6 clock gets its own episode.
        c[name] = make_deadline(
            "B6", team=team, episode=make_episode(team), started_at=started, expected_at=expected, due_at=due,
            stopped_at=stopped, title="Allocated to a practitioner", **kw,
        )  # fmt: skip

    b6("met", london(2026, 10, 2, 10), end_of(2026, 10, 6), end_of(2026, 10, 7), london(2026, 10, 5, 10))
    b6("late_expected", london(2026, 10, 5, 10), end_of(2026, 10, 7), end_of(2026, 10, 10), london(2026, 10, 9, 10))
    b6("late", london(2026, 11, 10, 10), end_of(2026, 11, 12), end_of(2026, 11, 15), london(2026, 11, 16, 10))
    b6("running", london(2026, 11, 20, 10), end_of(2026, 11, 24), end_of(2026, 11, 25))
    b6("breached", london(2026, 11, 14, 10), end_of(2026, 11, 18), end_of(2026, 11, 19))
    b6(
        "withdrawn",
        london(2026, 10, 1, 10),
        end_of(2026, 10, 3),
        end_of(2026, 10, 4),
        london(2026, 10, 2),
        withdrawn=True,
    )
    b6("before", london(2026, 8, 20, 10), end_of(2026, 8, 22), end_of(2026, 8, 23), london(2026, 8, 21))
    # 00:30 BST on 1 September is 31 August in UTC: it belongs to September.
    c["sep1"] = make_deadline(
        "B8", team=other_team, episode=other, started_at=london(2026, 9, 1, 0, 30),
        due_at=london(2026, 9, 3, 0, 30), stopped_at=london(2026, 9, 2, 0, 30),
    )  # fmt: skip
    c["sep30"] = make_deadline(
        "B8", team=other_team, episode=make_episode(other_team), started_at=london(2026, 9, 30, 12),
        due_at=london(2026, 10, 2, 12), stopped_at=london(2026, 10, 1, 12),
    )  # fmt: skip
    c["old_breach"] = make_deadline(
        "B9", team=other_team, episode=other, started_at=london(2026, 8, 1, 10), due_at=london(2026, 8, 3, 10)
    )
    c["far"] = make_deadline("B6", team=far_service, episode=far, started_at=london(2026, 10, 2, 10),
                             due_at=london(2026, 10, 3, 10))  # fmt: skip
    c["episode"] = e
    return c


class TestTimeliness:
    def test_by_rule(self, client, users, clocks):
        client.force_login(users["manager"])
        response = client.get(DASHBOARD, PERIOD)
        assert response.status_code == 200
        rows = {r["rule_id"]: r for r in response.context["by_rule"]}
        assert set(rows) == {"B6", "B8"}
        b6 = rows["B6"]
        assert b6["run"] == 5 and b6["open"] == 2
        assert (b6["met_expected"], b6["judged_expected"], b6["pct_expected"]) == (1, 4, 25.0)
        assert (b6["met_maximum"], b6["judged_maximum"], b6["pct_maximum"]) == (2, 4, 50.0)
        b8 = rows["B8"]
        assert (b8["run"], b8["pct_expected"], b8["pct_maximum"]) == (2, None, 100.0)
        # The median time taken is the timeliness report's (the dashboard reads summary rows).
        report = {
            r["rule_id"]: r for r in client.get(reverse("oversight:timeliness_report"), PERIOD).context["by_rule"]
        }
        assert report["B6"]["median"] == timedelta(days=4)  # of 3, 4 and 6 days
        assert report["B8"]["median"] == timedelta(days=1)

    def test_by_team_by_month_and_trend(self, client, users, team, other_team, clocks):
        client.force_login(users["manager"])
        # By team on the by-team page (its page of teams, their own rows: ADR 68).
        page = client.get(reverse("oversight:dashboard_teams"), PERIOD).context["page"]
        teams = {r["team"].name: r["timeliness"]["pct_maximum"] for r in page if r["timeliness"]}
        assert teams == {team.name: 50.0, other_team.name: 100.0}
        response = client.get(DASHBOARD, PERIOD)
        assert response.context["by_team"] == []  # the dashboard reads the service's rows only
        months = [(m["month"], m["run"], m["pct_expected"], m["pct_maximum"]) for m in response.context["by_month"]]
        assert months == [
            (date(2026, 9, 1), 2, None, 100.0),
            (date(2026, 10, 1), 2, 50.0, 100.0),
            (date(2026, 11, 1), 3, 0.0, 0.0),
        ]
        trend = response.context["trend"]
        assert (trend["direction"], trend["change"]) == ("down", -100.0)
        html = response.content.decode()
        assert "down 100.0 points" in html
        assert '<svg class="eh-svg-chart" role="img"' in html  # charts drawn, with their tables
        rows = read_csv(client.get(reverse("oversight:export", args=["timeliness-by-month"]), PERIOD))
        assert rows[0][0] == "Month" and [r[0] for r in rows[1:]] == ["September 2026", "October 2026", "November 2026"]
        assert rows[2][4] == "50.0" and rows[2][7] == "100.0"

    def test_filters_by_team_and_rule(self, client, users, team, clocks):
        client.force_login(users["manager"])
        response = client.get(DASHBOARD, {**PERIOD, "team": team.pk})
        assert [r["rule_id"] for r in response.context["by_rule"]] == ["B6"]
        response = client.get(DASHBOARD, {**PERIOD, "rule": "B8"})
        assert [r["rule_id"] for r in response.context["by_rule"]] == ["B8"]

    def test_timeliness_report_for_a_team_leader_is_their_team_only(self, client, users, clocks):
        client.force_login(users["teamlead"])
        response = client.get(reverse("oversight:timeliness_report"), PERIOD)
        assert response.status_code == 200
        assert [r["rule_id"] for r in response.context["by_rule"]] == ["B6"]
        assert "4 days" in response.content.decode()
        rows = read_csv(client.get(reverse("oversight:export", args=["timeliness-by-rule"]), PERIOD))
        assert rows[0][:3] == ["Rule", "Timescale", "Clocks run"]
        assert rows[1][:3] == ["B6", "Allocated to a practitioner", "5"]
        assert rows[1][5] == "25.0" and rows[1][8] == "50.0" and rows[1][10] == "96.0"  # median in hours

    def test_bad_period_is_reported_and_the_default_used(self, client, users, clocks):
        client.force_login(users["manager"])
        response = client.get(DASHBOARD, {"start": "2026-11-30", "end": "2026-11-01"})
        assert response.status_code == 200
        assert "The end of the period must be on or after its start" in response.content.decode()
        response = client.get(DASHBOARD, {"start": "not a date", "team": "abc", "acknowledged": "maybe"})
        assert response.status_code == 200
        assert "Enter the start of the period as a real date" in response.content.decode()
        assert response.context["period"].end == NOW.date()


class TestBreaches:
    def test_breaches_across_the_service_and_acknowledging(self, client, users, team, other_team, clocks):
        client.force_login(users["manager"])
        response = client.get(DASHBOARD, SINCE_AUGUST)
        assert {d.pk for d in response.context["breaches"]} == {clocks["breached"].pk, clocks["old_breach"].pk}
        assert (response.context["breach_total"], response.context["unacknowledged_total"]) == (2, 2)
        # By team on the by-team page (20 teams a page, ADR 68); the dashboard reads no team's rows.
        assert response.context["breaches_by_team"] == []
        response = client.get(reverse("oversight:dashboard_teams"), SINCE_AUGUST)
        by_team = {
            r["team"].name: (r["breached"], r["unacknowledged"]) for r in response.context["page"] if r["breached"]
        }
        assert by_team == {team.name: (1, 1), other_team.name: (1, 1)}

        url = reverse("oversight:breach_acknowledge", args=[clocks["breached"].pk])
        response = client.post(url, {"comment": "  "})
        assert response.status_code == 400
        assert "Enter a comment saying what is being done" in response.content.decode()
        response = client.post(url, {"comment": "Practitioner off sick; reallocated today."})
        assert response.status_code == 302
        ack = BreachAcknowledgement.objects.get(deadline=clocks["breached"])
        assert ack.by == users["manager"] and ack.at == NOW

        response = client.get(DASHBOARD, SINCE_AUGUST)
        assert [d.pk for d in response.context["breaches"]] == [clocks["old_breach"].pk]
        response = client.get(DASHBOARD, {**SINCE_AUGUST, "acknowledged": "yes"})
        assert [d.pk for d in response.context["breaches"]] == [clocks["breached"].pk]
        assert "Practitioner off sick" in response.content.decode()
        rows = read_csv(client.get(reverse("oversight:export", args=["breaches"]), {"acknowledged": "all"}))
        assert len(rows) == 3 and rows[0][-1] == "Comment"
        assert "Practitioner off sick; reallocated today." in [r[-1] for r in rows]
        # Twice is refused with a message, not an error.
        response = client.post(url, {"comment": "again"})
        assert response.status_code == 409 and BreachAcknowledgement.objects.count() == 1
        assert "again" in response.content.decode()  # what the second person typed is still on the page

    def test_only_a_manager_of_the_service_may_acknowledge(self, client, users, far_manager, clocks):
        url = reverse("oversight:breach_acknowledge", args=[clocks["breached"].pk])
        client.force_login(users["teamlead"])
        assert client.post(url, {"comment": "x"}).status_code == 403
        client.force_login(far_manager)
        assert client.post(url, {"comment": "x"}).status_code == 404
        response = client.get(DASHBOARD, PERIOD)
        assert [d.pk for d in response.context["breaches"]] == [clocks["far"].pk]
        assert BreachAcknowledgement.objects.count() == 0

    def test_a_clock_that_is_not_breached_cannot_be_acknowledged(self, client, users, clocks):
        client.force_login(users["manager"])
        url = reverse("oversight:breach_acknowledge", args=[clocks["running"].pk])
        response = client.post(url, {"comment": "x"})
        assert response.status_code == 409 and "not breached" in response.content.decode()


class TestCaseloadsAndContacts:
    def test_caseload_distribution(self, client, users, team, other_team, coach2, other_coach, pinned):
        coach2.caseload_capacity_override = 4
        coach2.save()
        other_coach.caseload_capacity_override = 2
        other_coach.save()
        for _ in range(4):
            make_episode(team, lead=coach2)
        for _ in range(3):
            make_episode(other_team, lead=other_coach)
        make_episode(team, lead=users["coach"], closed_at=NOW - timedelta(days=3))  # closed: not caseload
        client.force_login(users["manager"])
        # The dashboard links to the caseloads page, which reads every practitioner (ADR 56).
        assert "distribution" not in client.get(DASHBOARD).context
        response = client.get(reverse("oversight:dashboard_caseloads"))
        bands = {b["key"]: b["count"] for b in response.context["distribution"]["bands"]}
        assert bands == {"under_half": 1, "half": 0, "near": 0, "at": 1, "over": 1}
        # Per team on the by-team page (its page of teams, ADR 68).
        response = client.get(reverse("oversight:dashboard_teams"))
        teams = {
            r["team"].name: (r["caseload"]["caseload"], r["caseload"]["capacity"], r["caseload"]["over"])
            for r in response.context["page"].object_list
            if r["caseload"]
        }
        assert teams == {team.name: (4, 24, 0), other_team.name: (3, 2, 1)}
        rows = read_csv(client.get(reverse("oversight:export", args=["caseload-distribution"])))
        assert rows[1:] == [
            ["Under half of capacity", "1", "33.3"],
            ["Half to 79% of capacity", "0", "0.0"],
            ["80% to 99% of capacity", "0", "0.0"],
            ["At capacity", "1", "33.3"],
            ["Over capacity", "1", "33.3"],
        ]

    def test_contacts_and_decisions_per_week(self, client, users, team, pinned):
        # A family of the manager's service: managers see their service's contacts only.
        family, children = family_with_children(1, team=team)
        D = Contact.Decision
        make_contact(family, received_at=london(2026, 11, 10, 9), decision=D.SIGNPOST)
        make_contact(family, received_at=london(2026, 11, 15, 23, 30), decision=D.ALLOCATE)  # Sunday: week of the 9th
        make_contact(family, received_at=london(2026, 11, 16, 0, 10), decision=D.ALLOCATE)  # Monday: week of the 16th
        make_contact(family, received_at=london(2026, 11, 18, 9), decision=D.ALLOCATE)
        make_contact(family, received_at=london(2026, 11, 20, 9))
        client.force_login(users["manager"])
        weeks = client.get(reverse("oversight:dashboard_months"), PERIOD).context["weeks"]
        labels = [value for value, _ in Contact.Decision.choices]
        summary = [
            (w["week"], w["received"], dict(zip(labels, w["decisions"], strict=True))[D.ALLOCATE], w["undecided"])
            for w in weeks
        ]
        assert summary == [(date(2026, 11, 9), 2, 1, 0), (date(2026, 11, 16), 3, 2, 1)]
        rows = read_csv(client.get(reverse("oversight:export", args=["contacts-by-week"]), PERIOD))
        assert rows[1][:2] == ["09/11/2026", "2"] and rows[2][:2] == ["16/11/2026", "3"]


class TestAccessAndCost:
    def test_who_may_see_the_dashboard(self, client, users):
        for name in ("outsider", "teamlead", "coach", "mash", "dutymanager"):
            client.force_login(users[name])
            assert client.get(DASHBOARD).status_code == 403, name
            assert client.get(reverse("oversight:export", args=["breaches"])).status_code == 403, name

    def test_the_dashboard_costs_the_same_whatever_the_number_of_cases(self, client, users, team, other_team, pinned):
        client.force_login(users["manager"])
        client.get(DASHBOARD)

        def build(n):
            for i in range(n):
                e = make_episode(team, lead=users["coach"])
                make_deadline("B6", team=team, episode=e, started_at=NOW - timedelta(days=20 + i),
                              due_at=NOW - timedelta(days=18), stopped_at=NOW - timedelta(days=19))  # fmt: skip
                make_deadline("B8", team=other_team, episode=e, started_at=NOW - timedelta(days=5 + i),
                              due_at=NOW - timedelta(days=1))  # fmt: skip
                make_contact(e.family, received_at=NOW - timedelta(days=i + 1), decision="allocate")

        def count():
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(DASHBOARD).status_code == 200
            return len(ctx.captured_queries)

        build(3)
        small = count()
        build(12)
        large = count()
        assert small == large <= 20


def test_dashboard_figures_are_never_cached_and_move_as_work_happens(settings, client, users, team, pinned):
    """The figures come from the summary rows (deadlines.counts), kept as the clocks change: no cache."""
    settings.OVERSIGHT_AGGREGATE_CACHE_SECONDS = 60
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}}
    client.force_login(users["manager"])
    period = {"start": "2026-11-01", "end": "2026-11-23"}
    e = make_episode(team)
    make_deadline("B8", team=team, episode=e, started_at=NOW - timedelta(days=2), due_at=NOW - timedelta(days=1))
    first = client.get(DASHBOARD, period).context
    assert [r["rule_id"] for r in first["by_rule"]] == ["B8"] and first["breach_total"] == 1
    make_deadline("B9", team=team, episode=e, started_at=NOW - timedelta(days=2), due_at=NOW - timedelta(days=1))
    again = client.get(DASHBOARD, period).context
    assert [r["rule_id"] for r in again["by_rule"]] == ["B8", "B9"] and again["breach_total"] == 2


def test_a_cached_figure_is_computed_once_however_many_ask(settings):
    """Stampede protection: while one request computes, the others wait for its value."""
    import threading

    from oversight.selectors import single_flight

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sf"}}
    calls = []
    started = threading.Event()

    def compute():
        calls.append(1)
        started.set()
        threading.Event().wait(0.3)
        return ["figures"]

    results = []
    first = threading.Thread(target=lambda: results.append(single_flight("k", 60, compute)))
    first.start()
    started.wait(2)
    others = [threading.Thread(target=lambda: results.append(single_flight("k", 60, compute))) for _ in range(5)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(5)
    assert len(calls) == 1
    assert results == [["figures"]] * 6
