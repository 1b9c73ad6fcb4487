"""The read API (ADR 46): clients act as a role and see no more than it; tokens, access log, rate limit,
cursor pages with constant queries, the schema validates, the docs keep the Content-Security-Policy."""

from __future__ import annotations

import pytest
import time_machine
import yaml
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openapi_spec_validator import validate

from accounts import roles
from api import services
from api.models import ApiClient
from cases.models import AccessLog
from tests.factories import NOW, ContactFactory, D, DeadlineFactory, EpisodeFactory, children_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    cache.clear()  # this test run's own Redis database: the rate-limit counts start at zero
    yield
    cache.clear()


def issue(users, *, role=roles.PRACTITIONER, team=None, service=None, name="BI team"):
    return services.api_client_create(
        name=name, role=role, team=team, service=service, by=users["admin"], now=timezone.now()
    )


def get(client, url, token, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def two_teams(team, other_team, users):
    """An episode (with a clock and a contact) in our team and one in the other team."""
    ours = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
    theirs = EpisodeFactory(team=other_team, allocated=True)
    for episode in (ours, theirs):
        contact = ContactFactory(family=episode.family, allocated_team=episode.team, allocated_to_team=True)
        episode.contact = contact
        episode.save()
        DeadlineFactory(episode=episode)
    return ours, theirs


# --- Clients and tokens -------------------------------------------------------------------------


def test_an_administrator_creates_a_client_and_sees_its_token_once(client, users, team):
    client.force_login(users["admin"])
    assert client.get(reverse("api_clients:client_create")).status_code == 200
    response = client.post(
        reverse("api_clients:client_create"), {"name": "Insight team", "role": roles.PRACTITIONER, "team": team.pk}
    )
    assert response.status_code == 302
    page = client.get(reverse("api_clients:client_list")).content.decode()
    api_client = ApiClient.objects.get(name="Insight team")
    token = page.split('data-testid="api-token">')[1].split("<")[0]
    assert token.startswith(services.TOKEN_PREFIX)
    assert api_client.token_hash == services.token_hash(token) and token not in api_client.token_hash
    assert token not in client.get(reverse("api_clients:client_list")).content.decode()  # shown once
    user = api_client.user
    assert user.team == team and set(user.groups.values_list("name", flat=True)) == {roles.PRACTITIONER}
    assert not user.has_usable_password() and not user.email


def test_a_team_role_needs_a_team_and_the_administrator_role_is_not_offered(client, users):
    client.force_login(users["admin"])
    response = client.post(reverse("api_clients:client_create"), {"name": "No team", "role": roles.PRACTITIONER})
    assert response.status_code == 200
    assert "Choose the team" in response.content.decode()
    response = client.post(reverse("api_clients:client_create"), {"name": "Admin", "role": roles.ADMINISTRATOR})
    assert "Select a valid choice" in response.content.decode()
    assert not ApiClient.objects.exists()


def test_only_an_administrator_manages_clients(client, users):
    client.force_login(users["manager"])
    assert client.get(reverse("api_clients:client_list")).status_code == 403
    assert client.post(reverse("api_clients:client_create"), {"name": "x"}).status_code == 403


def test_a_revoked_or_wrong_token_is_refused_with_401(client, users, team, two_teams):
    issued = issue(users, team=team)
    url = reverse("api:family_list")
    assert get(client, url, issued.token).status_code == 200
    assert client.get(url).status_code == 401
    assert get(client, url, issued.token + "x").status_code == 401
    assert get(client, url, "not-even-ours").status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Bearer a b").status_code == 401
    client.force_login(users["admin"])
    client.post(reverse("api_clients:client_revoke"), {"client": issued.client.pk})
    client.logout()
    response = get(client, url, issued.token)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert not ApiClient.objects.get().user.is_active


# --- Scope ---------------------------------------------------------------------------------------


def test_a_practitioner_scoped_token_gets_404_for_another_teams_records(client, users, team, two_teams):
    ours, theirs = two_teams
    token = issue(users, team=team).token
    families = get(client, reverse("api:family_list"), token).json()["results"]
    assert [f["id"] for f in families] == [ours.family_id]
    for name, record in (
        ("api:family_detail", theirs.family),
        ("api:episode_detail", theirs),
        ("api:contact_detail", theirs.contact),
        ("api:deadline_detail", theirs.deadlines.get()),
    ):
        response = get(client, reverse(name, args=[record.pk]), token)
        assert response.status_code == 404, name
        assert theirs.family.name not in response.content.decode()
    for name, record in (
        ("api:family_detail", ours.family),
        ("api:episode_detail", ours),
        ("api:contact_detail", ours.contact),
        ("api:deadline_detail", ours.deadlines.get()),
    ):
        assert get(client, reverse(name, args=[record.pk]), token).status_code == 200, name
    for name in ("api:contact_list", "api:episode_list", "api:deadline_list"):
        rows = get(client, reverse(name), token).json()["results"]
        assert {row["family_id"] for row in rows} == {ours.family_id}, name


def test_a_manager_scoped_token_sees_the_service(client, users, service, two_teams):
    token = issue(users, role=roles.MANAGER, service=service).token
    assert len(get(client, reverse("api:episode_list"), token).json()["results"]) == 2


def test_deadlines_carry_their_status_and_filter_by_it(client, users, team):
    with time_machine.travel(NOW, tick=False):
        episode = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
        DeadlineFactory(episode=episode, breached=True)
        DeadlineFactory(episode=episode, met=True)
        token = issue(users, team=team).token
        rows = get(client, reverse("api:deadline_list"), token).json()["results"]
        assert sorted(r["status"] for r in rows) == ["breached", "met"]
        rows = get(client, reverse("api:deadline_list"), token, status="breached").json()["results"]
        assert [r["status"] for r in rows] == ["breached"]
        running = get(client, reverse("api:deadline_list"), token, open="true").json()["results"]
        assert [r["status"] for r in running] == ["breached"]


# --- Access log ----------------------------------------------------------------------------------


def test_every_call_is_in_the_access_log_as_the_client(client, users, team, service, two_teams):
    ours, _theirs = two_teams
    issued = issue(users, team=team)
    response = get(client, reverse("api:episode_list"), issued.token)
    assert response["Cache-Control"] == "no-store"  # family data never sits in a cache on the way
    get(client, reverse("api:family_detail", args=[ours.family_id]), issued.token)
    rows = list(AccessLog.objects.filter(user=issued.client.user).order_by("id"))
    assert [(r.action, r.family_id_logged, r.what) for r in rows] == [
        (AccessLog.Action.EXPORT, ours.family_id, "API: episodes"),
        (AccessLog.Action.VIEW, ours.family_id, "API: family"),
    ]
    assert str(rows[0].user) == "BI team (API client)"
    manager = issue(users, role=roles.MANAGER, service=service, name="Returns")
    get(client, reverse("api:timeliness"), manager.token)
    row = AccessLog.objects.filter(user=manager.client.user).get()
    assert row.family_id_logged is None and row.what == "API: timeliness by rule"


# --- Pages of a large read -----------------------------------------------------------------------


def _walk(client, url, token) -> tuple[list[int], list[int]]:
    """Ids of every row, following `next`; and the queries each page took."""
    ids, counts = [], []
    while url:
        with CaptureQueriesContext(connection) as queries:
            body = get(client, url, token).json()
        counts.append(len(queries))
        ids += [row["id"] for row in body["results"]]
        url = body["next"]
    return ids, counts


@pytest.mark.parametrize("name", ["api:family_list", "api:contact_list", "api:episode_list", "api:deadline_list"])
def test_cursor_pages_walk_everything_with_a_constant_query_count(
    client, users, team, name, django_assert_max_num_queries
):
    token = issue(users, team=team).token
    url = reverse(name) + "?page_size=3"
    get(client, url, token)  # the client's first call also notes when it was last used
    for _n in range(2):
        episode = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
        episode.contact = ContactFactory(family=episode.family, allocated_team=team, allocated_to_team=True)
        episode.save()
        DeadlineFactory(episode=episode)
    _ids, small = _walk(client, url, token)
    for _n in range(8):
        episode = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
        episode.contact = ContactFactory(family=episode.family, allocated_team=team, allocated_to_team=True)
        episode.save()
        DeadlineFactory(episode=episode)
    ids, large = _walk(client, url, token)
    assert len(ids) == len(set(ids)) == 10 and ids == sorted(ids)
    assert len(large) == 4 and set(large) == {small[0]}, (small, large)
    with django_assert_max_num_queries(6):
        get(client, reverse(name), token, page_size=1000)


def test_bad_parameters_are_400_or_404_never_500(client, users, team, service):
    token = issue(users, team=team).token
    manager = issue(users, role=roles.MANAGER, service=service, name="Returns").token
    assert get(client, reverse("api:contact_list"), token, received_from="yesterday").status_code == 400
    assert get(client, reverse("api:deadline_list"), token, status="late").status_code == 400
    assert get(client, reverse("api:episode_list"), token, cursor="bz14").status_code == 404  # "o=x"
    for junk in ("%%%", "\u202e", "x" * 5000):
        assert get(client, reverse("api:episode_list"), token, cursor=junk).status_code in (200, 404)
    assert get(client, reverse("api:episode_list"), token, page_size="x").status_code == 200
    assert get(client, reverse("api:annex_a_list_1"), manager, offset=-1).status_code == 400
    assert get(client, reverse("api:annex_a_list_1"), manager, as_at="2026-13-01").status_code == 400
    backwards = {"date_from": "2026-06-01", "date_to": "2026-01-01"}
    assert get(client, reverse("api:timeliness"), manager, **backwards).status_code == 400
    assert get(client, reverse("api:timeliness"), manager, group="rulebook").status_code == 400


# --- Returns -------------------------------------------------------------------------------------


def test_annex_a_lists_and_timeliness_for_a_managers_token_only(client, users, team, service):
    with time_machine.travel(NOW, tick=False):
        episode = EpisodeFactory(team=team, lead_professional=users["coach"], allocated=True)
        ContactFactory(family=episode.family, subjects=children_of(episode.family), received_at=NOW - 10 * D)
        DeadlineFactory(episode=episode, met=True)
        manager = issue(users, role=roles.MANAGER, service=service, name="Returns").token
        coach = issue(users, team=team).token
        body = get(client, reverse("api:annex_a_list_2"), manager).json()
        assert body["list"] == "List 2" and body["columns"][0] == "Child Unique ID"
        body = get(client, reverse("api:annex_a_list_1"), manager, limit=1).json()
        assert body["list"] == "List 1" and len(body["rows"]) == 1 and "offset=1" in body["next"]
        assert body["rows"][0][0] == f"P{children_of(episode.family)[0].pk:07d}"
        rest = get(client, body["next"], manager).json()
        assert len(rest["rows"]) == 1 and rest["next"] is None
        rows = get(client, reverse("api:timeliness"), manager).json()["rows"]
        assert [r["key"] for r in rows] == ["B12"] and rows[0]["run"] == 1 and rows[0]["met_maximum"] == 1
        months = get(client, reverse("api:timeliness"), manager, group="month").json()["rows"]
        assert len(months) == 6
        assert get(client, reverse("api:annex_a_list_1"), coach).status_code == 403
        assert get(client, reverse("api:timeliness"), coach).status_code == 403


# --- Rate limit ----------------------------------------------------------------------------------


def test_a_client_over_its_rate_gets_429_and_others_carry_on(client, users, team, settings):
    settings.API_RATE_LIMIT = "3/minute"
    first = issue(users, team=team).token
    second = issue(users, team=team, name="Partner").token
    statuses = [get(client, reverse("api:family_list"), first).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in get(client, reverse("api:family_list"), first)
    assert get(client, reverse("api:family_list"), second).status_code == 200


# --- Schema and documentation --------------------------------------------------------------------


def test_the_schema_is_valid_openapi_and_describes_every_endpoint(client, users, team):
    token = issue(users, team=team).token
    response = get(client, reverse("api:schema"), token)
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert {
        "/api/v1/families/",
        "/api/v1/contacts/{id}/",
        "/api/v1/episodes/",
        "/api/v1/deadlines/",
        "/api/v1/annex-a/list-1/",
        "/api/v1/timeliness/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["clientToken"]["scheme"] == "bearer"


def test_the_docs_open_for_an_administrator_under_the_content_security_policy(client, users):
    assert client.get(reverse("api:docs")).status_code in (401, 403)
    client.force_login(users["coach"])
    assert client.get(reverse("api:docs")).status_code == 403
    client.force_login(users["admin"])
    response = client.get(reverse("api:docs"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html and "<style>" not in html and "//cdn" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert client.get(reverse("api:schema")).status_code == 200
