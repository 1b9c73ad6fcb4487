"""An external lead professional (ADR 52): the front door names a partner agency's member of staff as
lead professional for single-agency support; they hold the episode in the portal within the same
clocks as an internal episode, while the agency is active and consent to share is in force; partners
are invited to reviews."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    AccessLog,
    CaseNote,
    Consent,
    Contact,
    Episode,
    OutcomeArea,
    RiskIndicator,
)
from deadlines.models import Deadline
from kit.time import LONDON
from partners.models import ReviewInvitation
from partners.services import PartnerRefused, review_invitation_answer, review_invite
from tests.factories import family_with_children
from tests.partners.conftest import in_team, sign_in_partner
from workflows import episode_services as ep
from workflows import services as workflow
from workflows.episode_services import ChildPart
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)  # a Monday


def consents(family, *, share_with: str = ""):
    Consent.objects.create(
        family=family, purpose=Consent.Purpose.EARLY_HELP, status=Consent.Status.GIVEN, given_by_name="Mum"
    )
    if share_with:
        Consent.objects.create(
            family=family,
            purpose=Consent.Purpose.SHARE,
            agency=share_with,
            status=Consent.Status.GIVEN,
            given_by_name="Mum",
            recorded_on=NOW.date(),
        )


def contact_for(family, children, users, now):
    return workflow.contact_receive(
        family=family,
        subjects=children,
        received_at=now,
        route="email",
        source="2A",
        presenting_needs="Often late and hungry",
        by=users["mash"],
        now=now,
    )


def work_through(episode, lead, child, now):
    """A visit seeing the child, the assessment, the plan and its activation: the same calls either way."""
    ep.episode_record_visit(
        episode=episode,
        kind=CaseNote.Kind.HOME_VISIT,
        happened_at=now,
        details="Met Mum and Ada at home",
        purpose="First visit",
        children=[ChildPart(child=child, seen=True, spoken_to=True, views="I like school dinners")],
        by=lead,
        now=now,
    )
    later = now + timedelta(days=3)
    sections = {
        "family_history": "h",
        "previous_interventions": "p",
        "agency_views": "a",
        "family_views": "f",
        "child_voice": "c",
        "recommendation": "r",
    }
    ep.assessment_save(
        episode=episode,
        by=lead,
        now=later,
        sections=sections,
        children={child: ("Needs a routine", "I want breakfast")},
        needs=dict.fromkeys(OutcomeArea.values, (2, "")),
        risks=dict.fromkeys(RiskIndicator.Indicator.values, (1, "")),
        complete=True,
    )
    outcome = ep.plan_outcome_save(
        episode=episode,
        by=lead,
        now=later,
        description="Ada is at school on time",
        how_measured="Register",
        by_when=date(2026, 6, 1),
    )
    ep.plan_action_save(
        outcome=outcome, by=lead, now=later, what="Breakfast club", who="School", by_when=date(2026, 4, 1)
    )
    ep.plan_save(episode=episode, if_not_working="Meet again", child_voice="Ada wants breakfast", by=lead, now=later)
    ep.plan_activate(episode=episode, by=lead, now=later)
    return outcome


def clocks(episode) -> list[tuple[str, bool]]:
    """Each clock of the episode by rule, and whether it is stopped (the worker's own clocks aside)."""
    return sorted(
        (d.rule_id, d.stopped_at is not None) for d in Deadline.objects.filter(episode=episode, worker__isnull=True)
    )


@time_machine.travel(NOW, tick=False)
def test_a_partner_led_episode_starts_and_stops_the_same_clocks_as_an_internal_one(users, team, partners, agencies):
    school, teacher = agencies["school"], partners["teacher"]
    led_family, led_children = family_with_children(1)
    consents(led_family, share_with=school.name)
    internal_family, internal_children = family_with_children(1)
    consents(internal_family)
    led_contact = contact_for(led_family, led_children, users, NOW)
    internal_contact = contact_for(internal_family, internal_children, users, NOW)
    decided = NOW + timedelta(hours=2)
    workflow.contact_decide(
        contact=led_contact,
        decision=Contact.Decision.SINGLE_AGENCY,
        rationale="School agreed to lead",
        lead_partner=teacher,
        team=team,
        by=users["mash"],
        now=decided,
    )
    workflow.contact_decide(
        contact=internal_contact,
        decision=Contact.Decision.ALLOCATE,
        rationale="Needs a coach",
        team=team,
        by=users["mash"],
        now=decided,
    )
    led_contact.refresh_from_db()
    assert led_contact.state == Contact.State.SINGLE_AGENCY and led_contact.single_agency_name == school.name
    assert led_contact.single_agency_organisation == school
    led = Episode.objects.get(family=led_family)
    assert (led.lead_professional, led.partner_organisation, led.team, led.state) == (
        teacher,
        school,
        team,
        "allocated",
    )
    internal = Episode.objects.get(family=internal_family)
    internal = ep.episode_allocate(episode=internal, practitioner=users["coach"], by=users["teamlead"], now=decided)
    assert clocks(led) == clocks(internal)
    assert not Deadline.objects.filter(worker=teacher).exists()  # the agency's supervision is not the council's
    work_through(led, teacher, led_children[0], decided + timedelta(days=1))
    work_through(internal, users["coach"], internal_children[0], decided + timedelta(days=1))
    led.refresh_from_db()
    assert led.state == internal.__class__.objects.get(pk=internal.pk).state == Episode.State.PLAN_ACTIVE
    assert clocks(led) == clocks(internal)
    assert led.history.count() > 1  # every change in history


@time_machine.travel(NOW, tick=False)
def test_naming_a_partner_lead_is_refused_with_a_reason(users, team, partners, agencies):
    school, teacher = agencies["school"], partners["teacher"]
    family, children = family_with_children(1)
    consents(family)  # Early Help consent, none to share with the school
    contact = contact_for(family, children, users, NOW)
    decide = {"contact": contact, "decision": "single_agency", "rationale": "r", "by": users["mash"], "now": NOW}
    with pytest.raises(WorkflowError, match="Early Help team that keeps oversight"):
        workflow.contact_decide(**decide, lead_partner=teacher)
    with pytest.raises(WorkflowError, match="not agreed to share information with"):
        workflow.contact_decide(**decide, lead_partner=teacher, team=team)
    Consent.objects.create(family=family, purpose="share", agency=school.name, status="given", recorded_on=NOW.date())
    school.active = False
    school.save()
    with pytest.raises(WorkflowError, match="no longer an active partner agency"):
        workflow.contact_decide(**decide, lead_partner=teacher, team=team)
    with pytest.raises(WorkflowError, match="registered partner agency"):
        workflow.contact_decide(**decide, lead_partner=users["coach"], team=team)
    # The free-text agency name still works for an unregistered agency.
    workflow.contact_decide(**decide, agency="St Mary's Youth Club")
    assert not Episode.objects.filter(family=family).exists()


@pytest.fixture
def led_episode(users, team, partners, agencies):
    family, children = family_with_children(1, team=team)
    consents(family, share_with=agencies["school"].name)
    contact = contact_for(family, children, users, timezone.now() - timedelta(hours=1))
    workflow.contact_decide(
        contact=contact,
        decision=Contact.Decision.SINGLE_AGENCY,
        rationale="School leads",
        lead_partner=partners["teacher"],
        team=team,
        by=users["mash"],
        now=timezone.now(),
    )
    return Episode.objects.get(family=family)


def test_the_partner_lead_works_in_the_portal_and_access_ends_with_consent_or_the_agency(
    client, users, partners, agencies, led_episode
):
    teacher = partners["teacher"]
    sign_in_partner(client, teacher)
    detail = reverse("partners:episode_detail", args=[led_episode.pk])
    page = client.get(detail)
    assert page.status_code == 200 and b"What is due" in page.content and b"Initial contact" in page.content
    assert AccessLog.objects.filter(user=teacher, family_id_logged=led_episode.family_id).exists()
    child = led_episode.family.memberships.get(relationship="child").person
    now = timezone.localtime()
    response = client.post(
        reverse("partners:episode_visit_new", args=[led_episode.pk]),
        {
            "kind": "home_visit",
            "when_date_0": now.day,
            "when_date_1": now.month,
            "when_date_2": now.year,
            "when_time": (now - timedelta(minutes=5)).strftime("%H:%M") if now.hour or now.minute > 5 else "00:00",
            "purpose": "First visit",
            "present": "Mum, Ada",
            "details": "Talked about mornings",
            "actions": "Breakfast club",
            "analysis": "Mornings are hard",
            f"child_{child.pk}_seen": "on",
            f"child_{child.pk}_spoken": "on",
            f"child_{child.pk}_views": "I am hungry at school",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    led_episode.refresh_from_db()
    assert led_episode.state == Episode.State.FIRST_VISIT
    # Other partner users see nothing of it: the school's head and the health visitor.
    for other in ("head", "visitor"):
        sign_in_partner(client, partners[other])
        assert client.get(detail).status_code == 404
    # Consent withdrawn: 404 at once, and the services refuse too.
    sign_in_partner(client, teacher)
    Consent.objects.filter(family=led_episode.family, purpose="share").update(withdrawn_on=timezone.localdate())
    assert client.get(detail).status_code == 404
    assert client.get(reverse("partners:episode_list")).content.count(led_episode.reference.encode()) == 0
    with pytest.raises(WorkflowError):
        ep.plan_save(episode=led_episode, if_not_working="x", by=teacher, now=timezone.now())
    Consent.objects.filter(family=led_episode.family, purpose="share").update(withdrawn_on=None)
    assert client.get(detail).status_code == 200
    agencies["school"].active = False
    agencies["school"].save()
    assert client.get(detail).status_code == 404


def test_the_team_leader_sees_partner_led_support_on_the_board(client, users, team, led_episode):
    client.force_login(users["teamlead"])
    board = client.get(reverse("oversight:team_board"))
    assert board.status_code == 200 and b"Single-agency support led by partner agencies" in board.content
    listing = client.get(reverse("oversight:team_board_list") + "?list=partner-led")
    assert listing.status_code == 200 and led_episode.family.name.encode() in listing.content
    page = client.get(reverse("episodes:episode_detail", args=[led_episode.pk]))
    assert b"Single-agency support led by Northfield Primary School" in page.content


def test_a_closure_asked_for_in_the_portal_is_signed_off_by_the_manager(users, partners, led_episode):
    teacher = partners["teacher"]
    Episode.objects.filter(pk=led_episode.pk).update(state=Episode.State.PLAN_ACTIVE)
    led_episode.refresh_from_db()
    closure = ep.closure_request(
        episode=led_episode,
        checklist=dict.fromkeys(
            ("records_up_to_date", "documents_uploaded", "plan_actions_done", "supervisor_tasks_done"), True
        ),
        summary="Goals met",
        child_voice="Happy",
        proposed_reason="goals_met",
        by=teacher,
        now=timezone.now(),
    )
    with pytest.raises(WorkflowError):
        ep.closure_sign_off(
            closure=closure,
            ended_on=timezone.localdate(),
            reason="goals_met",
            letter_recipient="Mum",
            letter_method="email",
            partners="School",
            by=teacher,
            now=timezone.now(),
        )
    ep.closure_sign_off(
        closure=closure,
        ended_on=timezone.localdate(),
        reason="goals_met",
        letter_recipient="Mum",
        letter_method="email",
        partners="School",
        by=users["manager"],
        now=timezone.now(),
    )
    led_episode.refresh_from_db()
    assert led_episode.state == Episode.State.CLOSED


# --- Partners invited to reviews ------------------------------------------------------------------------


def test_partners_in_the_team_are_invited_to_a_review_answer_it_and_lose_it_with_consent(
    client, users, partners, agencies, led_episode, django_capture_on_commit_callbacks
):
    family = led_episode.family
    in_team(family, agencies["health"], partners["visitor"])
    now = timezone.now()
    review_at = now + timedelta(days=7)
    with pytest.raises(PartnerRefused, match="named for a partner agency"):
        review_invite(
            episode=led_episode,
            invitees=[partners["head"]],
            review_at=review_at,
            place="School",
            by=partners["teacher"],
            now=now,
        )
    with pytest.raises(PartnerRefused, match="future"):
        review_invite(
            episode=led_episode,
            invitees=[partners["visitor"]],
            review_at=now,
            place="School",
            by=partners["teacher"],
            now=now,
        )
    with pytest.raises(PartnerRefused):
        review_invite(
            episode=led_episode,
            invitees=[partners["visitor"]],
            review_at=review_at,
            place="School",
            by=partners["visitor"],
            now=now,
        )
    with django_capture_on_commit_callbacks(execute=True):
        [invitation] = review_invite(
            episode=led_episode,
            invitees=[partners["visitor"]],
            review_at=review_at,
            place="Northfield Primary, room 2",
            by=partners["teacher"],
            now=now,
        )
    sent = mail.outbox[-1]
    assert invitation.reference in sent.subject and led_episode.reference in sent.body
    assert family.name not in sent.body + sent.subject and "room 2" not in sent.body
    sign_in_partner(client, partners["visitor"])
    assert family.name.encode() in client.get(reverse("partners:review_invitation_list")).content
    url = reverse("partners:review_invitation", args=[invitation.pk])
    assert b"room 2" in client.get(url).content
    assert client.post(url, {"answer": "maybe"}).status_code == 400
    assert client.post(url, {"answer": "declined", "note": "Clinic that day: I will send a report"}).status_code == 302
    invitation.refresh_from_db()
    assert invitation.answer == "declined" and invitation.answer_note.startswith("Clinic")
    Consent.objects.filter(family=family, agency=agencies["health"].name).update(withdrawn_on=timezone.localdate())
    assert client.get(url).status_code == 404
    assert family.name.encode() not in client.get(reverse("partners:review_invitation_list")).content
    with pytest.raises(PartnerRefused):
        review_invitation_answer(
            invitation=invitation, answer="accepted", note="", by=partners["visitor"], now=timezone.now()
        )


def test_the_internal_lead_professional_invites_partners_from_the_episode(client, users, team, partners, agencies):
    from tests.factories import EpisodeFactory

    family, _ = family_with_children(1, team=team)
    episode = EpisodeFactory(
        plan_active=True,
        family=family,
        team=team,
        lead_professional=users["coach"],
        opened_at=timezone.now() - timedelta(days=30),
    )
    in_team(family, agencies["school"], partners["teacher"])
    client.force_login(users["coach"])
    url = reverse("partners:staff_review_invite", args=[episode.pk])
    assert client.get(url).status_code == 200
    day = timezone.localdate() + timedelta(days=10)
    bad = client.post(
        url,
        {
            "review_date_0": "31",
            "review_date_1": "2",
            "review_date_2": "2026",
            "review_time": "25:00",
            "place": "<script>",
        },
    )
    assert bad.status_code == 400 and bad.content.count(b'class="govuk-error-summary"') == 1
    response = client.post(
        url,
        {
            "review_date_0": day.day,
            "review_date_1": day.month,
            "review_date_2": day.year,
            "review_time": "10:00",
            "place": "Family hub",
            "invitees": [partners["teacher"].pk],
        },
    )
    assert response.status_code == 302
    assert ReviewInvitation.objects.get().invitee == partners["teacher"]
    page = client.get(url).content.decode()
    assert "Family hub" in page and "Not answered yet" in page  # the invitations sent, with each answer
    client.force_login(users["outsider"] if "outsider" in users else users["mash"])
    assert client.get(url).status_code in (403, 404)


def test_the_new_partner_lists_keep_constant_query_counts(
    client, users, team, partners, agencies, django_assert_max_num_queries
):
    teacher = partners["teacher"]
    for _ in range(5):
        family, children = family_with_children(1, team=team)
        consents(family, share_with=agencies["school"].name)
        contact = contact_for(family, children, users, timezone.now() - timedelta(hours=1))
        workflow.contact_decide(
            contact=contact,
            decision="single_agency",
            rationale="r",
            lead_partner=teacher,
            team=team,
            by=users["mash"],
            now=timezone.now(),
        )
        in_team(family, agencies["school"], partners["head"])
        review_invite(
            episode=Episode.objects.get(family=family),
            invitees=[partners["head"]],
            review_at=timezone.now() + timedelta(days=3),
            place="School",
            by=teacher,
            now=timezone.now(),
        )
    sign_in_partner(client, teacher)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("partners:episode_list")).status_code == 200
    episode = Episode.objects.filter(lead_professional=teacher).first()
    with django_assert_max_num_queries(30):
        assert client.get(reverse("partners:episode_detail", args=[episode.pk])).status_code == 200
    sign_in_partner(client, partners["head"])
    with django_assert_max_num_queries(14):
        assert client.get(reverse("partners:review_invitation_list")).status_code == 200


@pytest.mark.parametrize(
    "name, body",
    [
        ("partners:episode_visit_new", {"kind": "nonsense", "when_date_0": "99", "when_time": "x", "details": ""}),
        ("partners:episode_assessment", {"version": "abc", "need_health": "9", "complete": "on"}),
        ("partners:episode_plan", {"version": "-1", "if_not_working": "a" * 100_000}),
        ("partners:episode_outcome_new", {"by_when_0": "31", "by_when_1": "2", "by_when_2": "2026", "area": "moon"}),
        ("partners:episode_review_new", {"when_date_0": "1", "next_review_on_0": "x"}),
        ("partners:episode_review_invite", {"review_time": "99:99", "invitees": ["abc"]}),
        ("partners:episode_closure", {"proposed_reason": "<b>", "version": "x"}),
        ("partners:episode_planning_meeting", {"when_time": "noon"}),
    ],
)
def test_hostile_input_to_the_partner_lead_forms_gets_clear_messages(client, partners, led_episode, name, body):
    client.raise_request_exception = False
    sign_in_partner(client, partners["teacher"])
    response = client.post(reverse(name, args=[led_episode.pk]), body)
    assert response.status_code in (400, 409), response.status_code
    assert response.content.count(b'class="govuk-error-summary"') == 1


def test_hostile_values_are_text_on_the_partner_lead_and_invitation_pages(
    client, users, partners, agencies, led_episode
):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    family = led_episode.family
    family.name = hostile
    family.save()
    in_team(family, agencies["school"], partners["head"])
    now = timezone.now()
    review_invite(
        episode=led_episode,
        invitees=[partners["head"]],
        review_at=now + timedelta(days=2),
        place=hostile,
        by=partners["teacher"],
        now=now,
    )
    child = family.memberships.get(relationship="child").person
    ep.episode_record_visit(
        episode=led_episode, kind="phone_call", happened_at=now, details=hostile, by=partners["teacher"], now=now
    )
    child.first_name = hostile
    child.save()
    invitation = ReviewInvitation.objects.get()
    pages = {
        "teacher": [
            reverse("partners:episode_list"),
            reverse("partners:episode_detail", args=[led_episode.pk]),
            reverse("partners:episode_visit_new", args=[led_episode.pk]),
            reverse("partners:episode_assessment", args=[led_episode.pk]),
            reverse("partners:episode_review_invite", args=[led_episode.pk]),
        ],
        "head": [
            reverse("partners:review_invitation_list"),
            reverse("partners:review_invitation", args=[invitation.pk]),
        ],
    }
    for who, urls in pages.items():
        sign_in_partner(client, partners[who])
        for url in urls:
            html = client.get(url).content.decode()
            assert "<script>alert" not in html and "<img src=x" not in html, url


def test_the_team_leader_can_give_partner_led_support_to_a_coach(client, users, partners, led_episode):
    episode = ep.episode_allocate(
        episode=led_episode, practitioner=users["coach"], by=users["teamlead"], now=timezone.now()
    )
    assert episode.lead_professional == users["coach"] and episode.partner_organisation is None
    sign_in_partner(client, partners["teacher"])
    assert client.get(reverse("partners:episode_detail", args=[episode.pk])).status_code == 404


def test_the_administrator_marks_an_agency_as_no_longer_working_with_the_council(
    client, users, partners, agencies, led_episode
):
    school = agencies["school"]
    client.force_login(users["admin"])
    url = reverse("partners:organisation_active", args=[school.pk])
    assert client.post(url, {"active": "no"}).status_code == 302
    school.refresh_from_db()
    assert not school.active and school.history.first().active is False
    assert client.post(url, {"active": "no"}).status_code == 302  # said again: a message, no change
    sign_in_partner(client, partners["teacher"])
    assert client.get(reverse("partners:episode_detail", args=[led_episode.pk])).status_code == 404
    client.force_login(users["coach"])
    assert client.post(url, {"active": "yes"}).status_code == 403
