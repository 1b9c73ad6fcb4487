"""The partner portal's journeys in a browser, with axe on every page (ADR 0044, "Done when"):
a school asks for support, the front door triages and decides, the school reads the outcome; a health
visitor's update is acknowledged by the lead professional, and after consent is withdrawn the health
visitor gets "Page not found"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import Consent, Contact, PartnerUpdate, Plan, PlanOutcome
from partners.models import SupportRequest
from tests.factories import EpisodeFactory, family_with_children
from tests.partners.conftest import current_code, in_team
from workflows import services as workflow

pytestmark = pytest.mark.browser


def fill_date(page, field_id: str, day: int, month: int, year: int):
    page.locator(f"#{field_id}_0").fill(str(day))
    page.locator(f"#{field_id}_1").fill(str(month))
    page.locator(f"#{field_id}_2").fill(str(year))


def sign_in_partner(browser_session, user):
    """Password, then the authenticator's code (a confirmed device)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    device.last_t = -1
    device.save(update_fields=["last_t"])
    browser_session.page.context.clear_cookies()
    browser_session.sign_in(user.username)
    page = browser_session.page
    assert "/partners/two-factor/" in page.url
    page.locator("#id_token").fill(current_code(device))
    browser_session.submit("Continue")


def sign_in_staff(browser_session, username: str):
    browser_session.page.context.clear_cookies()
    browser_session.sign_in(username)


def test_a_school_asks_for_support_the_front_door_decides_and_the_school_reads_the_outcome(
    browser_session, users, partners, eager_celery
):
    page = browser_session.page
    sign_in_partner(browser_session, partners["teacher"])
    assert page.get_by_role("heading", name="Northfield Primary School").is_visible()
    page.get_by_role("button", name="Ask for support for a family").click()
    page.wait_for_load_state()
    page.locator("#id_family_name").fill("Quillfeather")
    page.locator("#id_postcode").fill("ZZ4 5EF")
    page.locator("#id_child1_first_name").fill("Esme")
    page.locator("#id_child1_last_name").fill("Quillfeather")
    fill_date(page, "id_child1_date_of_birth", 3, 4, 2016)
    page.locator("#id_child1_nhs_number").fill("943 476 5918")  # a wrong check digit
    browser_session.submit("Save as draft")
    assert page.get_by_text("the check digit does not match").first.is_visible()
    page.locator("#id_child1_nhs_number").fill("943 476 5919")
    browser_session.submit("Save as draft")
    assert page.get_by_text("is saved").is_visible()
    page.locator("#id_concern").fill("Attendance has fallen and Esme seems withdrawn.")
    page.locator("#id_risk_attendance").select_option("3")
    page.locator("#id_agency_actions").fill("Met mum twice; breakfast club.")
    page.get_by_label("Yes, they agreed").check()
    page.get_by_label("Support from Early Help").check()
    page.get_by_label("Early Help sharing information with us").check()
    page.locator("#id_consent_given_by").fill("Esme's mum")
    browser_session.submit("Send to the front door")
    assert page.get_by_text("Your request was sent to the front door").is_visible()
    contact = SupportRequest.objects.get().contact
    assert contact.referrer_agency == "Northfield Primary School"

    # The MASH officer finds it in the triage queue, with its clocks, and decides.
    sign_in_staff(browser_session, "mash")
    browser_session.go("/front-door/")
    page.get_by_role("link", name=contact.reference).first.click()
    page.wait_for_load_state()
    page.get_by_label("Signpost").check()
    page.locator("#id_rationale").fill("Internal: family known to housing; signpost to the school nurse.")
    browser_session.submit("Record decision")
    contact.refresh_from_db()
    assert contact.state == Contact.State.SIGNPOSTED
    page.get_by_role("link", name="Write a letter or e-mail", exact=False).click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Screening outcome to referrer").click()
    page.wait_for_load_state()
    page.locator("#id_body").fill("Dear colleague,\n\nWe will signpost Esme's family to the school nurse service.")
    browser_session.submit("Preview")
    browser_session.submit("Send")

    # The school reads the outcome in the council's words, and nothing else.
    sign_in_partner(browser_session, partners["head"])
    browser_session.go("/partners/requests/")
    assert page.get_by_text("Decided").first.is_visible()
    page.get_by_role("link", name=SupportRequest.objects.get().reference).click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "signpost Esme's family to the school nurse service" in main and "Internal:" not in main


