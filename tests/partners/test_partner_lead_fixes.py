"""Partner-led episodes (ADR 52, follow-up): alerts go to the overseeing team's team
leaders and never to the partner agency; every path that gives the episode to a council practitioner
clears the partner-led mark; a partner user is never offered for internal work nor counted in caseloads."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts import roles
from cases.models import Communication, Consent, Contact, Episode
from deadlines.alerts import alerts_deliver, alerts_raise
from deadlines.models import Alert, Deadline
from kit.time import LONDON
from oversight.selectors import caseloads
from tests.conftest import make_user
from tests.factories import family_with_children
from tests.partners.conftest import sign_in_partner
from tests.partners.test_partner_lead import consents, contact_for
from tests.workflows.helpers import make_episode
from workflows import episode_services as ep
from workflows import services as workflow
from workflows import transfer_services as ts
from workflows.episode_selectors import practitioners_with_caseload
from workflows.errors import WorkflowError
from workflows.transfer_selectors import team_caseloads

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)  # a Monday


@pytest.fixture
def led(users, team, partners, agencies):
    """A partner-led episode opened at NOW: the school's teacher leads, the team keeps oversight."""
    with time_machine.travel(NOW, tick=False):
        family, children = family_with_children(1, team=team)
        consents(family, share_with=agencies["school"].name)
        contact = contact_for(family, children, users, NOW - timedelta(hours=1))
        workflow.contact_decide(
            contact=contact,
            decision=Contact.Decision.SINGLE_AGENCY,
            rationale="School leads",
            lead_partner=partners["teacher"],
            team=team,
            by=users["mash"],
            now=NOW,
        )
    return Episode.objects.get(family=family)


def _agency_ids(partners) -> set[int]:
    return {user.pk for user in partners.values()}


# --- 1. Alerts ---------------------------------------------------------------------------------


