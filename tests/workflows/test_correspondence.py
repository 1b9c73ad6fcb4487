"""Letters and e-mails the product writes and sends (ADR 0033).

E-mail goes through a real SMTP server (aiosmtpd, on a free local port) started by a fixture, never
the in-memory backend; the clocks are the real ones of rulebook B (Family Solutions).
"""

from __future__ import annotations

import email
import io
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from pypdf import PdfReader

from cases.models import AccessLog, Communication, CorrespondenceTemplate, Message
from deadlines.models import Deadline
from tests.factories import NOW, ContactJourneyFactory
from tests.workflows.helpers import S, make_episode
from workflows import correspondence_services as letters
from workflows.correspondence_pdf import letter_pdf
from workflows.errors import WorkflowError
from workflows.tasks import send_message

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
HOSTILE = '<script>alert("x")</script> & {reference} <b>bold</b>'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the local SMTP server received, one parsed e-mail per delivery."""

    def __init__(self) -> None:
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free local port, and the settings that send to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_TIMEOUT = 5
    yield mailbox
    controller.stop()


@pytest.fixture
def unreachable_smtp(settings):
    """SMTP settings pointing at a port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2


@pytest.fixture
def family_solutions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"


def b2(contact) -> Deadline:
    return Deadline.objects.filter(rule_id="B2", contact=contact).order_by("-cycle", "-id").first()


def new_contact(users, team, **kwargs):
    contact = ContactJourneyFactory(users=users, team=team, **kwargs)
    contact.referrer_email = "teacher@school.example"
    contact.save(update_fields=["referrer_email"])
    return contact


def send_acknowledgement(contact, users, *, body=None, now=NOW + H):
    draft = letters.compose(kind="acknowledgement", by=users["mash"], now=now, contact=contact)
    return letters.message_send(
        kind="acknowledgement",
        channel=draft["channel"],
        recipient_name=draft["recipient_name"],
        recipient_email=draft["recipient_email"],
        subject=draft["subject"],
        body=draft["body"] if body is None else body,
        by=users["mash"],
        now=now,
        contact=contact,
    )


# --- Templates -------------------------------------------------------------------------------------


def test_every_kind_is_shipped_with_wording_that_uses_only_merge_fields():
    templates = list(letters.templates_all())
    assert {t.kind for t in templates} == set(CorrespondenceTemplate.Kind.values)
    for template in templates:
        assert letters.unknown_fields(template.subject + template.body) == []
        assert "{" in template.body  # a real letter fills something in


def test_render_replaces_known_fields_once_and_never_evaluates_anything():
    values = {"family_name": "{reference} {{ secret }}", "reference": "C0000001"}
    text = "Dear {family_name}, ref {reference}, {unknown} {{ settings.SECRET_KEY }} {% load x %}"
    assert letters.render(text, values) == (
        "Dear {reference} {{ secret }}, ref C0000001, {unknown} {{ settings.SECRET_KEY }} {% load x %}"
    )


def test_a_manager_edits_a_template_and_every_version_is_kept_with_who_changed_it(users):
    template = letters.template_for("acknowledgement")
    letters.template_save(
        template=template, subject="Thanks: {reference}", body="Hello {referrer_name}", by=users["manager"], now=NOW
    )
    letters.template_save(
        template=template, subject="Received {reference}", body="Hi {referrer_name}", by=users["admin"], now=NOW + H
    )
    versions = list(template.history.order_by("history_date"))
    assert [v.subject for v in versions] == [versions[0].subject, "Thanks: {reference}", "Received {reference}"]
    assert [v.history_user for v in versions[1:]] == [users["manager"], users["admin"]]
    with pytest.raises(WorkflowError, match="Only an administrator or a manager"):
        letters.template_save(template=template, subject="x", body="y", by=users["coach"], now=NOW)
    with pytest.raises(WorkflowError, match=r"\{famly_name\}"):
        letters.template_save(template=template, subject="x", body="Dear {famly_name}", by=users["admin"], now=NOW)


