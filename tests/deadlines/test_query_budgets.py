"""The routing and explanation pages keep a constant query budget (at most 20).

The pages where a routed alert reaches its person (the alerts page) and where a clock is
explained ("Why is this due?") run the same number of queries for a little history as for a
lot: more alerts, more cycles of a recurring clock, more clocks on the record.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deadlines import events
from deadlines.alerts import alerts_raise
from deadlines.models import Alert, Deadline
from deadlines.services import deadline_record_event
from tests.deadlines.conftest import london

pytestmark = pytest.mark.django_db

BUDGET = 20
T0 = london(2026, 3, 2, 9, 0)


def queries(client, url: str) -> int:
    client.get(url)  # once first: what a process loads once (the calendar, the session) is not counted
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def episode_with_history(make_episode, users, book_b, *, cycles: int, start):
    """An allocated episode whose monthly oversight (B14) has run `cycles` cycles, all alerted."""
    episode = make_episode(opened_at=start, lead=users["coach"])
    deadline_record_event(event=events.EPISODE_OPENED, now=start, episode=episode, rulebooks=book_b)
    deadline_record_event(event=events.ALLOCATED, now=start, episode=episode, rulebooks=book_b)
    for n in range(1, cycles):
        alerts_raise(now=start + timedelta(days=40 * n - 5), rulebooks=book_b)
        deadline_record_event(
            event=events.OVERSIGHT_RECORDED,
            now=start + timedelta(days=40 * n),
            episode=episode,
            actor=users["manager"],
            rulebooks=book_b,
        )
    alerts_raise(now=start + timedelta(days=40 * cycles), rulebooks=book_b)
    return episode


def test_the_explanation_page_runs_the_same_queries_for_two_cycles_as_for_twelve(
    client, users, make_episode, book_b, settings
):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    few = episode_with_history(make_episode, users, book_b, cycles=2, start=T0)
    many = episode_with_history(make_episode, users, book_b, cycles=12, start=T0)
    assert Alert.objects.filter(deadline__episode=many).count() > Alert.objects.filter(deadline__episode=few).count()
    client.force_login(users["teamlead"])
    counts = {}
    for name, episode in (("few", few), ("many", many)):
        latest = Deadline.objects.filter(episode=episode, rule_id="B14").order_by("-cycle").first()
        counts[name] = queries(client, reverse("deadlines:clock_explain", args=[latest.pk]))
    assert counts["few"] == counts["many"] <= BUDGET, counts


def test_the_alerts_page_runs_the_same_queries_for_two_alerts_as_for_forty(
    client, users, make_episode, make_contact, book_b, settings
):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    client.force_login(users["teamlead"])
    url = reverse("deadlines:alerts")

    def alerts_for(n: int, start) -> int:
        for _ in range(n):
            episode = make_episode(opened_at=start, lead=users["coach"])
            deadline_record_event(event=events.CLOSURE_REQUESTED, now=start, episode=episode, rulebooks=book_b)
            contact = make_contact(received_at=start)
            deadline_record_event(event=events.CONTACT_RECEIVED, now=start, contact=contact, rulebooks=book_b)
        alerts_raise(now=start + timedelta(days=10), rulebooks=book_b)
        return queries(client, url)

    few = alerts_for(1, T0)
    shown_few = Alert.objects.filter(recipient=users["teamlead"]).count()
    many = alerts_for(20, T0 + timedelta(days=30))
    assert Alert.objects.filter(recipient=users["teamlead"]).count() > shown_few
    assert few == many <= BUDGET, (few, many)
