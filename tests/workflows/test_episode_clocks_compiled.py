"""The episode page's clocks, read from SQL compiled once (ADR 57), are the ORM queryset's rows.

The reference is `clocks_by_urgency_queryset` as the ORM builds it for each request (what the page
ran before). Clocks in every status, at several times (so the same clock is on time, due soon,
overdue and breached in turn) and at the summary's and the timescales page's lengths: the same
clocks, in the same order, with the same fields, status and urgency, and the episode's clock count.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deadlines.models import Deadline
from tests.factories import DeadlineFactory
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_selectors

pytestmark = pytest.mark.django_db
D = timedelta(days=1)
FIELDS = [f.attname for f in Deadline._meta.concrete_fields]
ANNOTATIONS = ["status", "urgency", "breach_order", "limit_at", "clock_total"]


def shape(rows) -> list[tuple]:
    return [tuple(getattr(row, name) for name in (*FIELDS, *ANNOTATIONS)) for row in rows]


@pytest.fixture
def episodes(users, team):
    busy, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    for n, trait in enumerate(["met", "withdrawn", None, "overdue", "breached", None, "breached", "met"]):
        DeadlineFactory(episode=busy, rule_id=f"X{n}", at=NOW + n * D, **({trait: True} if trait else {}))
    DeadlineFactory(episode=busy, rule_id="S1", started_at=NOW, expected_at=NOW + timedelta(hours=30))
    DeadlineFactory(episode=busy, rule_id="F1", breached=True, flag_only=True)  # an aim: overdue, never breached
    quiet, _ = make_episode(users, team, state=S.ALLOCATED)
    Deadline.objects.filter(episode=quiet).delete()
    return busy, quiet


def test_the_compiled_clocks_are_the_querysets_rows(episodes):
    busy, quiet = episodes
    compared = set()
    for episode in (busy, quiet):
        for now in (NOW - 3 * D, NOW, NOW + timedelta(hours=10), NOW + 4 * D, NOW + 40 * D):
            for limit in (episode_selectors.SUMMARY_CLOCKS, episode_selectors.RECORD_LIMIT):
                got = episode_selectors.clocks_by_urgency(episode, now=now, limit=limit)
                expected = list(episode_selectors.clocks_by_urgency_queryset(episode.pk, now, limit=limit))
                assert shape(got) == shape(expected), (episode.pk, now, limit)
                assert all(row.rule_title == row.title for row in got)
                compared.update(row.status for row in got)
    assert compared >= {"breached", "overdue", "due_soon", "on_time", "met", "withdrawn"}


def test_each_row_carries_the_episodes_clock_count(episodes):
    busy, quiet = episodes
    rows = episode_selectors.clocks_by_urgency(busy, now=NOW, limit=3)
    assert len(rows) == 3 and {row.clock_total for row in rows} == {Deadline.objects.filter(episode=busy).count()}
    assert episode_selectors.clocks_by_urgency(quiet, now=NOW, limit=3) == []
    assert episode_selectors.episode_summary(quiet, now=NOW)["clock_count"] == 0


def test_the_queryset_is_built_once_per_process_then_only_run(episodes, monkeypatch):
    busy, _ = episodes
    episode_selectors.clocks_by_urgency(busy, now=NOW, limit=7)  # compiled here (or earlier)
    built = []
    real = episode_selectors.clocks_by_urgency_queryset
    monkeypatch.setattr(
        episode_selectors, "clocks_by_urgency_queryset", lambda *a, **k: built.append(a) or real(*a, **k)
    )
    with CaptureQueriesContext(connection) as ctx:
        rows = episode_selectors.clocks_by_urgency(busy, now=NOW + D, limit=7)
    assert built == [] and len(ctx.captured_queries) == 1 and len(rows) == 7
