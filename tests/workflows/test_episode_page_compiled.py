"""The episode page's reads compiled once give what the ORM gives (ADR 78).

The scope check reads the lead professional and who allocated the episode as JSON subqueries (no
joins) with the reach probed per record; the latest notes, the plan's outcomes and actions and the most
urgent clocks come from SQL compiled once. Each must be the ORM's rows, related rows cached as
`select_related` / `prefetch_related` cache them, and a second page compiles nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseNote, Episode, PlanAction, PlanOutcome
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_selectors as selectors

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)


def _fields(obj) -> dict | None:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} if obj is not None else None


def _plan_records(episode) -> None:
    plan = episode.plan
    for number in (2, 1):  # written out of order: the page lists them by number
        outcome = PlanOutcome.objects.create(plan=plan, number=number + 10, description=f"Described {number}")
        for n, by_when in enumerate((date(2027, 1, 3), None, date(2027, 1, 1))):
            PlanAction.objects.create(outcome=outcome, what=f"Action {number}.{n}", by_when=by_when)


def test_the_summary_reads_are_the_orms(users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    _plan_records(episode)
    now = NOW + 30 * 24 * H
    loaded = selectors.visible_episode(users["coach"], episode.pk, with_assessment_and_plan=True)
    summary = selectors.episode_summary(loaded, now=now)

    notes = list(selectors._notes_with_child_parts().filter(episode=episode).order_by("-happened_at", "-pk")[:3])
    assert notes, "the journey recorded notes"
    assert [_fields(n) for n in summary["latest_notes"]] == [_fields(n) for n in notes]
    assert [n.child_parts for n in summary["latest_notes"]] == [n.child_parts for n in notes]
    assert [_fields(n.recorded_by) for n in summary["latest_notes"]] == [_fields(n.recorded_by) for n in notes]
    assert all(CaseNote._meta.get_field("recorded_by").is_cached(n) for n in summary["latest_notes"])

    orm_plan = selectors.plan_with_outcomes(episode)
    got_outcomes = list(summary["plan"].outcomes.all())
    want_outcomes = list(orm_plan.outcomes.all())
    assert [_fields(o) for o in got_outcomes] == [_fields(o) for o in want_outcomes]
    assert len(got_outcomes) >= 2
    for got, want in zip(got_outcomes, want_outcomes, strict=True):
        assert [_fields(a) for a in got.actions.all()] == [_fields(a) for a in want.actions.all()]
        assert got.plan is summary["plan"]
        assert all(a.outcome is got for a in got.actions.all())

    orm_clocks = list(selectors.clocks_by_urgency_queryset(episode.pk, now, limit=3))
    assert orm_clocks, "the journey started clocks"
    got_clocks = summary["urgent_clocks"]
    assert [_fields(c) for c in got_clocks] == [_fields(c) for c in orm_clocks]
    for name in ("status", "urgency", "breach_order", "limit_at", "clock_total"):
        assert [getattr(c, name) for c in got_clocks] == [getattr(c, name) for c in orm_clocks], name


def test_a_second_summary_compiles_nothing(users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    _plan_records(episode)
    other, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    for one in (other, episode):
        selectors.episode_summary(
            selectors.visible_episode(users["coach"], one.pk, with_planned_visits=True, with_assessment_and_plan=True),
            now=NOW,
        )
    calls = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        calls.append(self.query.model)
        return original(self, *args, **kwargs)

    with mock.patch.object(SQLCompiler, "as_sql", counted):
        loaded = selectors.visible_episode(
            users["coach"], episode.pk, with_planned_visits=True, with_assessment_and_plan=True
        )
        summary = selectors.episode_summary(loaded, now=NOW)
        [list(o.actions.all()) for o in summary["plan"].outcomes.all()]
    assert calls == []


def test_the_scope_check_joins_no_user_and_no_reach(users, team):
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    selectors.visible_episode(users["coach"], episode.pk, with_assessment_and_plan=True)
    with CaptureQueriesContext(connection) as ctx:
        got = selectors.visible_episode(users["coach"], episode.pk, with_assessment_and_plan=True)
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert 'JOIN "accounts_user" ON ("cases_episode"."lead_professional_id"' not in sql
    assert '"cases_episode"."family_id" IN (SELECT' not in sql
    assert "OFFSET 0" in sql  # the reach probed for the one episode
    want = Episode.objects.select_related("lead_professional", "allocated_by").get(pk=episode.pk)
    assert got.lead_professional is not None
    for name in ("lead_professional", "allocated_by"):
        assert Episode._meta.get_field(name).is_cached(got)
        assert _fields(getattr(got, name)) == _fields(getattr(want, name)), name
    assert not hasattr(got, "lead_professional_json")


def test_the_episode_page_shows_the_plan_and_notes(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    _plan_records(episode)
    client.force_login(users["coach"])
    response = client.get(reverse("episodes:episode_detail", args=[episode.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("Described 1") < text.index("Described 2")
    assert text.index("Action 1.2") < text.index("Action 1.0") < text.index("Action 1.1")  # by date, none last
    assert str(episode.lead_professional) in text
