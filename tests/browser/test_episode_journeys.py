"""Each seed's path through an episode of Early Help, walked in the browser by the roles that own it.

Every page is checked with axe. The front-door steps the front-door journey already walks are set
up through the services here, so each journey stays short.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import ClosureRequest, Communication, Contact, Episode, Family, Meeting, OutcomeArea
from tests.conftest import assert_accessible
from tests.factories import family_with_children
from tests.workflows.helpers import make_episode
from workflows import services

pytestmark = pytest.mark.browser
S = Episode.State
AUTOSAVE_INTERVAL_MS = 5000


class Journey:
    """Page steps shared by the journeys; each lands on a page that is checked with axe."""

    def __init__(self, browser):
        self.b = browser
        self.page = browser.page
        self.page.set_default_timeout(10_000)

    def sign_in(self, username: str):
        self.b.sign_in(username)

    def sign_out(self):
        self.b.submit("Sign out")

    def click(self, name: str):
        """A link, or a link that looks like a button (the episode page's next steps)."""
        page = self.page
        page.get_by_role("link", name=name).or_(page.get_by_role("button", name=name)).first.click()
        self.page.wait_for_load_state()
        assert_accessible(self.page)

    def nav(self, label: str):
        self.page.get_by_role("navigation", name="Menu").get_by_role("link", name=label).click()
        self.page.wait_for_load_state()
        assert_accessible(self.page)

    def fill_date(self, field: str, day):
        self.page.locator(f"#id_{field}_0").fill(str(day.day))
        self.page.locator(f"#id_{field}_1").fill(str(day.month))
        self.page.locator(f"#id_{field}_2").fill(str(day.year))

    def see(self, text: str):
        assert self.page.get_by_text(text).first.is_visible(), text

    # --- steps ---------------------------------------------------------------------------
    def allocate(self, family_name: str, coach_name: str):
        self.nav("Allocation")
        self.click(f"Allocate {family_name}")
        self.page.get_by_label(coach_name, exact=False).check()
        self.b.submit("Allocate")
        self.see("was allocated to")

    def open_my_case(self, family_name: str):
        self.nav("My cases")
        self.click(family_name)

    def record_visit(self, kind_label: str, *, child_name: str | None = None, details: str):
        self.page.get_by_label(kind_label, exact=True).check()
        self.page.locator("#id_details").fill(details)
        # Seed 003, 10.2: a visit is saved only with its minimum content.
        self.page.locator("#id_purpose").fill("To see how the family are getting on.")
        self.page.locator("#id_present").fill("Mum and the children.")
        self.page.locator("#id_actions").fill("Mum to ring the school.")
        self.page.locator("#id_analysis").fill("Mornings are still hard; the plan is helping.")
        if child_name:
            self.page.get_by_label(f"{child_name} was seen").check()
            self.page.get_by_label(f"{child_name} was spoken to", exact=False).check()
            self.page.get_by_label(f"{child_name}'s views, in their own words").fill("I want my mum to be less tired.")
        self.b.submit("Save record")

    def complete_assessment(self, children):
        self.click("Start the assessment")
        self.page.locator("#id_family_history").fill("Moved here last year after a relationship ended.")
        self.page.locator("#id_family_views").fill("Mum wants help with mornings and school.")
        self.page.locator("#id_child_voice").fill("The children say mornings are shouty.")
        self.page.locator("#id_recommendation").fill("Targeted family support for 3 months.")
        for child in children:
            self.page.locator(f"#id_child_{child.pk}_needs").fill("Meeting milestones; some speech delay.")
        for area in OutcomeArea.values:
            self.page.locator(f"#id_need_{area}").select_option("2" if area == "education" else "1")
        self.page.locator("#id_risk_attendance").select_option("2")
        self.b.submit("Complete the assessment")
        self.see("The assessment was completed.")

    def team_meeting(self, button: str):
        self.click(button)
        self.page.locator("#id_attendees").fill("Mum\nFamily coach\nExampleton Primary, Ms Amberly")
        self.page.locator("#id_notes").fill("Agreed to focus on school attendance.")
        self.b.submit("Save meeting")

    def write_and_activate_plan(self):
        self.click("Write the plan")
        self.click("Add an outcome")
        self.page.locator("#id_area").select_option("education")
        self.page.locator("#id_description").fill("Sam goes to school every day")
        self.page.locator("#id_how_measured").fill("Attendance on the register above 95%")
        self.fill_date("by_when", timezone.localdate() + timedelta(days=90))
        self.b.submit("Save outcome")
        self.click("Add an action to outcome 1")
        self.page.locator("#id_what").fill("Walk Sam to school each morning")
        self.page.locator("#id_who").fill("Mum")
        self.fill_date("by_when", timezone.localdate() + timedelta(days=30))
        self.b.submit("Save action")
        self.page.locator("#id_if_not_working").fill("The team around the family meets within 2 weeks.")
        self.page.locator("#id_child_voice").fill("Sam wants mornings to be calmer.")
        self.b.submit("Save what happens if the plan is not working")
        self.b.submit("Make the plan active")
        self.see("The plan is active")

    def give_family_their_copy(self):
        self.click("Printable copy of the assessment and plan for the family")
        self.see("Your Early Help assessment and plan")
        self.click("Record that the family were given this copy")
        self.page.locator("#id_recipient").fill("Ms Parent")
        self.page.locator("#id_method").select_option("in_person")
        self.b.submit("Continue")
        self.see("Check before you record it as sent")
        self.b.submit("Record as sent")
        self.see("The copy of the assessment and plan to Ms Parent is recorded.")

    def review(self):
        self.click("Record a review")
        self.page.locator("#id_attendees").fill("Mum\nFamily coach")
        self.page.get_by_label("Good progress").check()
        self.page.locator("#id_summary").fill("Attendance is up to 93%.")
        self.page.locator("#id_child_voice").fill("Sam: I like my new teacher.")
        self.fill_date("next_review_on", timezone.localdate() + timedelta(days=42))
        self.b.submit("Save review")
        self.see("The review was recorded.")

    def request_closure(self):
        self.click("Request closure")
        for label in ClosureRequest.CHECKLIST.values():
            self.page.get_by_label(label).check()
        self.page.locator("#id_summary").fill("Attendance is 97%; mornings are calm; support continues at school.")
        self.page.locator("#id_family_views").fill("Mum feels ready to carry on without us.")
        self.page.locator("#id_child_voice").fill("Sam: things are better at home now.")
        self.page.get_by_label("Goals met").check()
        self.b.submit("Request closure")
        self.see("Closure was requested")

    def sign_off_closure(self, family_name: str):
        self.nav("Sign-off")
        self.click(f"Sign off or return the closure of {family_name}")
        self.page.locator("#id_off-letter_recipient").fill("Ms Parent")
        self.page.locator("#id_off-partners").fill("Exampleton Primary School; health visitor")
        self.b.submit("Sign off and close")
        self.see("is closed")


@pytest.fixture
def journey(browser_session):
    return Journey(browser_session)


def test_rulebook_a_families_first(journey, users, team):
    """MASH → FFS → coach → assessment → planning meeting → reviews → ending meeting → closed."""
    family, children = family_with_children(2, name="The Ashdown household")
    now = timezone.now()
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=now - timedelta(hours=2),
        route="email",
        source="2A",
        presenting_needs="Attendance below 85% and the children seem tired.",
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Mum", "recorded_on": now.date()},
        by=users["mash"],
        now=now,
    )
    journey.sign_in("mashlead")
    journey.b.go(f"/contacts/{contact.pk}/")
    journey.page.get_by_label("Allocate to an Early Help team").check()
    journey.page.locator("#id_team").select_option(str(team.pk))
    journey.page.locator("#id_rationale").fill("Below the social care threshold; consent given; assign to FFS.")
    journey.b.submit("Record decision")
    journey.sign_out()

    journey.sign_in("teamlead")
    journey.allocate("The Ashdown household", str(users["coach"]))
    journey.sign_out()

    journey.sign_in("coach")
    journey.open_my_case("The Ashdown household")
    journey.click("Record the initial contact")
    journey.record_visit("Home visit", child_name=children[0].first_name, details="Introductory visit at home.")
    journey.see("This was the first visit")
    journey.complete_assessment(children)
    journey.team_meeting("Record the initial planning meeting")
    journey.write_and_activate_plan()
    journey.give_family_their_copy()
    journey.review()
    journey.team_meeting("Record the ending meeting")
    journey.request_closure()
    journey.sign_out()

    journey.sign_in("manager")
    journey.sign_off_closure("The Ashdown household")
    episode = Episode.objects.get(family=family)
    assert episode.state == S.CLOSED
    assert {"closure_letter", "partner_notice"} <= set(episode.communications.values_list("kind", flat=True))


