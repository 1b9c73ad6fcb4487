"""The front door: each defect found driving the real services and pages, now fixed.

B16 never started; A3 was met in 0 seconds; B15 only from the step-down page; B1 never ended
for contacts left awaiting consent; B5 and B6 started when a MAAM's outcome was typed, and a
MAAM decision started A2; a stop typed in the clock's own starting minute was ignored.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.models import Communication, Contact, Episode, Meeting, MeetingItem
from deadlines.models import Deadline
from tests.factories import family_with_children
from workflows import episode_services as es
from workflows import services
from workflows.errors import WorkflowError

from .conftest import london

pytestmark = pytest.mark.django_db

MONDAY = london(2026, 11, 23, 9, 0, 0)


def receive(users, *, at, route=Contact.Route.EMAIL, consent=True, team=None):
    family, children = family_with_children(1, team=team)
    return services.contact_receive(
        family=family,
        subjects=children,
        received_at=at,
        route=route,
        source="2A",
        presenting_needs="Needs support.",
        referrer={"referrer_name": "Ms Teacher"},
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Parent", "recorded_on": at.date()}
        if consent
        else None,
        by=users["mash"],
        now=at,
    )


def follow(team, procedure: str) -> None:
    """The service follows this council's procedure from now on (ADR 0019: one per service)."""
    team.service.rulebook = procedure
    team.service.save(update_fields=["rulebook"])


def clock(rule, **subject) -> Deadline | None:
    return Deadline.objects.filter(rule_id=rule, **subject).order_by("-cycle", "-id").first()


def decide_post(client, contact, **data):
    contact.refresh_from_db()
    return client.post(
        reverse("cases:contact_decide", args=[contact.pk]),
        {"rationale": "Clear needs.", "version": contact.version, **data},
    )


class TestWraparoundStartsB16:
    def test_a_wraparound_contact_allocated_through_the_decision_page_gets_a_b16_clock(self, client, users, team):
        received = MONDAY
        contact = receive(users, at=received, route=Contact.Route.WRAPAROUND)
        client.force_login(users["mashlead"])
        with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
            response = decide_post(client, contact, decision="allocate", team=team.pk)
        assert response.status_code == 302
        episode = Episode.objects.get(contact=contact)
        assert episode.origin == Episode.Origin.WRAPAROUND
        b16 = clock("B16", episode=episode)
        assert b16 is not None and b16.stopped_at is None
        # "within 5 calendar days of the request being received": from the contact's receipt.
        assert b16.started_at == received
        es.episode_allocate(
            episode=episode, practitioner=users["coach"], by=users["teamlead"], now=MONDAY + timedelta(days=1)
        )
        assert clock("B16", episode=episode).stop_reason == "met"


class TestReferralSentIsAStepOfItsOwn:
    def test_a3_runs_from_the_decision_until_the_referral_is_sent(self, client, users, team):
        follow(team, "families-first")
        contact = receive(users, at=MONDAY)
        decided = MONDAY + timedelta(hours=1)
        services.contact_decide(
            contact=contact, decision="allocate", rationale="FFS", team=team, by=users["mashlead"], now=decided
        )
        a3 = clock("A3", contact=contact)
        assert a3.stopped_at is None  # no longer met in 0 seconds by the decision itself

        client.force_login(users["mashlead"])
        page = client.get(reverse("cases:contact_detail", args=[contact.pk]))
        assert "Referral sent to the team" in page.content.decode()
        sent = MONDAY + timedelta(hours=5)
        with time_machine.travel(MONDAY + timedelta(hours=6), tick=False):
            response = client.post(
                reverse("cases:contact_referral_sent", args=[contact.pk]),
                {
                    "referral-sent_date_0": "23",
                    "referral-sent_date_1": "11",
                    "referral-sent_date_2": "2026",
                    "referral-sent_time": "14:00",
                },
            )
        assert response.status_code == 302, response.content.decode()[:2000]
        a3 = clock("A3", contact=contact)
        assert (a3.stop_reason, a3.stopped_at) == ("met", sent)
        assert Communication.objects.filter(contact=contact, kind=Communication.Kind.REFERRAL_TO_TEAM).count() == 1
        page = client.get(reverse("cases:contact_detail", args=[contact.pk]))
        assert 'id="referral"' not in page.content.decode()  # done once

        with pytest.raises(WorkflowError, match="already been recorded"):
            services.contact_referral_sent(contact=contact, sent_at=sent, by=users["mashlead"], now=sent)

    def test_the_step_refuses_bad_input_without_a_500(self, client, users, team):
        contact = receive(users, at=MONDAY)
        client.force_login(users["mashlead"])
        url = reverse("cases:contact_referral_sent", args=[contact.pk])
        # Not allocated yet: refused with the reason, what was typed kept.
        with time_machine.travel(MONDAY + timedelta(hours=6), tick=False):
            response = client.post(
                url,
                {
                    "referral-sent_date_0": "23",
                    "referral-sent_date_1": "11",
                    "referral-sent_date_2": "2026",
                    "referral-sent_time": "14:00",
                },
            )
            assert response.status_code == 409
            assert "has not been allocated to an Early Help team" in response.content.decode()
            response = client.post(url, {"referral-sent_time": "25:99"})
            assert response.status_code == 400
        client.force_login(users["coach"])
        assert client.post(url, {}).status_code in (403, 404)


