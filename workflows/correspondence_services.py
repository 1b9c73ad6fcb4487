"""Correspondence: fill in the council's templates, send each message once, stop the clock it ends.

- Templates hold plain merge fields, `{family_name}`: `render` replaces the names in
  `MERGE_FIELDS` with text and leaves anything else as typed. Nothing in a template or a record is
  ever evaluated, so a hostile template or merge value can only produce text; the e-mail's HTML
  part escapes it (`email_html`) and the PDF writes it as text.
- A message is composed (`compose`), then sent (`message_send`): e-mail goes through a Celery task
  (`workflows.tasks.send_message`) that calls `deliver`; a printed letter is produced at once and
  counts as sent when the practitioner sends it to print.
- `deliver` holds the message's row lock while it talks to the mail server, and does nothing for a
  message already sent: a task delivered twice, or a retry after a failure, sends exactly once. The
  e-mail's Message-ID is the message's idempotency key, so a mail server that received it before a
  worker died can recognise the resend.
- When a message is sent, the communication it is (an acknowledgement, an outcome, a closure
  letter) is recorded through `workflows.services.communication_record`, which fires the event that
  stops the clock waiting for it (B2 on an acknowledgement). A failure records the reason and fires
  nothing: the clock keeps running.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape, linebreaks

from accounts import roles
from cases import selectors
from cases.correspondence import DEFAULT_TEMPLATES
from cases.models import AgencyInvolvement, Communication, Contact, CorrespondenceTemplate, Episode, Message, Person
from deadlines.alerts import alert_message_failed
from deadlines.services import deadline_retract_event
from kit.permissions import require_perm, require_role
from kit.time import LONDON, acting_at
from workflows import correspondence_notify as notify
from workflows import services
from workflows.errors import WorkflowError

Kind = CorrespondenceTemplate.Kind

# The fields a template may use, with what each holds (shown beside the template editor).
MERGE_FIELDS: dict[str, str] = {
    "recipient_name": "the name of the person the message is to",
    "family_name": "the family's household name",
    "children": "the children's first names",
    "reference": "the contact's or episode's reference",
    "referrer_name": "the name of the person who asked for support",
    "referrer_agency": "the referrer's agency",
    "received_date": "the date the contact was received",
    "decision": "the decision on the contact (or the meeting's outcome)",
    "decision_reason": "the reason recorded with the decision",
    "lead_professional": "the lead professional's name",
    "team": "the Early Help team",
    "closed_date": "the date the episode ended",
    "closure_reason": "why the episode ended",
    "sender_name": "the name of the person sending it",
    "service_name": "the service's name",
    "today": "today's date",
}
FIELD = re.compile(r"\{([a-z_]+)\}")

CONTACT_KINDS = (
    Kind.ACKNOWLEDGEMENT,
    Kind.SCREENING_OUTCOME,
    Kind.MEETING_OUTCOME,
    Kind.CONSENT_REQUEST,
    Kind.CONSENT_WITHDRAWN,
)
EPISODE_KINDS = (Kind.ALLOCATION_LETTER, Kind.CLOSURE_LETTER, Kind.PARTNER_NOTICE, Kind.STEP_UP_NOTICE)
# Who each kind is written to: the referrer, the family or a partner agency.
TO_REFERRER = (Kind.ACKNOWLEDGEMENT, Kind.SCREENING_OUTCOME, Kind.MEETING_OUTCOME)
TO_PARTNER = (Kind.PARTNER_NOTICE,)

# The communication each kind is recorded as when sent (its event stops the clock that waits).
COMMUNICATION_KIND = {
    Kind.ACKNOWLEDGEMENT: Communication.Kind.ACKNOWLEDGEMENT,
    Kind.SCREENING_OUTCOME: Communication.Kind.SCREENING_OUTCOME,
    Kind.MEETING_OUTCOME: Communication.Kind.MEETING_OUTCOME,
    Kind.CONSENT_REQUEST: Communication.Kind.CONSENT_REQUEST,
    Kind.CLOSURE_LETTER: Communication.Kind.CLOSURE_LETTER,
    Kind.PARTNER_NOTICE: Communication.Kind.PARTNER_NOTICE,
}
CHANNEL_METHOD = {Message.Channel.EMAIL: Communication.Method.EMAIL, Message.Channel.POST: Communication.Method.LETTER}

TEMPLATE_EDITORS = (roles.ADMINISTRATOR, roles.MANAGER)


# --- Templates -------------------------------------------------------------------------------------


def render(text: str, values: dict[str, str]) -> str:
    """`text` with each known `{field}` replaced by its value; anything else stays as typed."""
    return FIELD.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), text)


def unknown_fields(text: str) -> list[str]:
    """The `{names}` in `text` that are not merge fields (a typo would go out as typed)."""
    return sorted({name for name in FIELD.findall(text) if name not in MERGE_FIELDS})


def template_for(kind: str) -> CorrespondenceTemplate:
    """The council's template of one kind. Every kind is shipped (migration 0013); one missing from
    the table (a database flushed by hand) comes back with the shipped wording."""
    if kind not in DEFAULT_TEMPLATES:
        raise WorkflowError("There is no such kind of letter.")
    subject, body = DEFAULT_TEMPLATES[kind]
    template, _created = CorrespondenceTemplate.objects.get_or_create(
        kind=kind, defaults={"subject": subject, "body": body}
    )
    return template


def may_edit_templates(user) -> bool:
    return user.is_authenticated and user.has_role(*TEMPLATE_EDITORS)


@transaction.atomic
def template_save(*, template: CorrespondenceTemplate, subject: str, body: str, by, now: datetime):
    """A new version of the council's wording (the history keeps every earlier one and who wrote it)."""
    require_role(
        by, *TEMPLATE_EDITORS, message="Only an administrator or a manager can change a template.", error=WorkflowError
    )
    unknown = unknown_fields(subject + "\n" + body)
    if unknown:
        raise WorkflowError("These are not merge fields: " + ", ".join("{" + n + "}" for n in unknown) + ".")
    template.subject = subject
    template.body = body
    template.updated_at = now
    template.updated_by = by
    template._change_reason = "Wording changed"
    template._history_user = by
    template.save()
    return template


