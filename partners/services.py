"""The partner portal's changes: agencies and their invitations, requests for support, updates.

Every function takes `now` and who acts (`by`) and checks they may: an administrator registers
agencies and invites their staff; a partner user drafts and sends their agency's requests and adds
updates to families whose team their agency is in (while the family's consent to share is in force);
the lead professional acknowledges updates and adds or removes agencies (workflows.partner_services).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import PartnerInvitation, PartnerOrganisation, User
from cases import services as case_services
from cases.models import Consent, Contact, Membership, PartnerUpdate, RiskIndicator
from kit.history import history_of_update, update_with_history
from kit.permissions import require_perm, require_role
from partners import selectors
from partners.forms import CARERS, CHILDREN
from partners.models import ReviewInvitation, SupportRequest
from workflows import correspondence_services
from workflows import services as workflow
from workflows.errors import WorkflowError

INVITATION_DAYS = 7


class PartnerRefused(WorkflowError):
    """A partner action refused, with the reason to show."""


# --- Agencies and their staff (administrators) ------------------------------------------------------


@transaction.atomic
def organisation_register(*, name: str, kind: str, contact_source: str, email: str, by, now: datetime):
    require_role(by, roles.ADMINISTRATOR, message="Only an administrator can register a partner agency.")
    return PartnerOrganisation.objects.create(
        name=name, kind=kind, contact_source=contact_source, email=email, registered_by=by, registered_at=now
    )


@transaction.atomic
def organisation_set_active(*, organisation: PartnerOrganisation, active: bool, by, now: datetime):
    """An agency the council stops working with keeps its records; its people lose every episode they lead
    at once (ADR 52). In history, like every change."""
    require_role(by, roles.ADMINISTRATOR, message="Only an administrator can change a partner agency.")
    locked = PartnerOrganisation.objects.select_for_update().get(pk=organisation.pk)
    if locked.active == active:
        raise PartnerRefused(f"{locked} is already {'active' if active else 'marked as no longer working with us'}.")
    locked.active = active
    locked.save(update_fields=["active"])
    return locked


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def invitation_link(token: str) -> str:
    return f"{settings.EARLYHELP_BASE_URL}{reverse('partners:invitation', kwargs={'token': token})}"


@transaction.atomic
def partner_invite(
    *, organisation: PartnerOrganisation, first_name: str, last_name: str, email: str, job_title: str, by, now
) -> tuple[User, str]:
    """A partner user for the agency, with no password yet, and a one-time link e-mailed to them (sent
    once the account is saved). Returns the account and the link."""
    require_role(by, roles.ADMINISTRATOR, message="Only an administrator can invite a partner agency's staff.")
    user = User(
        username=email,
        email=email,
        first_name=first_name,
        last_name=last_name,
        job_title=job_title,
        partner_organisation=organisation,
    )
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=roles.PARTNER)[0])
    token = secrets.token_urlsafe(32)
    PartnerInvitation.objects.create(
        user=user,
        token_hash=token_hash(token),
        invited_by=by,
        invited_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    link = invitation_link(token)
    body = (
        f"Dear {first_name},\n\n{by.get_full_name() or by.username} has invited you to the partner portal of "
        f"{settings.SERVICE_NAME} for {organisation.name}, where you can ask for support for a family and follow "
        f"the families you work with.\n\nOpen this link to choose your password and set up two-factor sign-in "
        f"(you will need an authenticator app on your phone):\n{link}\n\nThe link works once, until "
        f"{timezone.localtime(now + timedelta(days=INVITATION_DAYS)):%-d %B %Y, %H:%M}.\n"
    )
    transaction.on_commit(
        lambda: send_mail(f"{settings.SERVICE_NAME}: your partner portal invitation", body, None, [email])
    )
    return user, link


def invitation_open(token: str, *, now: datetime) -> PartnerInvitation | None:
    """The invitation this link is, if it is unused and has not expired."""
    return (
        PartnerInvitation.objects.select_related("user", "user__partner_organisation")
        .filter(token_hash=token_hash(token), used_at__isnull=True, expires_at__gt=now)
        .first()
    )


@transaction.atomic
def invitation_accept(*, invitation: PartnerInvitation, password: str, now: datetime) -> User:
    """Use the link up (once: a second use, even at the same moment, is refused) and set the password."""
    used = PartnerInvitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if not used:
        raise PartnerRefused("This invitation has been used or has expired: ask your administrator for a new one.")
    invitation.refresh_from_db()
    history_of_update([invitation], by=invitation.user, now=now, reason="Invitation used")
    user = invitation.user
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


# --- Requests for support (partner users) ---------------------------------------------------------


def require_partner(user) -> PartnerOrganisation:
    if not (user.is_authenticated and user.partner_organisation_id and user.has_role(roles.PARTNER)):
        raise PartnerRefused("Only a partner agency's staff can do this.")
    return user.partner_organisation


@transaction.atomic
def request_save(*, support_request: SupportRequest | None, answers: dict, by, now: datetime) -> SupportRequest:
    """Keep the answers as a draft (a new one, or the agency's draft being edited)."""
    organisation = require_partner(by)
    if support_request is None:
        return SupportRequest.objects.create(
            organisation=organisation, created_by=by, created_at=now, updated_at=now, answers=answers
        )
    locked = SupportRequest.objects.select_for_update().get(pk=support_request.pk)
    if locked.organisation_id != organisation.pk:
        raise PartnerRefused("This request belongs to another agency.")
    if locked.submitted_at is not None:
        raise PartnerRefused("This request has been sent: it cannot be changed.")
    locked.answers = answers
    locked.updated_at = now
    locked.save(update_fields=["answers", "updated_at"])
    return locked


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@transaction.atomic
def request_submit(*, support_request: SupportRequest, answers: dict, by, now: datetime) -> Contact:
    """Send the request: a new family record with its children and carers, and a contact in the triage
    queue with its clocks started (A1, B1, B2), the referrer and agency filled in, and the acknowledgement
    sent. The family record is always new: matching it to a family already known is the front door's
    job, and the partner is never told whether there was one."""
    saved = request_save(support_request=support_request, answers=answers, by=by, now=now)
    organisation = saved.organisation
    a = saved.answers
    family = case_services.family_create(
        by=None,
        name=a["family_name"],
        address_line_1=a.get("address_line_1", ""),
        town=a.get("town", ""),
        postcode=a.get("postcode", ""),
        language=a.get("language", "") or "English",
        duplicate_reason=f"Request for support {saved.reference} made online by {organisation}: not yet matched.",
    )
    children = [
        case_services.person_add_to_family(
            family=family,
            relationship=Membership.Relationship.CHILD,
            first_name=a[f"child{i}_first_name"],
            last_name=a[f"child{i}_last_name"],
            date_of_birth=_day(a.get(f"child{i}_date_of_birth")),
            nhs_number=a.get(f"child{i}_nhs_number", ""),
        )
        for i in range(1, CHILDREN + 1)
        if a.get(f"child{i}_first_name")
    ]
    for i in range(1, CARERS + 1):
        if a.get(f"carer{i}_first_name"):
            case_services.person_add_to_family(
                family=family,
                relationship=a.get(f"carer{i}_relationship") or Membership.Relationship.PARENT,
                first_name=a[f"carer{i}_first_name"],
                last_name=a[f"carer{i}_last_name"],
            )
    needs = a["concern"]
    if a.get("agency_actions"):
        needs += f"\n\nWhat {organisation} has already done: {a['agency_actions']}"
    status = a.get("consent_status") or Consent.Status.NOT_SOUGHT
    consent_to = a.get("consent_to") or []
    given_on = _day(a.get("consent_date")) or timezone.localdate(now)
    early_help_consent = None
    if status != Consent.Status.GIVEN or "early_help" in consent_to:
        early_help_consent = {
            "purpose": Consent.Purpose.EARLY_HELP,
            "status": status,
            "given_by_name": a.get("consent_given_by", ""),
            "recorded_on": given_on,
        }
    contact = workflow.contact_record_received(
        family=family,
        subjects=children,
        received_at=now,
        route=Contact.Route.PORTAL,
        source=organisation.contact_source,
        presenting_needs=needs,
        by=by,
        now=now,
        referrer={
            "referrer_agency": organisation.name,
            "referrer_name": by.get_full_name() or by.username,
            "referrer_role": by.job_title,
            "referrer_email": by.email,
        },
        risks={ind: (int(a.get(f"risk_{ind}") or 0), "") for ind, _ in RiskIndicator.Indicator.choices},
        consent=early_help_consent,
    )
    if status == Consent.Status.GIVEN and "share" in consent_to:
        workflow.consent_record(
            family=family,
            by=by,
            now=now,
            contact=contact,
            purpose=Consent.Purpose.SHARE,
            agency=organisation.name,
            status=Consent.Status.GIVEN,
            given_by_name=a.get("consent_given_by", ""),
            recorded_on=given_on,
        )
    saved.submitted_at = now
    saved.contact = contact
    update_with_history([saved], ["submitted_at", "contact"], by=by, now=now)
    correspondence_services.acknowledgement_send_automatically(contact=contact, now=now)
    return contact


@transaction.atomic
def request_discard(*, support_request: SupportRequest, by) -> None:
    organisation = require_partner(by)
    deleted, _ = SupportRequest.objects.filter(
        pk=support_request.pk, organisation=organisation, submitted_at__isnull=True
    ).delete()
    if not deleted:
        raise PartnerRefused("Only a draft can be deleted.")


# --- Team around the family (partner users) -------------------------------------------------------


@transaction.atomic
def update_add(*, family, kind: str, details: str, by, now: datetime) -> PartnerUpdate:
    """An update from the partner user's agency: on the chronology at once, for the lead professional to
    acknowledge. Refused (as not found) once the agency is out of the team or consent is withdrawn."""
    organisation = require_partner(by)
    if selectors.partner_family_or_none(by, family.pk, today=timezone.localdate(now)) is None:
        raise PartnerRefused("Your agency no longer works with this family.")
    return PartnerUpdate.objects.create(
        family=family, organisation=organisation, kind=kind, details=details, written_at=now, written_by=by
    )


# --- Review invitations (ADR 52) ------------------------------------------------------------------


@transaction.atomic
def review_invite(*, episode, invitees, review_at: datetime, place: str, by, now: datetime) -> list[ReviewInvitation]:
    """The lead professional (internal or a partner agency's) invites people named for partner agencies in
    the team around the family to a review: when and where. Each gets an e-mail naming only references,
    sent once the invitations are saved; the details are in the portal."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can invite partners to a review.",
        error=PartnerRefused,
        now=now,
    )
    if not episode.is_open:
        raise PartnerRefused(f"{episode.reference} is closed: there are no more reviews to invite anyone to.")
    if review_at <= now:
        raise PartnerRefused("The review's date and time must be in the future.")
    place = " ".join((place or "").split())
    if not place:
        raise PartnerRefused("Say where the review will be held.")
    chosen = list(invitees)
    if not chosen:
        raise PartnerRefused("Choose at least one person to invite.")
    allowed = {p.pk for p in selectors.invitable_people(episode, today=timezone.localdate(now))}
    if any(person.pk not in allowed for person in chosen):
        raise PartnerRefused(
            "Choose only people named for a partner agency in the team around the family, which the family "
            "agreed to share with."
        )
    taken = set(
        ReviewInvitation.objects.filter(episode=episode, review_at=review_at, invitee__in=chosen).values_list(
            "invitee_id", flat=True
        )
    )
    if taken:
        raise PartnerRefused("Someone chosen is already invited to this review.")
    invitations = [
        ReviewInvitation.objects.create(
            episode=episode,
            invitee=person,
            organisation=person.partner_organisation,
            review_at=review_at,
            place=place[:200],
            invited_at=now,
            invited_by=by,
        )
        for person in chosen
    ]
    for invitation in invitations:
        transaction.on_commit(lambda invitation=invitation: _send_invitation(invitation))
    return invitations


def _send_invitation(invitation: ReviewInvitation) -> None:
    """References only: no family or person is named in an e-mail (the place is in the portal, too)."""
    link = f"{settings.EARLYHELP_BASE_URL}{reverse('partners:review_invitation', kwargs={'pk': invitation.pk})}"
    at = timezone.localtime(invitation.review_at)
    body = (
        f"Dear {invitation.invitee.first_name},\n\nYou are invited to a review of Early Help plan "
        f"{invitation.episode.reference} on {at:%-d %B %Y} at {at:%H:%M} (invitation {invitation.reference}).\n\n"
        f"Sign in to the partner portal to see where it is held and to accept or decline:\n{link}\n"
    )
    send_mail(
        f"{settings.SERVICE_NAME}: invitation {invitation.reference} to a review",
        body,
        None,
        [invitation.invitee.email],
    )


@transaction.atomic
def review_invitation_answer(*, invitation: ReviewInvitation, answer: str, note: str, by, now: datetime):
    """The invitee accepts or declines, with a note; they may change their answer until the review."""
    require_partner(by)
    locked = ReviewInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.invitee_id != by.pk:
        raise PartnerRefused("This invitation is someone else's.")
    if selectors.invitation_of_or_none(by, locked.pk, today=timezone.localdate(now)) is None:
        raise PartnerRefused("Your agency no longer works with this family.")
    if answer not in (ReviewInvitation.Answer.ACCEPTED, ReviewInvitation.Answer.DECLINED):
        raise PartnerRefused("Choose whether you will come.")
    if locked.review_at <= now:
        raise PartnerRefused("This review has already taken place: it cannot be answered now.")
    locked.answer = answer
    locked.answer_note = (note or "").strip()
    locked.answered_at = now
    locked.save(update_fields=["answer", "answer_note", "answered_at"])
    return locked