class TestStepDownThroughTriage:
    def test_a_step_down_contact_gets_b15_and_the_recent_assessment_exemption(self, client, users, team):
        received = MONDAY
        contact = receive(users, at=received, route=Contact.Route.STEP_DOWN)
        client.force_login(users["mashlead"])
        with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
            response = decide_post(
                client,
                contact,
                decision="allocate",
                team=team.pk,
                social_care_assessment_date_0="1",
                social_care_assessment_date_1="10",
                social_care_assessment_date_2="2026",
            )
        assert response.status_code == 302, response.content.decode()[:2000]
        episode = Episode.objects.get(contact=contact)
        assert episode.origin == Episode.Origin.STEP_DOWN
        assert episode.social_care_assessment_date == date(2026, 10, 1)
        assert clock("B15", episode=episode).started_at == received  # 48 hours from receipt from social care

        # The exemption (rulebook B 4.5): the assessment of 1 October is under 3 months old.
        at = MONDAY + timedelta(hours=3)
        es.episode_allocate(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=at)
        assert clock("B15", episode=episode).stop_reason == "met"
        child = contact.subjects.first()
        for kind, seen in (("phone_call", False), ("home_visit", True)):
            at += timedelta(hours=1)
            es.episode_record_visit(
                episode=episode,
                kind=kind,
                happened_at=at,
                details="Met the family.",
                children=[es.ChildPart(child=child, seen=True, spoken_to=True)] if seen else (),
                by=users["coach"],
                now=at,
            )
        episode.refresh_from_db()
        es.assessment_not_needed(episode=episode, by=users["coach"], now=at + timedelta(hours=1))
        episode.refresh_from_db()
        assert episode.state == Episode.State.ASSESSMENT_COMPLETED

    def test_a_step_down_contact_decided_at_a_meeting_gets_b15_too(self, users, team):
        contact = receive(users, at=MONDAY, route=Contact.Route.STEP_DOWN)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(
            kind="MAAM", scheduled_for=MONDAY + timedelta(days=1), location="", attendees="", by=lead
        )
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        services.meeting_record_outcome(
            item=item, outcome="allocate", reason="EH", team=team, by=lead, now=MONDAY + timedelta(days=1, hours=2)
        )
        episode = Episode.objects.get(contact=contact)
        assert episode.origin == Episode.Origin.STEP_DOWN
        assert clock("B15", episode=episode).started_at == MONDAY

    def test_a_future_assessment_date_is_refused(self, users, team):
        contact = receive(users, at=MONDAY, route=Contact.Route.STEP_DOWN)
        with pytest.raises(WorkflowError, match="cannot be in the future"):
            services.contact_decide(
                contact=contact,
                decision="allocate",
                rationale="x",
                team=team,
                by=users["mashlead"],
                now=MONDAY,
                social_care_assessment_date=date(2026, 12, 1),
            )