def test_the_template_page_previews_on_a_real_record_and_saves(client, users, team, family_solutions):
    contact = new_contact(users, team)
    client.force_login(users["manager"])
    url = reverse("episodes:letter_template_edit", args=["acknowledgement"])
    assert client.get(url).status_code == 200
    body = "Dear {referrer_name}, about the {family_name} family: " + HOSTILE
    response = client.post(
        url, {"subject": "Ref {reference}", "body": body, "preview_reference": contact.reference, "action": "preview"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Ref {contact.reference}" in page
    assert f"Dear Ms Teacher, about the {contact.family.name} family" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert AccessLog.objects.filter(user=users["manager"], what__contains=contact.reference).exists()
    assert letters.template_for("acknowledgement").body != body  # a preview saves nothing

    typo = client.post(url, {"subject": "Ref {refrence}", "body": body, "action": "save"})
    assert typo.status_code == 400 and "Not a merge field: {refrence}" in typo.content.decode()
    assert "Ref {refrence}" in typo.content.decode()  # re-rendered with what was typed

    saved = client.post(url, {"subject": "Ref {reference}", "body": body, "action": "save"})
    assert saved.status_code == 302
    assert letters.template_for("acknowledgement").body == body


def test_template_pages_are_for_administrators_and_managers_only(client, users):
    url = reverse("episodes:letter_templates")
    for role, status in [("admin", 200), ("manager", 200), ("coach", 403), ("mash", 403), ("teamlead", 403)]:
        client.force_login(users[role])
        assert client.get(url).status_code == status, role
        home = client.get(reverse("home")).content.decode()
        assert (f'href="{url}"' in home) == (status == 200), role  # in the navigation of those who may


# --- E-mail through a real SMTP server, once ------------------------------------------------------


def test_acknowledgement_e_mail_is_sent_once_with_its_merge_fields_and_stops_b2(
    users, team, smtp, family_solutions, django_capture_on_commit_callbacks, eager_celery
):
    contact = new_contact(users, team)
    assert b2(contact).stopped_at is None
    with django_capture_on_commit_callbacks(execute=True):
        message = send_acknowledgement(contact, users)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at is not None  # when the worker sent it
    assert len(smtp.received) == 1
    received = smtp.received[0]
    assert received["To"] == "teacher@school.example"
    assert received["Message-ID"] == f"<{message.key}@earlyhelp>"
    text = received.get_body(("plain",)).get_content()
    assert "Dear Ms Teacher" in text and contact.reference in text and contact.family.name in text
    # B2 stopped when the product sent it, through the communication it recorded.
    assert b2(contact).stopped_at == message.sent_at
    assert message.communication.kind == Communication.Kind.ACKNOWLEDGEMENT

    # The task delivered again (a redelivery, a double click) sends nothing more.
    send_message.apply(args=[message.pk])
    letters.deliver(message.pk, now=NOW + 2 * H)
    assert len(smtp.received) == 1
    assert Communication.objects.filter(contact=contact).count() == 1


def test_hostile_text_is_escaped_in_the_e_mail_html(users, team, smtp, django_capture_on_commit_callbacks):
    contact = new_contact(users, team)
    with django_capture_on_commit_callbacks(execute=True):
        message = send_acknowledgement(contact, users, body="Hello\n" + HOSTILE)
    letters.deliver(message.pk, now=NOW + H)
    html = smtp.received[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; {reference} &lt;b&gt;bold&lt;/b&gt;" in html


def test_an_unreachable_server_fails_the_message_with_a_reason_and_the_clock_runs_then_a_retry_sends_once(
    users, team, settings, family_solutions
):
    contact = new_contact(users, team)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    message = send_acknowledgement(contact, users)
    message = letters.deliver(message.pk, now=NOW + H)
    assert message.status == Message.Status.FAILED
    assert message.failed_at == NOW + H and message.attempts == 1
    assert "could not be reached" in message.failure_reason and str(settings.EMAIL_PORT) in message.failure_reason
    assert b2(contact).stopped_at is None
    assert not Communication.objects.filter(contact=contact).exists()

    # The server is back: the retry sends once, however often the task runs.
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=settings.EMAIL_PORT)
    controller.start()
    try:
        letters.message_retry(message=message, by=users["mash"], now=NOW + 2 * H)
        for _ in range(3):
            letters.deliver(message.pk, now=NOW + 2 * H)
    finally:
        controller.stop()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2 and message.failure_reason == ""
    assert len(mailbox.received) == 1
    assert b2(contact).stopped_at == NOW + 2 * H
    with pytest.raises(WorkflowError, match="Only a message that failed"):
        letters.message_retry(message=message, by=users["mash"], now=NOW + 3 * H)


def test_a_refused_recipient_fails_with_the_server_s_reason(users, team, settings):
    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 No such mailbox here"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        message = letters.deliver(send_acknowledgement(new_contact(users, team), users).pk, now=NOW + H)
    finally:
        controller.stop()
    assert message.status == Message.Status.FAILED
    assert "refused the address: teacher@school.example" in message.failure_reason


# --- From the pages ---------------------------------------------------------------------------------


def test_mash_composes_previews_edits_and_sends_the_acknowledgement_from_the_contact_page(
    client, users, team, smtp, family_solutions, django_capture_on_commit_callbacks, eager_celery
):
    contact = new_contact(users, team)
    client.force_login(users["mash"])
    page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
    url = reverse("cases:contact_letter", args=[contact.pk])
    assert url in page
    compose = client.get(url + "?kind=acknowledgement")
    assert compose.status_code == 200
    form = compose.context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(kind="acknowledgement", body=data["body"] + "\nWe will call you on Tuesday.")
    preview = client.post(url, {**data, "action": "preview"})
    assert preview.status_code == 200 and "Check it before you send it" in preview.content.decode()
    assert Message.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {**data, "action": "send"})
    assert sent.status_code == 302
    message = Message.objects.get()
    assert message.status == Message.Status.SENT and message.body.endswith("We will call you on Tuesday.")
    assert len(smtp.received) == 1
    assert "We will call you on Tuesday." in smtp.received[0].get_body(("plain",)).get_content()
    assert b2(contact).stopped_at is not None
    detail = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
    assert "Acknowledgement to referrer" in detail and "Sent" in detail
    family = client.get(reverse("cases:family_detail", args=[contact.family.pk])).content.decode()
    assert "Acknowledgement to referrer" in family  # on the family's chronology


def test_a_bad_send_re_renders_with_what_was_typed(client, users, team):
    contact = new_contact(users, team)
    client.force_login(users["mash"])
    url = reverse("cases:contact_letter", args=[contact.pk])
    data = {
        "kind": "acknowledgement",
        "channel": "email",
        "recipient_name": "Ms Teacher",
        "recipient_email": "",
        "subject": "Typed subject",
        "body": "Typed body",
        "action": "send",
    }
    response = client.post(url, data)
    assert response.status_code == 400 and "Typed body" in response.content.decode()
    post = client.post(url, {**data, "channel": "post"})  # no postal address for a referrer
    assert post.status_code == 409 and "Typed body" in post.content.decode()
    assert Message.objects.count() == 0


def test_only_the_front_door_sends_from_a_contact_and_the_episode_s_workers_from_an_episode(client, users, team):
    contact = new_contact(users, team)
    episode, _ = make_episode(users, team, state=S.ALLOCATED)
    contact.family.team = team  # the team works with the family, so its people see the contact
    contact.family.save()
    for role, status in [("mash", 200), ("mashlead", 200), ("coach", 403), ("manager", 403), ("outsider", 404)]:
        client.force_login(users[role])
        assert client.get(reverse("cases:contact_letter", args=[contact.pk])).status_code == status, role
    for role, status in [("coach", 200), ("teamlead", 200), ("manager", 200), ("duty", 403), ("outsider", 404)]:
        client.force_login(users[role])
        assert client.get(reverse("episodes:episode_letter", args=[episode.pk])).status_code == status, role


# --- Letters for the post ---------------------------------------------------------------------------


def _closure_letter(users, episode, body=None):
    draft = letters.compose(kind="closure_letter", by=users["coach"], now=NOW + 30 * H, episode=episode)
    assert draft["channel"] == Message.Channel.POST
    return letters.message_send(
        kind="closure_letter",
        channel="post",
        recipient_name=draft["recipient_name"],
        recipient_email="",
        subject=draft["subject"],
        body=draft["body"] if body is None else body,
        by=users["coach"],
        now=NOW + 30 * H,
        episode=episode,
    )


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_closure_letter_is_a_pdf_with_the_family_s_name_and_address(client, users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED)
    message = _closure_letter(users, episode)
    assert message.status == Message.Status.SENT
    assert message.communication.kind == Communication.Kind.CLOSURE_LETTER
    assert message.communication.method == Communication.Method.LETTER
    client.force_login(users["coach"])
    response = client.get(reverse("episodes:message_pdf", args=[message.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert episode.family.name in text and "1 Lantern Row" in text and "ZZ1 1AB" in text
    # Body text wraps where the family's name pushes it (names differ with test order): read it as one line.
    assert "Early Help support for the" in " ".join(text.split())
    assert AccessLog.objects.filter(user=users["coach"], action=AccessLog.Action.EXPORT).exists()
    episode_page = client.get(reverse("episodes:episode_detail", args=[episode.pk])).content.decode()
    letters_url = reverse("episodes:episode_letter", args=[episode.pk])
    assert letters_url in episode_page
    written = client.get(letters_url).content.decode()
    assert reverse("episodes:message_detail", args=[message.pk]) in written and "Sent" in written


def test_a_confidential_address_is_never_printed_nor_posted_to(users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED)
    family = episode.family
    family.address_confidential = True
    family.save()
    with pytest.raises(WorkflowError, match="confidential"):
        _closure_letter(users, episode)
    # No template, filled in for any kind, holds the address either (the partner notice needs consent).
    family.agencies.create(agency="School", email="head@school.example")
    family.consents.create(purpose="share", status="given", agency="School", recorded_on=NOW.date())
    for kind in letters.EPISODE_KINDS:
        draft = letters.compose(kind=kind, by=users["coach"], now=NOW, episode=episode)
        assert "Lantern Row" not in draft["body"] + draft["subject"]
        assert "ZZ1" not in draft["body"] + draft["subject"]
    contact = new_contact(users, team, family=family)
    for kind in letters.CONTACT_KINDS:
        draft = letters.compose(kind=kind, by=users["mash"], now=NOW, contact=contact)
        assert "Lantern Row" not in draft["body"] + draft["subject"]


def test_hostile_text_prints_as_text_in_the_pdf(users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED, name="The O'Brien–Ndiaye household <b>")
    message = _closure_letter(users, episode, body="Dear family,\n" + HOSTILE)
    text = _pdf_text(letter_pdf(message))
    assert '<script>alert("x")</script>' in text and "O'Brien" in text


# --- Development: the local SMTP server of `make run` ------------------------------------------------


def test_the_development_mail_page_lists_what_the_local_smtp_server_stored(client, users, team, settings, tmp_path):
    from aiosmtpd.handlers import Mailbox as MaildirHandler

    settings.BASE_DIR = tmp_path
    (tmp_path / ".data").mkdir()
    controller = Controller(MaildirHandler(letters.local_mail_dir()), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        contact = new_contact(users, team)
        letters.deliver(send_acknowledgement(contact, users).pk, now=NOW + H)
    finally:
        controller.stop()
    client.force_login(users["mash"])
    url = reverse("episodes:dev_mail")
    assert client.get(url).status_code == 404  # never without DEBUG
    settings.DEBUG = True
    page = client.get(url).content.decode()
    assert f"We have received your request for support: {contact.reference}" in page
    assert "teacher@school.example" in page and "Dear Ms Teacher" in page


def test_an_e_mail_whose_task_was_lost_is_queued_again_and_sent_once(users, team, smtp, eager_celery):
    contact = new_contact(users, team)
    message = send_acknowledgement(contact, users)  # queued on commit, which never comes in this test
    assert letters.messages_requeue(now=NOW + H + timedelta(minutes=10)) == 0  # not stuck yet
    assert letters.messages_requeue(now=NOW + 2 * H) == 1
    assert letters.messages_requeue(now=NOW + 2 * H) == 0  # sent now: nothing left to queue
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(smtp.received) == 1


def test_the_chooser_refuses_a_post_without_a_kind_and_a_retry_of_a_sent_message_is_refused(client, users, team):
    contact = new_contact(users, team)
    client.force_login(users["mash"])
    url = reverse("cases:contact_letter", args=[contact.pk])
    before = AccessLog.objects.count()
    chooser = client.post(url, {"kind": "closure_letter", "body": "Typed"})  # a kind sent from an episode only
    assert chooser.status_code == 400 and "Choose what to send" in chooser.content.decode()
    assert AccessLog.objects.count() == before  # a POST is not a page view

    message = send_acknowledgement(contact, users)  # still being sent: nothing failed to retry
    retry = reverse("episodes:message_retry", args=[message.pk])
    assert client.get(retry).status_code == 405
    refused = client.post(retry)
    assert refused.status_code == 409 and "Only a message that failed" in refused.content.decode()
    client.force_login(users["coach"])
    assert client.post(retry).status_code in (403, 404)
