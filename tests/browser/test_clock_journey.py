"""One contact's clock from intake to its breach alert, explained at each step.

The MASH officer records a contact through the pages; the contact page links each clock to its
"Why is this due?" page, which names the rule, the council's sentence and who started it. The
alert job then runs past the maximum (as Celery beat would) and the breach reaches the role that
acts on the rule (the EH MASH lead) and the one it is escalated to (the EH manager), who see it
in their alerts and on the explanation page.
"""

from datetime import timedelta

import pytest

from cases.models import Contact
from deadlines.alerts import alerts_raise
from deadlines.models import Alert, Deadline
from tests.browser.test_front_door_journey import fill_date
from tests.factories import family_with_children

pytestmark = pytest.mark.browser


def test_a_contact_clock_from_intake_to_the_breach_alert_explained(browser_session, users, team):
    family, children = family_with_children(2)
    child = children[0]
    page = browser_session.page
    browser_session.sign_in("mash")

    # Intake: find the family, record the contact.
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

    # Step 1: the clock is running, and the contact page links to its explanation.
    b2 = Deadline.objects.get(contact=contact, rule_id="B2", stopped_at__isnull=True)
    explain = f"/deadlines/clocks/{b2.pk}/"
    assert page.locator(f"a[href='{explain}']").count() >= 1
    browser_session.go(explain)
    body = page.locator("main").inner_text()
    assert "Acknowledgement sent to the original referrer" in body
    assert "An acknowledgement email must be sent" in body  # the council's own sentence
    assert users["mash"].get_full_name() in body  # who started it

    # Step 2: beat's alert job runs after the maximum (3 calendar days) has passed.
    assert alerts_raise(now=b2.started_at + timedelta(days=4)) >= 1
    breached = Alert.objects.filter(deadline=b2, level=Alert.Level.BREACHED)
    told = set(breached.values_list("recipient__username", flat=True))
    assert {"mashlead", "manager"} <= told  # who acts, and who it is escalated to
    assert "coach" not in told

    # Step 3: the accountable person sees it and can read why it was due.
    browser_session.submit("Sign out")
    browser_session.sign_in("mashlead")
    browser_session.go("/deadlines/alerts/")
    assert page.get_by_text(contact.reference).first.is_visible()
    browser_session.go(explain)
    body = page.locator("main").inner_text()
    assert users["mashlead"].get_full_name() in body  # the alert history names who was told
