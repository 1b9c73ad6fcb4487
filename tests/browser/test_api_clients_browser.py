"""An administrator adds an API client in the browser, copies its token, creates and rotates its client
secret (ADR 54), and opens the API's documentation, which runs under the product's own
Content-Security-Policy (ADR 46)."""

import pytest

from accounts import roles
from tests.conftest import assert_accessible

pytestmark = pytest.mark.browser


def test_an_administrator_adds_a_client_and_reads_the_docs_under_the_csp(browser_session, browser, users, team):
    page = browser_session.page
    browser_session.sign_in("admin")
    browser_session.go("/")
    page.get_by_role("link", name="API clients").click()
    page.wait_for_load_state()
    assert_accessible(page)
    page.get_by_role("button", name="Add a client").click()
    page.wait_for_load_state()
    assert_accessible(page)
    browser_session.submit("Create the client and its token")
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    page.get_by_label("Name of the client").fill("Insight team")
    page.get_by_label(roles.PRACTITIONER, exact=True).check()
    page.get_by_label("Team", exact=True).select_option(label=team.name)
    browser_session.submit("Create the client and its token")
    token = page.get_by_test_id("api-token").inner_text()
    assert token.startswith("ehapi_")

    # A client secret for OAuth client credentials (ADR 54), shown once; rotating replaces it.
    page.get_by_role("button", name="Create secret for Insight team").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("api-client-secret").inner_text().startswith("ehcs_")
    assert page.get_by_test_id("api-client-id").inner_text().startswith("ehc_")
    assert_accessible(page)
    page.get_by_role("button", name="Rotate secret for Insight team").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="New client secret for Insight team").is_visible()
    assert_accessible(page)

    # The docs in a browser context that enforces the CSP (the harness's own context bypasses it for axe).
    strict = browser.new_context(bypass_csp=False)
    strict.add_cookies(page.context.cookies())
    docs = strict.new_page()
    refused = []
    docs.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    docs.goto(browser_session.base + "/api/v1/docs/")
    docs.locator(".swagger-ui .info .title").wait_for(timeout=15000)
    assert "Early Help read API" in docs.locator(".swagger-ui .info .title").inner_text()
    assert docs.locator(".opblock-summary-path", has_text="/api/v1/episodes/").count() >= 1
    assert docs.locator(".opblock-summary-path", has_text="/api/v1/oauth/token/").count() == 1
    assert not refused, refused
    strict.close()
