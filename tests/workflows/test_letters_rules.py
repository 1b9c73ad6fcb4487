"""The rules every letter and e-mail keeps (ADR 0039): consent before a partner is written to, which address
for a family member, no confidential address in any output, hostile text only ever text, every message in
the subject access export and on the family's chronology with its text as sent."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from pypdf import PdfReader

from cases import selectors
from cases.models import Consent, Membership, Message, Person
from oversight.data_protection import subject_access_bundle
from tests.factories import NOW, ContactJourneyFactory
from tests.workflows.helpers import S, make_episode
from workflows import correspondence_services as letters
from workflows import services
from workflows.correspondence_pdf import letter_pdf
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
D = timedelta(days=1)
HOSTILE = '<script>alert("x")</script> & {reference} <b>bold</b> \u202e'
SECRET_LINES = ("9 Hidden Close", "Secretville", "ZZ9 9ZZ")


def send(users, episode, kind, *, channel, now, by="coach", **fields):
    draft = letters.compose(kind=kind, by=users[by], now=now, episode=episode, person=fields.get("person"))
    values = {k: draft[k] for k in ("recipient_name", "recipient_email", "subject", "body")}
    values.update({k: v for k, v in fields.items() if k in values})
    return letters.message_send(
        kind=kind,
        channel=channel,
        **values,
        by=users[by],
        now=now,
        episode=episode,
        person=fields.get("person"),
        address_choice=fields.get("address_choice", ""),
    )


def _pdf_text(message) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(letter_pdf(message))).pages).split())


# --- Consent: a partner agency is written to only while the family consents to share with it ----------


def test_a_partner_notice_needs_consent_to_share_and_a_withdrawal_blocks_a_later_send(client, users, team, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    episode, _ = make_episode(users, team, state=S.CLOSED)
    family = episode.family
    family.agencies.create(agency="Northfield Primary", contact_name="Ms Head", email="head@northfield.example")
    now = NOW + 30 * H
    with pytest.raises(WorkflowError, match="not given consent to share with any agency"):
        letters.compose(kind="partner_notice", by=users["coach"], now=now, episode=episode)
    # The page says why, and sends nothing.
    client.force_login(users["coach"])
    url = reverse("episodes:episode_letter", args=[episode.pk]) + "?kind=partner_notice"
    refused = client.get(url, follow=True)
    assert "not given consent to share" in refused.content.decode()

    consent = services.consent_record(
        family=family,
        by=users["coach"],
        now=now,
        purpose=Consent.Purpose.SHARE,
        status=Consent.Status.GIVEN,
        agency="northfield primary",
        recorded_on=now.date(),
    )
    draft = letters.compose(kind="partner_notice", by=users["coach"], now=now, episode=episode)
    assert draft["recipient_email"] == "head@northfield.example" and draft["recipient_name"] == "Ms Head"
    first = send(users, episode, "partner_notice", channel="email", now=now)
    assert first.status == Message.Status.SENDING
    # Not to an address outside the team around the family, consent or not.
    with pytest.raises(WorkflowError, match="team around the family"):
        send(users, episode, "partner_notice", channel="email", now=now, recipient_email="someone@else.example")

    services.consent_withdraw(consent=consent, on=(now + D).date(), by=users["coach"], now=now + D)
    with pytest.raises(WorkflowError, match="withdrawn it"):
        send(
            users,
            episode,
            "partner_notice",
            channel="email",
            now=now + 2 * D,
            recipient_email="head@northfield.example",
        )
    # The one queued before the withdrawal is not sent after it: it fails with the reason.
    first = letters.deliver(first.pk, now=now + 2 * D)
    assert first.status == Message.Status.FAILED and "withdrawn" in first.failure_reason
    with pytest.raises(WorkflowError, match="withdrawn"):
        letters.message_retry(message=first, by=users["coach"], now=now + 2 * D)
    assert Message.objects.filter(status=Message.Status.SENT).count() == 0


# --- Which address --------------------------------------------------------------------------------------


def _member(family, **fields) -> Person:
    person = Person.objects.create(first_name="Dana", last_name="Member", **fields)
    Membership.objects.create(family=family, person=person, relationship="parent")
    return person


def test_a_letter_to_a_member_living_elsewhere_asks_which_address(client, users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED)
    family = episode.family
    dana = _member(family, address_line_1="22 Other Street", town="Elsewhere", postcode="ZZ2 2BB")
    now = NOW + 30 * H
    assert letters.address_options(family, dana) == [
        ("member", ["22 Other Street", "Elsewhere", "ZZ2 2BB"]),
        ("family", ["1 Lantern Row", "Exampleton", "ZZ1 1AB"]),
    ]
    with pytest.raises(WorkflowError, match="different address from the family: choose which"):
        send(users, episode, "closure_letter", channel="post", now=now, person=dana)
    theirs = send(users, episode, "closure_letter", channel="post", now=now, person=dana, address_choice="member")
    assert theirs.address == "22 Other Street\nElsewhere\nZZ2 2BB" and theirs.recipient_name == "Dana Member"
    assert "22 Other Street" in _pdf_text(theirs) and "Lantern Row" not in _pdf_text(theirs)
    family_copy = send(users, episode, "closure_letter", channel="post", now=now, person=dana, address_choice="family")
    assert family_copy.address.startswith("1 Lantern Row")

    # The page asks: both addresses are offered, and a post without a choice is refused with the question.
    client.force_login(users["coach"])
    url = reverse("episodes:episode_letter", args=[episode.pk])
    page = client.get(url, {"kind": "closure_letter", "person": dana.pk}).content.decode()
    assert "Which address should the letter go to?" in page
    assert "Their own address: 22 Other Street, Elsewhere, ZZ2 2BB" in page and "1 Lantern Row" in page
    form = {"kind": "closure_letter", "person": dana.pk, "channel": "post", "recipient_name": "Dana Member"}
    form.update(subject="Closed", body="Text", action="preview")
    asked = client.post(url, form)
    assert asked.status_code == 400 and "Choose which address the letter should go to" in asked.content.decode()
    previewed = client.post(url, {**form, "address_choice": "member"})
    assert previewed.status_code == 200 and "22 Other Street" in previewed.content.decode()

    # A member whose own address is confidential: nothing is offered, nothing printed.
    hidden = _member(
        family,
        address_line_1=SECRET_LINES[0],
        town=SECRET_LINES[1],
        postcode=SECRET_LINES[2],
        address_confidential=True,
    )
    assert letters.address_options(family, hidden) == []
    with pytest.raises(WorkflowError, match="confidential"):
        send(users, episode, "closure_letter", channel="post", now=now, person=hidden, address_choice="member")
    page = client.get(url, {"kind": "closure_letter", "person": hidden.pk}).content.decode()
    assert not any(line in page for line in SECRET_LINES)
    # ... and the family's address is no longer printed either (the member may live there).
    assert letters.address_options(family, None) == []
    # The family page says where a member lives when it is not with the family, never a confidential address.
    family_page = client.get(reverse("cases:family_detail", args=[family.pk])).content.decode()
    assert "Lives at 22 Other Street, Elsewhere, ZZ2 2BB" in family_page
    assert not any(line in family_page for line in SECRET_LINES)


def test_a_member_at_the_family_s_address_is_not_asked(users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED)
    same = _member(episode.family)
    assert letters.address_options(episode.family, same) == [("family", ["1 Lantern Row", "Exampleton", "ZZ1 1AB"])]
    message = send(users, episode, "closure_letter", channel="post", now=NOW + 30 * H, person=same)
    assert message.address.startswith("1 Lantern Row") and message.person == same


# --- Hostile text in every merge field; no confidential address in any template's output -------------


def _hostile_records(users, team):
    episode, _ = make_episode(users, team, state=S.CLOSED, name="The Hostile " + HOSTILE)
    contact = ContactJourneyFactory(users=users, team=team, family=episode.family)
    contact.referrer_name = "Referrer " + HOSTILE
    contact.referrer_agency = "Agency " + HOSTILE
    contact.decision_rationale = "Because " + HOSTILE
    contact.referrer_email = "teacher@school.example"
    contact.save()
    users["coach"].first_name = "Coach " + HOSTILE
    users["coach"].save()
    return episode, contact


def test_hostile_text_in_every_merge_field_is_escaped_in_e_mail_html_and_printed_as_text(users, team, settings):
    settings.SERVICE_NAME = "Service " + HOSTILE
    episode, contact = _hostile_records(users, team)
    family = episode.family
    family.agencies.create(agency="School", email="head@school.example", contact_name="Head " + HOSTILE)
    family.consents.create(purpose="share", status="given", agency="School", recorded_on=NOW.date())
    drafts = [letters.compose(kind=k, by=users["coach"], now=NOW, episode=episode) for k in letters.EPISODE_KINDS]
    drafts += [letters.compose(kind=k, by=users["mash"], now=NOW, contact=contact) for k in letters.CONTACT_KINDS]
    for draft in drafts:
        html = letters.email_html(Message(subject=draft["subject"], body=draft["body"]))
        assert "<script>" not in html and "<b>bold</b>" not in html, draft["subject"]
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html, draft["subject"]
        # {reference} inside a merge value is never filled in a second time.
        assert "{reference}" in draft["body"] + draft["subject"], draft["subject"]
    closure = send(users, episode, "closure_letter", channel="post", now=NOW + 30 * H)
    text = _pdf_text(closure)
    assert '<script>alert("x")</script>' in text and "<b>bold</b>" in text


def test_no_shipped_template_ever_outputs_a_confidential_address(users, team):
    episode, contact = _hostile_records(users, team)
    family = episode.family
    family.address_line_1, family.town, family.postcode = SECRET_LINES
    family.address_confidential = True
    family.save()
    _member(family, address_line_1="77 Refuge Road", postcode="ZZ7 7ZZ", address_confidential=True)
    family.agencies.create(agency="School", email="head@school.example")
    family.consents.create(purpose="share", status="given", agency="School", recorded_on=NOW.date())
    secrets = (*SECRET_LINES, "77 Refuge Road", "ZZ7 7ZZ")
    for kind in letters.EPISODE_KINDS:
        draft = letters.compose(kind=kind, by=users["coach"], now=NOW, episode=episode)
        assert not any(s in draft["subject"] + draft["body"] for s in secrets), kind
    for kind in letters.CONTACT_KINDS:
        draft = letters.compose(kind=kind, by=users["mash"], now=NOW, contact=contact)
        assert not any(s in draft["subject"] + draft["body"] for s in secrets), kind
    # Even a template that tries: there is no merge field for an address.
    with pytest.raises(WorkflowError, match="not merge fields"):
        letters.template_save(
            template=letters.template_for("closure_letter"),
            subject="x",
            body="{address_line_1} {postcode}",
            by=users["admin"],
            now=NOW,
        )
    assert selectors.address_for_letter(family) is None


# --- Subject access export and chronology -----------------------------------------------------------


def test_every_message_is_in_the_subject_access_export_and_on_the_chronology_with_its_text(client, users, team):
    episode, children = make_episode(users, team, state=S.CLOSED)
    sent = send(users, episode, "closure_letter", channel="post", now=NOW + 30 * H, body="Sent text: goodbye for now.")
    failed = Message.objects.create(
        family=episode.family,
        episode=episode,
        kind="allocation_letter",
        channel="email",
        recipient_name="Parent",
        recipient_email="parent@example.org",
        subject="Your worker",
        body="Failed text: your worker is Sam.",
        status=Message.Status.FAILED,
        failure_reason="The mail server refused the address",
        created_at=NOW + 31 * H,
        created_by=users["coach"],
    )
    bundle = subject_access_bundle(children[0])
    rows = [row for section in bundle if section["title"].endswith(": messages") for row in section["rows"]]
    assert {row["body"] for row in rows} == {sent.body, failed.body}

    chronology = selectors.chronology(episode.family)
    texts = [entry["text"] for entry in chronology]
    assert any(sent.body in text for text in texts)
    assert any(failed.body in text and "Why it failed: The mail server refused" in text for text in texts)
    kinds = {entry["kind"] for entry in chronology}
    assert "Allocation letter to the family (failed)" in kinds


def test_with_dejavu_installed_a_name_in_any_script_prints_as_written(users, team):
    """The Dockerfile and CI install fonts-dejavu-core; without it Helvetica would print '?'."""
    from workflows.correspondence_pdf import DEFAULT_FONT

    if not DEFAULT_FONT.is_file():
        pytest.skip("fonts-dejavu-core is not installed here")
    episode, _ = make_episode(users, team, state=S.CLOSED, name="The Łukasiewicz-Σωκράτης household")
    message = send(users, episode, "closure_letter", channel="post", now=NOW + 30 * H)
    assert "Łukasiewicz-Σωκράτης" in _pdf_text(message)
