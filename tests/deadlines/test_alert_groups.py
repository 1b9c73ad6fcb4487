"""The header counts alerts not yet seen (= not marked read), and the alerts page groups them by case."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from deadlines.context_processors import alerts as alerts_context
from deadlines.models import Alert
from deadlines.selectors import alert_groups
from tests.oversight.helpers import london, make_deadline, make_episode

T0 = london(2026, 11, 28, 10, 0)


def row(pk, reference, *, level="overdue", status="on_time", read=False, minutes=0):
    alert = Alert(pk=pk, level=level, created_at=T0 + timedelta(minutes=minutes), read_at=T0 if read else None)
    return {"alert": alert, "reference": reference, "family_url": f"/f/{reference}/", "status": status}


def test_groups_by_case_most_urgent_group_first_rows_keep_their_order():
    rows = [
        row(1, "E1", level="overdue", status="overdue", minutes=30),
        row(2, "E2", level="new_contact", status=None, minutes=20),
        row(3, "E3", level="breached", status="breached", minutes=10),
        row(4, "E1", level="overdue", status="met", read=True, minutes=5),
        row(5, "E4", level="breached", status="breached", read=True, minutes=40),
        row(6, "E5", level="breached", status="breached", minutes=15),
    ]
    groups = alert_groups(rows)
    # Unread breaches first (newest first), then unread overdue, then other unread, then all read.
    assert [g["reference"] for g in groups] == ["E5", "E3", "E1", "E2", "E4"]
    e1 = groups[2]
    assert [r["alert"].pk for r in e1["rows"]] == [1, 4] and e1["unread"] == 1 and e1["url"] == "/f/E1/"
    assert alert_groups([]) == []


@pytest.mark.django_db
@time_machine.travel(T0, tick=False)  # from 28 December 2026 the calm case's clock would be breached too
def test_alerts_page_shows_one_table_per_case_breached_case_first(client, users, team):
    coach = users["coach"]
    calm = make_episode(team, lead=coach)
    urgent = make_episode(team, lead=coach)
    late = make_deadline(
        "B2", team=team, episode=urgent, started_at=T0 - timedelta(days=9), due_at=T0 - timedelta(days=1)
    )
    soon = make_deadline(
        "B3",
        team=team,
        episode=calm,
        started_at=T0,
        expected_at=T0 - timedelta(hours=1),
        due_at=T0 + timedelta(days=30),
    )
    Alert.objects.create(deadline=soon, level="overdue", recipient=coach, created_at=T0)
    Alert.objects.create(deadline=late, level="breached", recipient=coach, created_at=T0 - timedelta(days=1))
    client.force_login(coach)
    html = client.get(reverse("deadlines:alerts")).content.decode()
    first, second = f'data-alert-group="E{urgent.pk:07d}"', f'data-alert-group="E{calm.pk:07d}"'
    assert first in html and second in html
    assert html.index(first) < html.index(second)


@pytest.mark.django_db
def test_header_counts_alerts_not_yet_seen_until_marked_read(client, users, team, django_assert_num_queries):
    coach = users["coach"]
    clock = make_deadline("B2", team=team, episode=make_episode(team, lead=coach), started_at=T0, due_at=T0)
    overdue = Alert.objects.create(deadline=clock, level="overdue", recipient=coach, created_at=T0)
    Alert.objects.create(deadline=clock, level="breached", recipient=coach, created_at=T0)
    Alert.objects.create(deadline=clock, level="breached", recipient=users["teamlead"], created_at=T0)
    request = RequestFactory().get("/")
    request.user = coach
    with django_assert_num_queries(1):
        assert alerts_context(request) == {"unread_alerts": 2}
    client.force_login(coach)
    client.get(reverse("deadlines:alerts"))  # opening the page is not seeing each alert
    assert alerts_context(request) == {"unread_alerts": 2}
    client.post(reverse("deadlines:alert_read", args=[overdue.pk]))
    assert alerts_context(request) == {"unread_alerts": 1}
