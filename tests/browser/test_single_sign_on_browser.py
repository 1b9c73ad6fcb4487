"""A person signs in through the council's identity provider (a real OpenID Connect provider running
in the test process) in a real browser; axe checks our pages on the way (ADR 47)."""

import pytest

from tests.accounts.oidc_provider import MFA_USER, STRANGER, running_provider
from tests.conftest import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def oidc_provider(settings):
    with running_provider(settings) as base:
        yield base


def test_signing_in_through_the_identity_provider(browser_session, users, oidc_provider, settings):
    coach = users["coach"]
    coach.email = MFA_USER
    coach.save()
    settings.TWO_FACTOR_REQUIRED = "all"  # the provider's MFA is what lets the coach straight in
    page = browser_session.page
    browser_session.go("/sign-in/")
    page.get_by_role("button", name="Sign in with Test council account").click()
    page.wait_for_load_state()
    assert page.url.startswith(oidc_provider)
    page.get_by_role("button", name=MFA_USER).click()
    page.wait_for_load_state()
    assert page.url == browser_session.base + "/"
    assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {coach.first_name}"
    assert_accessible(page)


def test_an_unknown_person_is_told_why_they_cannot_sign_in(browser_session, users, oidc_provider):
    page = browser_session.page
    browser_session.go("/sign-in/")
    page.get_by_role("button", name="Sign in with Test council account").click()
    page.wait_for_load_state()
    page.get_by_role("button", name=STRANGER).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "You cannot sign in with this account"
    assert page.get_by_text(STRANGER).is_visible()
    assert_accessible(page)