def test_a_health_visitors_update_is_acknowledged_and_consent_withdrawal_closes_the_family(
    browser_session, users, team, partners, agencies
):
    family, _children = family_with_children(1, team=team)
    now = timezone.now()
    episode = EpisodeFactory(
        plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=now - timedelta(days=30)
    )
    plan = Plan.objects.create(episode=episode, created_at=now, created_by=users["coach"])
    PlanOutcome.objects.create(plan=plan, number=1, description="The baby gains weight steadily")
    in_team(family, agencies["health"], partners["visitor"])
    page = browser_session.page

    sign_in_partner(browser_session, partners["visitor"])
    page.get_by_role("link", name=family.name).first.click()
    page.wait_for_load_state()
    assert page.get_by_text("The baby gains weight steadily").is_visible()
    page.get_by_role("link", name="Add an update").click()
    page.wait_for_load_state()
    page.get_by_label("Health appointment").check()
    page.locator("#id_details").fill("Missed the 2-year review; rebooked for next week.")
    browser_session.submit("Add update")
    assert page.get_by_text("Not yet acknowledged").is_visible()

    sign_in_staff(browser_session, "coach")
    browser_session.go(f"/families/{family.pk}/")
    assert page.get_by_text("Update from Northfield Health Visiting").first.is_visible()
    page.get_by_role("button", name="Acknowledge the update from Northfield Health Visiting").click()
    page.wait_for_load_state()
    assert PartnerUpdate.objects.get().acknowledged_by == users["coach"]

    sign_in_partner(browser_session, partners["visitor"])
    browser_session.go(f"/partners/families/{family.pk}/")
    assert page.get_by_text("Acknowledged", exact=True).is_visible()
    # The lead professional records, on the family page, that the family withdrew its consent to share.
    consent = Consent.objects.get(family=family, purpose="share")
    sign_in_staff(browser_session, "coach")
    browser_session.go(f"/families/{family.pk}/")
    page.get_by_role("link", name=f"Withdraw consent to share with {consent.agency}").click()
    page.wait_for_load_state()
    page.get_by_label(str(_children[0])).check()
    told = timezone.localtime(timezone.now() - timedelta(minutes=5))
    page.locator("#id_when_date_0").fill(str(told.day))
    page.locator("#id_when_date_1").fill(str(told.month))
    page.locator("#id_when_date_2").fill(str(told.year))
    page.get_by_label("Time").fill(told.strftime("%H:%M"))
    page.get_by_label("Phone").check()
    browser_session.submit("Withdraw consent")
    consent.refresh_from_db()
    assert consent.withdrawn_on is not None
    # At once, the health visitor's view of the family is gone.
    sign_in_partner(browser_session, partners["visitor"])
    response = page.goto(f"{browser_session.base}/partners/families/{family.pk}/")
    assert response.status == 404


