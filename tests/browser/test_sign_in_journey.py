"""Each demo role signs in through a real browser and sees its home page, with axe on every page."""

import pytest

from accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo_accounts

pytestmark = pytest.mark.browser


def test_every_demo_role_signs_in_and_sees_its_home_page(browser_session):
    ensure_demo_accounts()
    page = browser_session.page
    for username, first_name, _last, role, _team in DEMO_ACCOUNTS:
        browser_session.sign_in(username, DEMO_PASSWORD)
        assert page.get_by_role("heading", level=1).inner_text() == f"Hello, {first_name}"
        assert page.get_by_text(role, exact=True).first.is_visible()
        browser_session.submit("Sign out")
        assert page.get_by_role("heading", name="Sign in").is_visible()


def test_wrong_password_shows_error_summary(browser_session, users):
    page = browser_session.sign_in("coach", "not-the-password")
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert page.get_by_label("Username").input_value() == "coach"
