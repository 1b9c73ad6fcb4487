"""The reads prepared on the connection are planned once (ADR 90): PostgreSQL's own choice between a
generic plan and a plan per run (`plan_cache_mode = auto`) kept planning a family's chronology afresh on
every request (its generic plan's estimate above its custom plans', at twice the cost), so connections
ask for the generic plan of every prepared statement; only reads whose plan does not depend on their
values are prepared (ADR 82)."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from tests.workflows.helpers import S, make_episode
from tests.workflows.test_amend import LATER, es_amend, visit_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def _prepared() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return cursor.fetchall()


def test_the_connection_asks_for_generic_plans():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"


def test_every_statement_prepared_by_the_pages_is_planned_once(client, users, team, pinned):
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
    note = visit_note(episode, users["coach"])
    es_amend(note, users["coach"])
    visits = [
        ("coach", reverse("cases:family_detail", args=[episode.family_id])),
        ("coach", reverse("episodes:episode_detail", args=[episode.pk])),
        ("coach", reverse("episodes:episode_notes", args=[episode.pk])),
        ("coach", reverse("home")),
        ("teamlead", reverse("oversight:team_board")),
        ("teamlead", reverse("home")),
        ("manager", reverse("oversight:dashboard")),
        ("manager", reverse("home")),
    ]
    for role, url in visits:
        client.force_login(users[role])
        for _ in range(7):  # past `auto`'s five plans per run, after which it may choose the generic plan
            assert client.get(url).status_code == 200, url
    prepared = _prepared()
    assert any("c.c_at" in text for text, _, _ in prepared), "the chronology is a prepared read"
    assert len(prepared) >= 8
    # With the connection's setting, no prepared statement is ever planned per run (this fails with `auto`,
    # whose first five runs are custom plans); the reads that ask to be prepared are those found by id or key.
    assert [(text[:80], custom) for text, _, custom in prepared if custom] == []
    assert all(generic >= 1 for _, generic, _ in prepared)
    assert not [text[:80] for text, _, _ in prepared if " LIMIT $" in text or " OFFSET $" in text]
