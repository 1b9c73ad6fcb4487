"""Single sign-on over OpenID Connect against a real provider running in the test (ADR 47)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from accounts import roles
from accounts.backends import AuthenticationOnlyBackend
from accounts.models import SingleSignOnDevice, User
from accounts.sso import mfa_asserted
from earlyhelp.middleware import SIGNED_IN_AT
from tests.accounts.oidc_provider import MFA_USER, PASSWORD_ONLY_USER, STRANGER, running_provider
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def oidc_provider(settings):
    with running_provider(settings) as base:
        yield base


def sign_in_through_provider(client, sub: str, next_url: str = ""):
    """The browser's round trip: our start page, the provider's sign-in (as `sub`), our callback."""
    start = client.get(reverse("sso_start") + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302
    authorize = start["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    at_provider = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == reverse("sso_callback")
    return client.get(f"{back.path}?{back.query}")


def signed_in_user(client):
    response = client.get(reverse("home"))
    return response.wsgi_request.user if response.status_code == 200 else None


def test_a_known_email_signs_in_and_the_providers_mfa_counts_as_two_factor(client, users, oidc_provider, settings):
    coach = users["coach"]
    coach.email = MFA_USER
    coach.save()
    settings.TWO_FACTOR_REQUIRED = "all"
    response = sign_in_through_provider(client, MFA_USER, next_url="/oversight/my-work/")
    assert response.status_code == 302 and response["Location"] == "/oversight/my-work/"
    user = signed_in_user(client)
    assert user.pk == coach.pk and user.is_verified()
    assert isinstance(user.otp_device, SingleSignOnDevice)
    assert SIGNED_IN_AT in client.session
    assert not SingleSignOnDevice.objects.get(user=coach).verify_token("123456")


def test_without_mfa_from_the_provider_two_factor_is_still_asked_for(client, users, oidc_provider, settings):
    lead = users["teamlead"]
    lead.email = PASSWORD_ONLY_USER.lower()  # the provider sends it in capitals: matched without case
    lead.save()
    settings.TWO_FACTOR_REQUIRED = "all"
    response = sign_in_through_provider(client, PASSWORD_ONLY_USER)
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home["Location"].startswith(reverse("accounts:two_factor"))
    assert home.wsgi_request.user.pk == lead.pk and not home.wsgi_request.user.is_verified()


def test_an_unknown_email_is_refused_with_a_page_that_says_so_and_no_account_is_made(client, users, oidc_provider):
    before = User.objects.count()
    response = sign_in_through_provider(client, STRANGER)
    assert response.status_code == 302 and response["Location"] == reverse("sso_refused")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "You cannot sign in with this account" in html and STRANGER in html
    assert "Accounts are not created by signing in" in html
    assert User.objects.count() == before
    assert signed_in_user(client) is None


def test_a_deactivated_account_or_two_accounts_with_the_email_are_refused(client, users, oidc_provider):
    coach = users["coach"]
    coach.email = MFA_USER
    coach.is_active = False
    coach.save()
    assert sign_in_through_provider(client, MFA_USER)["Location"] == reverse("sso_refused")
    coach.is_active = True
    coach.save()
    other = users["duty"]
    other.email = MFA_USER.upper()
    other.save()
    assert sign_in_through_provider(client, MFA_USER)["Location"] == reverse("sso_refused")
    assert signed_in_user(client) is None


def test_the_sign_in_page_offers_the_provider_and_passwords_can_be_turned_off(client, users, oidc_provider, settings):
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with Test council account" in html and 'name="password"' in html
    settings.PASSWORD_SIGN_IN = False
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with Test council account" in html and 'name="password"' not in html
    response = client.post(reverse("login"), {"username": "coach", "password": PASSWORD})
    assert signed_in_user(client) is None and response.status_code == 200
    # No password path signs anyone in (the Django admin's sign-in included).
    assert AuthenticationOnlyBackend().authenticate(None, username="coach", password=PASSWORD) is None


def test_single_sign_on_is_off_until_configured(client, users):
    assert client.get(reverse("sso_start")).status_code == 404
    assert client.get(reverse("sso_callback") + "?code=x&state=y").status_code == 404
    assert "Sign in with" not in client.get(reverse("login")).content.decode()


def test_a_forged_or_replayed_callback_signs_nobody_in(client, users, oidc_provider):
    coach = users["coach"]
    coach.email = MFA_USER
    coach.save()
    assert client.get(reverse("sso_callback") + "?code=x&state=y").status_code in (302, 400)
    assert signed_in_user(client) is None
    client.get(reverse("sso_start"))
    assert client.get(reverse("sso_callback") + "?code=made-up&state=made-up").status_code == 400
    assert signed_in_user(client) is None


def test_which_amr_values_count_as_a_second_factor(settings):
    settings.SSO_MFA_AMR_VALUES = ["mfa", "hwk"]
    assert mfa_asserted({"amr": ["pwd", "MFA"]})
    assert mfa_asserted({"amr": ["pwd"]}, {"amr": "hwk"})
    assert not mfa_asserted({"amr": ["pwd", "otp"]}, None, {})
    assert not mfa_asserted({"amr": 7})


def test_service_accounts_of_api_clients_cannot_sign_in_by_either_path(client, users, oidc_provider):
    from django.utils import timezone

    from api.services import api_client_create

    team = users["coach"].team
    issued = api_client_create(
        name="BI", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    )
    account = issued.client.user
    assert not account.email and not account.has_usable_password()
    assert AuthenticationOnlyBackend().authenticate(None, username=account.username, password="") is None


def test_no_backend_answers_permission_checks_from_model_permissions(users, django_assert_num_queries):
    """Roles carry no model permissions and `rules` alone decides: a model permission given to a
    role's group grants nothing, and asking costs no query (ADR 57: it cost two a page)."""
    from django.contrib.auth.models import Group, Permission

    from accounts.sso import SingleSignOnBackend

    coach = User.objects.get(pk=users["coach"].pk)
    group = Group.objects.get_or_create(name=roles.PRACTITIONER)[0]
    group.permissions.add(Permission.objects.get(codename="view_family", content_type__app_label="cases"))
    for backend in (SingleSignOnBackend(), AuthenticationOnlyBackend()):
        with django_assert_num_queries(0):
            assert not backend.has_perm(coach, "cases.view_family")
            assert not backend.has_module_perms(coach, "cases")
            assert backend.get_all_permissions(coach) == set()
    with django_assert_num_queries(0):
        assert not coach.has_perm("cases.view_family")
    assert coach.has_perm("cases.record_contact") is False  # a rule, answered by rules: not a coach's