class TestB1EndsOnEveryFinalDecision:
    def test_a_contact_left_awaiting_consent_can_be_decided_and_b1_ends(self, client, users):
        contact = receive(users, at=MONDAY, consent=False)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="await_consent", rationale="Ask the family.", by=lead, now=MONDAY
        )
        contact.refresh_from_db()
        assert contact.state == Contact.State.AWAITING_CONSENT
        assert clock("B1", contact=contact).stopped_at is None  # not final: the MAAM may still be needed
        with pytest.raises(WorkflowError, match="already awaiting"):
            services.contact_decide(contact=contact, decision="await_consent", rationale="x", by=lead, now=MONDAY)
        # The family refused: the front door signposts them, through the page.
        client.force_login(lead)
        with time_machine.travel(MONDAY + timedelta(days=2), tick=False):
            response = decide_post(client, contact, decision="signpost")
        assert response.status_code == 302, response.content.decode()[:2000]
        contact.refresh_from_db()
        assert contact.state == Contact.State.SIGNPOSTED
        b1 = clock("B1", contact=contact)
        assert b1.stop_reason == "withdrawn"

    def test_allocating_while_awaiting_consent_still_needs_consent(self, users, team):
        contact = receive(users, at=MONDAY, consent=False)
        lead = users["mashlead"]
        services.contact_decide(contact=contact, decision="await_consent", rationale="Ask.", by=lead, now=MONDAY)
        with pytest.raises(WorkflowError, match="consent"):
            services.contact_decide(contact=contact, decision="allocate", rationale="x", team=team, by=lead, now=MONDAY)


class TestMeetingClocksRunFromTheMeeting:
    def maam(self, users, team, *, outcome=MeetingItem.Outcome.ALLOCATE, held=None):
        contact = receive(users, at=MONDAY)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(
            kind="MAAM", scheduled_for=london(2026, 11, 24, 9, 0), location="", attendees="", by=lead
        )
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        services.meeting_record_outcome(
            item=item,
            outcome=outcome,
            reason="Agreed.",
            team=team if outcome == MeetingItem.Outcome.ALLOCATE else None,
            by=lead,
            now=london(2026, 11, 24, 10, 0),  # typed in an hour after the meeting
            held_at=held,
        )
        return contact, meeting

    def test_b5_and_b6_start_when_the_meeting_was_held_not_when_typed(self, users, team):
        contact, meeting = self.maam(users, team)
        held = london(2026, 11, 24, 9, 0)
        meeting.refresh_from_db()
        assert meeting.held_at == held
        assert clock("B5", contact=contact).started_at == held
        assert clock("B6", contact=contact).started_at == held
        # The referrer told at 09:30 (after the meeting, before the outcome was typed) stops B5.
        services.communication_record(
            family=contact.family,
            contact=contact,
            kind=Communication.Kind.MEETING_OUTCOME,
            recipient="Ms Teacher",
            method="phone",
            sent_at=london(2026, 11, 24, 9, 30),
            by=users["mash"],
            now=london(2026, 11, 24, 10, 5),
        )
        assert clock("B5", contact=contact).stop_reason == "met"

    def test_the_held_time_given_is_used_and_never_later_than_now(self, users, team):
        contact, meeting = self.maam(users, team, held=london(2026, 11, 24, 9, 20))
        assert clock("B5", contact=contact).started_at == london(2026, 11, 24, 9, 20)
        contact, meeting = self.maam(users, team, held=london(2026, 11, 24, 23, 0))
        assert clock("B5", contact=contact).started_at == london(2026, 11, 24, 10, 0)

    def test_a_maam_decision_does_not_start_the_nam_clock(self, users, team):
        follow(team, "families-first")
        contact = receive(users, at=MONDAY)
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=users["mashlead"], now=MONDAY
        )
        assert clock("A2", contact=contact) is None
        nam = receive(users, at=MONDAY)
        services.contact_decide(
            contact=nam, decision="meeting", meeting_kind="NAM", rationale="NAM", by=users["mashlead"], now=MONDAY
        )
        assert clock("A2", contact=nam).stopped_at is None
        # Under Family Solutions the MAAM decision leaves B1 (presented to the MAAM) running.
        follow(team, "family-solutions")
        maam = receive(users, at=MONDAY)
        services.contact_decide(
            contact=maam, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=users["mashlead"], now=MONDAY
        )
        assert clock("B1", contact=maam).stopped_at is None

    @pytest.mark.parametrize("procedure", ["families-first", "family-solutions"])
    def test_a_nam_does_not_stop_the_maam_clock_nor_start_b5(self, users, team, procedure):
        follow(team, procedure)
        contact = receive(users, at=MONDAY)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="NAM", rationale="NAM", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(
            kind=Meeting.Kind.NAM, scheduled_for=MONDAY + timedelta(hours=2), location="", attendees="", by=lead
        )
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        services.meeting_record_outcome(
            item=item, outcome="signpost", reason="Signposted.", by=lead, now=MONDAY + timedelta(hours=3)
        )
        if procedure == "families-first":
            assert clock("A2", contact=contact).stop_reason == "met"
        else:
            assert clock("B5", contact=contact) is None
            assert clock("B1", contact=contact).stop_reason == "withdrawn"  # ended by the decision, not met