# --- Merge values ---------------------------------------------------------------------------------


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return f"{value.day} {value:%B %Y}"


def _and_list(names: list[str]) -> str:
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def _person_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def merge_values(
    *, kind: str, contact: Contact | None = None, episode: Episode | None = None, recipient_name: str = "", by, now
) -> dict[str, str]:
    """What each merge field holds for this record (plain text, escaped only where it is output)."""
    family = (episode or contact).family
    children = [m.person.first_name for m in family.memberships.filter(relationship="child").select_related("person")]
    values = {
        "recipient_name": recipient_name,
        "family_name": family.name,
        "children": _and_list(children),
        "reference": "",
        "referrer_name": "",
        "referrer_agency": "",
        "received_date": "",
        "decision": "",
        "decision_reason": "",
        "lead_professional": "",
        "team": "",
        "closed_date": "",
        "closure_reason": "",
        "sender_name": _person_name(by),
        "service_name": settings.SERVICE_NAME,
        "today": _date(timezone.localtime(now).date()),
    }
    if contact is not None:
        values.update(
            reference=contact.reference,
            referrer_name=contact.referrer_name,
            referrer_agency=contact.referrer_agency,
            received_date=_date(contact.received_at),
            decision=contact.get_decision_display() if contact.decision else "",
            decision_reason=contact.decision_rationale,
        )
        if kind == Kind.MEETING_OUTCOME:
            item = contact.meeting_items.exclude(outcome="").order_by("-decided_at").first()
            if item is not None:
                values.update(decision=item.get_outcome_display(), decision_reason=item.reason)
    if episode is not None:
        values.update(
            reference=episode.reference,
            lead_professional=_person_name(episode.lead_professional),
            team=str(episode.team),
            closed_date=_date(episode.ended_on or episode.closed_at),
            closure_reason=episode.get_closure_reason_display() if episode.closure_reason else "",
        )
        if episode.contact is not None:
            values.update(referrer_name=episode.contact.referrer_name, referrer_agency=episode.contact.referrer_agency)
    return values


