"""GOV.UK Notify: e-mail and letters through the official client, and its delivery receipts (ADR 39).

When `NOTIFY_API_KEY` is set, every e-mail and every letter for the post goes through Notify instead of
the mail server and the practitioner's printer:

- **One Notify template per channel** (`NOTIFY_EMAIL_TEMPLATE_ID`, `NOTIFY_LETTER_TEMPLATE_ID`) whose
  text is `((subject))` and `((body))`: the council's wording lives in the product's templates, the
  practitioner edits this one message, and Notify is given the text as sent. Notify escapes
  personalisation itself. A letter's address is Notify's `address_line_1` (the recipient's name) to
  `address_line_7`; Notify checks it is a real postal address and prints, folds and posts it. Template
  letters, not precompiled PDFs: Notify then owns the address block and the layout checks that a PDF of
  ours would have to pass, and what it prints is still our text, word for word.
- **Once**: Notify's `reference` is the message's key. Before sending, Notify is asked for a
  notification with that reference (a worker killed after Notify accepted the message, before our
  commit, left one): if there is one it is adopted, not sent again.
- **Errors**: a 4xx is Notify refusing the message (bad address, wrong template, no permission): it
  fails with Notify's words. A 429, a 5xx or no answer is Notify being unavailable: the send is tried
  again later (workflows.tasks), and after a few tries the message fails.
- **Receipts**: Notify's callback (`notify_receipt`, authenticated by `NOTIFY_CALLBACK_TOKEN`) and a
  beat task (`poll_sent`) for messages sent but not yet final both call `apply_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.dateparse import parse_datetime
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from cases.models import Message

ADDRESS_LINES = 7

# Notify's final statuses (e-mail and letter) and what each means to the sender.
DELIVERED = frozenset({"delivered", "received"})
FAILED_REASONS: dict[str, str] = {
    "permanent-failure": "GOV.UK Notify could not deliver it: the address does not exist or refuses mail "
    "(permanent failure). Check the address, then send it again.",
    "temporary-failure": "GOV.UK Notify could not deliver it for 72 hours: the inbox was full or the "
    "recipient's mail server did not answer (temporary failure). Send it again later or another way.",
    "technical-failure": "GOV.UK Notify had a technical failure and did not send it. Send it again.",
    "validation-failed": "GOV.UK Notify could not print the letter: the address or the text failed its "
    "checks (validation failed). Check the address, then send it again.",
    "virus-scan-failed": "GOV.UK Notify did not print the letter: it failed the virus scan.",
    "cancelled": "The letter was cancelled in GOV.UK Notify before it was printed.",
}
FINAL = DELIVERED | frozenset(FAILED_REASONS)


def enabled() -> bool:
    return bool(settings.NOTIFY_API_KEY)


def client() -> NotificationsAPIClient:
    return NotificationsAPIClient(
        settings.NOTIFY_API_KEY, base_url=settings.NOTIFY_BASE_URL, timeout=settings.NOTIFY_TIMEOUT
    )


@dataclass(frozen=True)
class NotifyRefused(Exception):
    """Notify said no (a 4xx): sending again will not help until something changes."""

    reason: str


@dataclass(frozen=True)
class NotifyUnavailable(Exception):
    """Notify did not answer, or answered 429/5xx: try again later."""

    reason: str


def personalisation(message: Message, *, reference: str) -> dict[str, str]:
    """What the channel's Notify template is filled in with: the text as sent, and for a letter the
    address (the recipient's name first, as Notify asks; never a confidential one: the message's
    address came from `address_for_letter`)."""
    values = {
        "subject": message.subject,
        "body": message.body,
        "recipient_name": message.recipient_name,
        "reference": reference,
    }
    if message.channel == Message.Channel.POST:
        lines = [message.recipient_name, *[line for line in message.address.splitlines() if line.strip()]]
        lines = lines[: ADDRESS_LINES - 1] + [", ".join(lines[ADDRESS_LINES - 1 :])] if len(lines) > 7 else lines
        values.update({f"address_line_{n}": line for n, line in enumerate(lines, start=1)})
    return values


def _reason(exc: APIError) -> str:
    detail = exc.message
    if isinstance(detail, list):
        detail = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in detail)
    return f"GOV.UK Notify ({exc.status_code}): {detail}"


def send(message: Message, *, reference: str) -> str:
    """Hand the message to Notify once; its notification id. Raises NotifyRefused or NotifyUnavailable."""
    api = client()
    key = str(message.key)
    try:
        found = api.get_all_notifications(reference=key).get("notifications") or []
        if found:  # accepted before, by a worker that died before it could say so
            return found[0]["id"]
        values = personalisation(message, reference=reference)
        if message.channel == Message.Channel.EMAIL:
            if not settings.NOTIFY_EMAIL_TEMPLATE_ID:
                raise NotifyRefused("GOV.UK Notify has no e-mail template set (NOTIFY_EMAIL_TEMPLATE_ID).")
            answer = api.send_email_notification(
                email_address=message.recipient_email,
                template_id=settings.NOTIFY_EMAIL_TEMPLATE_ID,
                personalisation=values,
                reference=key,
            )
        else:
            if not settings.NOTIFY_LETTER_TEMPLATE_ID:
                raise NotifyRefused("GOV.UK Notify has no letter template set (NOTIFY_LETTER_TEMPLATE_ID).")
            answer = api.send_letter_notification(
                template_id=settings.NOTIFY_LETTER_TEMPLATE_ID, personalisation=values, reference=key
            )
    except APIError as exc:
        if exc.status_code == 429 or exc.status_code >= 500:
            raise NotifyUnavailable(_reason(exc)) from exc
        raise NotifyRefused(_reason(exc)) from exc
    return answer["id"]


def status_of(provider_id: str) -> dict:
    """Notify's record of one notification (for polling). Raises NotifyUnavailable on any error."""
    try:
        return client().get_notification_by_id(provider_id)
    except APIError as exc:
        raise NotifyUnavailable(_reason(exc)) from exc


def final_outcome(status: str) -> tuple[str, str] | None:
    """(Message.Status, reason) for a final Notify status; None while Notify is still working on it."""
    if status in DELIVERED:
        return Message.Status.DELIVERED, ""
    if status in FAILED_REASONS:
        return Message.Status.FAILED, FAILED_REASONS[status]
    return None


def receipt_time(receipt: dict, *, now: datetime) -> datetime:
    """When Notify says it reached its final status (completed_at), else now."""
    for key in ("completed_at", "sent_at"):
        value = receipt.get(key)
        if value:
            parsed = parse_datetime(str(value))
            if parsed is not None:
                return parsed
    return now


# A sent message is asked about again no more often than this, and no longer than Notify keeps it.
POLL_EVERY = timedelta(minutes=10)
POLL_FOR = timedelta(days=7)
