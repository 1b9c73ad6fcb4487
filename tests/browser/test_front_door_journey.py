"""A MASH officer records contacts (new family and a match), takes decisions; an EH MASH lead runs a MAAM."""

import pytest

from cases.models import Contact, Episode, Family, MeetingItem
from tests.factories import family_with_children

pytestmark = pytest.mark.browser


def fill_date(page, field_id: str, day: int, month: int, year: int):
    page.locator(f"#{field_id}_0").fill(str(day))
    page.locator(f"#{field_id}_1").fill(str(month))
    page.locator(f"#{field_id}_2").fill(str(year))


def test_mash_officer_records_and_decides_and_lead_runs_meeting(browser_session, users, team):
    existing, children = family_with_children(2)
    page = browser_session.page
    browser_session.sign_in("mash")

    # A contact for a family that is not known yet: search, no match, create it.
    browser_session.go("/contacts/new/")
    page.locator("#id_find-last_name").fill("Quillfeather")
    browser_session.submit("Find possible matches")
    assert page.get_by_role("heading", name="No possible matches").is_visible()
    page.locator("#id_new-family_name").fill("The Quillfeather household")
    page.locator("#id_new-first_name").fill("Esme")
    page.locator("#id_new-last_name").fill("Quillfeather")
    fill_date(page, "id_new-date_of_birth", 3, 4, 2016)
    page.locator("#id_new-nhs_number").fill("943 476 5918")  # wrong check digit
    page.locator("#id_new-postcode").fill("ZZ4 5EF")
    browser_session.submit("Create family and continue")
    assert page.get_by_text("the check digit does not match").first.is_visible()
    assert page.locator("#id_new-first_name").input_value() == "Esme"
    page.locator("#id_new-nhs_number").fill("943 476 5919")
    browser_session.submit("Create family and continue")
    assert page.get_by_role("heading", name="Record a contact").is_visible()

    page.get_by_label("Esme Quillfeather").check()
    page.locator("#id_route").select_option("phone")
    page.locator("#id_source").select_option("2A")
    page.locator("#id_referrer_name").fill("Ms Amberly")
    page.locator("#id_referrer_agency").fill("Exampleton Primary School")
    page.locator("#id_presenting_needs").fill("Attendance has fallen and Esme seems withdrawn.")
    page.locator("#id_risk_attendance").select_option("3")
    page.locator("#id_risk_attendance_note").fill("76% this term")
    page.get_by_label("Given", exact=True).check()
    page.locator("#id_consent_given_by").fill("Esme's mum")
    browser_session.submit("Record contact")
    assert page.get_by_text("was recorded for The Quillfeather household").is_visible()
    new_contact = Contact.objects.get(family__name="The Quillfeather household")
    assert new_contact.risk_indicators.get(indicator="attendance").level == 3

    # Decide it: allocate to an Early Help team (consent is in force).
    page.get_by_label("Allocate to an Early Help team").check()
    page.locator("#id_team").select_option(str(team.pk))
    page.locator("#id_rationale").fill("Meets the threshold for a targeted Early Help service.")
    browser_session.submit("Record decision")
    assert page.get_by_text("Decision recorded").is_visible()
    assert Episode.objects.get(family__name="The Quillfeather household").team == team

    # A contact about a known family: the search shows the match, staff pick it.
    browser_session.go("/contacts/new/")
    page.locator("#id_find-last_name").fill(children[0].last_name)
    fill_date(
        page,
        "id_find-date_of_birth",
        children[0].date_of_birth.day,
        children[0].date_of_birth.month,
        children[0].date_of_birth.year,
    )
    browser_session.submit("Find possible matches")
    page.get_by_role("link", name=f"Record contact for this family ({existing.name})").first.click()
    page.wait_for_load_state()
    page.get_by_label(str(children[0]), exact=False).first.check()
    page.locator("#id_route").select_option("email")
    page.locator("#id_source").select_option("3B")
    page.locator("#id_presenting_needs").fill("Health visitor concerned about the baby's weight.")
    browser_session.submit("Record contact")
    contact = Contact.objects.get(family=existing)
    # No rationale: refused with a message, nothing changes.
    page.get_by_label("Take to a multi-agency meeting").check()
    page.locator("#id_meeting_kind").select_option("MAAM")
    browser_session.submit("Record decision")
    assert page.get_by_text("Give the reason for the decision").first.is_visible()
    contact.refresh_from_db()
    assert contact.state == Contact.State.RECEIVED
    page.locator("#id_rationale").fill("Needs a multi-agency view before allocation.")
    browser_session.submit("Record decision")
    contact.refresh_from_db()
    assert contact.state == Contact.State.AT_MEETING
    browser_session.go("/front-door/")
    browser_session.submit("Sign out")

    # The EH MASH lead schedules the MAAM, puts the contact on the agenda and records the outcome.
    browser_session.sign_in("mashlead")
    browser_session.go("/meetings/")
    page.get_by_label("Multi Agency Action Meeting (MAAM)").check()
    fill_date(page, "id_date", 24, 11, 2026)
    page.locator("#id_start_time").fill("10:00")
    page.locator("#id_attendees").fill("Jo Oakhurst (school)\nSam Rookwood (health)")
    browser_session.submit("Schedule meeting")
    browser_session.submit("Add to agenda")
    item = MeetingItem.objects.get(contact=contact)
    page.get_by_label("Signpost", exact=True).check()
    page.locator(f"#id_item{item.pk}-reason").fill("Universal health visiting support is enough.")
    page.get_by_role("button", name=f"Record outcome for {contact.reference}").click()
    page.wait_for_load_state()
    contact.refresh_from_db()
    assert contact.state == Contact.State.SIGNPOSTED
    assert Family.objects.count() == 2