def test_a_partner_led_clock_alerts_the_team_leader_and_nobody_at_the_agency(users, partners, led, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clocks = Deadline.objects.filter(episode=led, stopped_at__isnull=True)
    assert clocks.filter(assignee=partners["teacher"]).exists()  # the portal shows them as the teacher's
    # First just past the earliest expected time (overdue), then far past every maximum (breach, escalation).
    clock = clocks.exclude(due_at=None).order_by("due_at").first()
    first_expected = clock.due_at - timedelta(days=1)
    Deadline.objects.filter(pk=clock.pk).update(expected_at=first_expected)  # a clock with an expected time
    with time_machine.travel(first_expected + timedelta(minutes=1), tick=False):
        assert alerts_raise(now=first_expected + timedelta(minutes=1)) > 0
    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        assert alerts_raise(now=NOW + timedelta(days=400)) > 0
        alerts = Alert.objects.filter(deadline__episode=led)
        levels = set(alerts.values_list("level", flat=True))
        assert {Alert.Level.OVERDUE, Alert.Level.BREACHED} <= levels
        recipients = set(alerts.values_list("recipient_id", flat=True))
        assert users["teamlead"].pk in recipients
        assert not recipients & _agency_ids(partners)
        # The overdue alert goes to whoever acts: for partner-led support, the team leader.
        overdue = set(alerts.filter(level=Alert.Level.OVERDUE).values_list("recipient_id", flat=True))
        assert users["teamlead"].pk in overdue and not overdue & _agency_ids(partners)
        mail.outbox.clear()
        alerts_deliver(now=NOW + timedelta(days=400))
    sent_to = {address for message in mail.outbox for address in message.to}
    assert sent_to and not sent_to & {user.email for user in partners.values()}
    assert all(led.family.name not in message.body + message.subject for message in mail.outbox)


def test_an_alert_addressed_to_a_partner_user_is_never_emailed(users, partners, led, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock = Deadline.objects.filter(episode=led).first()
    Alert.objects.create(deadline=clock, level=Alert.Level.OVERDUE, recipient=partners["teacher"], created_at=NOW)
    mail.outbox.clear()
    assert alerts_deliver(now=NOW) == 0 and mail.outbox == []


def test_a_new_contact_on_a_partner_led_family_alerts_the_team_leader_not_the_partner(
    users, partners, led, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        contact = contact_for(led.family, list(led.family.people.all()[:1]), users, NOW + timedelta(days=1))
    alerts = Alert.objects.filter(contact=contact, level=Alert.Level.NEW_CONTACT)
    assert set(alerts.values_list("recipient_id", flat=True)) == {users["teamlead"].pk}
    contact.refresh_from_db()
    assert contact.lead_professional_notified is None
    assert Communication.objects.filter(contact=contact, recipient__startswith="Team leaders of").exists()


def test_consent_withdrawn_on_a_partner_led_family_emails_the_team_leader_not_the_partner(
    users, partners, led, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    consent = Consent.objects.filter(family=led.family, purpose=Consent.Purpose.SHARE).first()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.consent_withdraw(
            consent=consent,
            by=users["coach"],
            told_at=NOW + timedelta(days=2),
            told_by_name="Mum",
            how="phone",
            now=NOW + timedelta(days=2),
        )
    sent_to = {address for message in mail.outbox for address in message.to}
    assert users["teamlead"].email in sent_to
    assert not sent_to & {user.email for user in partners.values()}


# --- 2. Moving work clears the partner-led mark ------------------------------------------------


def test_a_transfer_to_another_team_clears_the_partner_led_mark(client, users, team, other_team, partners, led):
    south_lead = make_user("southlead", roles.TEAM_LEADER, other_team)
    south_coach = make_user("southcoach", roles.PRACTITIONER, other_team, caseload_capacity_override=10)
    transfer = ts.transfer_request(
        episode=led, to_team=other_team, reason="Family moved", by=users["teamlead"], now=NOW + timedelta(days=1)
    )
    ts.transfer_accept(transfer=transfer, practitioner=south_coach, by=south_lead, now=NOW + timedelta(days=2))
    led.refresh_from_db()
    assert (led.team, led.lead_professional, led.partner_organisation) == (other_team, south_coach, None)
    assert not Deadline.objects.filter(episode=led, stopped_at__isnull=True, assignee=partners["teacher"]).exists()
    sign_in_partner(client, partners["teacher"])
    assert client.get(reverse("partners:episode_detail", args=[led.pk])).status_code == 404


def test_the_bulk_reallocation_clears_a_partner_led_mark(users, team, agencies):
    colleague = make_user("ana", roles.PRACTITIONER, team, caseload_capacity_override=10)
    episode, _ = make_episode(users, team, state=Episode.State.ALLOCATED)
    # A mark left on a case a practitioner holds (data from before this fix): moving it clears it.
    Episode.objects.filter(pk=episode.pk).update(partner_organisation=agencies["school"])
    episode.refresh_from_db()
    ts.caseload_reallocate(
        from_practitioner=users["coach"],
        moves=[ts.Move(episode_pk=episode.pk, version=episode.version, to=colleague)],
        reason="Leaving",
        by=users["teamlead"],
        now=NOW,
    )
    episode.refresh_from_db()
    assert episode.lead_professional == colleague and episode.partner_organisation is None


def test_allocation_clears_the_mark_through_the_same_service(users, led):
    episode = ep.episode_allocate(episode=led, practitioner=users["coach"], by=users["teamlead"], now=NOW)
    assert episode.partner_organisation is None
    assert Episode.objects.get(pk=led.pk).partner_organisation is None


# --- 3. Partner users hold no council caseload -------------------------------------------------


def test_a_partner_user_is_never_offered_for_internal_work_or_counted_in_caseloads(
    users, team, service, partners, agencies, led
):
    # A partner user wrongly given a practitioner's role and a team is still not council staff.
    odd = make_user("odd", roles.PRACTITIONER, team, partner_organisation=agencies["school"])
    Episode.objects.filter(pk=led.pk).update(lead_professional=odd)
    offered = {user.pk for user in practitioners_with_caseload(team.pk)}
    assert users["coach"].pk in offered and odd.pk not in offered and partners["teacher"].pk not in offered
    assert odd.pk not in {user.pk for user in caseloads(team_ids=[team.pk])}
    assert odd.pk not in {user.pk for user in team_caseloads(users["teamlead"])}
    assert odd.pk not in {user.pk for user in team_caseloads(users["manager"])}
    with pytest.raises(WorkflowError, match="not an active practitioner"):
        ep.check_practitioner(odd, team)
    with pytest.raises(WorkflowError, match="not an active practitioner"):
        ep.check_practitioner(partners["teacher"], team)
