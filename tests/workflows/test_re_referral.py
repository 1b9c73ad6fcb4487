"""Rulebook C as a routing rule (ADR 0038): a contact received within 3 calendar months of a step-up decision
goes to the duty manager's queue with its clock (C5), shows on triage, and the duty manager's decision stops it.
"Within 3 months" is counted on the London calendar to the minute: boundary days and a clock change pinned."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.models import Contact
from cases.selectors import recent_step_up, three_months_before
from deadlines.models import Deadline
from kit.time import LONDON
from tests.factories import ContactFactory, family_with_children
from workflows import services
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db


def stepped_up(at: datetime, team=None):
    family, children = family_with_children(1, team=team)
    ContactFactory(
        family=family,
        received_at=at - timedelta(hours=1),
        presenting_needs="N",
        subjects=children,
        state="stepped_up",
        decision=Contact.Decision.STEP_UP,
        decided_at=at,
    )
    return family, children


def receive(users, family, children, at):
    return services.contact_receive(
        family=family,
        subjects=children,
        received_at=at,
        route=Contact.Route.EMAIL,
        source="2A",
        presenting_needs="Again.",
        by=users["mash"],
        now=at,
    )


@pytest.mark.parametrize(
    ("step_up", "received", "routed"),
    [
        # The same wall-clock minute three months on is within; a minute later is not.
        (datetime(2026, 6, 10, 9, 0), datetime(2026, 9, 10, 9, 0), True),
        (datetime(2026, 6, 10, 9, 0), datetime(2026, 9, 10, 9, 1), False),
        # 31 May + 3 months: 31 August exists; 30 November + 3 months is the end of February.
        (datetime(2026, 5, 31, 12, 0), datetime(2026, 8, 31, 12, 0), True),
        (datetime(2026, 11, 30, 12, 0), datetime(2027, 2, 28, 12, 0), True),
        (datetime(2026, 11, 29, 12, 0), datetime(2027, 3, 1, 12, 0), False),
        # Across the clocks going back (25 October 2026): BST 09:00 to GMT 09:00 is exactly 3 months,
        # though 92 days and one hour of UTC apart.
        (datetime(2026, 8, 1, 9, 0), datetime(2026, 11, 1, 9, 0), True),
        (datetime(2026, 8, 1, 9, 0), datetime(2026, 11, 1, 9, 1), False),
        # Across the clocks going forward (28 March 2027).
        (datetime(2027, 1, 15, 8, 30), datetime(2027, 4, 15, 8, 30), True),
        (datetime(2027, 1, 15, 8, 30), datetime(2027, 4, 15, 8, 31), False),
    ],
)
def test_within_three_calendar_months_to_the_minute(users, team, step_up, received, routed):
    step_up, received = step_up.replace(tzinfo=LONDON), received.replace(tzinfo=LONDON)
    family, children = stepped_up(step_up, team=team)
    assert recent_step_up(family, now=received) is routed
    with time_machine.travel(received, tick=False):
        contact = receive(users, family, children, received)
    assert contact.recent_step_up_flag is routed
    clock = Deadline.objects.filter(rule_id="C5", contact=contact).first()
    assert (clock is not None) is routed
    if routed:
        assert clock.started_at == received and clock.due_at == received + timedelta(hours=48)


def test_three_months_before_keeps_the_london_wall_clock():
    assert three_months_before(datetime(2026, 11, 1, 9, 0, tzinfo=LONDON)) == datetime(2026, 8, 1, 9, 0, tzinfo=LONDON)
    assert three_months_before(datetime(2026, 5, 31, 0, 0, tzinfo=LONDON)) == datetime(2026, 2, 28, 0, 0, tzinfo=LONDON)


NOW = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)


@time_machine.travel(NOW, tick=False)
def test_routed_to_the_duty_managers_queue_shown_on_triage_and_decided(client, users, team):
    family, children = stepped_up(NOW - timedelta(days=30), team=team)
    contact = receive(users, family, children, NOW - timedelta(hours=1))
    client.force_login(users["mash"])
    assert (
        "Re-referral after a step-up: with the duty manager"
        in client.get(reverse("cases:triage_queue")).content.decode()
    )
    client.force_login(users["dutymanager"])
    queue = client.get(reverse("cases:re_referral_queue")).content.decode()
    url = reverse("cases:re_referral_review", args=[contact.pk])
    assert url in queue
    assert client.post(url, {"outcome": ""}).status_code == 400
    response = client.post(url, {"outcome": "Child and Family Assessment triggered from the referral."})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.duty_manager_reviewed_by == users["dutymanager"]
    clock = Deadline.objects.get(rule_id="C5", contact=contact)
    assert clock.stopped_at == NOW
    assert url not in client.get(reverse("cases:re_referral_queue")).content.decode()
    with pytest.raises(WorkflowError, match="already been reviewed"):
        services.re_referral_review(contact=contact, outcome="again", by=users["dutymanager"], now=NOW)
    for role in ("mash", "manager", "coach"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403
        assert client.post(url, {"outcome": "x"}).status_code == 403


@time_machine.travel(NOW, tick=False)
def test_the_queue_keeps_a_constant_query_count(client, users, team, django_assert_max_num_queries):
    def add(n):
        for _ in range(n):
            family, children = stepped_up(NOW - timedelta(days=10), team=team)
            receive(users, family, children, NOW - timedelta(hours=1))

    add(1)
    client.force_login(users["dutymanager"])
    client.get(reverse("cases:re_referral_queue"))
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("cases:re_referral_queue"))
    add(5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("cases:re_referral_queue")).status_code == 200
