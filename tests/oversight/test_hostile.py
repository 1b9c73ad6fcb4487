"""No filter value or form input makes an oversight page fail: each is reported or ignored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.oversight.helpers import NOW, make_deadline, make_episode

pytestmark = pytest.mark.django_db

HOSTILE = [
    "<script>alert(1)</script>",
    "'; DROP TABLE cases_family; --",
    "\x00\x01",
    "-1",
    "99999999999999999999",
    "1e309",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "",
    "☃" * 300,
    "²",
    "١٢",
]

GET_PAGES = {
    "oversight:team_board": ("team", "practitioner", "rule", "status"),
    "oversight:team_board_list": ("list", "team", "practitioner", "rule", "status", "page"),
    "oversight:dashboard": ("start", "end", "team", "rule", "acknowledged"),
    "oversight:dashboard_breaches": (
        "start-day",
        "start-month",
        "start-year",
        "end-day",
        "end-month",
        "end-year",
        "team",
        "rule",
        "page",
    ),  # fmt: skip
    "oversight:timeliness_report": ("start", "end", "team", "rule"),
    "oversight:outcomes_report": ("start", "end", "team"),
    "oversight:annex_a": ("as_at_0", "as_at_1", "as_at_2"),
}
EXPORTS = ["board-timescales", "breaches", "timeliness-by-month", "contacts-by-week", "outcomes-at-closure"]


@pytest.fixture
def case(users, team, pinned):
    episode = make_episode(team, lead=users["coach"])
    deadline = make_deadline(
        "B8", team=team, episode=episode, started_at=NOW - timedelta(days=3), due_at=NOW - timedelta(hours=1)
    )
    return episode, deadline


def test_filters_never_fail(client, users, case):
    client.force_login(users["manager"])
    for name, params in GET_PAGES.items():
        for value in HOSTILE:
            response = client.get(reverse(name), dict.fromkeys(params, value))
            # 400: a NUL character is refused before any view (earlyhelp/input_guard.py).
            assert response.status_code in (200, 400, 404), (name, value, response.status_code)
            assert "<script>alert(1)</script>" not in response.content.decode()
    for table in EXPORTS:
        for value in HOSTILE[:6]:
            response = client.get(reverse("oversight:export", args=[table]), {"start": value, "team": value})
            assert response.status_code in (200, 400, 404), (table, value)
            if response.status_code == 200:
                b"".join(response.streaming_content)


def test_forms_never_fail(client, users, case):
    episode, deadline = case
    client.force_login(users["manager"])
    posts = {
        reverse("oversight:decision_new", args=[episode.pk]): ("oversees", "record", "decision", "rationale"),
        reverse("oversight:breach_acknowledge", args=[deadline.pk]): ("comment",),
        reverse("oversight:supervision_new", args=[users["coach"].pk]): (
            "held_on_0",
            "held_on_1",
            "held_on_2",
            "cases_discussed",
            "notes",
            "action-0-text",
            "action-0-episode",
            "action-0-assignee",
            "action-0-due_on_0",
            "action-0-due_on_1",
            "action-0-due_on_2",
        ),  # fmt: skip
    }
    for url, fields in posts.items():
        for value in HOSTILE:
            response = client.post(url, dict.fromkeys(fields, value))
            assert response.status_code in (200, 302, 400, 409), (url, value, response.status_code)
            assert "<script>alert(1)</script>" not in response.content.decode()
