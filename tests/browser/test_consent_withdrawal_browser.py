"""Consent withdrawal in the browser (ADR 0038): from the family page to the withdrawal shown on it, every
page checked with axe; the agency's share is refused from that moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Consent
from cases.selectors import sharing_consented
from tests.conftest import assert_accessible
from tests.factories import ContactFactory, EpisodeFactory, family_with_children

pytestmark = pytest.mark.browser


def test_a_mash_officer_withdraws_a_consent_to_share(browser_session, users, team):
    now = timezone.now()
    family, children = family_with_children(1, team=team)
    ContactFactory(family=family, received_at=now - timedelta(hours=2), presenting_needs="Needs", subjects=children)
    EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"])
    consent = Consent.objects.create(
        family=family, purpose="share", agency="Hillside School", status="given", recorded_on=now.date()
    )
    b, page = browser_session, browser_session.page
    b.sign_in("mash")
    b.go(f"/families/{family.pk}/")
    page.get_by_role("link", name="Withdraw consent to share with Hillside School").click()
    page.wait_for_load_state()
    assert_accessible(page)
    # Nothing filled in: one error summary, and the page still passes axe.
    page.get_by_label("Time").fill("")
    b.submit("Withdraw consent")
    assert page.locator(".govuk-error-summary").count() == 1
    page.get_by_label(str(children[0])).check()
    local = timezone.localtime(now - timedelta(minutes=5))
    page.locator("#id_when_date_0").fill(str(local.day))
    page.locator("#id_when_date_1").fill(str(local.month))
    page.locator("#id_when_date_2").fill(str(local.year))
    page.get_by_label("Time").fill(local.strftime("%H:%M"))
    page.get_by_label("Phone").check()
    b.submit("Withdraw consent")
    assert page.get_by_text("has been told").is_visible()
    assert page.locator("#consents + ul").get_by_text("Consent to share with Hillside School withdrawn on").is_visible()
    assert not sharing_consented(family, "Hillside School", timezone.localdate())
    consent.refresh_from_db()
    assert consent.withdrawn_told_by == children[0]
