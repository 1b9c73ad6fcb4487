"""Moving work in the browser: a transfer between two teams accepted by the receiver, and
a bulk reallocation of five cases. Every page is checked with axe."""

from __future__ import annotations

import pytest

from accounts import roles
from cases.models import Episode, Reallocation, Transfer
from tests.conftest import assert_accessible, make_user
from tests.workflows.helpers import make_episode

pytestmark = pytest.mark.browser
S = Episode.State


def _go(b, path: str):
    b.go(path)
    b.page.wait_for_load_state()


def _click(page, name: str):
    """A link, or a link that looks like a button (the episode page's actions)."""
    page.get_by_role("link", name=name).or_(page.get_by_role("button", name=name)).first.click()
    page.wait_for_load_state()
    assert_accessible(page)


def test_a_transfer_between_two_teams_accepted_by_the_receiver(browser_session, users, team, other_team):
    south_lead = make_user("southlead", roles.TEAM_LEADER, other_team)
    south_coach = make_user("southcoach", roles.PRACTITIONER, other_team)
    episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
    b, page = browser_session, browser_session.page
    page.set_default_timeout(10_000)

    b.sign_in("teamlead")
    _go(b, f"/episodes/{episode.pk}/")
    _click(page, "Transfer to another team")
    page.get_by_label(other_team.name, exact=False).check()
    page.locator("#id_reason").fill("The family moved into Southbank last week.")
    b.submit("Ask the team to take the case")
    assert page.get_by_text("has been asked to take").is_visible()
    b.submit("Sign out")

    b.sign_in(south_lead.username)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Moving cases").click()
    page.wait_for_load_state()
    assert_accessible(page)
    _click(page, f"Decide the transfer of {episode.family}")
    assert page.get_by_role("definition").filter(has_text="The family moved into Southbank").is_visible()
    page.get_by_label("Yes: accept and allocate a lead professional").check()
    page.get_by_label(str(south_coach), exact=False).check()
    b.submit("Record the decision")
    assert page.get_by_text("Its clocks moved with it").is_visible()

    episode.refresh_from_db()
    assert (episode.team, episode.lead_professional) == (other_team, south_coach)
    assert Transfer.objects.get(episode=episode).status == Transfer.Status.ACCEPTED


def test_a_bulk_reallocation_of_five_cases(browser_session, users, team):
    ana = make_user("ana", roles.PRACTITIONER, team, caseload_capacity_override=12)
    cases = [make_episode(users, team, state=S.ALLOCATED)[0] for _ in range(5)]
    b, page = browser_session, browser_session.page
    page.set_default_timeout(10_000)

    b.sign_in("teamlead")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Moving cases").click()
    page.wait_for_load_state()
    assert_accessible(page)
    _click(page, f"Reallocate cases of {users['coach']}")
    for episode in cases:
        page.get_by_label(f"New lead professional for {episode.reference}").select_option(str(ana.pk))
    page.locator("#id_reason").fill("Jordan is leaving the team at the end of the month.")
    b.submit("Confirm and move the chosen cases")
    assert page.get_by_text("5 cases moved").first.is_visible()
    for episode in cases:
        assert page.get_by_text(episode.reference).is_visible()

    assert Episode.objects.filter(pk__in=[e.pk for e in cases], lead_professional=ana).count() == 5
    assert Reallocation.objects.values("batch").distinct().count() == 1
