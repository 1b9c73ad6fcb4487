"""Escalations to the operational leads (seed 004; ADR 0038): on a contact as well as an episode, routed to
the service's EH managers or a named one, in their queue, with a 48-hour clock (C3, C4), an outcome, history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.models import Escalation
from deadlines.models import Deadline
from kit.time import LONDON
from tests.factories import ContactFactory, EpisodeFactory, family_with_children
from workflows import episode_services, services
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)


@pytest.fixture
def contact(team):
    family, children = family_with_children(1, team=team)
    return ContactFactory(family=family, received_at=NOW - timedelta(hours=3), presenting_needs="N", subjects=children)


@time_machine.travel(NOW, tick=False)
def test_a_routing_disagreement_reaches_the_operational_leads_queue_with_its_clock(client, users, contact):
    client.force_login(users["mashlead"])
    page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
    url = reverse("cases:contact_escalation_new", args=[contact.pk])
    assert url in page
    response = client.post(url, {"disagreement": "The school disagrees with the diversion.", "escalated_to_user": ""})
    assert response.status_code == 302
    escalation = Escalation.objects.get(contact=contact)
    assert escalation.about == Escalation.About.ROUTING and escalation.raised_by == users["mashlead"]
    clock = Deadline.objects.get(rule_id="C4", key=f"escalation:{escalation.pk}")
    assert clock.contact_id == contact.pk and clock.due_at == NOW + timedelta(hours=48)
    client.force_login(users["manager"])
    queue = client.get(reverse("cases:escalation_queue")).content.decode()
    assert escalation.reference in queue and "26 November 2026, 10:00" in queue
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        response = client.post(
            reverse("cases:escalation_resolve", args=[escalation.pk]), {"outcome": "Agreed: allocate to the hub."}
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url == reverse("cases:escalation_queue"), response.url
    escalation.refresh_from_db()
    assert escalation.outcome == "Agreed: allocate to the hub." and escalation.resolved_by == users["manager"]
    clock.refresh_from_db()
    assert clock.stopped_at == NOW + timedelta(minutes=20)
    assert escalation.history.count() == 2
    assert "No open escalation." in client.get(reverse("cases:escalation_queue")).content.decode()
    client.force_login(users["mashlead"])
    page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
    assert "Agreed: allocate to the hub." in page


@time_machine.travel(NOW, tick=False)
def test_an_episode_escalation_has_its_clock_and_is_resolved_from_the_queue(client, users, team):
    family, _ = family_with_children(1, team=team)
    episode = EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"])
    escalation = episode_services.escalation_record(
        episode=episode,
        about="step_up",
        disagreement="Threshold",
        escalated_to="Ops lead",
        by=users["teamlead"],
        now=NOW,
    )
    clock = Deadline.objects.get(rule_id="C3", key=f"escalation:{escalation.pk}")
    assert clock.episode_id == episode.pk
    client.force_login(users["manager"])
    assert escalation.reference in client.get(reverse("cases:escalation_queue")).content.decode()
    client.post(reverse("cases:escalation_resolve", args=[escalation.pk]), {"outcome": "Step up agreed."})
    clock.refresh_from_db()
    assert clock.stopped_at == NOW


@time_machine.travel(NOW, tick=False)
def test_bad_input_and_other_roles_are_refused_with_a_reason(client, users, contact):
    client.force_login(users["mash"])
    response = client.post(reverse("cases:contact_escalation_new", args=[contact.pk]), {"disagreement": ""})
    assert response.status_code == 400
    assert response.content.decode().count("govuk-error-summary__title") == 1
    escalation = services.contact_escalation_raise(contact=contact, disagreement="x", by=users["mash"], now=NOW)
    url = reverse("cases:escalation_resolve", args=[escalation.pk])
    for role in ("mash", "coach", "teamlead", "dutymanager"):
        client.force_login(users[role])
        assert client.get(url).status_code == 403, role
        assert client.post(url, {"outcome": "x"}).status_code == 403, role
    client.force_login(users["coach"])
    assert (
        client.post(reverse("cases:contact_escalation_new", args=[contact.pk]), {"disagreement": "x"}).status_code
        == 403
    )
    client.force_login(users["manager"])
    assert client.post(url, {"outcome": ""}).status_code == 400
    services.contact_escalation_resolve(escalation=escalation, outcome="Done", by=users["manager"], now=NOW)
    assert client.get(url).status_code == 403  # already resolved: refused, the reason given
    with pytest.raises(WorkflowError, match="already been recorded"):
        services.contact_escalation_resolve(escalation=escalation, outcome="Again", by=users["manager"], now=NOW)


@time_machine.travel(NOW, tick=False)
def test_a_named_operational_lead_may_record_the_outcome(users, contact):
    escalation = services.contact_escalation_raise(
        contact=contact, disagreement="x", escalated_to_user=users["dutymanager"], by=users["mash"], now=NOW
    )
    assert escalation.escalated_to == str(users["dutymanager"])
    services.contact_escalation_resolve(escalation=escalation, outcome="Agreed", by=users["dutymanager"], now=NOW)


@time_machine.travel(NOW, tick=False)
def test_the_queue_keeps_a_constant_query_count(client, users, team, django_assert_max_num_queries):
    def add(n):
        for _ in range(n):
            family, children = family_with_children(1, team=team)
            c = ContactFactory(
                family=family, received_at=NOW - timedelta(hours=1), presenting_needs="N", subjects=children
            )
            services.contact_escalation_raise(contact=c, disagreement="x", by=users["mash"], now=NOW)
            e = EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"])
            episode_services.escalation_record(
                episode=e, about="step_down", disagreement="y", escalated_to="Ops", by=users["teamlead"], now=NOW
            )

    add(1)
    client.force_login(users["manager"])
    client.get(reverse("cases:escalation_queue"))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("cases:escalation_queue"))
    add(5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("cases:escalation_queue")).status_code == 200
