"""The dashboard's reads compiled once per shape (ADR 74) find exactly what the ORM's queries found:
the page of breaches, the first escalations, the acknowledged counts and the summary rows' totals,
for every role and reach shape (no team, no service, another service), every filter and slice; and
the breach rows' cells built in Python are the markup the template's tags drew."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.db.models import Count, Window
from django.db.models.sql.compiler import SQLCompiler
from django.template import engines
from django.urls import reverse

from accounts import roles
from accounts.models import Team
from cases.models import Escalation
from deadlines import counts
from deadlines.models import Deadline
from oversight import selectors
from oversight.breach_rows import breach_cells
from oversight.models import BreachAcknowledgement
from tests.conftest import make_user
from tests.oversight.helpers import NOW, london, make_deadline, make_episode
from tests.oversight.test_dashboard import clocks  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

# The template of the breach rows before their cells were built in Python (ADR 74).
OLD_ROWS = """{% load ui %}
{% load oversight_tags %}<thead class="govuk-table__head"><tr class="govuk-table__row">
    <th scope="col" class="govuk-table__header">Case</th>
    <th scope="col" class="govuk-table__header">Timescale</th>
    <th scope="col" class="govuk-table__header">Team and practitioner</th>
    <th scope="col" class="govuk-table__header">Due by</th>
    <th scope="col" class="govuk-table__header">Acknowledgement</th>
  </tr></thead>
  <tbody class="govuk-table__body">
  {% for d in rows %}
    <tr class="govuk-table__row">
      <td class="govuk-table__cell">{% if d.episode_id %}<a class="govuk-link" href="{% url 'episodes:episode_detail' d.episode_id %}">{{ d.family.name }}</a><br><span class="govuk-body-s">{{ d.episode.reference }}</span>{% elif d.contact_id %}<a class="govuk-link" href="{% url 'cases:contact_detail' d.contact_id %}">{{ d.family.name }}</a><br><span class="govuk-body-s">{{ d.contact.reference }}</span>{% else %}{{ d.worker.get_full_name|default:d.worker.username }}<br><span class="govuk-body-s">Supervision</span>{% endif %}</td>
      <td class="govuk-table__cell">{% deadline_link d.pk d.rule_id d.title %}</td>
      <td class="govuk-table__cell">{{ d.team.name }}<br><span class="govuk-body-s">{% if d.assignee %}{{ d.assignee.get_full_name|default:d.assignee.username }}{% else %}Not allocated{% endif %}</span></td>
      <td class="govuk-table__cell">{{ d.due_at|when_text:now }}<br><span class="govuk-body-s">{{ d.due_at|timesince:now }} ago</span></td>
      <td class="govuk-table__cell">{% for a in d.acknowledgements.all %}<strong class="govuk-tag govuk-tag--green">Acknowledged</strong><br><span class="govuk-body-s">{{ a.by }}, {{ a.at|when_text:now }}: {{ a.comment|truncatewords:25 }}</span>{% empty %}<a class="govuk-link" href="{% url 'oversight:breach_acknowledge' d.pk %}{% if querystring %}?{{ querystring }}{% endif %}">Acknowledge<span class="govuk-visually-hidden"> the breach of {{ d.rule_id }}{% if d.family_id %} for {{ d.family.name }}{% endif %}</span></a>{% endfor %}</td>
    </tr>
  {% empty %}
    <tr class="govuk-table__row"><td class="govuk-table__cell" colspan="5">No breaches to show.</td></tr>
  {% endfor %}
  </tbody>
