"""An administrator changes B2's maximum in the browser, previews, publishes; the next contact follows it.

B2 (Family Solutions: acknowledgement to the referrer) has a maximum of 3 calendar days in the
shipped file. The administrator makes it 2 in a draft, sees the preview with example start times,
publishes it with a reason, and the rulebook's page shows who published it. A contact the MASH
officer records afterwards gets a B2 clock due at the end of the second day.
"""

from datetime import timedelta

import pytest

from cases.models import Contact
from deadlines import versions
from deadlines.calendar import LONDON, end_of_local_day
from deadlines.models import Deadline, RulebookVersion
from tests.browser.test_front_door_journey import fill_date
from tests.factories import family_with_children

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fresh_versions():
    versions.forget(none_published=True)
    yield
    # The test's versions are gone with its transaction.
    versions.forget(none_published=True)


def test_administrator_changes_b2_previews_publishes_and_a_new_contact_follows(browser_session, users, team):
    page = browser_session.page
    browser_session.sign_in("admin")
    page.get_by_role("link", name="Rulebooks").first.click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Family Solutions").click()
    page.wait_for_load_state()
    assert "at most 3 calendar days" in page.locator("#rule-B2").inner_text()
    browser_session.submit("Start a draft")

    # Change B2's maximum from 3 to 2 calendar days.
    page.locator("#rule-B2").get_by_role("link").click()
    page.wait_for_load_state()
    page.locator("#id_maximum_amount").fill("2")
    browser_session.submit("Save in the draft")
    assert "at most 2 calendar days" in page.locator("#rule-B2").inner_text()

    # Preview: ten example starts for B2, old and new due times side by side.
    page.get_by_role("button", name="Preview and publish").click()
    page.wait_for_load_state()
    examples = page.locator("#examples-B2 tbody tr")
    assert examples.count() == 10
    assert "bank holiday" in page.locator("#examples-B2").inner_text()

    # Publish now, keeping the running clocks' due times.
    page.get_by_label("Keep the due times they have").check()
    page.locator("#id_reason").fill("The council now acknowledges within 2 days")
    browser_session.submit("Publish version 2")
    body = page.locator("main").inner_text()
    assert "Version 2 published" in body
    assert users["admin"].get_full_name() in body  # the audit: who published it, and why
    assert "The council now acknowledges within 2 days" in body
    published = RulebookVersion.objects.get(slug="family-solutions", number=2)
    assert published.published_by == users["admin"]
    assert published.history.filter(history_user=users["admin"]).exists()

    # A contact recorded afterwards gets the new due time.
    browser_session.submit("Sign out")
    family, children = family_with_children(2)
    child = children[0]
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
    page.locator("#id_presenting_needs").fill("Attendance has fallen this term.")
    browser_session.submit("Record contact")
    contact = Contact.objects.get(family=family)
    b2 = Deadline.objects.get(contact=contact, rule_id="B2")
    assert b2.due_at == end_of_local_day(b2.started_at.astimezone(LONDON).date() + timedelta(days=2))
