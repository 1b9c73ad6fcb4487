"""The only place where contacts and episodes change state.

One atomic service per action: it checks the user may act, locks the row, checks
nobody changed it meanwhile (a version number the form carried), performs the
django-fsm transition, records who and when (history), and tells the timescale
engine what happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from accounts.models import Team, User
from cases import board, reach
from cases import selectors as scope
from cases.models import (
    Communication,
    Consent,
    Contact,
    Episode,
    Escalation,
    Family,
    Meeting,
    MeetingItem,
    Person,
    RiskIndicator,
    Screening,
    ScreeningItem,
)
from cases.selectors import recent_step_up
from deadlines import events
from deadlines.alerts import alert_new_contact, overseers_of
from deadlines.services import deadline_record_event
from kit.dates import long_date, long_datetime
from kit.history import update_with_history
from kit.permissions import require_perm
from kit.time import LONDON
from workflows.errors import CaseChanged, WorkflowError

D = Contact.Decision


def _lock_contact(contact: Contact, expected_version: int | None) -> Contact:
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if expected_version is not None and locked.version != expected_version:
        raise CaseChanged(
            f"{locked.reference} was changed by someone else while you were working on it "
            f"(it is now: {locked.get_state_display()}). What you typed has been kept: check and submit again."
        )
    return locked


def emit_event(
    event: str, *, now: datetime, actor, contact: Contact | None = None, episode: Episode | None = None
) -> None:
    """Tell the timescale engine what happened to a contact or an episode (every action of this module and
    of workflows.episode_services goes through here)."""
    deadline_record_event(event=event, now=now, contact=contact, episode=episode, actor=actor)


def team_joined_record(sender, *, worker, actor, now: datetime, **kwargs) -> None:
    """A practitioner was given a team (accounts.signals.team_joined, sent by accounts.services.user_save):
    their supervision cycle (B20) starts. Connected in workflows/apps.py."""
    deadline_record_event(event=events.TEAM_JOINED, now=now, worker=worker, actor=actor)


# --- Contacts -----------------------------------------------------------------


@transaction.atomic
def contact_receive(
    *,
    family: Family,
    subjects: Iterable[Person],
    received_at: datetime,
    route: str,
    source: str,
    presenting_needs: str,
    by,
    now: datetime,
    referrer: dict | None = None,
    risks: dict[str, tuple[int, str]] | None = None,
    consent: dict | None = None,
) -> Contact:
    """Record a request for support; opens the front-door clocks from when it was received."""
    require_perm(by, "cases.record_contact", message="Only front door staff can record a contact.", error=WorkflowError)
    return contact_record_received(
        family=family,
        subjects=subjects,
        received_at=received_at,
        route=route,
        source=source,
        presenting_needs=presenting_needs,
        by=by,
        now=now,
        referrer=referrer,
        risks=risks,
        consent=consent,
    )


@transaction.atomic
def contact_record_received(
    *,
    family: Family,
    subjects: Iterable[Person],
    received_at: datetime,
    route: str,
    source: str,
    presenting_needs: str,
    by,
    now: datetime,
    referrer: dict | None = None,
    risks: dict[str, tuple[int, str]] | None = None,
    consent: dict | None = None,
) -> Contact:
    """The intake itself, for a caller that has checked who may send it: `contact_receive` (front door
    staff) and the partner portal's request for support (partners.services, a partner agency's user)."""
    if received_at > now:
        raise WorkflowError("The time the contact was received cannot be in the future.")
    # A contact at some risk about a family counts towards its episodes' risk (ADR 56): lock them now,
    # before saving the contact takes the family's reach lock, as every other writer of an episode
    # does (the episode first), so that the refresh below never waits for an episode in that order.
    at_risk = family is not None and any(level for level, _ in (risks or {}).values())
    if at_risk:
        list(Episode.objects.select_for_update().filter(family=family).order_by("pk").values_list("pk", flat=True))
    contact = Contact(
        family=family,
        received_at=received_at,
        route=route,
        source=source,
        presenting_needs=presenting_needs,
        created_by=by,
        recent_step_up_flag=recent_step_up(family, now=now),
        **(referrer or {}),
    )
    contact.save()
    contact.subjects.set(list(subjects))
    for indicator, (level, note) in (risks or {}).items():
        RiskIndicator.objects.create(contact=contact, indicator=indicator, level=level, note=note)
    if at_risk:
        board.refresh(family_ids=[contact.family_id])
    if consent:
        Consent.objects.create(family=family, contact=contact, recorded_by=by, **consent)
    emit_event(events.CONTACT_RECEIVED, now=received_at, actor=by, contact=contact)
    if contact.recent_step_up_flag:
        # Rulebook C: routed to the duty manager, with its clock (C5) from when it was received.
        emit_event(events.RE_REFERRAL_AFTER_STEP_UP, now=received_at, actor=by, contact=contact)
    _notify_lead_professional(contact=contact, by=by, now=now)
    return contact


def _notify_lead_professional(*, contact: Contact, by, now: datetime) -> None:
    """Rulebook D: a contact about a family with an open plan goes to its lead professional."""
    episode = (
        Episode.objects.filter(family=contact.family, lead_professional__isnull=False)
        .exclude(state=Episode.State.CLOSED)
        .select_related("lead_professional", "team", "partner_organisation")
        .first()
    )
    if episode is None:
        return
    lead = episode.lead_professional
    # A real alert (header count, My work, e-mail through the alert delivery job), not only a row:
    # the contact page says the lead professional "was told". A lead who has left is not told.
    if alert_new_contact(contact=contact, episode=episode, now=now) is None:
        return
    if episode.is_partner_led:
        # ADR 52: the overseeing team's leaders were alerted; the partner sees the family in the portal.
        Communication.objects.create(
            family=contact.family,
            contact=contact,
            episode=episode,
            kind=Communication.Kind.LEAD_PROFESSIONAL_NOTICE,
            recipient=f"Team leaders of {episode.team} (oversight of support led by {episode.partner_organisation})",
            method=Communication.Method.PORTAL,
            sent_at=now,
            summary=f"New contact {contact.reference} about a family whose single-agency support a partner leads.",
            recorded_by=by,
        )
        return
    contact.lead_professional_notified = lead
    update_with_history([contact], ["lead_professional_notified"], by=by, now=now)
    Communication.objects.create(
        family=contact.family,
        contact=contact,
        episode=episode,
        kind=Communication.Kind.LEAD_PROFESSIONAL_NOTICE,
        recipient=str(lead),
        method=Communication.Method.PORTAL,
        sent_at=now,
        summary=f"New contact {contact.reference} about a family with an open Early Help episode.",
        recorded_by=by,
    )


@transaction.atomic
def contact_start_screening(*, contact: Contact, by, now: datetime, expected_version: int | None = None) -> Contact:
    require_perm(by, "cases.decide_contact", message="Only front door staff can screen a contact.", error=WorkflowError)
    contact = _lock_contact(contact, expected_version)
    try:
        contact.start_screening()
    except TransitionNotAllowed:
        raise WorkflowError(
            f"{contact.reference} cannot start screening: it is already {contact.get_state_display().lower()}."
        ) from None
    contact.version += 1
    contact.save()
    emit_event(events.SCREENING_HELD, now=now, actor=by, contact=contact)
    return contact


DECISION_TRANSITIONS = {
    D.STEP_UP: "step_up",
    D.MEETING: "take_to_meeting",
    D.ALLOCATE: "allocate_to_team",
    D.SINGLE_AGENCY: "single_agency",
    D.SIGNPOST: "signpost",
    D.NO_FURTHER_ACTION: "no_further_action",
    D.AWAIT_CONSENT: "await_consent",
}

NEEDS_CONSENT = frozenset({D.ALLOCATE, D.SINGLE_AGENCY})

# Each council's procedure has its own meeting: rules say which one they count (A2: NAM; B1, B5,
# B6: MAAM), so the kind-specific event is fired with the generic one.
MEETING_HELD_EVENTS = {
    Meeting.Kind.NAM: events.NAM_HELD,
    Meeting.Kind.MAAM: events.MAAM_HELD,
    Meeting.Kind.ICDM: events.ICDM_HELD,
}

# Contacts that social care sent: the episode they open keeps where they came from (B15, B16).
ROUTE_ORIGINS = {
    Contact.Route.STEP_DOWN: Episode.Origin.STEP_DOWN,
    Contact.Route.WRAPAROUND: Episode.Origin.WRAPAROUND,
}


def episode_origin_for(contact: Contact, default: str = Episode.Origin.FRONT_DOOR) -> str:
    """A step-down or wraparound request is one however it reaches the team (triage, MAAM, page)."""
    return ROUTE_ORIGINS.get(contact.route, default)


def early_help_consent_in_force(contact: Contact) -> bool:
    return any(c.is_in_force for c in Consent.objects.filter(family=contact.family, purpose=Consent.Purpose.EARLY_HELP))


@transaction.atomic
def contact_decide(
    *,
    contact: Contact,
    decision: str,
    rationale: str,
    by,
    now: datetime,
    expected_version: int | None = None,
    team: Team | None = None,
    meeting_kind: str = "",
    agency: str = "",
    episode_origin: str | None = None,
    social_care_assessment_date: date | None = None,
    lead_partner=None,
) -> Contact:
    """The MASH decision on a contact, with a required rationale and the deciding user.

    Single-agency support may name `lead_partner`, a partner user of a registered agency, as lead
    professional (ADR 52): an episode is opened held by them, with `team` keeping oversight.

    A contact awaiting the family's consent can still be decided: a family that refuses is
    signposted or closed, which ends its front-door clocks (B1) instead of leaving it open.
    A step-down or wraparound contact opens an episode of that origin (B15, B16).
    """
    require_perm(
        by,
        "cases.decide_contact",
        message="Only front door staff (MASH officer or EH MASH lead) can decide a contact.",
        error=WorkflowError,
    )
    if decision not in DECISION_TRANSITIONS:
        raise WorkflowError("Choose a decision.")
    if not (rationale or "").strip():
        raise WorkflowError("Give the reason for the decision.")
    contact = _lock_contact(contact, expected_version)
    if contact.state == Contact.State.RECEIVED:
        # Deciding straight from the queue is screening and deciding in one go.
        contact.start_screening()
        emit_event(events.SCREENING_HELD, now=now, actor=by, contact=contact)
    if contact.state == Contact.State.AWAITING_CONSENT:
        if decision == D.AWAIT_CONSENT:
            raise WorkflowError(f"{contact.reference} is already awaiting the family's consent.")
        # Back to screening for the decision (the consent question is answered, either way).
        contact.consent_resolved()
    if contact.state == Contact.State.AT_MEETING:
        raise WorkflowError(
            f"{contact.reference} is waiting for its multi-agency meeting: record the meeting's outcome."
        )
    if decision in NEEDS_CONSENT and not early_help_consent_in_force(contact):
        raise WorkflowError(
            "Early Help can only be offered with the family's consent (rulebook D). "
            "Record their consent, or decide 'awaiting consent' to send the outcome letter and a consent request."
        )
    if decision == D.ALLOCATE and team is None:
        raise WorkflowError("Choose the Early Help team to allocate to.")
    if social_care_assessment_date is not None and social_care_assessment_date > timezone.localdate(now):
        raise WorkflowError("The social care assessment's date cannot be in the future.")
    if decision == D.MEETING and meeting_kind not in Meeting.Kind.values:
        raise WorkflowError("Choose the meeting: NAM, MAAM or ICDM.")
    if decision == D.SINGLE_AGENCY and lead_partner is not None:
        check_partner_lead(lead_partner, team=team, family=contact.family, now=now)
        agency = lead_partner.partner_organisation.name
    if decision == D.SINGLE_AGENCY and not agency.strip():
        raise WorkflowError("Name the agency that agreed to support the family.")
    try:
        getattr(contact, DECISION_TRANSITIONS[decision])()
    except TransitionNotAllowed:
        raise WorkflowError(
            f"{contact.reference} has already been decided ({contact.get_state_display().lower()}); "
            "it cannot be decided again."
        ) from None
    contact.decision = decision
    contact.decision_rationale = rationale.strip()
    contact.decided_by = by
    contact.decided_at = now
    contact.meeting_kind = meeting_kind if decision == D.MEETING else ""
    contact.single_agency_name = agency.strip() if decision == D.SINGLE_AGENCY else ""
    partner_led = decision == D.SINGLE_AGENCY and lead_partner is not None
    contact.single_agency_organisation = lead_partner.partner_organisation if partner_led else None
    contact.allocated_team = team if decision == D.ALLOCATE else None
    contact.version += 1
    contact.save()
    # The same events as every other path to this outcome (deadlines.events.decision_events).
    for event in events.decision_events(decision, meeting_kind=meeting_kind):
        emit_event(event, now=now, actor=by, contact=contact)
    if decision == D.ALLOCATE:
        origin = episode_origin or episode_origin_for(contact)
        episode_open(
            contact=contact,
            team=team,
            now=now,
            by=by,
            origin=origin,
            social_care_assessment_date=social_care_assessment_date if origin == Episode.Origin.STEP_DOWN else None,
        )
    if partner_led:
        episode_open_partner_led(contact=contact, lead=lead_partner, team=team, now=now, by=by)
    return contact


def check_partner_lead(lead, *, team: Team | None, family: Family, now: datetime) -> None:
    """Refuse a partner lead professional who cannot hold the episode: an active partner user of an active
    registered agency the family agreed to share with, with an Early Help team chosen to keep oversight."""
    organisation = getattr(lead, "partner_organisation", None)
    if organisation is None or not lead.is_active:
        raise WorkflowError("Choose a lead professional from a registered partner agency's active staff.")
    if not organisation.active:
        raise WorkflowError(f"{organisation} is no longer an active partner agency: choose someone else.")
    if team is None:
        raise WorkflowError("Choose the Early Help team that keeps oversight of the single-agency support.")
    if not scope.sharing_consented(family, organisation.name, timezone.localdate(now)):
        raise WorkflowError(
            f"The family has not agreed to share information with {organisation}: record their consent to share "
            "with the agency before naming its lead professional, or name the agency only."
        )


def episode_open_partner_led(*, contact: Contact, lead, team: Team, now: datetime, by) -> Episode:
    """Single-agency support held by a partner agency's lead professional: an episode opened and allocated
    to them at once (the same clocks start as for an internal episode: the ones allocation starts, and
    the team's monthly oversight), marked as led by the agency, with `team` keeping oversight."""
    episode = episode_open(
        contact=contact, team=team, now=now, by=by, origin=episode_origin_for(contact), family=contact.family
    )
    episode.allocate()
    episode.lead_professional = lead
    episode.partner_organisation = lead.partner_organisation
    episode.allocated_at = now
    episode.allocated_by = by
    episode.version += 1
    episode.save()
    reach.refresh([contact.family_id])
    # No worker: the agency's own supervision is not the council's clock (B20 runs for council staff).
    emit_event(events.ALLOCATED, now=now, actor=by, episode=episode)
    return episode


@transaction.atomic
def contact_referral_sent(*, contact: Contact, sent_at: datetime, by, now: datetime) -> Communication:
    """The referral was passed to the (neighbourhood) team the contact was allocated to (A3).

    A step of its own after the decision: deciding to assign and actually sending are two
    moments, and A3 measures the time between them.
    """
    require_perm(
        by, "cases.decide_contact", message="Only front door staff can send a referral to a team.", error=WorkflowError
    )
    if sent_at > now:
        raise WorkflowError("The time the referral was sent cannot be in the future.")
    contact = _lock_contact(contact, None)
    if contact.state != Contact.State.ALLOCATED_TO_TEAM or contact.allocated_team_id is None:
        raise WorkflowError(f"{contact.reference} has not been allocated to an Early Help team.")
    if contact.decided_at and sent_at < contact.decided_at.replace(second=0, microsecond=0):
        raise WorkflowError("The referral cannot have been sent before the decision to allocate.")
    if Communication.objects.filter(contact=contact, kind=Communication.Kind.REFERRAL_TO_TEAM).exists():
        raise WorkflowError(f"The referral for {contact.reference} has already been recorded as sent.")
    communication = Communication.objects.create(
        family=contact.family,
        contact=contact,
        kind=Communication.Kind.REFERRAL_TO_TEAM,
        recipient=str(contact.allocated_team),
        method=Communication.Method.PORTAL,
        sent_at=sent_at,
        summary=f"Referral {contact.reference} sent to {contact.allocated_team}.",
        recorded_by=by,
    )
    emit_event(events.REFERRAL_SENT_TO_TEAM, now=sent_at, actor=by, contact=contact)
    return communication


@transaction.atomic
def episode_open(
    *,
    contact: Contact | None,
    team: Team,
    now: datetime,
    by,
    origin: str,
    family: Family | None = None,
    social_care_assessment_date: date | None = None,
) -> Episode:
    """Route the family to a team's pre-allocation list: an episode awaiting allocation."""
    family = family or contact.family
    existing = Episode.objects.filter(family=family).exclude(state=Episode.State.CLOSED).first()
    if existing is not None:
        raise WorkflowError(
            f"{family} already has an open Early Help episode ({existing.reference}, {existing.team}). "
            "Tell its lead professional instead of opening another."
        )
    episode = Episode.objects.create(
        family=family,
        contact=contact,
        team=team,
        origin=origin,
        opened_at=now,
        social_care_assessment_date=social_care_assessment_date,
    )
    family.team = team
    update_with_history([family], ["team"], by=by, now=now, reason=f"Opened {episode.reference} with {team}")
    reach.refresh([family.pk])  # no save() signal: the family's former team no longer reaches it
    board.refresh(episode_ids=[episode.pk])  # its opening contact's and later contacts' risk (ADR 56)
    emit_event(events.EPISODE_OPENED, now=now, actor=by, episode=episode)
    # B15 and B16 run from when social care's request was received: the contact's receipt when
    # it came through the front door, the episode's opening when it was keyed in directly.
    received_at = min(contact.received_at, now) if contact is not None else now
    if origin == Episode.Origin.STEP_DOWN:
        emit_event(events.STEP_DOWN_RECEIVED, now=received_at, actor=by, episode=episode)
    elif origin == Episode.Origin.WRAPAROUND:
        emit_event(events.WRAPAROUND_REQUESTED, now=received_at, actor=by, episode=episode)
    return episode


# --- Consent and communications -------------------------------------------------

COMMUNICATION_EVENTS = {
    Communication.Kind.ACKNOWLEDGEMENT: events.ACKNOWLEDGEMENT_SENT,
    Communication.Kind.SCREENING_OUTCOME: events.SCREENING_OUTCOME_SENT,
    Communication.Kind.MEETING_OUTCOME: events.MEETING_OUTCOME_SENT,
    Communication.Kind.CONSENT_REQUEST: events.SCREENING_OUTCOME_SENT,
    Communication.Kind.PLAN_COPY: events.PLAN_COPY_SENT,
}
# The referral to the team is its own step (contact_referral_sent), checked there, so the
# general communication form does not offer it.


@transaction.atomic
def communication_record(
    *,
    family: Family,
    kind: str,
    recipient: str,
    method: str,
    sent_at: datetime,
    by,
    now: datetime,
    summary: str = "",
    contact: Contact | None = None,
    episode: Episode | None = None,
) -> Communication:
    """Record something sent to a referrer, the family or a partner; some clocks stop on it."""
    if sent_at > now:
        raise WorkflowError("The time it was sent cannot be in the future.")
    communication = Communication.objects.create(
        family=family,
        contact=contact,
        episode=episode,
        kind=kind,
        recipient=recipient,
        method=method,
        sent_at=sent_at,
        summary=summary,
        recorded_by=by,
    )
    event = COMMUNICATION_EVENTS.get(kind)
    if event:
        emit_event(event, now=sent_at, actor=by, contact=contact, episode=episode)
    return communication


@transaction.atomic
def consent_record(*, family: Family, by, now: datetime, contact: Contact | None = None, **fields) -> Consent:
    consent = Consent.objects.create(family=family, contact=contact, recorded_by=by, **fields)
    if (
        contact is not None
        and consent.is_in_force
        and consent.purpose == Consent.Purpose.EARLY_HELP
        and contact.state == Contact.State.AWAITING_CONSENT
    ):
        locked = _lock_contact(contact, None)
        locked.consent_resolved()
        locked.version += 1
        locked.save()
    return consent


@transaction.atomic
def consent_withdraw(
    *,
    consent: Consent,
    by,
    on: date | None = None,
    told_at: datetime | None = None,
    told_by: Person | None = None,
    told_by_name: str = "",
    how: str = "",
    now: datetime,
) -> Consent:
    """The family withdrew a consent: from the moment they told us it is no longer in force, so every
    gate that asks (`cases.selectors.sharing_consented`) says no at once. Who told us (a person in the
    family or a name), when and how are kept with the consent (its history keeps the rest); the lead
    professional of each open episode of the family is told (a notice on the episode and an email).

    `on` alone (a date) is the older call: the withdrawal is recorded without the telling."""
    if told_at is None and on is None:
        raise WorkflowError("Say when the family told us they withdrew their consent.")
    if told_at is not None and told_at > now:
        raise WorkflowError("The time the family told us cannot be in the future.")
    if told_by is not None and not consent.family.people.filter(pk=told_by.pk).exists():
        raise WorkflowError("The person who told us must be someone in this family.")
    locked = Consent.objects.select_for_update().get(pk=consent.pk)
    if locked.withdrawn_on:
        raise WorkflowError("This consent has already been withdrawn.")
    if locked.status != Consent.Status.GIVEN:
        raise WorkflowError("Only a consent that was given can be withdrawn.")
    locked.withdrawn_on = timezone.localtime(told_at, LONDON).date() if told_at is not None else on
    locked.withdrawn_at = told_at
    locked.withdrawn_told_by = told_by
    locked.withdrawn_told_by_name = "" if told_by is not None else (told_by_name or "").strip()
    locked.withdrawn_how = how
    locked.withdrawn_recorded_by = by
    locked.save()
    _notify_withdrawal(consent=locked, by=by, now=now)
    return locked


def consent_label(consent: Consent) -> str:
    if consent.purpose == Consent.Purpose.SHARE:
        return f"Consent to share with {consent.agency}"
    return "Consent to Early Help"


def _notify_withdrawal(*, consent: Consent, by, now: datetime) -> list[Episode]:
    """Tell the lead professional of each open episode of the family: a notice on the episode (its
    history and correspondence list) and an email that names the references, never the family."""
    episodes = list(
        Episode.objects.filter(family=consent.family, lead_professional__isnull=False)
        .exclude(state=Episode.State.CLOSED)
        .select_related("lead_professional", "team", "partner_organisation")
    )
    told_by = consent.withdrawn_told_by_label or "the family"
    when = consent.withdrawn_at or now
    for episode in episodes:
        lead = episode.lead_professional
        Communication.objects.create(
            family=consent.family,
            episode=episode,
            kind=Communication.Kind.LEAD_PROFESSIONAL_NOTICE,
            recipient=str(lead),
            method=Communication.Method.PORTAL,
            sent_at=now,
            summary=f"{consent_label(consent)} withdrawn on {long_datetime(when)}, told by {told_by}. "
            "Stop sharing what it covered.",
            recorded_by=by,
        )
        if lead.is_partner:
            # ADR 52: the partner loses the episode in the portal if the consent was to share with
            # their agency; no e-mail to them pointing at internal pages. The overseeing team is told.
            _notify_overseers_of_withdrawal(episode=episode, consent=consent, when=when)
        elif lead.is_active and lead.email:
            subject = f"Consent withdrawn on your case {episode.reference}"
            body = (
                f"A consent on {episode.family.reference} ({episode.reference}), whose Early Help episode you lead, "
                f"was withdrawn on {long_date(when)}.\nStop sharing what it covered. The family page says which.\n"
            )
            transaction.on_commit(
                lambda s=subject, b=body, to=lead.email: send_mail(s, b, None, [to], fail_silently=True)
            )
    return episodes


def _notify_overseers_of_withdrawal(*, episode: Episode, consent: Consent, when: datetime) -> None:
    """A consent withdrawn on a partner-led episode: its overseeing team leaders get the e-mail instead."""
    addresses = list(
        User.objects.filter(pk__in=overseers_of(episode)).exclude(email="").values_list("email", flat=True)
    )
    if not addresses:
        return
    subject = f"Consent withdrawn on support your team oversees ({episode.reference})"
    body = (
        f"A consent on {episode.family.reference} ({episode.reference}), whose single-agency support "
        f"{episode.partner_organisation} leads with your team's oversight, was withdrawn on {long_date(when)}.\n"
        "Stop sharing what it covered. The family page says which; the partner's access ends if it was "
        "their agency's consent to share.\n"
    )
    transaction.on_commit(lambda: send_mail(subject, body, None, addresses, fail_silently=True))


# --- Escalations on a contact (seed 004; ADR 0038) -----------------------------------------------


@transaction.atomic
def contact_escalation_raise(*, contact: Contact, disagreement: str, by, now: datetime, escalated_to_user=None):
    """A disagreement over a contact's routing (a diversion) escalated to the operational leads: the service's
    EH managers, or the one named. Its clock (C4) starts now."""
    require_perm(by, "cases.escalate_contact", message="You cannot escalate on this contact.", error=WorkflowError)
    if not (disagreement or "").strip():
        raise WorkflowError("Say what the disagreement is.")
    escalation = Escalation.objects.create(
        contact=contact,
        about=Escalation.About.ROUTING,
        disagreement=disagreement.strip(),
        escalated_to=str(escalated_to_user) if escalated_to_user else "Operational leads",
        escalated_to_user=escalated_to_user,
        raised_at=now,
        raised_by=by,
    )
    deadline_record_event(
        event=events.CONTACT_ESCALATION_RAISED, now=now, contact=contact, actor=by, key=f"escalation:{escalation.pk}"
    )
    return escalation


@transaction.atomic
def contact_escalation_resolve(*, escalation, outcome: str, by, now: datetime):
    """The operational leads' outcome on a contact's escalation; its clock (C4) stops."""
    require_perm(
        by,
        "cases.resolve_escalation",
        escalation,
        message="Only an operational lead can record this escalation's outcome.",
        error=WorkflowError,
    )
    if not (outcome or "").strip():
        raise WorkflowError("Record the outcome the operational leads agreed.")
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.resolved_at:
        raise WorkflowError("This escalation's outcome has already been recorded.")
    escalation.outcome = outcome.strip()
    escalation.resolved_at = now
    escalation.resolved_by = by
    escalation.save()
    deadline_record_event(
        event=events.CONTACT_ESCALATION_RESOLVED,
        now=now,
        contact=escalation.contact,
        actor=by,
        key=f"escalation:{escalation.pk}",
    )
    return escalation


# --- Re-referral within 3 months of a step-up (rulebook C as a routing rule; ADR 0038) -------------


@transaction.atomic
def re_referral_review(*, contact: Contact, outcome: str, by, now: datetime) -> Contact:
    """The duty manager's decision on a contact routed to them (a re-referral within 3 months of a step-up):
    whether a Child and Family Assessment is triggered. The contact's C5 clock stops."""
    require_perm(
        by,
        "cases.review_re_referral",
        message="Only a duty manager can review a re-referral after a step-up.",
        error=WorkflowError,
    )
    if not (outcome or "").strip():
        raise WorkflowError("Record the duty manager's decision.")
    contact = _lock_contact(contact, None)
    if not contact.recent_step_up_flag:
        raise WorkflowError(f"{contact.reference} is not a re-referral within 3 months of a step-up.")
    if contact.duty_manager_reviewed_at:
        raise WorkflowError(f"{contact.reference} has already been reviewed by a duty manager.")
    contact.duty_manager_reviewed_at = now
    contact.duty_manager_reviewed_by = by
    contact.duty_manager_outcome = outcome.strip()
    contact.version += 1
    contact.save()
    emit_event(events.RE_REFERRAL_REVIEWED, now=now, actor=by, contact=contact)
    return contact


# --- Daily screening (seed 003, 2.1; ADR 0038) ------------------------------------------------------


@transaction.atomic
def screening_start(*, held_on: date, started_at: datetime, attendees: str, by, now: datetime) -> Screening:
    """Open the day's screening: when it started and who attended (one line each); the chair is `by`."""
    require_perm(by, "cases.decide_contact", message="Only front door staff can hold screening.", error=WorkflowError)
    if started_at > now:
        raise WorkflowError("The screening cannot have started in the future.")
    if timezone.localtime(started_at, LONDON).date() != held_on:
        raise WorkflowError("The start time must be on the day of the screening.")
    lines = [line.strip() for line in (attendees or "").splitlines() if line.strip()]
    if not lines:
        raise WorkflowError("Say who attended the screening, one per line.")
    return Screening.objects.create(
        held_on=held_on, started_at=started_at, attendees="\n".join(lines), chair=by, created_by=by
    )


SCREENING_DECISIONS = {
    ScreeningItem.Outcome.STEP_UP: D.STEP_UP,
    ScreeningItem.Outcome.MEETING: D.MEETING,
    ScreeningItem.Outcome.ALLOCATE: D.ALLOCATE,
    ScreeningItem.Outcome.SINGLE_AGENCY: D.SINGLE_AGENCY,
    ScreeningItem.Outcome.SIGNPOST: D.SIGNPOST,
    ScreeningItem.Outcome.NO_FURTHER_ACTION: D.NO_FURTHER_ACTION,
    ScreeningItem.Outcome.AWAIT_CONSENT: D.AWAIT_CONSENT,
}


@transaction.atomic
def screening_record_outcome(
    *,
    screening: Screening,
    contact: Contact,
    outcome: str,
    reason: str,
    screened_at: datetime,
    by,
    now: datetime,
    team: Team | None = None,
    meeting_kind: str = "",
    agency: str = "",
    lead_partner=None,
) -> ScreeningItem:
    """One contact screened: the screening clocks (B3) start at `screened_at`, the time it was screened,
    whenever this is typed in. The outcome is the contact's decision, timed at the screening as a
    meeting's outcome is timed when it was held; "carried over" leaves it in screening for another day."""
    require_perm(by, "cases.decide_contact", message="Only front door staff can screen a contact.", error=WorkflowError)
    if outcome not in ScreeningItem.Outcome.values:
        raise WorkflowError("Choose the outcome of screening.")
    if not (reason or "").strip():
        raise WorkflowError("Give the reason for the outcome.")
    if screened_at > now:
        raise WorkflowError("The time the contact was screened cannot be in the future.")
    if timezone.localtime(screened_at, LONDON).date() != screening.held_on:
        raise WorkflowError("The time screened must be on the day of the screening.")
    if screened_at < screening.started_at:
        raise WorkflowError("The contact cannot have been screened before the screening started.")
    contact = _lock_contact(contact, None)
    if screened_at < contact.received_at.replace(second=0, microsecond=0):
        raise WorkflowError(f"{contact.reference} cannot have been screened before it was received.")
    if ScreeningItem.objects.filter(screening=screening, contact=contact).exists():
        raise WorkflowError(f"{contact.reference} has already been screened at this screening.")
    if contact.state not in (Contact.State.RECEIVED, Contact.State.SCREENING):
        raise WorkflowError(
            f"{contact.reference} is not awaiting screening: it is {contact.get_state_display().lower()}."
        )
    if contact.state == Contact.State.RECEIVED:
        contact_start_screening(contact=contact, by=by, now=screened_at)
    item = ScreeningItem.objects.create(
        screening=screening,
        contact=contact,
        screened_at=screened_at,
        outcome=outcome,
        reason=reason.strip(),
        recorded_by=by,
        recorded_at=now,
    )
    if outcome in SCREENING_DECISIONS:
        contact_decide(
            contact=contact,
            decision=SCREENING_DECISIONS[outcome],
            rationale=reason,
            by=by,
            now=screened_at,
            team=team,
            meeting_kind=meeting_kind,
            agency=agency,
            lead_partner=lead_partner,
        )
    return item


# --- Multi-agency meetings --------------------------------------------------------


@transaction.atomic
def meeting_schedule(
    *,
    kind: str,
    scheduled_for: datetime,
    location: str,
    attendees: str,
    by,
    invited_teams: Iterable[Team] = (),
) -> Meeting:
    require_perm(
        by,
        "cases.run_meeting",
        message="Only an EH MASH lead, team leader or manager can schedule a meeting.",
        error=WorkflowError,
    )
    meeting = Meeting.objects.create(
        kind=kind, scheduled_for=scheduled_for, location=location, attendees=attendees, chair=by, created_by=by
    )
    meeting.invited_teams.set(list(invited_teams))
    return meeting


def _require_meeting_scope(*, meeting: Meeting, contact: Contact, by) -> None:
    """The meeting and the contact must both be in the user's scope (the views 404 before this)."""
    if not scope.meetings_visible_to(by).filter(pk=meeting.pk).exists():
        raise WorkflowError("You are not invited to this meeting.")
    if not scope.contacts_visible_to(by).filter(pk=contact.pk).exists():
        raise WorkflowError(f"{contact.reference} is not in your work.")


@transaction.atomic
def meeting_add_contact(*, meeting: Meeting, contact: Contact, by) -> MeetingItem:
    require_perm(
        by,
        "cases.run_meeting",
        message="Only an EH MASH lead, team leader or manager can set a meeting's agenda.",
        error=WorkflowError,
    )
    _require_meeting_scope(meeting=meeting, contact=contact, by=by)
    if contact.state != Contact.State.AT_MEETING:
        raise WorkflowError(
            f"{contact.reference} is not waiting for a multi-agency meeting "
            f"(it is {contact.get_state_display().lower()})."
        )
    item, created = MeetingItem.objects.get_or_create(meeting=meeting, contact=contact)
    if not created:
        raise WorkflowError(f"{contact.reference} is already on this meeting's agenda.")
    return item


OUTCOME_TO_DECISION = {
    MeetingItem.Outcome.ALLOCATE: D.ALLOCATE,
    MeetingItem.Outcome.SINGLE_AGENCY: D.SINGLE_AGENCY,
    MeetingItem.Outcome.SIGNPOST: D.SIGNPOST,
    MeetingItem.Outcome.STEP_UP: D.STEP_UP,
    MeetingItem.Outcome.NO_FURTHER_ACTION: D.NO_FURTHER_ACTION,
}


@transaction.atomic
def meeting_record_outcome(
    *,
    item: MeetingItem,
    outcome: str,
    reason: str,
    by,
    now: datetime,
    team: Team | None = None,
    agency: str = "",
    held_at: datetime | None = None,
) -> MeetingItem:
    """The meeting's outcome for one contact: moves the contact on and stops its meeting clocks.

    Everything the meeting did happened when it was held, not when its outcome is typed in: the
    clocks it stops and starts (B1, B5, B6, A2) use the held time. That is the time recorded
    for the meeting (`held_at` the first time, then the meeting's own), or its scheduled time,
    and never later than now.
    """
    require_perm(
        by,
        "cases.run_meeting",
        message="Only an EH MASH lead, team leader or manager can record a meeting's outcome.",
        error=WorkflowError,
    )
    item = MeetingItem.objects.select_for_update().select_related("meeting").get(pk=item.pk)
    if item.decided_at:
        raise WorkflowError("The outcome for this contact has already been recorded.")
    if outcome not in OUTCOME_TO_DECISION:
        raise WorkflowError("Choose an outcome.")
    if not (reason or "").strip():
        raise WorkflowError("Give the reason for the outcome.")
    if outcome == MeetingItem.Outcome.ALLOCATE and team is None:
        raise WorkflowError("Choose the Early Help team to allocate to.")
    if outcome == MeetingItem.Outcome.SINGLE_AGENCY and not agency.strip():
        raise WorkflowError("Name the agency that agreed to support the family.")
    _require_meeting_scope(meeting=item.meeting, contact=item.contact, by=by)
    if outcome == MeetingItem.Outcome.ALLOCATE and not scope.teams_allocatable_by(by).filter(pk=team.pk).exists():
        # Allocating opens the family to the team: nobody may open it to a team of their choosing.
        raise WorkflowError(f"You cannot allocate to {team}: choose one of the teams you may allocate to.")
    contact = _lock_contact(item.contact, None)
    if contact.state != Contact.State.AT_MEETING:
        raise WorkflowError(f"{contact.reference} is no longer waiting for this meeting.")
    decision = OUTCOME_TO_DECISION[outcome]
    if decision in NEEDS_CONSENT and not early_help_consent_in_force(contact):
        raise WorkflowError("Early Help can only be offered with the family's consent: record it first (rulebook D).")
    meeting = item.meeting
    if meeting.held_at is None:
        held_at = held_at or meeting.scheduled_for
        if held_at > now:
            held_at = now
        meeting.held_at = held_at
        update_with_history([meeting], ["held_at"], by=by, now=now)
    held_at = min(meeting.held_at, now)
    emit_event(events.MEETING_HELD, now=held_at, actor=by, contact=contact)
    if meeting.kind in MEETING_HELD_EVENTS:
        emit_event(MEETING_HELD_EVENTS[meeting.kind], now=held_at, actor=by, contact=contact)
    getattr(contact, DECISION_TRANSITIONS[decision])()
    contact.decision = decision
    contact.decision_rationale = f"{item.meeting.kind}: {reason.strip()}"
    contact.decided_by = by
    contact.decided_at = now
    contact.allocated_team = team if decision == D.ALLOCATE else None
    contact.single_agency_name = agency.strip() if decision == D.SINGLE_AGENCY else ""
    contact.version += 1
    contact.save()
    item.outcome = outcome
    item.reason = reason.strip()
    item.allocated_team = team if decision == D.ALLOCATE else None
    item.single_agency_name = contact.single_agency_name
    item.decided_by = by
    item.decided_at = now
    item.save()
    # The decision was the meeting's, taken when it was held: the same events as the front door's own
    # decision to the same outcome (a decision to allocate ends B1 as a direct one does), and the
    # meeting's own (B6 on a MAAM's decision to allocate).
    for event in events.decision_events(decision, at_meeting=meeting.kind):
        emit_event(event, now=held_at, actor=by, contact=contact)
    if decision == D.ALLOCATE:
        episode_open(
            contact=contact, team=team, now=now, by=by, origin=episode_origin_for(contact, Episode.Origin.MEETING)
        )
    return item