"""  # noqa: E501


@pytest.fixture
def shapes(users, team, far_service, service):
    """Users of every reach shape that can ask: managers of our service and of another, a manager and
    a team leader with no service or team, a team leader, a practitioner, a duty manager."""
    return {
        **{k: users[k] for k in ("manager", "teamlead", "coach", "dutymanager", "admin", "outsider")},
        "manager2": make_user("manager2", roles.MANAGER, None, service=service),
        "far": make_user("farmanager", roles.MANAGER, None, service=far_service.service),
        "no service": make_user("lostmanager", roles.MANAGER, None),
        "no team": make_user("lostlead", roles.TEAM_LEADER, None),
    }


@pytest.fixture
def breaches(clocks, users, team, pinned):  # noqa: F811 - the fixture imported above
    """The dashboard's clocks, one acknowledged, one of a worker's supervision, and one for a family no
    team of ours reaches (left out of its page, never shown)."""
    BreachAcknowledgement.objects.create(
        deadline=clocks["breached"], by=users["manager"], at=NOW, comment="Off sick <b>today</b>; reallocated."
    )
    make_deadline(
        "S1", team=team, worker=users["coach"], episode=None, started_at=london(2026, 11, 1, 9),
        due_at=london(2026, 11, 20, 9), title="Supervision",
    )  # fmt: skip
    return clocks


def _reference(user, *, now, team_ids, period, rule_id, acknowledged, start, stop) -> list[tuple]:
    """The page of breaches as the ORM read it before ADR 74 (`team_id__in`, `deadline_in_scope_probe`)."""
    from django.db.models import Case, Exists, OuterRef, Q, Value, When

    qs = Deadline.objects.breached(now).filter(team_id__in=team_ids)
    if period is not None:
        qs = qs.filter(due_at__gte=period.start_at, due_at__lt=period.end_at)
    if rule_id:
        qs = qs.filter(rule_id=rule_id)
    ack = Exists(BreachAcknowledgement.objects.filter(deadline=OuterRef("pk")))
    if acknowledged == "no":
        qs = qs.filter(~ack)
    elif acknowledged == "yes":
        qs = qs.filter(ack)
    ids = qs.order_by("-due_at", "-pk").values("pk")[start:stop]
    probe = selectors.deadline_in_scope_probe(user)
    rows = (
        Deadline.objects.filter(pk__in=ids)
        .annotate(is_acknowledged=ack, in_scope=Case(When(Q(probe), then=Value(True)), default=Value(False)))
        .select_related("family", "team", "assignee", "worker", "episode", "contact")
        .order_by("-due_at", "-pk")
    )
    return [_row(d) for d in rows]


def _row(d) -> tuple:
    return (
        d.pk, d.is_acknowledged, d.in_scope, d.due_at, d.rule_id, d.title,
        d.family.name if d.family_id else None, d.team.name, d.assignee_id, d.worker_id,
        d.episode.reference if d.episode_id else None, d.contact_id,
    )  # fmt: skip


def test_the_page_of_breaches_is_the_orms_for_every_shape_filter_and_slice(shapes, breaches, service):
    teams = list(Team.objects.filter(service=service))
    periods = (
        None,
        selectors.Period(date(2026, 8, 1), date(2026, 11, 23)),
        selectors.Period(date(2026, 11, 1), NOW.date()),
    )
    seen = set()
    for user in shapes.values():
        for period in periods:
            for rule_id in ("", "B6"):
                for acknowledged in ("no", "yes", "all"):
                    for start, stop in ((0, 20), (1, 3)):
                        rows = selectors.ServiceBreaches(
                            user, now=NOW, count=100, teams=teams, period=period, rule_id=rule_id,
                            acknowledged=acknowledged,
                        )._read(start, stop)  # fmt: skip
                        expected = _reference(
                            user, now=NOW, team_ids=[t.pk for t in teams], period=period, rule_id=rule_id,
                            acknowledged=acknowledged, start=start, stop=stop,
                        )  # fmt: skip
                        assert [_row(d) for d in rows] == expected
                        seen.update((r[0], r[2]) for r in expected)
    # Rows in and out of scope were compared, acknowledged or not.
    assert {in_scope for _, in_scope in seen} == {True, False}


def test_a_second_user_of_the_same_shape_gets_their_own_breaches(users, breaches, far_service, pinned):
    """The far service's manager has the manager's shape: the compiled read runs with their values."""
    far_manager = make_user("farmanager", roles.MANAGER, None, service=far_service.service)
    ours = list(Team.objects.filter(service=users["manager"].service))
    theirs = [far_service]
    mine = selectors.ServiceBreaches(users["manager"], now=NOW, count=9, teams=ours, period=None, acknowledged="all")
    far = selectors.ServiceBreaches(far_manager, now=NOW, count=9, teams=theirs, period=None, acknowledged="all")
    assert {d.pk for d in mine[0:9]} == {breaches["breached"].pk, breaches["old_breach"].pk} | {
        d.pk for d in Deadline.objects.filter(rule_id="S1")
    }
    assert [d.pk for d in far[0:9]] == [breaches["far"].pk]
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        assert [d.pk for d in far[0:9]] == [breaches["far"].pk]
    assert Deadline not in compiled  # the shape was compiled by the first read


def test_the_first_escalations_are_the_orms_for_every_shape(shapes, users, team, other_team, pinned):
    for i, t in enumerate((team, other_team, team)):
        Escalation.objects.create(
            episode=make_episode(t), about=Escalation.About.STEP_UP, raised_by=users["teamlead"],
            raised_at=NOW - timedelta(days=i), escalated_to="Head of service", disagreement="Not agreed",
        )  # fmt: skip
    for user in shapes.values():
        for team_ids in ([team.pk, other_team.pk], [other_team.pk], []):
            for limit in (1, 5):
                found = selectors.escalations_first(user, team_ids=team_ids, limit=limit)
                rows = list(
                    selectors.open_escalations(user, team_ids=team_ids).annotate(in_all=Window(Count("pk")))[:limit]
                )
                assert [(e.pk, e.in_all, e.episode.family.name, e.episode.team.name, e.raised_by_id)
                        for e in found["escalations"]] == [
                    (e.pk, e.in_all, e.episode.family.name, e.episode.team.name, e.raised_by_id) for e in rows
                ]  # fmt: skip
                assert found["escalation_count"] == (rows[0].in_all if rows else 0)


def test_the_compiled_summary_totals_are_open_totals_and_timeliness_totals(users, breaches, service, team, pinned):
    """Both readers, for the service's rows and the teams', with and without a period and a rule, and
    with the correction to a later `now` (the clocks that crossed a limit since the rows' instant)."""
    team_ids = list(Team.objects.filter(service=service).values_list("pk", flat=True))
    later = NOW + timedelta(days=3)
    for now in (NOW, later):
        for period in (None, selectors.Period(date(2026, 8, 1), date(2026, 11, 23))):
            for rule_id in ("", "B6"):
                for whole in (True, False):
                    filters = selectors._breach_filters(
                        service_id=service.pk if whole else None, team_ids=team_ids, period=period, rule_id=rule_id
                    )
                    by = (("rule_id", "status"),) if whole else (("team_id", "status"), ("rule_id", "status"))
                    expected = counts.open_totals(
                        now=now, by=by, where=filters.where(*filters.values), service_id=service.pk if whole else None,
                        clock_where=filters.clock_where(*filters.clock_values),
                    )  # fmt: skip
                    assert counts.open_totals_compiled(filters, now=now, by=by, service_rows=whole) == expected
                    assert any(expected)
            months = (date(2026, 8, 1), date(2026, 11, 1))
            for rule_id in ("", "B6"):
                for whole in (True, False):
                    filters = selectors._timeliness_filters(
                        service_id=service.pk if whole else None, team_ids=team_ids, months=months,
                        started=(london(2026, 8, 1), london(2026, 12, 1)), rule_id=rule_id,
                    )  # fmt: skip
                    by = (("rule_id",), ("month",)) if whole else (("rule_id",), ("team_id",), ("month",))
                    expected = counts.timeliness_totals(
                        now=now, by=by, where=filters.where(*filters.values), service_id=service.pk if whole else None,
                        clock_where=filters.clock_where(*filters.clock_values),
                    )  # fmt: skip
                    assert counts.timeliness_totals_compiled(filters, now=now, by=by, service_rows=whole) == expected
                    assert any(expected)


def test_the_dashboard_figures_are_those_of_the_orm_counts(client, users, breaches, team, pinned):
    """`breach_summaries` (compiled) against `_breach_counts`' plain aggregate over the clocks."""
    manager = users["manager"]
    for period in (None, selectors.Period(date(2026, 8, 1), date(2026, 11, 23))):
        for rule_id in ("", "B6", "B9"):
            for team_id in (None, team.pk):
                for service_rows in (True, False):
                    found = selectors.breach_summaries(
                        manager, now=NOW, period=period, team_id=team_id, rule_id=rule_id, service_rows=service_rows
                    )["period"]
                    rows = selectors._breach_counts(
                        manager.service_id_in_scope, now=NOW, by="rule", period=period, team_id=team_id, rule_id=rule_id
                    )
                    assert [(r["rule_id"], r["breached"], r["unacknowledged"]) for r in found["by_rule"]] == [
                        (r["rule_id"], r["breached"], r["unacknowledged"]) for r in rows
                    ]


def test_the_breach_cells_are_the_templates_markup(client, users, breaches, service, pinned):
    teams = list(Team.objects.filter(service=service))
    old = engines["django"].from_string(OLD_ROWS)
    new = "oversight/includes/breach_rows.html"
    for acknowledged in ("no", "yes", "all"):
        rows = selectors.ServiceBreaches(
            users["manager"], now=NOW, count=20, teams=teams, period=None, acknowledged=acknowledged
        )
        for query in ("", "team=1&rule=B6"):
            expected = old.render({"rows": rows[0:20], "now": NOW, "querystring": query})
            cells = breach_cells(rows[0:20], now=NOW, querystring=query)
            assert engines["django"].get_template(new).render({"rows": cells}) == expected
    client.force_login(users["manager"])
    page = client.get(reverse("oversight:dashboard"), {"acknowledged": "all", "start": "2026-08-01"})
    assert "Off sick &lt;b&gt;today&lt;/b&gt;; reallocated." in page.content.decode()


def test_the_caseload_rows_are_the_orms_for_any_teams_and_slice(users, team, other_team, coach2, other_coach, pinned):
    """`CaseloadRows` and `caseloads_of_teams` (compiled per number of teams) against `caseloads`; a
    second set of teams of the same number gets its own practitioners."""
    make_user("lostcoach", roles.PRACTITIONER, None)
    for team_ids in ([team.pk, other_team.pk], [team.pk], [other_team.pk], []):
        expected = list(selectors.caseloads(team_ids=team_ids))
        shown = [_caseload(p) for p in expected]
        assert [_caseload(p) for p in selectors.caseloads_of_teams(team_ids)] == shown
        rows = selectors.CaseloadRows(team_ids=team_ids, count=len(expected))
        for start, stop in ((0, 20), (1, 2), (0, 1)):
            assert [_caseload(p) for p in rows[start:stop]] == shown[start:stop]
    assert len(shown) == 0 and len(selectors.caseloads(team_ids=[team.pk])) >= 2


def _caseload(p) -> tuple:
    return (p.pk, p.team.name, p.caseload, p.capacity, p.last_supervised_on)


def test_the_weeks_rows_are_the_templates_markup(client, users, team, pinned):
    """Month by month's weeks, built in Python, against the template loop they replaced."""
    from cases.models import Contact
    from tests.factories import family_with_children
    from tests.oversight.helpers import make_contact

    family, _ = family_with_children(1, team=team)
    for day, decision in ((10, Contact.Decision.SIGNPOST), (16, Contact.Decision.ALLOCATE), (20, "")):
        make_contact(family, received_at=london(2026, 11, day, 9), decision=decision)
    make_contact(family, received_at=london(2025, 11, 3, 9))  # a week of last year: its date shows the year
    client.force_login(users["manager"])
    response = client.get(reverse("oversight:dashboard_months"), {"start": "2025-11-01", "end": "2026-11-23"})
    old = engines["django"].from_string(
        '{% load oversight_tags %}{% for w in page.object_list %}<tr class="govuk-table__row"><th scope="row" '
        'class="govuk-table__header">{{ w.week|day_text:now }}</th><td class="govuk-table__cell '
        'govuk-table__cell--numeric">{{ w.received }}</td>{% for n in w.decisions %}<td class="govuk-table__cell '
        'govuk-table__cell--numeric">{{ n }}</td>{% endfor %}<td class="govuk-table__cell '
        'govuk-table__cell--numeric">{{ w.undecided }}</td></tr>{% endfor %}'
    )
    expected = old.render({"page": response.context["page"], "now": response.context["now"]})
    assert len(response.context["page"].object_list) == 3  # the 16th and the 20th share a week
    assert expected in response.content.decode()
    assert "3 November 2025" in expected