def test_axe_finds_nothing_on_any_portal_page(browser_session, users, team, partners, agencies):
    from partners import services

    family, _children = family_with_children(1, team=team)
    now = timezone.now()
    EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=now)
    in_team(family, agencies["school"], partners["teacher"])
    draft = SupportRequest.objects.create(
        organisation=agencies["school"],
        created_by=partners["teacher"],
        created_at=now,
        updated_at=now,
        answers={"family_name": "Draftwood", "child1_date_of_birth": "2016-04-03"},
    )
    sent = SupportRequest.objects.create(
        organisation=agencies["school"],
        created_by=partners["teacher"],
        created_at=now,
        updated_at=now,
        submitted_at=now,
        contact=workflow.contact_receive(
            family=family,
            subjects=[],
            received_at=now,
            route="portal",
            source="2A",
            presenting_needs="x",
            by=users["mash"],
            now=now,
        ),
    )
    _user, link = services.partner_invite(
        organisation=agencies["health"],
        first_name="New",
        last_name="Visitor",
        email="new.visitor@health.example",
        job_title="Health visitor",
        by=users["admin"],
        now=now,
    )
    page = browser_session.page
    # The invitation (valid, then a wrong link) for someone signed out.
    browser_session.go(link[link.index("/partners/") :])
    assert page.get_by_role("heading", name="Choose your password").is_visible()
    browser_session.go("/partners/invitation/not-a-real-link/")
    assert page.get_by_role("heading", name="This invitation link does not work").is_visible()
    # Every partner page, as the school's teacher (the two-factor page was checked while signing in).
    sign_in_partner(browser_session, partners["teacher"])
    for path in (
        "/partners/",
        "/partners/requests/",
        "/partners/requests/new/",
        f"/partners/requests/{draft.pk}/edit/",
        f"/partners/requests/{sent.pk}/",
        "/partners/families/",
        f"/partners/families/{family.pk}/",
        f"/partners/families/{family.pk}/updates/new/",
    ):
        browser_session.go(path)
        assert page.locator("h1").count() == 1, path
    browser_session.submit("Add update")  # the update form with its errors
    assert page.locator(".govuk-error-summary").count() == 1
    # The administrator's agency pages and the lead professional's page.
    sign_in_staff(browser_session, "admin")
    for path in ("/partners/agencies/", "/partners/agencies/new/", f"/partners/agencies/{agencies['school'].pk}/"):
        browser_session.go(path)
    sign_in_staff(browser_session, "coach")
    browser_session.go(f"/families/{family.pk}/partners/new/")
    browser_session.go(f"/families/{family.pk}/")


