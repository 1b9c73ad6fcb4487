"""One of every kind of record, in the `team` of the standard users, for URL-by-role tests (contacts,
the episode and its clock from the factories of tests/factories.py)."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from cases.models import (
    CaseNote,
    ClosureRequest,
    Consent,
    Document,
    Escalation,
    Meeting,
    MeetingItem,
    Message,
    Plan,
    PlanAction,
    PlannedVisit,
    PlanOutcome,
    Screening,
    StepUp,
)
from kit.models import BackgroundJob
from tests.factories import ContactFactory, DeadlineFactory, EpisodeFactory, family_with_children


def make_world(users, team, other_team) -> dict:
    """The URL-by-role tests' world (the `world` fixture of tests/security): `build_world` with the oversight
    and partner records, and `othercoach` (a practitioner of `other_team`) added to `users`."""
    from django.contrib.auth.models import Group

    from accounts import roles
    from tests.conftest import make_user

    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    return add_partner_records(add_oversight_records(build_world(users, team), users), users)


def build_world(users, team, *, lead=None) -> dict:
    lead = lead or users["coach"]
    now = timezone.now()
    family, children = family_with_children(1, team=team)
    contact = ContactFactory(
        family=family, received_at=now - timedelta(hours=2), presenting_needs="Needs", subjects=children
    )
    waiting = ContactFactory(
        family=family,
        received_at=now - timedelta(hours=3),
        presenting_needs="Meeting",
        state="at_meeting",
        meeting_kind="MAAM",
    )
    meeting = Meeting.objects.create(kind="MAAM", scheduled_for=now, chair=users["mashlead"])
    meeting.invited_teams.set([team])
    item = MeetingItem.objects.create(meeting=meeting, contact=waiting)
    episode = EpisodeFactory(
        plan_active=True,
        family=family,
        team=team,
        lead_professional=lead,
        opened_at=now - timedelta(days=40),
        allocated_at=now - timedelta(days=39),
    )
    plan = Plan.objects.create(episode=episode, created_at=now, created_by=users["coach"])
    note = CaseNote.objects.create(  # written by the coach: for the amendment pages (ADR 37)
        episode=episode,
        family=family,
        kind="phone_call",
        happened_at=now,
        recorded_at=now,
        recorded_by=users["coach"],
        details="Rang mum.",
    )
    outcome = PlanOutcome.objects.create(
        plan=plan, number=1, area="education", description="Attendance above 95%", how_measured="School register"
    )
    action = PlanAction.objects.create(
        outcome=outcome, what="Walk to school together", who="Parent", by_when=now.date()
    )
    closure = ClosureRequest.objects.create(
        episode=episode,
        requested_at=now,
        requested_by=users["coach"],
        summary="Goals met",
        child_voice="Happier at school",
        proposed_reason="goals_met",
    )
    step_up = StepUp.objects.create(
        episode=episode,
        proposed_at=now,
        proposed_by=users["coach"],
        concern=StepUp.Concern.choices[0][0],
        reason="Risk up",
        multi_agency_views="School worried",
        family_views="Mum agrees",
    )
    escalation = Escalation.objects.create(
        episode=episode,
        about="step_up",
        disagreement="Threshold",
        escalated_to="Operational lead",
        raised_at=now,
        raised_by=users["teamlead"],
    )
    document = Document(
        episode=episode,
        family=family,
        kind=Document.Kind.choices[0][0],
        title="Consent form",
        original_name="consent.pdf",
        content_type="application/pdf",
        size=8,
        uploaded_at=now,
        uploaded_by=users["coach"],
    )
    document.file.save("consent.pdf", ContentFile(b"%PDF-1.4"), save=False)
    document.save()
    planned_visit = PlannedVisit.objects.create(
        episode=episode,
        family=family,
        planned_at=now + timedelta(days=1),
        visitor=lead,
        created_at=now,
        created_by=users["coach"],
    )
    message = Message.objects.create(
        family=family,
        episode=episode,
        kind="closure_letter",
        channel="post",
        recipient_name="The family",
        address="1 Lantern Row",
        subject="Early Help has ended",
        body="Thank you.",
        status="sent",
        created_at=now,
        sent_at=now,
        created_by=lead,
    )
    job = BackgroundJob.objects.create(
        kind="annex-a",
        title="Annex A workbook",
        owner=users["manager"],
        state="running",
        total=10,
        done=3,
        created_at=now,
    )
    consent = Consent.objects.create(  # in force: for the withdrawal page (ADR 0038)
        family=family, purpose="share", agency="Hillside School", status="given", recorded_on=now.date()
    )
    screening = Screening.objects.create(  # the day's screening, the world's contact waiting (ADR 0038)
        held_on=timezone.localdate(now),
        started_at=now - timedelta(minutes=30),
        attendees="Sam (MASH)",
        chair=users["mashlead"],
    )
    contact_escalation = Escalation.objects.create(  # a routing disagreement on the contact (ADR 0038)
        contact=contact, about="routing", disagreement="Diversion", raised_at=now, raised_by=users["mashlead"]
    )
    return {
        "job": job,
        "contact_escalation": contact_escalation,
        "screening": screening,
        "consent": consent,
        "family": family,
        "child": children[0],
        "contact": contact,
        "meeting": meeting,
        "item": item,
        "episode": episode,
        "plan": plan,
        "note": note,
        "outcome": outcome,
        "action": action,
        "closure": closure,
        "step_up": step_up,
        "escalation": escalation,
        "document": document,
        "planned_visit": planned_visit,
        "message": message,
    }


def add_oversight_records(world: dict, users) -> dict:
    """Records owned by the deadlines and oversight apps, for their URLs."""
    from datetime import date

    from deadlines.models import Alert, ClosureDay
    from oversight.models import Supervision, SupervisionAction

    now = timezone.now()
    deadline = DeadlineFactory(
        breached=True,
        at=now,
        rule_id="B12",
        title="Review meeting",
        episode=world["episode"],
        assignee=users["coach"],
        started_at=now - timedelta(days=60),
        expected_at=None,
        due_at=now - timedelta(days=18),
    )
    alert = Alert.objects.create(deadline=deadline, level="breached", recipient=users["coach"], created_at=now)
    supervision = Supervision.objects.create(
        practitioner=users["coach"],
        supervisor=users["teamlead"],
        held_on=timezone.localdate(),
        notes="Caseload",
        recorded_at=now,
    )
    task = SupervisionAction.objects.create(
        supervision=supervision,
        episode=world["episode"],
        text="Book review",
        assignee=users["coach"],
        due_on=timezone.localdate() + timedelta(days=7),
    )
    closure_day = ClosureDay.objects.create(date=date(2026, 12, 29), reason="Christmas closure")
    world.update(
        deadline=deadline,
        alert=alert,
        supervision=supervision,
        task=task,
        closure_day=closure_day,
        user=users["coach"],
        practitioner=users["coach"],
    )
    return world


def add_far_service(users) -> dict:
    """A second service with its own front door, team and staff, to prove scope stops at the service.

    Adds to `users`: farmash (its front door), farlead (team leader), farmanager, fardutymanager, and
    nomanager (a manager with no service and no team).
    """
    from accounts import roles
    from tests.conftest import make_user
    from tests.factories import ServiceFactory, TeamFactory

    service = ServiceFactory(name="Far Service")
    front_door = TeamFactory(name="Far Front Door", service=service, kind="front_door")
    team = TeamFactory(name="Far Hub", service=service)
    users["farmash"] = make_user("farmash", roles.MASH_OFFICER, front_door)
    users["farlead"] = make_user("farlead", roles.TEAM_LEADER, team)
    users["farmanager"] = make_user("farmanager", roles.MANAGER, None, service=service)
    users["fardutymanager"] = make_user("fardutymanager", roles.DUTY_MANAGER, None, service=service)
    users["nomanager"] = make_user("nomanager", roles.MANAGER, None)
    return {"service": service, "front_door": front_door, "team": team}


def add_partner_records(world: dict, users) -> dict:
    """The partner portal's records (ADR 0044): a school in the family's team with one named teacher and
    the family's consent to share with it, a request the school sent, and an update from it. Adds to
    `users`: teacher (the school) and visitor (a health visiting team with nothing shared)."""
    from django.contrib.auth.models import Group

    from accounts import roles
    from accounts.models import PartnerOrganisation
    from cases.models import AgencyInvolvement, Consent, PartnerUpdate
    from partners.models import SupportRequest
    from tests.conftest import make_user

    now = timezone.now()
    Group.objects.get_or_create(name=roles.PARTNER)
    school = PartnerOrganisation.objects.create(
        name="Northfield Primary", kind="school", contact_source="2A", registered_at=now
    )
    health = PartnerOrganisation.objects.create(
        name="Northfield Health Visiting", kind="health_visiting", contact_source="3B", registered_at=now
    )
    users["teacher"] = make_user("teacher", roles.PARTNER, None, partner_organisation=school)
    users["visitor"] = make_user("visitor", roles.PARTNER, None, partner_organisation=health)
    family = world["family"]
    involvement = AgencyInvolvement.objects.create(family=family, organisation=school, agency=school.name)
    involvement.named_users.set([users["teacher"]])
    Consent.objects.create(family=family, purpose="share", agency=school.name, status="given", given_by_name="Mum")
    update = PartnerUpdate.objects.create(
        family=family,
        organisation=school,
        kind="attendance",
        details="Late twice",
        written_at=now,
        written_by=users["teacher"],
    )
    support_request = SupportRequest.objects.create(
        organisation=school,
        created_by=users["teacher"],
        created_at=now,
        updated_at=now,
        submitted_at=now,
        contact=world["contact"],
        answers={"family_name": "Sent"},
    )
    # ADR 52: single-agency support the teacher leads for another family (consent to share with the school),
    # overseen by the world's team; and the teacher invited to a review of the world's episode.
    from cases.models import Episode
    from partners.models import ReviewInvitation
    from tests.factories import EpisodeFactory, family_with_children

    led_family, _children = family_with_children(1, team=world["episode"].team)
    Consent.objects.create(family=led_family, purpose="share", agency=school.name, status="given", given_by_name="Dad")
    partner_episode = EpisodeFactory(
        allocated=True,
        family=led_family,
        team=world["episode"].team,
        lead_professional=users["teacher"],
        opened_at=now - timedelta(days=3),
    )
    Episode.objects.filter(pk=partner_episode.pk).update(partner_organisation=school)
    partner_episode.refresh_from_db()
    review_invitation = ReviewInvitation.objects.create(
        episode=world["episode"],
        invitee=users["teacher"],
        organisation=school,
        review_at=now + timedelta(days=7),
        place="Family hub",
        invited_at=now,
        invited_by=users["coach"],
    )
    world.update(
        organisation=school,
        partner_agency=involvement,
        partner_update=update,
        support_request=support_request,
        partner_episode=partner_episode,
        review_invitation=review_invitation,
    )
    return world