# --- Compose --------------------------------------------------------------------------------------


def kinds_for(*, contact: Contact | None = None, episode: Episode | None = None) -> tuple:
    return CONTACT_KINDS if contact is not None else EPISODE_KINDS


def recipient_for(kind: str, *, contact: Contact | None = None, episode: Episode | None = None) -> tuple[str, str]:
    """Who a message of this kind is written to by default: (name, e-mail)."""
    record_contact = contact if contact is not None else (episode.contact if episode is not None else None)
    if kind in TO_REFERRER and record_contact is not None:
        return record_contact.referrer_name, record_contact.referrer_email
    family = (episode or contact).family
    if kind in TO_PARTNER:
        agency = family.agencies.filter(ended_on__isnull=True).exclude(email="").order_by("pk").first()
        return (agency.contact_name or agency.agency, agency.email) if agency else ("", "")
    return f"The {family.name} family" if not family.name.lower().startswith("the ") else family.name, ""


# --- To a partner agency: only with the family's consent to share with it -------------------------


def _partner_agency(family, email: str) -> AgencyInvolvement | None:
    """The agency of the team around the family that this e-mail address is recorded for."""
    if not email:
        return None
    return (
        family.agencies.filter(ended_on__isnull=True, email__iexact=email.strip()).order_by("pk").first()
        or family.agencies.filter(email__iexact=email.strip()).order_by("pk").first()
    )


def partner_refusal(family, email: str, *, now: datetime) -> str:
    """Why a notice to a partner agency may not go to this address today ("" when it may): it goes only
    to an agency of the team around the family, and only while the family's consent to share with that
    agency is in force (`cases.selectors.sharing_consented`, asked at the moment of sending)."""
    agency = _partner_agency(family, email)
    if agency is None:
        return (
            "A notice to partners goes only to an agency in the team around the family, at the e-mail "
            "address recorded for it."
        )
    if not selectors.sharing_consented(family, agency.agency, timezone.localtime(now, LONDON).date()):
        return (
            f"The family has not given consent to share with {agency.agency}, or has withdrawn it: "
            "nothing is sent to that agency. Record the family's consent first."
        )
    return ""


def partner_choice(family, *, now: datetime) -> tuple[str, str, str]:
    """The first agency around the family with an e-mail address the family consents to share with:
    (name, e-mail, "") or ("", "", why there is none)."""
    agencies = list(family.agencies.filter(ended_on__isnull=True).exclude(email="").order_by("pk"))
    if not agencies:
        return "", "", "No agency in the team around the family has an e-mail address recorded."
    for agency in agencies:
        if not partner_refusal(family, agency.email, now=now):
            return agency.contact_name or agency.agency, agency.email, ""
    return (
        "",
        "",
        (
            "The family has not given consent to share with any agency in the team around it (or has "
            "withdrawn it), so no notice to partners can be sent."
        ),
    )


# --- Which address: the family's, or a family member's own -----------------------------------------


def person_address(person: Person) -> list[str] | None:
    """A member's own postal address; None when it is confidential or they have none (they live with
    the family)."""
    if person.address_confidential:
        return None
    lines = [line for line in (person.address_line_1, person.address_line_2, person.town, person.postcode) if line]
    return lines or None


def addressees(family) -> list[Person]:
    """The family members a letter may be written to: everyone but the children."""
    return [
        m.person
        for m in family.memberships.exclude(relationship="child")
        .select_related("person")
        .order_by("person__last_name", "pk")
    ]


