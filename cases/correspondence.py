"""Correspondence the product writes and sends: the council's templates and each message sent.

`CorrespondenceTemplate` is one per kind of letter or e-mail, with the council's own wording and
plain merge fields (`{family_name}`, `{reference}`, ...), versioned with who changed what.
`Message` is one letter or e-mail to one recipient: its text as sent, the channel, its status
(draft, sending, sent, delivered, failed) with timestamps, and an idempotency key so that it is
never sent twice (workflows.correspondence_services).

Imported into cases.models (which re-exports everything here), so the models belong to `cases`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

USER = settings.AUTH_USER_MODEL

__all__ = ["CorrespondenceTemplate", "Message"]


class CorrespondenceTemplate(models.Model):
    """The council's wording for one kind of letter or e-mail."""

    class Kind(models.TextChoices):
        # Values shared with Communication.Kind where the kind exists there, so a sent message is
        # recorded as the communication the clocks already wait for.
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement to referrer"
        SCREENING_OUTCOME = "screening_outcome", "Screening outcome to referrer"
        MEETING_OUTCOME = "meeting_outcome", "Meeting (NAM, MAAM or ICDM) outcome to referrer"
        CONSENT_REQUEST = "consent_request", "MASH outcome letter and consent request"
        CONSENT_WITHDRAWN = "consent_withdrawn", "Consent withdrawal confirmation"
        ALLOCATION_LETTER = "allocation_letter", "Allocation letter to the family"
        CLOSURE_LETTER = "closure_letter", "Closure letter to the family"
        PARTNER_NOTICE = "partner_notice", "Closure notice to partners"
        STEP_UP_NOTICE = "step_up_notice", "Step-up notice"

    kind = models.CharField(max_length=30, choices=Kind.choices, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Message(models.Model):
    """One letter or e-mail to one recipient, its text kept as sent."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        POST = "post", "Post (printed letter)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        SMTP = "smtp", "Mail server"
        NOTIFY = "notify", "GOV.UK Notify"
        PRINT = "print", "Printed here"

    # The idempotency key: the Message-ID of the e-mail, the one thing a send is keyed on.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    family = models.ForeignKey("cases.Family", on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(
        "cases.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    episode = models.ForeignKey(
        "cases.Episode", null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=30, choices=CorrespondenceTemplate.Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient_name = models.CharField(max_length=200)
    recipient_email = models.EmailField(blank=True)
    # The postal address as printed (never a confidential one: cases.selectors.address_for_letter).
    address = models.TextField(blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The family member it is written to, if one (the address asked for: theirs or the family's).
    person = models.ForeignKey(
        "cases.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # Which service carried it: the mail server, GOV.UK Notify, or the practitioner's printer.
    via = models.CharField(max_length=10, choices=Via.choices, blank=True)
    # GOV.UK Notify's id for it (its `reference` is our key) and the last status Notify reported.
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    provider_status = models.CharField(max_length=40, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # The communication recorded when it was sent: it stops the clock waiting for it.
    communication = models.OneToOneField(
        "cases.Communication", null=True, blank=True, on_delete=models.SET_NULL, related_name="message"
    )

    class Meta:
        indexes = [models.Index(fields=["family", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_name}"


# The wording shipped with the product (loaded by migration 0013; a council edits it in the browser).
# Merge fields are written `{name}`; workflows.correspondence_services.MERGE_FIELDS lists them.
K = CorrespondenceTemplate.Kind
DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    K.ACKNOWLEDGEMENT: (
        "We have received your request for support: {reference}",
        "Dear {referrer_name},\n\n"
        "Thank you for your request for support for the {family_name} family, which we received on "
        "{received_date}. Our reference is {reference}.\n\n"
        "The Early Help front door will look at it and tell you what happens next. If you are worried "
        "that a child is at immediate risk of harm, call the police on 999.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.SCREENING_OUTCOME: (
        "The outcome of your request for support: {reference}",
        "Dear {referrer_name},\n\n"
        "We have looked at your request for support for the {family_name} family ({reference}).\n\n"
        "Our decision: {decision}.\n{decision_reason}\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.MEETING_OUTCOME: (
        "The outcome of the multi-agency meeting: {reference}",
        "Dear {referrer_name},\n\n"
        "The {family_name} family ({reference}) was discussed at a multi-agency meeting.\n\n"
        "The meeting's decision: {decision}.\n{decision_reason}\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.CONSENT_REQUEST: (
        "Support for your family from Early Help",
        "Dear {recipient_name},\n\n"
        "Someone who knows your family asked us whether Early Help could support you ({reference}). "
        "We think it could help: {decision}.\n\n"
        "Early Help is your choice. Please tell us whether you agree to it, and to us sharing what we "
        "know with the people who will support you, by replying to this letter or calling us.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.CONSENT_WITHDRAWN: (
        "You have withdrawn your consent",
        "Dear {recipient_name},\n\n"
        "We have recorded that you no longer agree to Early Help support or to us sharing information "
        "about your family ({reference}). We will not share anything new from today.\n\n"
        "You can ask for support again at any time.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.ALLOCATION_LETTER: (
        "Your Early Help worker",
        "Dear {recipient_name},\n\n"
        "Your family's Early Help worker is {lead_professional}, from {team}. They will contact you soon "
        "to arrange to meet you and {children}.\n\n"
        "Our reference is {reference}.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.CLOSURE_LETTER: (
        "Early Help support for your family has ended",
        "Dear {recipient_name},\n\n"
        "Thank you for working with us. Early Help support for the {family_name} family ended on "
        "{closed_date}: {closure_reason}.\n\n"
        "If things change and you would like support again, please contact us and quote {reference}.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.PARTNER_NOTICE: (
        "Early Help has closed: {reference}",
        "Dear {recipient_name},\n\n"
        "Early Help support for the {family_name} family ({reference}) ended on {closed_date}: "
        "{closure_reason}.\n\n"
        "Please tell us if you have any new concerns.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
    K.STEP_UP_NOTICE: (
        "Your family's support is moving to children's social care",
        "Dear {recipient_name},\n\n"
        "We have asked children's social care to work with the {family_name} family ({reference}). "
        "{lead_professional} will explain what this means and stay in touch until social care "
        "contacts you.\n\n"
        "Yours sincerely,\n{sender_name}\n{service_name}",
    ),
}
del K
