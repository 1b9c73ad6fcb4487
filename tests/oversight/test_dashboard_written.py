"""What the dashboard's pages write in Python instead of with includes and per-row reads (ADR 80) is
what those wrote: the period filter and the charts byte for byte the includes' markup, the by-team
page's caseloads the sums of every practitioner's, the breach ages Django's `timesince`, the access
log the families the whole context held, and the caseload page of a team with no practitioners."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.template import engines
from django.template.defaultfilters import timesince_filter
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from accounts import roles
from accounts.models import Team
from cases.access import families_in
from cases.models import AccessLog
from oversight import selectors
from oversight.breach_rows import breach_age
from oversight.charts import bar_chart, chart_markup, hbar_chart
from oversight.filters import period_filters
from tests.conftest import make_user
from tests.oversight.helpers import NOW, london, make_deadline, make_episode
from tests.oversight.test_dashboard import clocks  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

QUERIES = (
    {},
    {"acknowledged": "all"},
    {"acknowledged": "yes", "rule": "B6"},
    {"rule": "no such rule", "acknowledged": "maybe"},
    {
        "start-day": "1",
        "start-month": "8",
        "start-year": "2026",
        "end-day": "23",
        "end-month": "11",
        "end-year": "2026",
    },
    {"start-day": '"><script>', "start-month": "x&y", "start-year": ""},
)


def test_the_period_filter_is_the_includes_markup(users, team, other_team, service, far_manager, far_service, pinned):
    Team.objects.create(name='Tom & "Jerry" <b>', service=service)
    include = engines["django"].get_template("oversight/includes/period_filter.html")
    factory = RequestFactory()
    for teams_query in ({}, {"team": str(team.pk)}, {"team": str(other_team.pk)}, {"team": "nonsense"}):
        for query in QUERIES:
            request = factory.get("/", {**query, **teams_query})
            request.user = users["manager"]
            f = period_filters(request)
            assert len(f.teams) == 4
            for with_rule in (False, True):
                for with_acknowledged in (False, True):
                    flags = {"with_rule": with_rule, "with_acknowledged": with_acknowledged}
                    expected = include.render({"filters": f, **flags})
                    assert f.markup(**flags) == expected
    assert f.teams == list(Team.objects.filter(service=service).order_by("name"))
    # Another service's manager (the compiled read of the teams run with another id): its own teams.
    request = factory.get("/")
    request.user = far_manager
    assert period_filters(request).teams == list(Team.objects.filter(service=far_service.service).order_by("name"))
    # One team: no team select, as in the include.
    request = factory.get("/", {"rule": "B6"})
    request.user = users["teamlead"]
    f = period_filters(request, roles_allowed=(roles.MANAGER, roles.TEAM_LEADER))
    assert len(f.teams) == 1
    expected = include.render({"filters": f, "with_rule": True})
    assert f.markup(with_rule=True) == expected and "All teams" not in expected and " selected>" in expected


def test_the_charts_are_the_includes_markup():
    include = engines["django"].get_template("oversight/includes/chart.html")
    series = [
        [],
        [("Jul\n2026", 72.0), ("Aug\n2026", None), ("Sep\n2026", 100), ("Oct\n2026", 0), ("Nov\n2026", 55.5)],
        [(f"{i} Jan", i * 3 % 17) for i in range(1, 40)],  # narrow bars: no values, every few labelled
        [("A & <b>", 3), ('"quoted"\n<sub>', 1.25), ("Über", None)],
        [("x", -4), ("y", 250)],
    ]
    for items in series:
        for chart in (
            bar_chart(items),
            bar_chart(items, maximum=100, unit="%"),
            hbar_chart(items),
            hbar_chart([(label * 12, value) for label, value in items], unit=" cases"),
        ):
            for below in (False, True):
                for chart_id, title in (("chart-month", "Percent met"), ('c"<x>', "A & B <i>")):
                    context = {"chart": chart, "chart_id": chart_id, "title": title, "below": below}
                    expected = include.render(context)
                    assert chart_markup(chart, chart_id=chart_id, title=title, below=below) == expected


def test_the_teams_caseloads_are_the_sums_of_every_practitioners(users, team, other_team, service, coach2, pinned):
    from cases.models import Caseload

    empty = Team.objects.create(name="No staff", service=service)
    part_time = make_user("parttime", roles.PRACTITIONER, other_team, working_pattern="part_time")
    override = make_user("override", roles.PRACTITIONER, other_team, caseload_capacity_override=2)
    zero = make_user("zero", roles.PRACTITIONER, team, caseload_capacity_override=0)
    make_user("zero2", roles.PRACTITIONER, team, caseload_capacity_override=0)  # no cases: at capacity
    make_user("gone", roles.PRACTITIONER, team, is_active=False)
    make_user("lead2", roles.TEAM_LEADER, team)
    for user, n in ((users["coach"], 3), (coach2, 25), (part_time, 10), (override, 5), (zero, 1)):
        Caseload.objects.update_or_create(lead_professional_id=user.pk, defaults={"open_cases": n})
    teams = [team, other_team, empty]
    for chosen in (teams, [other_team], [empty], [team, empty], []):
        expected = {
            t["team"].pk: {k: t[k] for k in ("caseload", "capacity", "over", "pct", "practitioners")}
            for t in selectors.caseload_distribution(list(selectors.caseloads(team_ids=[t.pk for t in chosen])))[
                "teams"
            ]
        }
        found = selectors.team_caseloads(chosen)
        assert {k: {n: v for n, v in row.items() if n != "team"} for k, row in found.items()} == expected
        assert all(row["team"].pk == k for k, row in found.items())
    assert selectors.team_caseloads(teams)[team.pk]["over"] == 2  # coach2 25 of 20; zero 1 of 0


def test_the_breach_ages_are_djangos_timesince():
    start = london(2024, 1, 31, 23, 59)
    deltas = [timedelta(minutes=m) for m in (0, 1, 59, 60, 61, 119, 1439, 1440, 1441)]
    deltas += [timedelta(days=d, hours=h) for d in (1, 6, 7, 8, 13, 14, 27, 28, 29, 30, 31, 59, 365, 366, 400, 800)
               for h in (0, 5, 23)]  # fmt: skip
    for due in (start, london(2026, 3, 29, 0, 30), london(2026, 10, 25, 1, 30), london(2025, 2, 28, 12)):
        for delta in deltas:
            now = due + delta
            assert breach_age(due, now) == timesince_filter(due, now), (due, delta)
        assert breach_age(due, due - timedelta(days=2)) == timesince_filter(due, due - timedelta(days=2))
    with translation.override("de"):
        assert breach_age(start, start + timedelta(days=3)) == timesince_filter(start, start + timedelta(days=3))


def test_the_dashboard_logs_the_families_of_the_whole_context(client, users, team, clocks, pinned):  # noqa: F811
    from cases.models import Escalation

    Escalation.objects.create(
        episode=make_episode(team), about=Escalation.About.STEP_UP, raised_by=users["teamlead"],
        raised_at=NOW - timedelta(days=1), escalated_to="Head of service", disagreement="Not agreed",
    )  # fmt: skip
    make_deadline(
        "S1", team=team, worker=users["coach"], episode=None, started_at=london(2026, 11, 1, 9),
        due_at=london(2026, 11, 20, 9), title="Supervision",
    )  # fmt: skip
    client.force_login(users["manager"])
    for name, query in (
        ("oversight:dashboard", {"acknowledged": "all", "start": "2026-08-01"}),
        ("oversight:dashboard", {}),
        ("oversight:dashboard_breaches", {"acknowledged": "all", "start": "2026-08-01"}),
        ("oversight:dashboard_breaches", {"rule": "B8"}),
    ):
        before = set(AccessLog.objects.values_list("pk", flat=True))
        response = client.get(reverse(name), query)
        assert response.status_code == 200
        logged = AccessLog.objects.exclude(pk__in=before).filter(action=AccessLog.Action.VIEW)
        whole = families_in({k: v for c in response.context for k, v in c.flatten().items()})
        assert sorted(logged.values_list("family_id_logged", flat=True)) == sorted(whole)
        if name == "oversight:dashboard" and query:
            assert len(whole) >= 2  # breaches and the escalation's family


def test_the_caseload_page_of_a_team_with_no_practitioners(client, users, service, pinned):
    empty = Team.objects.create(name="No staff", service=service)
    client.force_login(users["manager"])
    response = client.get(reverse("oversight:dashboard_caseloads"), {"team": str(empty.pk)})
    assert response.status_code == 200
    assert "No practitioners." in response.content.decode()
    assert list(selectors.CaseloadRows(team_ids=[empty.pk], count=0)[0:0]) == []


def test_the_top_rules_titles_are_cut_as_truncatechars(client, users, clocks, pinned):  # noqa: F811
    client.force_login(users["manager"])
    response = client.get(reverse("oversight:dashboard"), {"acknowledged": "all", "start": "2026-01-01"})
    cut = engines["django"].from_string("{{ t|truncatechars:40 }}")
    rows = response.context["top_rules"]
    assert rows and len(rows) <= 6
    for r in rows:
        assert escape(r["short_title"]) == cut.render({"t": r["title"]})
    assert date(2026, 1, 1) == response.context["period"].start


# The by-team page's loop of rows before each row was built in Python (ADR 80).
OLD_TEAM_ROWS = (
    "{% load layout oversight_tags %}{% fixed_url 'oversight:dashboard_breaches' as breaches_url %}"
    + '{% for r in page.object_list %}<tr class="govuk-table__row" id="team-{{ r.team.pk }}">\n    <th scope="row" class="govuk-table__header"><a class="govuk-link" href="{% fixed_url \'oversight:team_board\' %}?team={{ r.team.pk }}">{{ r.team.name }}</a><br><a class="govuk-link govuk-body-s" href="{{ breaches_url }}?team={{ r.team.pk }}{% if filters.rule_id %}&amp;rule={{ filters.rule_id|urlencode }}{% endif %}{% if list_query %}&amp;{{ list_query }}{% endif %}">Breaches<span class="govuk-visually-hidden"> of {{ r.team.name }}</span></a></th>\n    <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.breached }}</td>\n    <td class="govuk-table__cell govuk-table__cell--numeric">{{ r.unacknowledged }}</td>\n    {% timeliness_cells r.timeliness %}\n    <td class="govuk-table__cell govuk-table__cell--numeric">{% if r.caseload %}{{ r.caseload.caseload }} of {{ r.caseload.capacity }}{% if r.caseload.pct is not None %} ({{ r.caseload.pct }}%){% endif %}{% if r.caseload.over %}; {{ r.caseload.over }} over{% endif %}{% else %}–{% endif %}</td>\n  </tr>'  # noqa: E501
    + "{% endfor %}"
)


def test_the_team_rows_are_the_templates_markup(client, users, team, other_team, service, coach2, clocks, pinned):  # noqa: F811
    Team.objects.create(name='Tom & "Jerry" <b>', service=service)
    make_user("over", roles.PRACTITIONER, team, caseload_capacity_override=0)
    client.force_login(users["manager"])
    old = engines["django"].from_string(OLD_TEAM_ROWS)
    for query in ({}, {"rule": "B6", "acknowledged": "all"}, {"start": "2026-08-01", "team": str(team.pk)}):
        response = client.get(reverse("oversight:dashboard_teams"), query)
        context = {k: v for c in response.context for k, v in c.flatten().items()}
        expected = old.render(context)
        assert expected.count("<tr") == len(context["page"].object_list) >= 1
        assert expected in response.content.decode()