class TestMinuteAgainstSecond:
    def test_initial_contact_typed_in_the_allocation_minute_stops_b8(self, users, team):
        contact = receive(users, at=MONDAY)
        services.contact_decide(
            contact=contact, decision="allocate", rationale="EH", team=team, by=users["mashlead"], now=MONDAY
        )
        episode = Episode.objects.get(contact=contact)
        allocated = london(2026, 11, 23, 10, 5, 37)
        es.episode_allocate(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=allocated)
        typed = london(2026, 11, 23, 10, 5)  # the form has minutes only
        es.episode_record_visit(
            episode=episode,
            kind="phone_call",
            happened_at=typed,
            details="Called mum.",
            by=users["coach"],
            now=london(2026, 11, 23, 10, 6, 2),
        )
        b8 = clock("B8", episode=episode)
        assert b8.stop_reason == "met"
        assert b8.stopped_at == allocated  # never before its start
        assert not Deadline.objects.filter(episode=episode, rule_id="B8", stopped_at__isnull=True).exists()

    def test_b5_told_in_the_meeting_minute_is_met(self, users, team):
        contact = receive(users, at=MONDAY)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(
            kind="MAAM", scheduled_for=MONDAY + timedelta(hours=1), location="", attendees="", by=lead
        )
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        held = london(2026, 11, 23, 11, 0, 42)
        services.meeting_record_outcome(
            item=item, outcome="signpost", reason="x", by=lead, now=held + timedelta(minutes=5), held_at=held
        )
        services.communication_record(
            family=contact.family,
            contact=contact,
            kind=Communication.Kind.MEETING_OUTCOME,
            recipient="Ms Teacher",
            method="phone",
            sent_at=london(2026, 11, 23, 11, 0),
            by=users["mash"],
            now=held + timedelta(minutes=6),
        )
        assert clock("B5", contact=contact).stop_reason == "met"

    def test_a_stop_in_an_earlier_minute_still_does_not_stop(self, users, team):
        contact = receive(users, at=MONDAY)
        services.contact_decide(
            contact=contact, decision="allocate", rationale="EH", team=team, by=users["mashlead"], now=MONDAY
        )
        episode = Episode.objects.get(contact=contact)
        es.episode_allocate(
            episode=episode, practitioner=users["coach"], by=users["teamlead"], now=london(2026, 11, 23, 10, 5, 37)
        )
        es.episode_record_visit(
            episode=episode,
            kind="phone_call",
            happened_at=london(2026, 11, 23, 10, 4),
            details="Called mum before the allocation was keyed in.",
            by=users["coach"],
            now=london(2026, 11, 23, 10, 6),
        )
        assert clock("B8", episode=episode).stopped_at is None


class TestMeetingPageRecordsTheHeldTime:
    def test_the_outcome_page_takes_the_held_time(self, client, users, team):
        contact = receive(users, at=MONDAY)
        lead = users["mashlead"]
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind="MAAM", rationale="MAAM", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(
            kind="MAAM", scheduled_for=london(2026, 11, 24, 9, 0), location="", attendees="", by=lead
        )
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        client.force_login(lead)
        url = reverse("cases:meeting_outcome", args=[meeting.pk, item.pk])
        prefix = f"item{item.pk}"
        with time_machine.travel(london(2026, 11, 24, 11, 0), tick=False):
            bad = client.post(
                url, {f"{prefix}-outcome": "signpost", f"{prefix}-reason": "x", f"{prefix}-held_time": "9h"}
            )
            assert bad.status_code == 400
            assert "Enter a time in 24-hour format" in bad.content.decode()
            response = client.post(
                url,
                {f"{prefix}-outcome": "signpost", f"{prefix}-reason": "Signposted.", f"{prefix}-held_time": "09:40"},
            )
        assert response.status_code == 302
        meeting.refresh_from_db()
        assert meeting.held_at == london(2026, 11, 24, 9, 40)
        assert clock("B5", contact=contact).started_at == london(2026, 11, 24, 9, 40)