def test_rulebook_b_family_solutions(journey, users, team):
    """Contact → screening → MAAM → duty contact → allocate → assessment → plan → review → closure sign-off."""
    family, children = family_with_children(1, name="The Birchwood household")
    now = timezone.now()
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=now - timedelta(days=3),
        route="email",
        source="3B",
        presenting_needs="Health visitor worried about routines and mum's low mood.",
        consent={"purpose": "early_help", "status": "given", "given_by_name": "Mum", "recorded_on": now.date()},
        by=users["mash"],
        now=now - timedelta(days=3),
    )
    contact = services.contact_start_screening(contact=contact, by=users["mash"], now=now - timedelta(days=3))
    contact = services.contact_decide(
        contact=contact,
        decision="meeting",
        rationale="Needs a MAAM.",
        meeting_kind="MAAM",
        by=users["mash"],
        now=now - timedelta(days=3),
    )
    meeting = services.meeting_schedule(
        kind=Meeting.Kind.MAAM,
        scheduled_for=now - timedelta(days=2),
        location="Family centre",
        attendees="EH lead",
        by=users["mashlead"],
    )
    item = services.meeting_add_contact(meeting=meeting, contact=contact, by=users["mashlead"])
    services.meeting_record_outcome(
        item=item,
        outcome="allocate",
        reason="Family Solutions practitioner.",
        team=team,
        by=users["mashlead"],
        now=now - timedelta(days=2),
    )
    assert Contact.objects.get(pk=contact.pk).state == Contact.State.ALLOCATED_TO_TEAM

    # The duty worker keeps in touch while the family waits for allocation.
    journey.sign_in("duty")
    journey.nav("Allocation")
    journey.click("Record duty contact with The Birchwood household")
    journey.page.locator("#id_details").fill("Rang mum: no change, waiting for a worker.")
    journey.b.submit("Save record")
    journey.see("Duty contact (pre-allocation list) recorded.")
    journey.sign_out()

    journey.sign_in("teamlead")
    journey.allocate("The Birchwood household", str(users["coach"]))
    journey.sign_out()

    journey.sign_in("coach")
    journey.open_my_case("The Birchwood household")
    journey.click("Record the initial contact")
    journey.record_visit("Phone call", details="Rang mum to arrange the first visit.")
    journey.see("This was the initial contact")
    journey.click("Record the first visit")
    journey.record_visit("Home visit", child_name=children[0].first_name, details="Saw mum and the baby at home.")
    journey.complete_assessment(children)
    journey.team_meeting("Record the initial planning meeting")
    journey.write_and_activate_plan()
    journey.review()
    journey.request_closure()
    journey.sign_out()

    journey.sign_in("manager")
    journey.sign_off_closure("The Birchwood household")
    assert Episode.objects.get(family=family).state == S.CLOSED