def test_the_front_door_names_a_schools_lead_professional_who_works_in_the_portal_and_the_team_leader_oversees(
    browser_session, users, team, partners, agencies
):
    """ADR 52: single-agency support led by a school's member of staff, from the decision to an active plan,
    with axe on every new page; the EH team leader sees it on the board."""
    from partners.models import ReviewInvitation

    school, teacher = agencies["school"], partners["teacher"]
    family, children = family_with_children(1)
    child = children[0]
    for purpose, agency in (("early_help", ""), ("share", school.name)):
        Consent.objects.create(
            family=family,
            purpose=purpose,
            agency=agency,
            status="given",
            given_by_name="Mum",
            recorded_on=timezone.localdate() - timedelta(days=1),
        )
    now = timezone.now()
    contact = workflow.contact_receive(
        family=family,
        subjects=[child],
        received_at=now - timedelta(hours=1),
        route="email",
        source="2A",
        presenting_needs="Often late and hungry",
        by=users["mash"],
        now=now,
    )
    # Another family whose review the teacher is invited to (their invitation pages are checked too).
    other, _ = family_with_children(1, team=team)
    other_episode = EpisodeFactory(plan_active=True, family=other, team=team, lead_professional=users["coach"])
    in_team(other, school, teacher)
    invitation = ReviewInvitation.objects.create(
        episode=other_episode,
        invitee=teacher,
        organisation=school,
        review_at=now + timedelta(days=5),
        place="Family hub",
        invited_at=now,
        invited_by=users["coach"],
    )
    page = browser_session.page

    # The front door decides single-agency support, naming the school's lead professional.
    sign_in_staff(browser_session, "mash")
    browser_session.go(f"/contacts/{contact.pk}/")
    page.get_by_label("Single-agency support", exact=True).check()
    page.locator("#id_lead_partner").select_option(str(teacher.pk))
    page.locator("#id_oversight_team").select_option(str(team.pk))
    page.locator("#id_rationale").fill("The school knows Ada well and agreed to lead.")
    browser_session.submit("Record decision")
    episode = family.episodes.get()
    assert episode.lead_professional == teacher and episode.partner_organisation == school

    # The school's lead professional records a visit, the assessment and the plan in the portal.
    sign_in_partner(browser_session, teacher)
    browser_session.go("/partners/episodes/")
    page.get_by_role("link", name=episode.reference).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="What is due").is_visible()
    page.get_by_role("link", name="Record a visit or contact").click()
    page.wait_for_load_state()
    when = timezone.localtime() - timedelta(minutes=10)
    page.get_by_label("Home visit").check()
    fill_date(page, "id_when_date", when.day, when.month, when.year)
    page.locator("#id_when_time").fill(when.strftime("%H:%M"))
    for field, text in (("purpose", "First visit"), ("present", "Mum, Ada"), ("details", "Talked about mornings")):
        page.locator(f"#id_{field}").fill(text)
    page.locator(f"#id_child_{child.pk}_seen").check()
    page.locator(f"#id_child_{child.pk}_spoken").check()
    page.locator(f"#id_child_{child.pk}_views").fill("I am hungry at school")
    page.locator("#id_actions").fill("Breakfast club")
    page.locator("#id_analysis").fill("Mornings are hard for mum")
    browser_session.submit("Save the visit")
    assert page.get_by_text("The visit was recorded").is_visible()

    browser_session.go(f"/partners/episodes/{episode.pk}/assessment/")
    for name in ("family_history", "previous_interventions", "agency_views", "family_views", "child_voice"):
        page.locator(f"#id_{name}").fill("Written")
    page.locator("#id_recommendation").fill("A plan for mornings")
    page.locator(f"#id_child_{child.pk}_needs").fill("A routine")
    for area in ("education", "early_years", "health", "substance", "relationships", "safe", "crime"):
        page.locator(f"#id_need_{area}").select_option("2")
    for area in ("domestic_abuse", "housing", "financial"):
        page.locator(f"#id_need_{area}").select_option("1")
    page.locator("#id_complete").check()
    browser_session.submit("Save the assessment")
    assert page.get_by_text("The assessment is complete.", exact=True).is_visible()

    browser_session.go(f"/partners/episodes/{episode.pk}/plan/outcomes/new/")
    page.locator("#id_description").fill("Ada is at school on time")
    page.locator("#id_how_measured").fill("The register")
    target = timezone.localdate() + timedelta(days=60)
    fill_date(page, "id_by_when", target.day, target.month, target.year)
    page.locator("#id_action_what").fill("Breakfast club every day")
    page.locator("#id_action_who").fill("School")
    fill_date(page, "id_action_by_when", target.day, target.month, target.year)
    browser_session.submit("Add the outcome")
    browser_session.go(f"/partners/episodes/{episode.pk}/plan/")
    page.locator("#id_if_not_working").fill("Meet again with the EH team")
    page.locator("#id_child_voice").fill("Ada wants breakfast")
    browser_session.submit("Save the plan")
    browser_session.submit("Make the plan active")
    assert page.get_by_text("The plan is active.", exact=True).is_visible()
    episode.refresh_from_db()
    assert episode.state == "plan_active"
    for path in (  # axe on every other new page
        f"/partners/episodes/{episode.pk}/reviews/new/",
        f"/partners/episodes/{episode.pk}/reviews/invite/",
        f"/partners/episodes/{episode.pk}/planning-meeting/",
        f"/partners/episodes/{episode.pk}/closure/",
        "/partners/reviews/",
        f"/partners/reviews/{invitation.pk}/",
    ):
        browser_session.go(path)

    # The EH team leader sees it on the board.
    sign_in_staff(browser_session, "teamlead")
    browser_session.go("/oversight/team-board/")
    assert page.locator("#n-partner-led").inner_text() == "1"
    browser_session.go("/oversight/team-board/list/?list=partner-led")
    assert page.get_by_text(family.name).first.is_visible()
    browser_session.go(f"/partners/staff/episodes/{other_episode.pk}/review-invitations/")