def address_options(family, person: Person | None) -> list[tuple[str, list[str]]]:
    """The addresses a letter may go to, as ("member" | "family", lines). A confidential address is
    never among them. More than one option: the practitioner is asked which."""
    family_lines = selectors.address_for_letter(family) or None
    if person is None:
        return [("family", family_lines)] if family_lines else []
    own = person_address(person)
    if person.address_confidential:
        return []  # where they are must not be written down, whichever address it is
    options = []
    if own and own != family_lines:
        options.append(("member", own))
    if family_lines:
        options.append(("family", family_lines))
    return options


def compose(
    *,
    kind: str,
    by,
    now: datetime,
    contact: Contact | None = None,
    episode: Episode | None = None,
    person: Person | None = None,
) -> dict:
    """The message as the template writes it for this record: the form's first values."""
    if kind not in kinds_for(contact=contact, episode=episode):
        raise WorkflowError("This kind of letter is not sent from this page.")
    template = template_for(kind)
    name, email = recipient_for(kind, contact=contact, episode=episode)
    family = (episode or contact).family
    if kind in TO_PARTNER:
        name, email, why = partner_choice(family, now=now)
        if why:
            raise WorkflowError(why)
    elif person is not None and kind not in TO_REFERRER:
        name = str(person)
    values = merge_values(kind=kind, contact=contact, episode=episode, recipient_name=name, by=by, now=now)
    channel = Message.Channel.EMAIL if email or kind in TO_REFERRER + TO_PARTNER else Message.Channel.POST
    return {
        "channel": channel,
        "person": str(person.pk) if person is not None and kind not in TO_REFERRER + TO_PARTNER else "",
        "recipient_name": name,
        "recipient_email": email,
        "subject": render(template.subject, values),
        "body": render(template.body, values),
    }


def may_send(
    user, *, contact: Contact | None = None, episode: Episode | None = None, now: datetime | None = None
) -> bool:
    """The front door sends from a contact; whoever works on the episode sends from it (at `now`: a partner
    lead professional only while the family's consent to share is in force)."""
    if contact is not None:
        return user.has_perm("cases.record_contact")
    with acting_at(now):
        return user.has_perm("cases.work_on_episode", episode)


# --- Send -----------------------------------------------------------------------------------------


@transaction.atomic
def message_send(
    *,
    kind: str,
    channel: str,
    recipient_name: str,
    recipient_email: str,
    subject: str,
    body: str,
    by,
    now: datetime,
    contact: Contact | None = None,
    episode: Episode | None = None,
    person: Person | None = None,
    address_choice: str = "",
) -> Message:
    """Keep the message as written and send it: an e-mail (and, with GOV.UK Notify, a letter) is queued
    for the worker once the record is committed; a letter printed here is produced now and counts as sent.

    A letter to a family member whose own address differs from the family's goes to the address chosen
    (`address_choice`: "member" or "family"); a confidential address is never one of the choices. A
    notice to a partner agency goes only while the family's consent to share with it is in force."""
    if not may_send(by, contact=contact, episode=episode, now=now):
        raise WorkflowError("You cannot send letters from this record.")
    return message_create(
        kind=kind,
        channel=channel,
        recipient_name=recipient_name,
        recipient_email=recipient_email,
        subject=subject,
        body=body,
        by=by,
        now=now,
        contact=contact,
        episode=episode,
        person=person,
        address_choice=address_choice,
    )


@transaction.atomic
def acknowledgement_send_automatically(*, contact: Contact, now: datetime) -> Message | None:
    """A request made online is acknowledged at once, in the council's words, to the referrer's e-mail
    (sent by the product itself: no member of staff). None when the referrer gave no address."""
    composed = compose(kind=Kind.ACKNOWLEDGEMENT, by=None, now=now, contact=contact)
    if not composed["recipient_email"]:
        return None
    return message_create(kind=Kind.ACKNOWLEDGEMENT, by=None, now=now, contact=contact, **composed)