def test_rulebook_c_step_up_with_wraparound(journey, users, team):
    episode, _ = make_episode(
        users, team, state=S.PLAN_ACTIVE, at=timezone.now() - timedelta(days=2), name="The Cedarfield household"
    )
    journey.sign_in("coach")
    journey.open_my_case("The Cedarfield household")
    journey.click("Propose a step-up to social care")
    journey.page.get_by_label("Increasing risk or safeguarding concerns").check()
    journey.page.locator("#id_reason").fill("Two police call-outs for domestic abuse in a week.")
    journey.page.locator("#id_multi_agency_views").fill("Police and school both concerned.")
    journey.page.locator("#id_family_views").fill("Mum says it will not happen again.")
    journey.b.submit("Propose step-up")
    journey.see("The step-up was proposed")
    journey.sign_out()

    journey.sign_in("manager")
    journey.nav("Sign-off")
    journey.click("Review and send the step-up of The Cedarfield household")
    journey.page.get_by_label("Multi-agency referral form, confirmed with the duty worker").check()
    journey.page.get_by_label("Partly").check()
    journey.page.locator("#id_judgement").fill("Risk is rising; a social work assessment is needed.")
    journey.b.submit("Send to the duty manager")
    journey.sign_out()

    journey.sign_in("dutymanager")
    journey.nav("Sign-off")
    journey.click("Decide the step-up of The Cedarfield household")
    journey.page.get_by_label("Accepted: social care assessment").check()
    journey.page.get_by_label("Yes, Early Help continues as wraparound support").check()
    journey.page.locator("#id_notes").fill("Allocated for a Child and Family Assessment; EH continues alongside.")
    journey.b.submit("Record decision")
    journey.see("wraparound alongside social care")
    episode.refresh_from_db()
    assert episode.state == S.WRAPAROUND
    journey.sign_out()

    # Early Help confirms its wraparound worker (rulebook B 7.3): the request is screened and allocated (B16).
    from deadlines.models import Deadline

    assert Deadline.objects.get(rule_id="B16", episode=episode).stopped_at is None
    journey.sign_in("teamlead")
    journey.b.go(f"/episodes/{episode.pk}/")
    journey.click("Confirm the wraparound worker")
    journey.page.get_by_label(str(users["coach"]), exact=False).check()
    journey.b.submit("Confirm the wraparound worker")
    journey.see("is confirmed as the wraparound worker")
    assert Deadline.objects.get(rule_id="B16", episode=episode).stop_reason == "met"


