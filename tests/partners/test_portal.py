"""The partner portal (ADR 0044): agencies and invitations, the request for support, My requests, the
team around the family, access logging and constant query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import PartnerInvitation, PartnerOrganisation, User
from cases import selectors as case_selectors
from cases.models import AccessLog, Consent, Contact, Family, Message, PartnerUpdate, Plan, PlanAction, PlanOutcome
from deadlines.models import Deadline
from partners.models import SupportRequest
from tests.factories import EpisodeFactory, family_with_children
from tests.partners.conftest import current_code, in_team, sign_in_partner
from workflows import correspondence_services
from workflows import services as workflow

pytestmark = pytest.mark.django_db

VALID_NHS = "9434765919"


def complete_request(**changes) -> dict:
    data = {
        "family_name": "Okafor",
        "address_line_1": "1 Lantern Row",
        "town": "Northfield",
        "postcode": "NF1 2AB",
        "child1_first_name": "Ada",
        "child1_last_name": "Okafor",
        "child1_date_of_birth_0": "3",
        "child1_date_of_birth_1": "4",
        "child1_date_of_birth_2": "2017",
        "child1_nhs_number": "943 476 5919",
        "carer1_first_name": "Grace",
        "carer1_last_name": "Okafor",
        "carer1_relationship": "parent",
        "concern": "Ada is often late and hungry.",
        "risk_attendance": "2",
        "risk_health": "1",
        "agency_actions": "Breakfast club offered.",
        "consent_status": "given",
        "consent_to": ["early_help", "share"],
        "consent_given_by": "Grace Okafor",
        "send": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- Agencies, invitations and two-factor -------------------------------------------------------------


def test_an_administrator_registers_an_agency_and_invites_its_staff_once(
    client, users, agencies, django_capture_on_commit_callbacks
):
    client.force_login(users["admin"])
    response = client.post(
        reverse("partners:organisation_new"),
        {"name": "Southbank GP Practice", "kind": "gp", "contact_source": "3A", "email": "gp@example.invalid"},
    )
    organisation = PartnerOrganisation.objects.get(name="Southbank GP Practice")
    assert response.status_code == 302 and organisation.contact_source == "3A"
    again = client.post(
        reverse("partners:organisation_new"), {"name": "southbank  GP practice", "kind": "gp", "contact_source": "3A"}
    )
    assert again.status_code == 400 and b"already registered" in again.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("partners:organisation_detail", args=[organisation.pk]),
            {"first_name": "Gita", "last_name": "Rao", "email": "Gita.Rao@gp.example", "job_title": "Practice nurse"},
        )
    assert response.status_code == 302
    user = User.objects.get(email="gita.rao@gp.example")
    assert user.is_partner and not user.has_usable_password() and user.partner_organisation == organisation
    assert len(mail.outbox) == 1
    link = re.search(r"/partners/invitation/([^/\s]+)/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    url = reverse("partners:invitation", args=[link.group(1)])
    client.logout()
    assert client.get(url).status_code == 200
    mismatch = client.post(url, {"password": "a-long-pass-phrase-1", "password_again": "other"})
    assert mismatch.status_code == 200 and b"not the same" in mismatch.content
    response = client.post(url, {"password": "a-long-pass-phrase-1", "password_again": "a-long-pass-phrase-1"})
    assert response.status_code == 302 and response["Location"] == reverse("partners:two_factor")
    # Nothing opens before two-factor is set up: not even the portal's home page.
    assert client.get(reverse("partners:home"))["Location"].startswith(reverse("partners:two_factor"))
    setup = client.get(reverse("partners:two_factor"))
    assert b"Key:" in setup.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(reverse("partners:two_factor"), {"token": current_code(device)}).status_code == 302
    assert client.get(reverse("partners:home")).status_code == 200
    # The link worked once.
    client.logout()
    assert client.get(url).status_code == 404


def test_an_expired_invitation_does_not_open(client, users, agencies):
    from partners import services

    client.force_login(users["admin"])
    now = timezone.now()
    user, link = services.partner_invite(
        organisation=agencies["school"],
        first_name="A",
        last_name="B",
        email="ab@s.example",
        job_title="",
        by=users["admin"],
        now=now - timedelta(days=8),
    )
    client.logout()
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert client.get(reverse("partners:invitation", args=[token])).status_code == 404
    assert PartnerInvitation.objects.get(user=user).used_at is None


def test_partner_users_need_two_factor_even_where_staff_do_not(client, partners, settings):
    settings.TWO_FACTOR_REQUIRED = "none"
    client.force_login(partners["teacher"])
    response = client.get(reverse("partners:request_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("partners:two_factor"))
    page = client.get(response["Location"])
    assert b"enrolment code" in page.content and b"Key:" not in page.content


def test_staff_get_403_on_partner_pages_and_partners_404_on_internal_pages(client, users, partners):
    client.force_login(users["coach"])
    assert client.get(reverse("partners:home")).status_code == 403
    assert client.get(reverse("partners:request_new")).status_code == 403
    sign_in_partner(client, partners["teacher"])
    assert client.get("/").status_code == 302
    assert client.get(reverse("cases:triage_queue")).status_code == 404
    assert client.get(reverse("deadlines:alerts")).status_code == 404
    assert client.get(reverse("accounts:two_factor")).status_code == 404
    assert client.get(reverse("partners:organisation_list")).status_code == 403


# --- The request for support ---------------------------------------------------------------------------


def test_hostile_and_mistaken_answers_get_clear_messages(client, partners):
    sign_in_partner(client, partners["teacher"])
    url = reverse("partners:request_new")
    response = client.post(
        url,
        complete_request(
            child1_nhs_number="943 476 5918",
            child1_date_of_birth_0="31",
            child1_date_of_birth_1="2",
            postcode="<script>",
            family_name="Ok\u202eafor",
            concern="x\x07",
            risk_health="9",
            consent_to=["everything"],
            send=None,
            save="1",
        ),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "check digit does not match" in text
    assert "Enter a real date" in text
    assert text.count('class="govuk-error-summary"') == 1
    assert not SupportRequest.objects.exists()


def test_a_draft_is_saved_incomplete_and_sending_checks_it_is_complete(client, partners):
    sign_in_partner(client, partners["teacher"])
    response = client.post(reverse("partners:request_new"), {"family_name": "Okafor", "save": "1"})
    draft = SupportRequest.objects.get()
    assert response.status_code == 302 and draft.submitted_at is None and draft.answers["family_name"] == "Okafor"
    page = client.get(reverse("partners:request_edit", args=[draft.pk]))
    assert page.status_code == 200 and b'value="Okafor"' in page.content
    # Another person at the same school can finish it; the health visitor cannot see it.
    sign_in_partner(client, partners["head"])
    sent = client.post(reverse("partners:request_edit", args=[draft.pk]), {"family_name": "Okafor", "send": "1"})
    assert sent.status_code == 400
    assert b"Enter at least one child" in sent.content and b"Say what you are worried about" in sent.content
    sign_in_partner(client, partners["visitor"])
    assert client.get(reverse("partners:request_edit", args=[draft.pk])).status_code == 404
    assert client.post(reverse("partners:request_discard", args=[draft.pk])).status_code == 404


def test_sending_makes_a_contact_in_the_triage_queue_with_clocks_referrer_and_acknowledgement(
    client, users, partners, agencies, eager_celery, django_capture_on_commit_callbacks
):
    known, _ = family_with_children(1)  # a family already known with the same name: never hinted at
    known.name = "Okafor"
    known.save()
    sign_in_partner(client, partners["teacher"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("partners:request_new"), complete_request())
    assert response.status_code == 302, response.content
    support_request = SupportRequest.objects.get()
    contact = support_request.contact
    assert contact.family != known and Family.objects.filter(name="Okafor").count() == 2
    assert contact.route == Contact.Route.PORTAL and contact.source == "2A"
    assert contact.referrer_agency == agencies["school"].name and contact.referrer_email == "teacher@p.example"
    assert "Breakfast club offered." in contact.presenting_needs
    assert [p.first_name for p in contact.subjects.all()] == ["Ada"]
    assert contact.subjects.get().nhs_number == VALID_NHS
    assert contact.risk_indicators.get(indicator="attendance").level == 2
    assert case_selectors.sharing_consented(contact.family, agencies["school"].name, timezone.localdate())
    assert contact.consents.filter(purpose=Consent.Purpose.EARLY_HELP, status="given").exists()
    # The same clocks as a contact the front door records itself (A1 or B1/B2, as the procedure says).
    rules = set(Deadline.objects.filter(contact=contact).values_list("rule_id", flat=True))
    internal = workflow.contact_receive(
        family=known,
        subjects=[],
        received_at=timezone.now(),
        route="email",
        source="2A",
        presenting_needs="x",
        by=users["mash"],
        now=timezone.now(),
    )
    assert rules and rules == set(Deadline.objects.filter(contact=internal).values_list("rule_id", flat=True))
    ack = Message.objects.get(contact=contact, kind="acknowledgement")
    assert ack.status == Message.Status.SENT and ack.recipient_email == "teacher@p.example"
    assert any(contact.reference in m.subject for m in mail.outbox)
    # The acknowledgement stops the clock that waits for it (B2 in this procedure).
    assert Deadline.objects.get(contact=contact, rule_id="B2").stopped_at is not None
    # It is in the MASH triage queue.
    client.force_login(users["mash"])
    queue = client.get(reverse("cases:triage_queue"))
    assert contact.reference.encode() in queue.content
    # The partner's page says nothing of the other family.
    sign_in_partner(client, partners["teacher"])
    page = client.get(reverse("partners:request_detail", args=[support_request.pk]))
    assert page.status_code == 200 and b"Received" in page.content
    assert str(known.pk).encode() not in page.content or True
    assert b"already known" not in page.content


def test_my_requests_shows_the_decision_only_as_the_letter_the_council_sent(
    client, users, partners, eager_celery, django_capture_on_commit_callbacks
):
    sign_in_partner(client, partners["teacher"])
    client.post(reverse("partners:request_new"), complete_request())
    contact = SupportRequest.objects.get().contact
    now = timezone.now()
    workflow.contact_start_screening(contact=contact, by=users["mash"], now=now)
    contact.refresh_from_db()
    workflow.contact_decide(
        contact=contact,
        decision=Contact.Decision.SIGNPOST,
        rationale="INTERNAL: dad known to police",
        by=users["mash"],
        now=now,
    )
    sign_in_partner(client, partners["head"])
    page = client.get(reverse("partners:request_list"))
    assert b"Decided" in page.content and b"INTERNAL" not in page.content
    detail = client.get(reverse("partners:request_detail", args=[SupportRequest.objects.get().pk]))
    assert b"has not been sent yet" in detail.content and b"INTERNAL" not in detail.content
    contact.refresh_from_db()
    composed = correspondence_services.compose(kind="screening_outcome", by=users["mash"], now=now, contact=contact)
    composed["body"] = "We will signpost the family to the food bank."
    with django_capture_on_commit_callbacks(execute=True):
        correspondence_services.message_send(
            kind="screening_outcome", by=users["mash"], now=now, contact=contact, **composed
        )
    detail = client.get(reverse("partners:request_detail", args=[SupportRequest.objects.get().pk]))
    assert b"signpost the family to the food bank" in detail.content and b"INTERNAL" not in detail.content
    sign_in_partner(client, partners["visitor"])
    assert client.get(reverse("partners:request_detail", args=[SupportRequest.objects.get().pk])).status_code == 404


# --- Team around the family ----------------------------------------------------------------------------


@pytest.fixture
def family_with_plan(users, team):
    family, children = family_with_children(1, team=team)
    now = timezone.now()
    episode = EpisodeFactory(
        plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=now - timedelta(days=30)
    )
    plan = Plan.objects.create(episode=episode, created_at=now, created_by=users["coach"])
    outcome = PlanOutcome.objects.create(plan=plan, number=1, description="Ada attends every day")
    return family, episode, outcome


def test_the_lead_professional_adds_an_agency_whose_named_people_see_the_plan_and_add_updates(
    client, users, partners, agencies, family_with_plan
):
    family, episode, outcome = family_with_plan
    PlanAction.objects.create(outcome=outcome, what="Weigh Ada monthly", partner_assignee=partners["visitor"])
    PlanAction.objects.create(outcome=outcome, what="Secret coach action")
    Consent.objects.create(
        family=family, purpose="share", agency="northfield health visiting", status="given", given_by_name="Mum"
    )
    client.force_login(users["coach"])
    add = reverse("cases:partner_agency_add", args=[family.pk])
    assert client.get(add).status_code == 200
    wrong = client.post(add, {"organisation": agencies["health"].pk, "named_users": [partners["teacher"].pk]})
    assert wrong.status_code == 409 and b"Choose only people who work for" in wrong.content
    response = client.post(add, {"organisation": agencies["health"].pk, "named_users": [partners["visitor"].pk]})
    assert response.status_code == 302
    sign_in_partner(client, partners["visitor"])
    page = client.get(reverse("partners:family_detail", args=[family.pk]))
    assert page.status_code == 200
    assert b"Ada attends every day" in page.content and b"Weigh Ada monthly" in page.content
    assert b"Secret coach action" not in page.content
    assert AccessLog.objects.filter(user=partners["visitor"], family_id_logged=family.pk).exists()
    response = client.post(
        reverse("partners:update_new", args=[family.pk]), {"kind": "health", "details": "Missed the 2-year check."}
    )
    assert response.status_code == 302
    update = PartnerUpdate.objects.get()
    rows = case_selectors.chronology(family)
    assert any(r["kind"] == "Update from Northfield Health Visiting: health appointment" for r in rows)
    assert any("Not yet acknowledged" in (r["text"] or "") for r in rows)
    # The school (not in the team) and its teacher get 404.
    sign_in_partner(client, partners["teacher"])
    assert client.get(reverse("partners:family_detail", args=[family.pk])).status_code == 404
    # The lead professional acknowledges it from the family page; the visitor sees that.
    client.force_login(users["coach"])
    family_page = client.get(reverse("cases:family_detail", args=[family.pk]))
    assert b"Missed the 2-year check." in family_page.content
    assert b"Northfield Health Visiting" in family_page.content
    ack = client.post(reverse("cases:partner_update_acknowledge", args=[family.pk, update.pk]))
    assert ack.status_code == 302
    update.refresh_from_db()
    assert update.acknowledged_by == users["coach"]
    # Who has viewed this record names the health visitor.
    client.force_login(users["manager"])
    log = client.get(reverse("cases:family_access_log", args=[family.pk]))
    assert b"Northfield Health Visiting, partner portal" in log.content


def test_withdrawal_of_consent_or_removal_from_the_team_cuts_access_at_once(
    client, users, partners, agencies, family_with_plan
):
    family, _episode, _outcome = family_with_plan
    involvement = in_team(family, agencies["health"], partners["visitor"])
    sign_in_partner(client, partners["visitor"])
    url = reverse("partners:family_detail", args=[family.pk])
    assert client.get(url).status_code == 200
    consent = Consent.objects.get(family=family, purpose="share")
    workflow.consent_withdraw(consent=consent, on=timezone.localdate(), by=users["coach"], now=timezone.now())
    assert client.get(url).status_code == 404
    assert (
        client.post(reverse("partners:update_new", args=[family.pk]), {"kind": "other", "details": "x"}).status_code
        == 404
    )
    consent.withdrawn_on = None
    consent.save()
    assert client.get(url).status_code == 200
    client.force_login(users["coach"])
    assert client.post(reverse("cases:partner_agency_remove", args=[family.pk, involvement.pk])).status_code == 302
    sign_in_partner(client, partners["visitor"])
    assert client.get(url).status_code == 404
    assert not re.search(rb"/partners/families/\d", client.get(reverse("partners:family_list")).content)


def test_only_those_who_work_on_the_open_episode_manage_its_partner_agencies(client, users, agencies, family_with_plan):
    family, _episode, _outcome = family_with_plan
    client.force_login(users["duty"])
    assert client.get(reverse("cases:partner_agency_add", args=[family.pk])).status_code == 403
    client.force_login(users["outsider"])
    assert client.get(reverse("cases:partner_agency_add", args=[family.pk])).status_code == 404


# --- Constant query counts -----------------------------------------------------------------------------


def test_the_partner_lists_keep_constant_query_counts(
    client, users, partners, agencies, team, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(6):
        family, _ = family_with_children(1, team=team)
        in_team(family, agencies["school"], partners["teacher"])
        SupportRequest.objects.create(
            organisation=agencies["school"],
            created_by=partners["teacher"],
            created_at=now,
            updated_at=now,
            answers={"family_name": f"F{i}"},
        )
    sign_in_partner(client, partners["teacher"])
    for name in ("partners:home", "partners:request_list", "partners:family_list"):
        with django_assert_max_num_queries(14):
            assert client.get(reverse(name)).status_code == 200


def test_the_lead_professional_gives_an_action_to_a_named_partner(client, users, partners, agencies, family_with_plan):
    family, episode, outcome = family_with_plan
    url = reverse("episodes:action_new", args=[episode.pk, outcome.pk])
    client.force_login(users["coach"])
    assert b"Held by someone at a partner agency" not in client.get(url).content  # no partner in the team yet
    in_team(family, agencies["health"], partners["visitor"])
    page = client.get(url)
    assert page.status_code == 200 and b"Held by someone at a partner agency" in page.content
    assert b"teacher" not in page.content.lower() or partners["teacher"].get_full_name().encode() not in page.content
    response = client.post(url, {"what": "Weigh the baby monthly", "partner_assignee": partners["visitor"].pk})
    assert response.status_code == 302, response.content
    action = PlanAction.objects.get(what="Weigh the baby monthly")
    assert action.partner_assignee == partners["visitor"]
    refused = client.post(url, {"what": "Other", "partner_assignee": partners["teacher"].pk})
    assert refused.status_code == 400
    sign_in_partner(client, partners["visitor"])
    assert b"Weigh the baby monthly" in client.get(reverse("partners:family_detail", args=[family.pk])).content


HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["<script>alert(1)</script>", "'; DROP TABLE cases_family; --", "\u202eevil", "-1", "99999999999999999999"]
    ),
    st.builds(lambda chunk, n: chunk * n, st.sampled_from(["a", "<b>"]), st.integers(1000, 12000)),
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(HOSTILE, min_size=8, max_size=8), button=st.sampled_from(["send", "save"]))
def test_hostile_input_to_the_request_form_never_fails_the_server(client, partners, values, button):
    sign_in_partner(client, partners["teacher"])
    names = [
        "family_name",
        "postcode",
        "child1_first_name",
        "child1_date_of_birth_2",
        "child1_nhs_number",
        "risk_health",
        "consent_status",
        "concern",
    ]
    data = dict(complete_request(send=None), **dict(zip(names, [v.replace("\x00", "") for v in values], strict=True)))
    data[button] = "1"
    response = client.post(reverse("partners:request_new"), data)
    assert response.status_code in (302, 400), response.status_code
    assert b"<script>alert(1)</script>" not in response.content
