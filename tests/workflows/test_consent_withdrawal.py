"""Withdrawing a consent from the family page (ADR 0038): who told us, when, how; the gate closes at once;
the lead professional is told; the family page says so; bad input keeps what was typed."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from cases.models import Communication, Consent
from cases.selectors import sharing_consented
from kit.time import LONDON
from tests.factories import ContactFactory, EpisodeFactory, family_with_children
from workflows import services
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=LONDON)


@pytest.fixture
def case(users, team):
    with time_machine.travel(NOW, tick=False):
        family, children = family_with_children(1, team=team)
        ContactFactory(family=family, received_at=NOW - timedelta(hours=2), presenting_needs="Needs", subjects=children)
        EpisodeFactory(
            plan_active=True,
            family=family,
            team=team,
            lead_professional=users["coach"],
            opened_at=NOW - timedelta(days=30),
        )
        consent = Consent.objects.create(
            family=family,
            purpose="share",
            agency="Hillside School",
            status="given",
            recorded_on=NOW.date() - timedelta(days=20),
        )
    return family, children, consent


def _post(client, family, consent, **overrides):
    data = {
        "told_by": "other",
        "told_by_name": "Mrs Patel (grandmother)",
        "when_date_0": "2",
        "when_date_1": "12",
        "when_date_2": "2026",
        "when_time": "10:30",
        "how": "phone",
        **overrides,
    }
    return client.post(reverse("cases:consent_withdraw", args=[family.pk, consent.pk]), data)


@time_machine.travel(NOW, tick=False)
def test_withdrawal_closes_the_sharing_gate_at_once_and_tells_the_lead_professional(client, users, case):
    family, children, consent = case
    assert sharing_consented(family, "Hillside School", NOW.date())
    users["coach"].email = "coach@example.org"
    users["coach"].save()
    client.force_login(users["mash"])
    page = client.get(reverse("cases:family_detail", args=[family.pk]))
    assert reverse("cases:consent_withdraw", args=[family.pk, consent.pk]) in page.content.decode()
    with pytest.MonkeyPatch.context():
        response = _post(client, family, consent, told_by=str(children[0].pk), told_by_name="")
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_on == NOW.date()
    assert consent.withdrawn_at == datetime(2026, 12, 2, 10, 30, tzinfo=LONDON)
    assert consent.withdrawn_told_by == children[0]
    assert consent.withdrawn_how == "phone"
    assert consent.withdrawn_recorded_by == users["mash"]
    assert not sharing_consented(family, "Hillside School", NOW.date())
    notice = Communication.objects.get(family=family, kind=Communication.Kind.LEAD_PROFESSIONAL_NOTICE)
    assert notice.recipient == str(users["coach"])
    assert "Consent to share with Hillside School withdrawn" in notice.summary
    page = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert "Consent to share with Hillside School withdrawn on 2 December 2026, 10:30" in page
    assert f"told by {children[0]}" in page
    assert consent.history.count() == 2  # created, withdrawn: the original is kept


@time_machine.travel(NOW, tick=False)
def test_the_lead_professional_is_emailed_after_commit(users, case, django_capture_on_commit_callbacks):
    family, _, consent = case
    users["coach"].email = "coach@example.org"
    users["coach"].save()
    with django_capture_on_commit_callbacks(execute=True):
        services.consent_withdraw(
            consent=consent,
            told_at=NOW - timedelta(hours=1),
            told_by_name="Mum",
            how="email",
            by=users["mash"],
            now=NOW,
        )
    assert [m.to for m in mail.outbox] == [["coach@example.org"]]
    assert family.name not in mail.outbox[0].body  # emails leave the system: references only


@time_machine.travel(NOW, tick=False)
def test_bad_input_gives_clear_messages_and_keeps_what_was_typed(client, users, case):
    family, _, consent = case
    client.force_login(users["coach"])
    response = _post(client, family, consent, told_by_name="", when_date_0="3", when_time="09:00", how="")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Type the name of the person who told us" in body
    assert "The date and time must not be in the future" in body
    assert "Select a valid choice" in body or "This field is required" in body
    assert body.count("govuk-error-summary__title") == 1
    consent.refresh_from_db()
    assert consent.withdrawn_on is None
    response = _post(client, family, consent, when_time="25:99")
    assert "Enter a time in 24-hour format" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_withdrawn_consent_cannot_be_withdrawn_again(client, users, case):
    family, _, consent = case
    client.force_login(users["teamlead"])
    assert _post(client, family, consent).status_code == 302
    response = client.get(reverse("cases:consent_withdraw", args=[family.pk, consent.pk]), follow=True)
    assert "is not in force: there is nothing to withdraw" in response.content.decode()
    consent.refresh_from_db()
    with pytest.raises(WorkflowError, match="already been withdrawn"):
        services.consent_withdraw(consent=consent, told_at=NOW, by=users["mash"], now=NOW)


@time_machine.travel(NOW, tick=False)
def test_a_stranger_to_the_family_cannot_be_who_told_us(users, case, team):
    family, _, consent = case
    other, other_children = family_with_children(1, team=team)
    with pytest.raises(WorkflowError, match="someone in this family"):
        services.consent_withdraw(consent=consent, told_at=NOW, told_by=other_children[0], by=users["mash"], now=NOW)


@time_machine.travel(NOW, tick=False)
def test_refused_for_the_duty_manager_get_and_post(client, users, case):
    family, _, consent = case
    client.force_login(users["dutymanager"])
    url = reverse("cases:consent_withdraw", args=[family.pk, consent.pk])
    assert client.get(url).status_code == 403
    assert _post(client, family, consent).status_code == 403
    assert "Withdraw<" not in client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_on is None


@time_machine.travel(NOW, tick=False)
def test_a_consent_of_another_family_is_not_found(client, users, case, team):
    family, _, _ = case
    other, _ = family_with_children(1, team=team)
    theirs = Consent.objects.create(family=other, purpose="share", agency="X", status="given", recorded_on=NOW.date())
    client.force_login(users["mash"])
    assert client.get(reverse("cases:consent_withdraw", args=[family.pk, theirs.pk])).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_family_page_keeps_a_constant_query_count(client, users, case, django_assert_max_num_queries):
    family, children, consent = case
    client.force_login(users["mash"])
    services.consent_withdraw(consent=consent, told_at=NOW, told_by=children[0], how="phone", by=users["mash"], now=NOW)
    client.get(reverse("cases:family_detail", args=[family.pk]))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("cases:family_detail", args=[family.pk]))
    for n in range(8):
        c = Consent.objects.create(
            family=family, purpose="share", agency=f"A{n}", status="given", recorded_on=NOW.date()
        )
        services.consent_withdraw(consent=c, told_at=NOW, told_by=children[0], how="phone", by=users["mash"], now=NOW)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("cases:family_detail", args=[family.pk]))