def test_step_down_from_social_care(journey, users, team):
    family, children = family_with_children(1, team=team, name="The Dunmore household")
    journey.sign_in("teamlead")
    journey.nav("Allocation")
    journey.click("Receive a family stepped down from children's social care")
    journey.page.get_by_label("Child's name, date of birth, postcode or NHS number").fill(children[0].first_name)
    journey.b.submit("Find the family")
    journey.click("Receive a step-down for The Dunmore household")
    journey.fill_date("social_care_assessment_date", timezone.localdate() - timedelta(days=30))
    journey.page.locator("#id_summary").fill("Child in need plan closed; step-down to Early Help agreed.")
    journey.b.submit("Receive the step-down")
    journey.click("Allocate a lead professional")
    journey.page.get_by_label(str(users["coach"]), exact=False).check()
    journey.b.submit("Allocate")
    journey.sign_out()

    journey.sign_in("coach")
    journey.open_my_case("The Dunmore household")
    journey.click("Record the initial contact")
    journey.record_visit("Home visit", child_name=children[0].first_name, details="First visit after step-down.")
    journey.b.submit("Go to planning: the social care assessment is under 3 months old")
    journey.see("No Early Help assessment is needed")
    journey.team_meeting("Record the initial planning meeting")
    journey.write_and_activate_plan()
    episode = Episode.objects.get(family=family)
    assert episode.state == S.PLAN_ACTIVE
    assert episode.origin == Episode.Origin.STEP_DOWN
    assert not hasattr(episode, "assessment") or episode.assessment is None
    assert Family.objects.count() == 1
    assert not Communication.objects.exists()


def test_long_form_autosaves_and_the_draft_survives_signing_out(journey, users, team):
    """The visit form saves a draft as the practitioner types; after signing in again it is back."""
    episode, _ = make_episode(users, team, state=S.ALLOCATED, at=timezone.now() - timedelta(days=1))
    journey.sign_in("coach")
    # The page's own clock, running as usual; moved on by the form's autosave interval (5 s,
    # static/js/drafts.mjs) once the note is typed, instead of the test waiting for it.
    journey.page.clock.install()
    journey.b.go(f"/episodes/{episode.pk}/notes/new/")
    journey.page.locator("#id_details").fill("Long note the practitioner has not submitted yet.")
    journey.page.clock.fast_forward(AUTOSAVE_INTERVAL_MS)
    journey.page.get_by_text("Draft saved at").wait_for(timeout=15_000)
    journey.sign_out()
    journey.sign_in("coach")
    journey.b.go(f"/episodes/{episode.pk}/notes/new/")
    journey.see("Draft restored")
    assert journey.page.locator("#id_details").input_value() == "Long note the practitioner has not submitted yet."
