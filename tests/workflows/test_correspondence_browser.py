"""Correspondence in a browser: the acknowledgement e-mail reaches a real SMTP server once and
stops B2; the closure letter is a PDF holding the family's name and never a confidential address."""

from __future__ import annotations

import io

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from cases.models import Contact, Message
from deadlines.models import Deadline
from tests.browser.test_front_door_journey import fill_date
from tests.factories import family_with_children
from tests.workflows.helpers import S, make_episode
from tests.workflows.test_correspondence import Mailbox, free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp_server(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
    yield mailbox
    controller.stop()


def test_mash_sends_the_acknowledgement_and_a_coach_prints_the_closure_letter(
    browser_session, users, team, smtp_server, eager_celery
):
    family, children = family_with_children(1)
    child = children[0]
    page = browser_session.page
    browser_session.sign_in("mash")

    browser_session.go("/contacts/new/")
    page.locator("#id_find-last_name").fill(child.last_name)
    fill_date(
        page, "id_find-date_of_birth", child.date_of_birth.day, child.date_of_birth.month, child.date_of_birth.year
    )
    browser_session.submit("Find possible matches")
    page.get_by_role("link", name=f"Record contact for this family ({family.name})").first.click()
    page.wait_for_load_state()
    page.get_by_label(str(child), exact=False).first.check()
    page.locator("#id_route").select_option("email")
    page.locator("#id_source").select_option("2A")
    page.locator("#id_referrer_name").fill("Ms Amberly")
    page.locator("#id_referrer_agency").fill("Exampleton Primary School")
    page.locator("#id_referrer_email").fill("amberly@school.example")
    page.locator("#id_presenting_needs").fill("Attendance has fallen this term.")
    browser_session.submit("Record contact")
    contact = Contact.objects.get(family=family)
    assert Deadline.objects.get(contact=contact, rule_id="B2").stopped_at is None

    page.get_by_role("link", name="Write a letter or e-mail", exact=False).click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Acknowledgement to referrer").click()
    page.wait_for_load_state()
    assert page.locator("#id_recipient_email").input_value() == "amberly@school.example"
    assert contact.reference in page.locator("#id_subject").input_value()
    browser_session.submit("Preview")
    preview = page.locator("main").inner_text()
    assert "Dear Ms Amberly" in preview and family.name in preview
    browser_session.submit("Send")

    assert len(smtp_server.received) == 1
    sent = smtp_server.received[0]
    assert sent["To"] == "amberly@school.example" and contact.reference in sent["Subject"]
    text = sent.get_body(("plain",)).get_content()
    assert "Dear Ms Amberly" in text and family.name in text and contact.reference in text
    assert Deadline.objects.get(contact=contact, rule_id="B2").stopped_at is not None
    assert "Sent" in page.locator("main").inner_text()

    # The closure letter, printed: the family's name and address, as a PDF.
    episode, _ = make_episode(users, team, state=S.CLOSED)
    browser_session.submit("Sign out")
    browser_session.sign_in("coach")
    browser_session.go(f"/episodes/{episode.pk}/")
    page.get_by_role("link", name="Letters and e-mails", exact=False).click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Closure letter to the family").click()
    page.wait_for_load_state()
    assert page.get_by_label("Post (printed letter)").is_checked()
    browser_session.submit("Preview")
    browser_session.submit("Send")
    message = Message.objects.get(episode=episode)
    assert message.status == Message.Status.SENT
    response = page.request.get(f"{browser_session.base}/letters/{message.pk}/letter.pdf")
    assert response.headers["content-type"] == "application/pdf"
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert episode.family.name in pdf_text and "1 Lantern Row" in pdf_text

    # A family whose address is confidential: nothing is printed, and the page says why.
    hidden, _ = make_episode(users, team, state=S.CLOSED, address_line_1="9 Secret Close", address_confidential=True)
    browser_session.go(f"/episodes/{hidden.pk}/letters/new/?kind=closure_letter")
    browser_session.submit("Preview")
    assert "9 Secret Close" not in page.content()
    browser_session.submit("Send")
    assert "confidential" in page.locator("main").inner_text()
    assert not Message.objects.filter(episode=hidden).exists()


def test_a_letter_to_a_member_living_elsewhere_asks_which_address_and_a_failed_e_mail_alerts_its_sender(
    browser_session, users, team, settings
):
    from cases.models import Membership, Person
    from deadlines.models import Alert

    episode, _ = make_episode(users, team, state=S.CLOSED)
    dana = Person.objects.create(
        first_name="Dana", last_name="Elsewhere", address_line_1="22 Other Street", town="Farton", postcode="ZZ2 2BB"
    )
    Membership.objects.create(family=episode.family, person=dana, relationship="parent")
    page = browser_session.sign_in("coach")
    browser_session.go(f"/episodes/{episode.pk}/letters/new/?kind=closure_letter")
    page.get_by_label("Who it is to").select_option(label="Dana Elsewhere")
    page.get_by_label("To", exact=True).fill("Dana Elsewhere")
    browser_session.submit("Preview")
    assert "Choose which address the letter should go to" in page.locator(".govuk-error-summary").inner_text()
    page.get_by_label("Their own address: 22 Other Street, Farton, ZZ2 2BB").check()
    browser_session.submit("Preview")
    assert "22 Other Street" in page.locator("main").inner_text()
    browser_session.submit("Send")
    message = Message.objects.get(episode=episode)
    assert message.status == Message.Status.SENT and message.address.startswith("22 Other Street")

    # An e-mail the mail server cannot take: the message fails, and its sender is alerted and retries.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    from workflows import correspondence_services as letters

    failed = letters.message_send(
        kind="allocation_letter",
        channel="email",
        recipient_name="Dana Elsewhere",
        recipient_email="dana@example.org",
        subject="Your worker",
        body="Your worker is Sam.",
        by=users["coach"],
        now=message.created_at,
        episode=episode,
    )
    letters.deliver(failed.pk, now=message.created_at)
    assert Alert.objects.filter(recipient=users["coach"], message=failed).exists()
    browser_session.go("/deadlines/alerts/")
    page.get_by_role("link", name="A letter or e-mail you sent could not be delivered").first.click()
    page.wait_for_load_state()
    assert "could not be reached" in page.locator("main").inner_text()
