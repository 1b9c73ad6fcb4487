"""Daily screening (seed 003, 2.1; ADR 0038): a screening with who attended, an outcome and a time per
contact; B3 starts at the time the contact was screened, not when the outcome was typed in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.models import AccessLog, Contact, Screening, ScreeningItem
from deadlines.models import Deadline
from kit.time import LONDON
from tests.factories import family_with_children
from workflows import services
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=LONDON)  # a Tuesday
TYPED = datetime(2026, 11, 24, 15, 10, tzinfo=LONDON)  # the outcomes are typed in after lunch


def receive(users, at):
    family, children = family_with_children(1)
    return services.contact_receive(
        family=family,
        subjects=children,
        received_at=at,
        route=Contact.Route.EMAIL,
        source="2A",
        presenting_needs="Needs support.",
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Parent", "recorded_on": at.date()},
        by=users["mash"],
        now=at,
    )


@pytest.fixture
def family_solutions(team):
    team.service.rulebook = "family-solutions"
    team.service.save(update_fields=["rulebook"])


def _start(client, **overrides):
    data = {"when_date_0": "24", "when_date_1": "11", "when_date_2": "2026", "when_time": "09:30"}
    data["attendees"] = "Sam Lund (EH MASH lead)\nPat Reed (Health)"
    return client.post(reverse("cases:screening_start"), {**data, **overrides})


@time_machine.travel(TYPED, tick=False)
def test_a_screening_records_attendees_outcomes_and_starts_b3_at_the_screening_time(
    client, users, team, family_solutions
):
    contact = receive(users, MORNING - timedelta(hours=15))
    client.force_login(users["mashlead"])
    assert reverse("cases:screening_list") in client.get(reverse("cases:triage_queue")).content.decode()
    response = _start(client)
    screening = Screening.objects.get()
    assert response.status_code == 302 and response.url == reverse("cases:screening_detail", args=[screening.pk])
    assert screening.chair == users["mashlead"]
    assert screening.attendees.splitlines() == ["Sam Lund (EH MASH lead)", "Pat Reed (Health)"]
    page = client.get(response.url).content.decode()
    outcome_url = reverse("cases:screening_outcome", args=[screening.pk, contact.pk])
    assert outcome_url in page
    assert AccessLog.objects.filter(user=users["mashlead"], family_id_logged=contact.family_id).exists()
    response = client.post(
        outcome_url, {"outcome": "signpost", "reason": "Parenting course nearby.", "screened_time": "09:40"}
    )
    assert response.status_code == 302
    item = ScreeningItem.objects.get()
    assert item.screened_at == datetime(2026, 11, 24, 9, 40, tzinfo=LONDON)
    assert item.recorded_at == TYPED
    contact.refresh_from_db()
    assert contact.state == Contact.State.SIGNPOSTED
    assert contact.decided_at == item.screened_at  # decided at the screening, as a meeting's outcome is
    b3 = Deadline.objects.get(rule_id="B3", contact=contact)
    assert b3.started_at == item.screened_at
    page = client.get(reverse("cases:screening_detail", args=[screening.pk])).content.decode()
    assert "24 November 2026, 09:40" in page and "Parenting course nearby." in page
    assert outcome_url not in page


@time_machine.travel(TYPED, tick=False)
def test_carried_over_leaves_the_contact_in_screening(users, team, family_solutions):
    contact = receive(users, MORNING - timedelta(hours=2))
    screening = services.screening_start(
        held_on=MORNING.date(), started_at=MORNING, attendees="Sam", by=users["mash"], now=TYPED
    )
    services.screening_record_outcome(
        screening=screening,
        contact=contact,
        outcome="carried_over",
        reason="Waiting for the school's view.",
        screened_at=MORNING + timedelta(minutes=5),
        by=users["mash"],
        now=TYPED,
    )
    contact.refresh_from_db()
    assert contact.state == Contact.State.SCREENING and contact.decided_at is None
    with pytest.raises(WorkflowError, match="already been screened at this screening"):
        services.screening_record_outcome(
            screening=screening,
            contact=contact,
            outcome="signpost",
            reason="x",
            screened_at=MORNING + timedelta(minutes=6),
            by=users["mash"],
            now=TYPED,
        )


@time_machine.travel(TYPED, tick=False)
def test_bad_input_is_a_clear_message_and_nothing_is_recorded(client, users, team):
    contact = receive(users, MORNING - timedelta(hours=2))
    client.force_login(users["mash"])
    response = _start(client, attendees="", when_time="16:00")
    assert response.status_code == 400
    body = response.content.decode()
    assert "The date and time must not be in the future" in body
    assert body.count("govuk-error-summary__title") == 1
    screening = services.screening_start(
        held_on=MORNING.date(), started_at=MORNING, attendees="Sam", by=users["mash"], now=TYPED
    )
    url = reverse("cases:screening_outcome", args=[screening.pk, contact.pk])
    response = client.post(url, {"outcome": "allocate", "reason": "", "screened_time": "8:75"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter a time in 24-hour format" in body and "Choose the Early Help team to allocate to" in body
    response = client.post(url, {"outcome": "signpost", "reason": "Fine", "screened_time": "08:30"})
    assert response.status_code == 409
    assert "before the screening started" in response.content.decode()
    response = client.post(url, {"outcome": "signpost", "reason": "Fine", "screened_time": "16:30"})
    assert "must not be in the future" in response.content.decode()
    assert not ScreeningItem.objects.exists()
    contact.refresh_from_db()
    assert contact.state == Contact.State.RECEIVED


@time_machine.travel(TYPED, tick=False)
def test_refused_with_a_reason_for_other_roles_get_and_post(client, users):
    screening = services.screening_start(
        held_on=MORNING.date(), started_at=MORNING, attendees="Sam", by=users["mash"], now=TYPED
    )
    contact = receive(users, MORNING - timedelta(hours=2))
    for role in ("coach", "teamlead", "dutymanager"):
        client.force_login(users[role])
        assert client.get(reverse("cases:screening_list")).status_code == 403
        assert client.post(reverse("cases:screening_start"), {}).status_code == 403
        url = reverse("cases:screening_outcome", args=[screening.pk, contact.pk])
        assert client.post(url, {"outcome": "signpost", "reason": "x", "screened_time": "09:10"}).status_code == 403
    client.force_login(users["manager"])
    assert client.get(reverse("cases:screening_detail", args=[screening.pk])).status_code == 200
    assert client.post(reverse("cases:screening_start"), {}).status_code == 403


@time_machine.travel(TYPED, tick=False)
def test_the_screening_page_keeps_a_constant_query_count(client, users, django_assert_max_num_queries):
    screening = services.screening_start(
        held_on=MORNING.date(), started_at=MORNING, attendees="Sam", by=users["mash"], now=TYPED
    )

    def add(n):
        for _ in range(n):
            contact = receive(users, MORNING - timedelta(hours=2))
            services.screening_record_outcome(
                screening=screening,
                contact=contact,
                outcome="no_further_action",
                reason="x",
                screened_at=MORNING + timedelta(minutes=1),
                by=users["mash"],
                now=TYPED,
            )
            receive(users, MORNING - timedelta(hours=1))

    add(1)
    client.force_login(users["mash"])
    url = reverse("cases:screening_detail", args=[screening.pk])
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    add(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