@transaction.atomic
def message_create(
    *,
    kind: str,
    channel: str,
    recipient_name: str,
    recipient_email: str,
    subject: str,
    body: str,
    by,
    now: datetime,
    contact: Contact | None = None,
    episode: Episode | None = None,
    person: Person | None = None,
    address_choice: str = "",
) -> Message:
    """Keep and send a message for a caller that has checked who may send it (`message_send`; the
    automatic acknowledgement)."""
    if kind not in kinds_for(contact=contact, episode=episode):
        raise WorkflowError("This kind of letter is not sent from this page.")
    family = (episode or contact).family
    person = person or None  # the compose form's "no member" is an empty value
    if person is not None and (
        kind in TO_REFERRER + TO_PARTNER or not family.memberships.filter(person=person).exists()
    ):
        raise WorkflowError("A letter from this page goes to a member of this family, or to the family.")
    address = ""
    if channel == Message.Channel.EMAIL:
        if not recipient_email:
            raise WorkflowError("Enter the e-mail address to send it to, or choose post.")
        if kind in TO_PARTNER:
            refusal = partner_refusal(family, recipient_email, now=now)
            if refusal:
                raise WorkflowError(refusal)
    elif channel == Message.Channel.POST:
        if kind in TO_REFERRER + TO_PARTNER:
            raise WorkflowError("The product has no postal address for a referrer or partner: send it by e-mail.")
        address = "\n".join(_letter_address(family, person, address_choice))
    else:
        raise WorkflowError("Choose how to send it.")
    if channel == Message.Channel.POST and not notify.enabled():
        via = Message.Via.PRINT
    else:
        via = Message.Via.NOTIFY if notify.enabled() else Message.Via.SMTP
    message = Message.objects.create(
        family=family,
        contact=contact,
        episode=episode,
        person=person,
        kind=kind,
        channel=channel,
        via=via,
        recipient_name=recipient_name,
        recipient_email=recipient_email if channel == Message.Channel.EMAIL else "",
        address=address,
        subject=subject,
        body=body,
        status=Message.Status.SENDING,
        created_at=now,
        created_by=by,
        queued_at=now,
    )
    if via == Message.Via.PRINT:
        _mark_sent(message, now=now)
        message.save()
    else:
        _enqueue(message)
    return message


def _letter_address(family, person: Person | None, choice: str) -> list[str]:
    """The address a letter is printed with, or why it cannot be sent by post."""
    options = dict(address_options(family, person))
    if not options:
        if person is not None and person.address_confidential or selectors.address_for_letter(family) is None:
            raise WorkflowError(
                "The address is confidential, so it is never printed: give the letter by hand "
                "and record it, or send it by e-mail."
            )
        raise WorkflowError("The family has no address recorded: add it, or send the letter by e-mail.")
    if len(options) == 1:
        (only,) = options.values()
        if choice and choice not in options:
            raise WorkflowError("That address cannot be used for this letter: choose another, or send it by e-mail.")
        return only
    if choice not in options:
        raise WorkflowError(f"{person} lives at a different address from the family: choose which address to use.")
    return options[choice]


