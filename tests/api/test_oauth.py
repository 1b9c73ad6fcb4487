"""OAuth 2.0 client credentials for the read API (ADR 54): secrets made and rotated by an administrator,
the token endpoint and every error of RFC 6749 section 5.2, access tokens that expire and end when the
client is revoked or its secret rotated, and that read exactly what the client's own token reads."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
import time_machine
import yaml
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from openapi_spec_validator import validate

from accounts import roles
from api import services
from api.models import AccessToken, ApiClient
from cases.models import AccessLog
from earlyhelp import input_guard
from tests.factories import NOW, ContactFactory, DeadlineFactory, EpisodeFactory
from tests.security.test_hostile_input import HOSTILE

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/oauth/token/"


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    cache.clear()  # this test run's own Redis database: the rate-limit counts start at zero
    yield
    cache.clear()


def new_client(users, *, role=roles.PRACTITIONER, team=None, service=None, name="BI team"):
    """A client with a client secret: (client, secret)."""
    issued = services.api_client_create(
        name=name, role=role, team=team, service=service, by=users["admin"], now=timezone.now()
    )
    secret = services.api_client_secret_rotate(client=issued.client, by=users["admin"], now=timezone.now()).secret
    return issued.client, secret


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def ask(client, *, auth: str | None = None, **form):
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post(TOKEN_URL, form, **extra)


def access_token(client, api_client, secret) -> str:
    response = ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials")
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def get(client, url, token, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_error(response, status: int, error: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error and body["error_description"], body
    assert set(body) == {"error", "error_description"}
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    assert all(32 <= ord(c) < 127 and c not in '"\\' for c in body["error_description"])  # RFC 6749 5.2
    if status == 401:
        assert response["WWW-Authenticate"] == 'Basic realm="earlyhelp"'


# --- The administrator makes and rotates a secret -------------------------------------------------


def test_an_administrator_creates_a_secret_shown_once_and_rotates_it(client, users, team):
    issued = services.api_client_create(
        name="Insight", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    )
    api_client = issued.client
    assert api_client.client_id.startswith(services.CLIENT_ID_PREFIX) and not api_client.secret_hash
    client.force_login(users["admin"])
    page = client.get(reverse("api_clients:client_list")).content.decode()
    assert "Create secret" in page and "No secret" in page
    assert client.post(reverse("api_clients:client_secret"), {"client": api_client.pk}).status_code == 302
    page = client.get(reverse("api_clients:client_list")).content.decode()
    secret = page.split('data-testid="api-client-secret">')[1].split("<")[0]
    assert page.split('data-testid="api-client-id">')[1].split("<")[0] == api_client.client_id
    api_client.refresh_from_db()
    assert secret.startswith(services.SECRET_PREFIX) and api_client.secret_hash == services.token_hash(secret)
    assert secret not in client.get(reverse("api_clients:client_list")).content.decode()  # shown once
    client.logout()
    token = access_token(client, api_client, secret)
    assert get(client, reverse("api:family_list"), token).status_code == 200

    client.force_login(users["admin"])
    client.post(reverse("api_clients:client_secret"), {"client": api_client.pk})
    page = client.get(reverse("api_clients:client_list")).content.decode()
    assert "New client secret" in page and "no longer works" in page
    rotated = page.split('data-testid="api-client-secret">')[1].split("<")[0]
    client.logout()
    assert_error(
        ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials"), 401, "invalid_client"
    )
    assert get(client, reverse("api:family_list"), token).status_code == 401  # rotating ends its tokens
    assert access_token(client, api_client, rotated)
    assert api_client.history.count() == 3  # created, secret, rotated
    assert AccessToken.history.filter(history_type="~", revoked_at__isnull=False).count() == 1


def test_only_an_administrator_makes_secrets_and_never_for_a_revoked_client(client, users, team):
    api_client, _secret = new_client(users, team=team)
    client.force_login(users["manager"])
    assert client.post(reverse("api_clients:client_secret"), {"client": api_client.pk}).status_code == 403
    client.force_login(users["admin"])
    client.post(reverse("api_clients:client_revoke"), {"client": api_client.pk})
    response = client.post(reverse("api_clients:client_secret"), {"client": api_client.pk}, follow=True)
    assert "no longer exists or has been revoked" in response.content.decode()
    for junk in ("", "x", "999999", "1 OR 1=1"):
        assert client.post(reverse("api_clients:client_secret"), {"client": junk}).status_code == 302
    with pytest.raises(services.ClientRefused):
        services.api_client_secret_rotate(client=api_client, by=users["admin"], now=timezone.now())


# --- The token endpoint -------------------------------------------------------------------------


def test_basic_or_form_credentials_get_a_bearer_token_that_expires(client, users, team, settings):
    settings.API_ACCESS_TOKEN_SECONDS = 3600
    api_client, secret = new_client(users, team=team)
    with time_machine.travel(NOW, tick=False):
        response = ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "read"
        assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
        stored = AccessToken.objects.get()
        assert stored.token_hash == services.token_hash(body["access_token"])  # only the hash is kept
        assert stored.expires_at == NOW + timedelta(hours=1)
        form = ask(
            client,
            grant_type="client_credentials",
            client_id=api_client.client_id,
            client_secret=secret,
            scope="read",
        )
        assert form.status_code == 200 and form.json()["access_token"] != body["access_token"]
        assert get(client, reverse("api:family_list"), body["access_token"]).status_code == 200
    with time_machine.travel(NOW + timedelta(minutes=59, seconds=59), tick=False):
        assert get(client, reverse("api:family_list"), body["access_token"]).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        response = get(client, reverse("api:family_list"), body["access_token"])
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="earlyhelp", error="invalid_token"'
        assert "expired" in response.json()["detail"]
        # The client's own token is not touched by any of this.
        assert ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials").status_code == 200


def test_the_token_endpoint_accepts_the_address_without_the_final_slash_or_with_it(client, users, team):
    api_client, secret = new_client(users, team=team)
    assert reverse("api:oauth_token") == TOKEN_URL == input_guard.OAUTH_TOKEN_PATH
    response = client.post(
        TOKEN_URL.rstrip("/"),
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(api_client.client_id, secret),
    )
    assert response.status_code == 200
    assert client.get(TOKEN_URL).status_code == 405
    with_nul = client.post(TOKEN_URL.rstrip("/"), {"grant_type": "client_credentials\x00"})
    assert with_nul.status_code == 400 and with_nul.json()["error"] == "invalid_request"


def test_every_error_is_the_rfc_6749_error(client, users, team):
    api_client, secret = new_client(users, team=team)
    good = basic(api_client.client_id, secret)
    cid = api_client.client_id
    # invalid_request: grant_type missing, a parameter twice, two ways of authenticating, a mismatch,
    # credentials in the URL, a body that is not a form
    assert_error(ask(client, auth=good), 400, "invalid_request")
    twice = client.post(
        TOKEN_URL,
        "grant_type=client_credentials&grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=good,
    )
    assert_error(twice, 400, "invalid_request")
    assert_error(ask(client, auth=good, grant_type="client_credentials", client_secret=secret), 400, "invalid_request")
    assert_error(ask(client, auth=good, grant_type="client_credentials", client_id="ehc_00"), 400, "invalid_request")
    in_url = client.post(
        f"{TOKEN_URL}?client_secret={secret}", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=good
    )
    assert_error(in_url, 400, "invalid_request")
    as_json = client.post(
        TOKEN_URL, {"grant_type": "client_credentials"}, content_type="application/json", HTTP_AUTHORIZATION=good
    )
    assert_error(as_json, 400, "invalid_request")
    with_nul = ask(client, grant_type="client_credentials", client_id=cid, client_secret="ehcs_\x00")
    assert with_nul.status_code == 400 and with_nul.json()["error"] == "invalid_request"  # refused at the door
    # unsupported_grant_type
    for grant in ("password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"):
        assert_error(ask(client, auth=good, grant_type=grant), 400, "unsupported_grant_type")
    # invalid_client: none, wrong secret, unknown id, the id of another client, not Basic, malformed Basic
    assert_error(ask(client, grant_type="client_credentials"), 401, "invalid_client")
    assert_error(ask(client, grant_type="client_credentials", client_id=cid), 401, "invalid_client")
    assert_error(ask(client, auth=basic(cid, secret + "x"), grant_type="client_credentials"), 401, "invalid_client")
    assert_error(ask(client, auth=basic(cid, "ehcs_wrong"), grant_type="client_credentials"), 401, "invalid_client")
    assert_error(ask(client, auth=basic("ehc_0000", secret), grant_type="client_credentials"), 401, "invalid_client")
    other, _other_secret = new_client(users, team=team, name="Partner")
    assert_error(
        ask(client, auth=basic(other.client_id, secret), grant_type="client_credentials"), 401, "invalid_client"
    )
    for header in (
        f"Bearer {secret}",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Digest x",
    ):
        assert_error(ask(client, auth=header, grant_type="client_credentials"), 401, "invalid_client")
    # a client with no secret yet
    no_secret = services.api_client_create(
        name="No secret", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    ).client
    assert_error(
        ask(client, auth=basic(no_secret.client_id, ""), grant_type="client_credentials"), 401, "invalid_client"
    )
    # invalid_scope
    for scope in ("write", "read write", "admin"):
        assert_error(ask(client, auth=good, grant_type="client_credentials", scope=scope), 400, "invalid_scope")
    assert not AccessToken.objects.exists()
    # a signed-in session is not client authentication
    client.force_login(users["admin"])
    assert_error(ask(client, grant_type="client_credentials"), 401, "invalid_client")


def test_revoking_the_client_ends_its_access_tokens_and_its_secret(client, users, team):
    api_client, secret = new_client(users, team=team)
    token = access_token(client, api_client, secret)
    services.api_client_revoke(client=api_client, by=users["admin"], now=timezone.now())
    assert get(client, reverse("api:family_list"), token).status_code == 401
    assert_error(
        ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials"), 401, "invalid_client"
    )
    assert AccessToken.objects.get().revoked_at is not None


def test_the_token_endpoint_is_rate_limited_per_address_and_counts_towards_the_client(client, users, team, settings):
    settings.API_TOKEN_RATE_LIMIT = "3/minute"
    api_client, secret = new_client(users, team=team)
    wrong = basic(api_client.client_id, "ehcs_guess")
    statuses = [ask(client, auth=wrong, grant_type="client_credentials").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]  # guessing is slowed: wrong secrets count too
    response = ask(client, auth=basic(api_client.client_id, secret), grant_type="client_credentials")
    assert response.status_code == 429 and "Retry-After" in response
    cache.clear()
    settings.API_TOKEN_RATE_LIMIT = ""
    settings.API_RATE_LIMIT = "2/minute"
    token = access_token(client, api_client, secret)
    assert get(client, reverse("api:family_list"), token).status_code == 200
    assert get(client, reverse("api:family_list"), token).status_code == 429  # the token request counted


def test_issuing_a_token_is_in_the_access_log_as_the_client(client, users, team):
    api_client, secret = new_client(users, team=team)
    access_token(client, api_client, secret)
    row = AccessLog.objects.get(user=api_client.user)
    assert row.what == "API: access token issued" and row.family_id_logged is None


# --- What an access token reads -------------------------------------------------------------------


def test_an_access_token_for_a_practitioners_scope_gets_404_for_another_teams_family(client, users, team, other_team):
    ours = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
    theirs = EpisodeFactory(team=other_team, allocated=True)
    for episode in (ours, theirs):
        episode.contact = ContactFactory(family=episode.family, allocated_team=episode.team, allocated_to_team=True)
        episode.save()
        DeadlineFactory(episode=episode)
    api_client, secret = new_client(users, team=team)
    token = access_token(client, api_client, secret)
    assert [f["id"] for f in get(client, reverse("api:family_list"), token).json()["results"]] == [ours.family_id]
    for name, record in (
        ("api:family_detail", theirs.family),
        ("api:episode_detail", theirs),
        ("api:contact_detail", theirs.contact),
        ("api:deadline_detail", theirs.deadlines.get()),
    ):
        response = get(client, reverse(name, args=[record.pk]), token)
        assert response.status_code == 404, name
        assert theirs.family.name not in response.content.decode()
    assert get(client, reverse("api:family_detail", args=[ours.family_id]), token).status_code == 200
    assert get(client, reverse("api:timeliness"), token).status_code == 403  # a practitioner's role: not returns
    rows = AccessLog.objects.filter(user=api_client.user, what="API: family")
    assert [r.family_id_logged for r in rows] == [ours.family_id]


def _add_episodes(n, team, users):
    for _n in range(n):
        DeadlineFactory(episode=EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True))


def _queries(client, url, token) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert get(client, url, token).status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["api:family_list", "api:episode_list", "api:deadline_list"])
def test_an_access_token_reads_pages_in_the_same_constant_queries_as_the_clients_token(client, users, team, name):
    api_client, secret = new_client(users, team=team)
    own_token = services.api_client_create(
        name="Own", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    ).token
    token = access_token(client, api_client, secret)
    url = reverse(name)
    get(client, url, token)  # the first call of each notes when the client was last used
    get(client, url, own_token)
    _add_episodes(1, team, users)
    small = [_queries(client, url, token), _queries(client, url, own_token)]
    _add_episodes(7, team, users)
    large = [_queries(client, url, token), _queries(client, url, own_token)]
    assert small == large and len(set(small)) == 1, (small, large)


def test_the_token_endpoint_takes_a_constant_number_of_queries(client, users, team):
    api_client, secret = new_client(users, team=team)
    access_token(client, api_client, secret)
    # the client, the new token and its history row, the access-log row
    with CaptureQueriesContext(connection) as queries:
        access_token(client, api_client, secret)
    assert len(queries) <= 5, [q["sql"][:80] for q in queries.captured_queries]


# --- The schema -----------------------------------------------------------------------------------


def test_the_schema_documents_the_client_credentials_flow_and_still_validates(client, users, team):
    api_client, secret = new_client(users, team=team)
    token = access_token(client, api_client, secret)
    response = get(client, reverse("api:schema"), token)
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["clientToken"]["scheme"] == "bearer"
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == TOKEN_URL and set(flow["scopes"]) == {"read"}
    assert {"clientToken": []} in schema["paths"]["/api/v1/families/"]["get"]["security"]
    assert {"oauth2": ["read"]} in schema["paths"]["/api/v1/families/"]["get"]["security"]
    assert [p for p in schema["paths"] if "oauth" in p] == [TOKEN_URL]  # documented once
    operation = schema["paths"][TOKEN_URL]["post"]
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]


# --- Hostile input --------------------------------------------------------------------------------


def test_hostile_token_requests_are_a_4xx_never_a_500(client, users, team, settings):
    settings.API_TOKEN_RATE_LIMIT = ""
    settings.API_RATE_LIMIT = ""
    api_client, secret = new_client(users, team=team)

    @examples(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def run(data):
        form = {
            "grant_type": data.draw(st.one_of(st.just("client_credentials"), HOSTILE), label="grant_type"),
            "client_id": data.draw(st.one_of(st.just(api_client.client_id), HOSTILE), label="client_id"),
            "client_secret": data.draw(st.one_of(st.just(secret), HOSTILE), label="client_secret"),
            "scope": data.draw(HOSTILE, label="scope"),
        }
        header = data.draw(st.one_of(st.just(""), HOSTILE.map(lambda v: f"Basic {v}")), label="header")
        try:
            response = ask(client, auth=header or None, **form)
        except (ValueError, UnicodeEncodeError):
            return  # not a request a client could send
        assert 400 <= response.status_code < 500 or response.status_code == 200, (form, header)
        if response.status_code != 200:
            assert response.json()["error"] in {
                "invalid_request",
                "invalid_client",
                "unsupported_grant_type",
                "invalid_scope",
            }

    run()


def test_hostile_access_tokens_are_a_401_never_a_500(client):
    @examples(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(token=HOSTILE)
    def run(token):
        try:
            response = client.get(reverse("api:family_list"), HTTP_AUTHORIZATION=f"Bearer ehat_{token}")
        except (ValueError, UnicodeEncodeError):
            return
        assert response.status_code == 401

    run()


def test_existing_clients_keep_working_and_every_client_has_an_id(users, team):
    issued = services.api_client_create(
        name="Old", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    )
    assert services.client_for_token(issued.token, now=timezone.now()) == issued.client
    assert ApiClient.objects.filter(client_id="").count() == 0
