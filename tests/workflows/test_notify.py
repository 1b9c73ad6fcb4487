"""GOV.UK Notify: e-mail and letters through the official client, delivery receipts, failures (ADR 0039).

Every test talks HTTP to a real local server that speaks the Notify endpoints the product uses
(tests/workflows/notify_server.py, on a free port, checking the client's JWT), never a mock of the client.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from cases.models import Communication, Message
from deadlines.models import Alert, Deadline
from tests.factories import NOW, ContactJourneyFactory
from tests.workflows.helpers import S, make_episode
from tests.workflows.notify_server import API_KEY, FakeNotify
from workflows import correspondence_services as letters
from workflows.tasks import poll_notify, send_message

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
EMAIL_TEMPLATE = "4f1d0c59-0d64-4d5a-9b59-0d7f4b0d7c11"
LETTER_TEMPLATE = "a0e1b8b5-2a0c-4d8e-9a43-7f5ef6a2b2c3"
TOKEN = "a-long-random-callback-token"


@pytest.fixture
def notify(settings):
    server = FakeNotify().start()
    settings.NOTIFY_API_KEY = API_KEY
    settings.NOTIFY_BASE_URL = server.base_url
    settings.NOTIFY_EMAIL_TEMPLATE_ID = EMAIL_TEMPLATE
    settings.NOTIFY_LETTER_TEMPLATE_ID = LETTER_TEMPLATE
    settings.NOTIFY_CALLBACK_TOKEN = TOKEN
    settings.NOTIFY_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def family_solutions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"


def b2(contact) -> Deadline:
    return Deadline.objects.filter(rule_id="B2", contact=contact).order_by("-cycle", "-id").first()


def new_contact(users, team):
    contact = ContactJourneyFactory(users=users, team=team)
    contact.referrer_email = "teacher@school.example"
    contact.save(update_fields=["referrer_email"])
    return contact


def send_acknowledgement(contact, users, *, now=NOW + H) -> Message:
    draft = letters.compose(kind="acknowledgement", by=users["mash"], now=now, contact=contact)
    return letters.message_send(
        kind="acknowledgement",
        **{k: draft[k] for k in ("channel", "recipient_name", "recipient_email", "subject", "body")},
        by=users["mash"],
        now=now,
        contact=contact,
    )


def failed_alerts(user):
    return Alert.objects.filter(recipient=user, level=Alert.Level.MESSAGE_FAILED)


# --- Sending ----------------------------------------------------------------------------------------


def test_an_e_mail_goes_through_notify_once_with_its_text_and_key_and_stops_b2(
    users, team, notify, family_solutions, django_capture_on_commit_callbacks, eager_celery
):
    contact = new_contact(users, team)
    with django_capture_on_commit_callbacks(execute=True):
        message = send_acknowledgement(contact, users)
    message.refresh_from_db()
    assert message.via == Message.Via.NOTIFY and message.status == Message.Status.SENT
    (sent,) = notify.sent("email")
    assert sent["id"] == message.provider_id and sent["reference"] == str(message.key)
    assert sent["email_address"] == "teacher@school.example" and sent["template"]["id"] == EMAIL_TEMPLATE
    assert sent["personalisation"]["subject"] == message.subject
    assert sent["personalisation"]["body"] == message.body and contact.reference in message.body
    assert sent["personalisation"]["reference"] == contact.reference
    assert b2(contact).stopped_at == message.sent_at
    assert message.communication.kind == Communication.Kind.ACKNOWLEDGEMENT

    # Delivered again (a redelivered task, the requeue beat): nothing more reaches Notify.
    send_message.apply(args=[message.pk])
    letters.deliver(message.pk, now=NOW + 2 * H)
    assert len(notify.sent()) == 1 and [r for r in notify.requests if r[0] == "POST"] == [
        ("POST", "/v2/notifications/email")
    ]


def test_a_worker_killed_after_notify_accepted_does_not_send_twice(users, team, notify):
    """Notify accepted it but the worker died before committing: the next try finds it by reference."""
    message = send_acknowledgement(new_contact(users, team), users)
    from workflows import correspondence_notify

    first_id = correspondence_notify.send(message, reference="C1")  # the dead worker's send
    message = letters.deliver(message.pk, now=NOW + H)
    assert message.status == Message.Status.SENT and message.provider_id == first_id
    assert len(notify.sent()) == 1


def test_a_4xx_fails_the_message_with_notify_s_reason_alerts_the_sender_and_the_clock_runs(
    client, users, team, notify, family_solutions, django_capture_on_commit_callbacks, eager_celery
):
    contact = new_contact(users, team)
    notify.fail_next(400, "email_address Not a valid email address", "ValidationError")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_acknowledgement(contact, users)
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.attempts == 1
    assert message.failure_reason == "GOV.UK Notify (400): email_address Not a valid email address"
    assert b2(contact).stopped_at is None and not Communication.objects.filter(contact=contact).exists()
    (alert,) = failed_alerts(users["mash"])
    assert alert.message == message and alert.read_at is None

    # The sender sees it on the alerts page and My work, and the message page says why and offers a retry.
    client.force_login(users["mash"])
    detail_url = reverse("episodes:message_detail", args=[message.pk])
    alerts_page = client.get(reverse("deadlines:alerts")).content.decode()
    assert detail_url in alerts_page and "could not be delivered" in alerts_page
    detail = client.get(detail_url).content.decode()
    assert "Not a valid email address" in detail and reverse("episodes:message_retry", args=[message.pk]) in detail

    # Retry (the message page's button, an ActionView POST): sent once, B2 stops.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("episodes:message_retry", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.failure_reason == ""
    assert len(notify.sent()) == 1
    assert b2(contact).stopped_at is not None
    assert client.get(reverse("episodes:message_retry", args=[message.pk])).status_code == 405


def test_a_5xx_is_tried_again_and_sends_once(
    users, team, notify, django_capture_on_commit_callbacks, eager_celery, family_solutions
):
    contact = new_contact(users, team)
    notify.fail_next(500, "Internal server error", "Exception")
    message = send_acknowledgement(contact, users)
    message = letters.deliver(message.pk, now=NOW + H)
    assert message.status == Message.Status.SENDING and "It will be tried again" in message.failure_reason
    assert b2(contact).stopped_at is None and not failed_alerts(users["mash"]).exists()
    for _ in range(2):
        message = letters.deliver(message.pk, now=NOW + 2 * H)
    assert message.status == Message.Status.SENT and message.attempts == 2 and message.failure_reason == ""
    assert len(notify.sent()) == 1
    assert b2(contact).stopped_at == NOW + 2 * H

    # Through the Celery task: a 503 then success, the retry sends once.
    other = new_contact(users, team)
    notify.fail_next(503, "Service unavailable", "Exception")
    with django_capture_on_commit_callbacks(execute=True):
        second = send_acknowledgement(other, users)
    second.refresh_from_db()
    assert second.status == Message.Status.SENT and second.attempts == 2
    assert len(notify.sent()) == 2


def test_notify_unavailable_on_the_last_try_fails_the_message(users, team, notify):
    notify.fail_next(429, "Exceeded rate limit", "RateLimitError")
    message = send_acknowledgement(new_contact(users, team), users)
    message = letters.deliver(message.pk, now=NOW + H, last_try=True)
    assert message.status == Message.Status.FAILED and "GOV.UK Notify (429)" in message.failure_reason
    assert failed_alerts(users["mash"]).count() == 1


def test_a_letter_goes_through_notify_with_its_address_and_never_a_confidential_one(users, team, notify):
    episode, _ = make_episode(users, team, state=S.CLOSED)
    draft = letters.compose(kind="closure_letter", by=users["coach"], now=NOW + 30 * H, episode=episode)
    fields = {k: draft[k] for k in ("recipient_name", "subject", "body")}
    message = letters.message_send(
        kind="closure_letter",
        channel="post",
        recipient_email="",
        **fields,
        by=users["coach"],
        now=NOW + 30 * H,
        episode=episode,
    )
    assert message.via == Message.Via.NOTIFY and message.status == Message.Status.SENDING
    message = letters.deliver(message.pk, now=NOW + 30 * H)
    assert message.status == Message.Status.SENT
    (sent,) = notify.sent("letter")
    values = sent["personalisation"]
    assert values["address_line_1"] == draft["recipient_name"] and values["address_line_2"] == "1 Lantern Row"
    assert values["body"] == message.body and sent["template"]["id"] == LETTER_TEMPLATE

    family = episode.family
    family.address_confidential = True
    family.save()
    with pytest.raises(letters.WorkflowError, match="confidential"):
        letters.message_send(
            kind="closure_letter",
            channel="post",
            recipient_email="",
            **fields,
            by=users["coach"],
            now=NOW + 31 * H,
            episode=episode,
        )
    assert len(notify.sent()) == 1


# --- Delivery receipts --------------------------------------------------------------------------------


def _receipt(message, status, **extra):
    return {
        "id": message.provider_id,
        "reference": str(message.key),
        "to": message.recipient_email,
        "status": status,
        "created_at": "2026-12-07T09:00:00.000000Z",
        "completed_at": "2026-12-07T09:05:00.000000Z",
        "sent_at": "2026-12-07T09:01:00.000000Z",
        "notification_type": "email",
        **extra,
    }


def _post(client, body, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(
        reverse("episodes:notify_receipts"), data=json.dumps(body), content_type="application/json", **headers
    )


def test_the_callback_needs_the_bearer_token_and_marks_delivered(client, users, team, notify, settings):
    message = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    assert _post(client, _receipt(message, "delivered"), token="").status_code == 401
    assert _post(client, _receipt(message, "delivered"), token="wrong").status_code == 401
    assert client.get(reverse("episodes:notify_receipts")).status_code == 405
    assert _post(client, "not a receipt").status_code == 400
    message.refresh_from_db()
    assert message.status == Message.Status.SENT

    response = _post(client, _receipt(message, "delivered"))
    assert response.status_code == 200 and response.json() == {"result": "applied"}
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at.isoformat().startswith(
        "2026-12-07T09:05"
    )
    # A late failure receipt changes nothing; a receipt that is not ours is acknowledged and ignored.
    _post(client, _receipt(message, "permanent-failure"))
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    stranger = {**_receipt(message, "delivered"), "id": "0000", "reference": "someone-else"}
    assert _post(client, stranger).json() == {"result": "not ours"}

    settings.NOTIFY_CALLBACK_TOKEN = ""  # none configured: nobody gets in
    assert _post(client, _receipt(message, "delivered")).status_code == 401


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("permanent-failure", "does not exist"),
        ("temporary-failure", "72 hours"),
        ("technical-failure", "technical failure"),
    ],
)
def test_a_failure_receipt_fails_the_message_with_a_clear_reason_and_alerts_the_sender(
    client, users, team, notify, status, words
):
    message = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    assert _post(client, _receipt(message, status)).status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and words in message.failure_reason
    assert message.provider_status == status
    assert failed_alerts(users["mash"]).get().message == message


def test_polling_asks_notify_about_sent_messages_not_yet_final(users, team, notify, time_machine):
    time_machine.move_to(NOW + 2 * H, tick=False)
    delivered = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    bounced = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    waiting = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    notify.set_status(delivered.provider_id, "delivered")
    notify.set_status(bounced.provider_id, "permanent-failure")
    notify.set_status(waiting.provider_id, "sending", completed_at=None)
    assert poll_notify.apply().get() == 3
    for m in (delivered, bounced, waiting):
        m.refresh_from_db()
    assert delivered.status == Message.Status.DELIVERED
    assert bounced.status == Message.Status.FAILED and "permanent failure" in bounced.failure_reason
    assert waiting.status == Message.Status.SENT and waiting.provider_status == "sending"
    # Asked again only after POLL_EVERY; the final ones never again.
    assert letters.messages_poll(now=NOW + 2 * H + timedelta(minutes=1)) == 0
    assert letters.messages_poll(now=NOW + 3 * H) == 1
    assert failed_alerts(users["mash"]).count() == 1


def test_the_failure_alert_is_e_mailed_to_the_sender_without_naming_the_family(users, team, notify, settings):
    from django.core import mail

    from deadlines.alerts import alerts_deliver

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users["mash"].email = "mash@council.example"
    users["mash"].save()
    contact = new_contact(users, team)
    notify.fail_next(400, "Can't send to this recipient using a team-only API key", "BadRequestError")
    message = letters.deliver(send_acknowledgement(contact, users).pk, now=NOW + H)
    assert message.status == Message.Status.FAILED
    assert alerts_deliver(now=NOW + H) == 1
    (sent,) = mail.outbox
    assert sent.to == ["mash@council.example"] and f"C{contact.pk:07d}" in sent.subject
    assert contact.family.name not in sent.subject + sent.body and "could not be delivered" in sent.body

    # Sent again and failing again: the same alert is unread and e-mailed again.
    alert = failed_alerts(users["mash"]).get()
    alert.read_at = NOW + H
    alert.save()
    notify.fail_next(400, "Still refused", "BadRequestError")
    letters.message_retry(message=message, by=users["mash"], now=NOW + 2 * H)
    letters.deliver(message.pk, now=NOW + 2 * H)
    alert = failed_alerts(users["mash"]).get()
    assert alert.read_at is None and alert.created_at == NOW + 2 * H
    assert alerts_deliver(now=NOW + 2 * H) == 1