@transaction.atomic
def message_retry(*, message: Message, by, now: datetime) -> Message:
    """Send a failed message again (the same message, the same key: it goes once)."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if not may_send(by, contact=locked.contact, episode=locked.episode, now=now):
        raise WorkflowError("You cannot send letters from this record.")
    if locked.status != Message.Status.FAILED:
        raise WorkflowError("Only a message that failed can be sent again.")
    if locked.via == Message.Via.PRINT:
        raise WorkflowError("A printed letter is not sent by the product: print it again from its page.")
    if locked.kind in TO_PARTNER:
        refusal = partner_refusal(locked.family, locked.recipient_email, now=now)
        if refusal:
            raise WorkflowError(refusal)
    locked.status = Message.Status.SENDING
    locked.queued_at = now
    if locked.provider_id:
        # Notify gave up on the earlier notification: this is a new one, under a new key.
        locked.provider_id = locked.provider_status = ""
        locked.key = uuid.uuid4()
    locked.save(update_fields=["status", "queued_at", "provider_id", "provider_status", "key"])
    _enqueue(locked)
    return locked


def _enqueue(message: Message) -> None:
    from workflows.tasks import send_message

    pk = message.pk
    transaction.on_commit(lambda: send_message.delay(pk))


def _mark_sent(message: Message, *, now: datetime) -> None:
    """Sent: record the communication, whose event stops the clock that waited for it. Sent again after
    Notify reported it undelivered (which opened that clock again: `_undelivered`), the message keeps its
    communication, now sent at this time, and its event stops the clock again, now."""
    message.status = Message.Status.SENT
    message.sent_at = now
    message.failure_reason = ""
    if message.communication_id is not None:
        communication = message.communication
        event = services.COMMUNICATION_EVENTS.get(communication.kind)
        if message.failed_at is not None and communication.sent_at < now:
            communication.sent_at = now
            communication.save(update_fields=["sent_at"])
            if event:
                services.emit_event(
                    event, now=now, actor=message.created_by, contact=message.contact, episode=message.episode
                )
        return
    message.communication = services.communication_record(
        family=message.family,
        contact=message.contact,
        episode=message.episode,
        kind=COMMUNICATION_KIND.get(message.kind, Communication.Kind.OTHER),
        recipient=message.recipient_name or message.recipient_email,
        method=CHANNEL_METHOD[message.channel],
        sent_at=now,
        summary=message.subject,
        by=message.created_by,
        now=now,
    )


def _mark_failed(message: Message, reason: str, *, now: datetime) -> None:
    """Failed: the reason is kept, the clock keeps running, and the sender is alerted."""
    message.status = Message.Status.FAILED
    message.failed_at = now
    message.failure_reason = reason
    message.save()
    alert_message_failed(message=message, now=now)


def email_html(message: Message) -> str:
    """The e-mail's HTML part: the text as sent, every character of it escaped."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(message.subject)}</title></head><body>"
        f"{linebreaks(message.body, autoescape=True)}</body></html>"
    )


def _email(message: Message, connection) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient_email],
        headers={"Message-ID": f"<{message.key}@earlyhelp>", "X-Earlyhelp-Message": str(message.key)},
        connection=connection,
    )
    email.attach_alternative(email_html(message), "text/html")
    return email


def deliver(message_id: int, *, now: datetime, last_try: bool = False) -> Message | None:
    """Send one queued message, exactly once (the Celery task's body).

    The row stays locked while the mail server or GOV.UK Notify is spoken to, so a second delivery of
    the same task waits and then finds it sent. Anything but a message waiting to be sent is left alone.
    A message still "sending" with a reason after this call is waiting to be tried again (Notify was
    unavailable): the task retries it, and on its `last_try` such a message fails instead.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != Message.Status.SENDING or message.via == Message.Via.PRINT:
            return message
        message.attempts += 1
        if message.kind in TO_PARTNER:
            refusal = partner_refusal(message.family, message.recipient_email, now=now)
            if refusal:
                _mark_failed(message, refusal, now=now)
                return message
        if message.via == Message.Via.NOTIFY:
            return _deliver_by_notify(message, now=now, last_try=last_try)
        try:
            connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
            sent = _email(message, connection).send(fail_silently=False)
            if sent != 1:
                raise smtplib.SMTPException("the mail server did not accept the message")
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            _mark_failed(message, _reason(exc), now=now)
            return message
        _mark_sent(message, now=now)
        message.save()
        return message


def _deliver_by_notify(message: Message, *, now: datetime, last_try: bool) -> Message:
    reference = (message.contact or message.episode).reference
    try:
        message.provider_id = notify.send(message, reference=reference)
    except notify.NotifyRefused as exc:
        _mark_failed(message, exc.reason, now=now)
        return message
    except notify.NotifyUnavailable as exc:
        if last_try:
            _mark_failed(message, f"{exc.reason} (tried {message.attempts} times)", now=now)
            return message
        message.failure_reason = f"Not sent yet: {exc.reason}. It will be tried again."
        message.save()
        return message
    message.provider_status = "created"
    message.checked_at = now
    _mark_sent(message, now=now)
    message.save()
    return message


def waiting_to_retry(message: Message | None) -> bool:
    return message is not None and message.status == Message.Status.SENDING and bool(message.failure_reason)


# --- Delivery receipts (GOV.UK Notify) -------------------------------------------------------------


def apply_status(*, provider_id: str = "", reference: str = "", status: str, at: datetime | None = None, now):
    """A status Notify reports for one of our messages (by its id, or its reference = our key).

    Delivered (or, for a letter, received by the postal service) marks it delivered; a failure marks it
    failed with what the failure means, and alerts the sender. Anything else is only noted. A message
    already delivered or failed is left as it is (a late or repeated receipt changes nothing).
    Returns the message, or None when it is not one of ours."""
    query = Q(provider_id=provider_id) if provider_id else Q(pk__in=[])
    if reference:
        with contextlib.suppress(ValueError):
            query |= Q(key=uuid.UUID(str(reference)))
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(query, via=Message.Via.NOTIFY).first()
        if message is None:
            return None
        message.checked_at = now
        if message.status != Message.Status.SENT:
            message.save(update_fields=["checked_at"])
            return message
        message.provider_status = status[:40]
        outcome = notify.final_outcome(status)
        if outcome is None:
            message.save(update_fields=["checked_at", "provider_status"])
            return message
        new_status, reason = outcome
        if new_status == Message.Status.DELIVERED:
            message.status = Message.Status.DELIVERED
            message.delivered_at = at or now
            message.save()
        else:
            _undelivered(message)
            _mark_failed(message, reason, now=at or now)
        return message


def _undelivered(message: Message) -> None:
    """Notify reports that a message recorded as sent never arrived: the clock its sending stopped (B2's
    acknowledgement, B5's meeting outcome, ...) is open again from its start, as if it had not been sent
    (deadlines.services.deadline_retract_event), and the sender is alerted (`_mark_failed`). Another
    communication of the same kind on the record that did go (a phone call recorded since) stops it again
    at its own time. Sent again successfully, the message stops it again then (`_mark_sent`)."""
    communication = message.communication
    event = services.COMMUNICATION_EVENTS.get(communication.kind) if communication is not None else None
    if event is None:
        return
    deadline_retract_event(
        event=event, at=communication.sent_at, contact=communication.contact, episode=communication.episode
    )
    kinds = [kind for kind, fired in services.COMMUNICATION_EVENTS.items() if fired == event]
    other = (
        Communication.objects.filter(contact=communication.contact, episode=communication.episode, kind__in=kinds)
        .exclude(pk=communication.pk)
        .exclude(message__status=Message.Status.FAILED)
        .order_by("sent_at", "pk")
        .first()
    )
    if other is not None:
        services.emit_event(
            event, now=other.sent_at, actor=other.recorded_by, contact=other.contact, episode=other.episode
        )


def messages_poll(*, now: datetime, limit: int = 200) -> int:
    """Ask Notify about messages it accepted that are not yet final (the receipts' safety net: a
    callback lost or not configured). Each is asked at most every POLL_EVERY, for POLL_FOR after it
    was sent. Returns how many were asked about."""
    due = list(
        Message.objects.filter(
            via=Message.Via.NOTIFY,
            status=Message.Status.SENT,
            sent_at__gte=now - notify.POLL_FOR,
        )
        .exclude(provider_id="")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=now - notify.POLL_EVERY))
        .order_by("checked_at", "pk")
        .values_list("provider_id", flat=True)[:limit]
    )
    for provider_id in due:
        try:
            answer = notify.status_of(provider_id)
        except notify.NotifyUnavailable:
            Message.objects.filter(provider_id=provider_id).update(checked_at=now)
            continue
        apply_status(
            provider_id=provider_id,
            status=str(answer.get("status", "")),
            at=notify.receipt_time(answer, now=now),
            now=now,
        )
    return len(due)


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "The mail server refused the address: " + ", ".join(exc.recipients)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"The mail server refused the message ({exc.smtp_code}): {detail}"
    if isinstance(exc, smtplib.SMTPException):
        return f"The e-mail could not be sent: {exc}"
    return f"The mail server could not be reached ({settings.EMAIL_HOST}:{settings.EMAIL_PORT}): {exc}"


def messages_of(*, contact: Contact | None = None, episode: Episode | None = None):
    """The messages written from a record, newest first."""
    if contact is not None:
        return Message.objects.filter(contact=contact).order_by("-created_at")
    return Message.objects.filter(episode=episode).order_by("-created_at")


def require_sender(
    user, *, contact: Contact | None = None, episode: Episode | None = None, now: datetime | None = None
) -> None:
    if contact is not None:
        require_perm(user, "cases.record_contact")
    else:
        require_perm(user, "cases.work_on_episode", episode, now=now)


def templates_all():
    """Every template of the council, one per kind."""
    if CorrespondenceTemplate.objects.count() < len(DEFAULT_TEMPLATES):
        for kind in DEFAULT_TEMPLATES:
            template_for(kind)
    return CorrespondenceTemplate.objects.select_related("updated_by").order_by("kind")


def message_visible_to(user, pk: int) -> Message | None:
    """A message, if the record it was written from is in the user's scope."""
    contacts = selectors.contacts_visible_to(user).values("pk")
    episodes = selectors.episodes_visible_to(user).values("pk")
    return (
        Message.objects.select_related("family", "contact", "episode", "created_by")
        .filter(pk=pk)
        .filter(Q(contact__in=contacts) | Q(episode__in=episodes))
        .first()
    )


# --- Development: what the local SMTP server received ------------------------------------------------


def local_mail_dir():
    """Where `manage.py local_smtp` keeps what it receives (a Maildir under .data/)."""
    return settings.BASE_DIR / ".data" / "mail"


def local_mail(limit: int = 100) -> list[dict]:
    """The e-mails the local development SMTP server received, newest first."""
    import mailbox
    from email import policy
    from email.parser import BytesParser

    directory = local_mail_dir()
    if not (directory / "cur").is_dir():
        return []
    box = mailbox.Maildir(directory, create=False)
    found = []
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        body = parsed.get_body(("plain",))
        found.append(
            {
                "key": key,
                "to": str(parsed["To"] or ""),
                "subject": str(parsed["Subject"] or ""),
                "date": str(parsed["Date"] or ""),
                "received": box.get_message(key).get_date(),
                "text": body.get_content() if body is not None else "",
            }
        )
    found.sort(key=lambda m: m["received"], reverse=True)
    return found[:limit]


# --- Messages whose queue entry was lost -----------------------------------------------------------

STUCK_AFTER = timedelta(minutes=15)


def messages_requeue(*, now: datetime) -> int:
    """Queue again every e-mail still "sending" long after it was queued (the broker lost the task,
    or the worker died before it was acknowledged and the entry expired). `deliver` sends only a
    message still waiting, under its row lock, so queueing one twice still sends it once."""
    from workflows.tasks import send_message

    stuck = list(
        Message.objects.filter(status=Message.Status.SENDING, queued_at__lt=now - STUCK_AFTER)
        .exclude(via=Message.Via.PRINT)
        .values_list("pk", flat=True)
    )
    for pk in stuck:
        send_message.delay(pk)
    return len(stuck)
