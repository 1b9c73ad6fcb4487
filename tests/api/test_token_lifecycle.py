"""Access tokens are purged a day after they expire (a beat task), and a client's long-lived token can
be rotated by an administrator: the new one shown once, the old one ended at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from api import services
from api.models import AccessToken
from api.tasks import purge_access_tokens
from tests.factories import NOW

from .test_oauth import access_token, get, new_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


def test_expired_access_tokens_are_deleted_a_day_after_they_expire(users, team):
    api_client, _secret = new_client(users, team=team)
    lifetime = timedelta(seconds=settings.API_ACCESS_TOKEN_SECONDS)

    def issue(at):
        return services.access_token_issue(client=api_client, now=at)

    issue(NOW - timedelta(days=3))  # expired two days ago and more: goes
    issue(NOW - lifetime - timedelta(days=1, minutes=1))  # expired a day and a minute ago: goes
    issue(NOW - lifetime - timedelta(hours=23))  # expired 23 hours ago: kept
    ended = issue(NOW - timedelta(days=2))
    AccessToken.objects.filter(token_hash=services.token_hash(ended.access_token)).update(revoked_at=NOW)
    live = issue(NOW - timedelta(seconds=30))  # still working: kept
    with time_machine.travel(NOW, tick=False):
        assert purge_access_tokens() == 3  # the task reads the clock once and purges
    kept = set(AccessToken.objects.values_list("token_hash", flat=True))
    assert len(kept) == 2 and services.token_hash(live.access_token) in kept
    assert services.access_tokens_purge(now=NOW) == 0  # running it again changes nothing
    assert services.client_for_token(live.access_token, now=NOW) == api_client


def test_an_administrator_rotates_the_token_shown_once_and_the_old_one_stops_at_once(client, users, team):
    issued = services.api_client_create(
        name="Insight", role=roles.PRACTITIONER, team=team, service=None, by=users["admin"], now=timezone.now()
    )
    api_client, old = issued.client, issued.token
    assert get(client, reverse("api:family_list"), old).status_code == 200
    client.force_login(users["admin"])
    assert "Rotate token" in client.get(reverse("api_clients:client_list")).content.decode()
    assert client.post(reverse("api_clients:client_token"), {"client": api_client.pk}).status_code == 302
    page = client.get(reverse("api_clients:client_list")).content.decode()
    assert "New token for Insight" in page and "The old token no longer works" in page
    new = page.split('data-testid="api-token">')[1].split("<")[0]
    assert new.startswith(services.TOKEN_PREFIX) and new != old
    assert new not in client.get(reverse("api_clients:client_list")).content.decode()  # shown once
    api_client.refresh_from_db()
    assert api_client.token_hash == services.token_hash(new) and api_client.token_prefix == new[:10]
    client.logout()
    assert get(client, reverse("api:family_list"), old).status_code == 401
    assert get(client, reverse("api:family_list"), new).status_code == 200
    last = api_client.history.first()
    assert last.history_user == users["admin"] and last.history_change_reason == f"Token rotated by {users['admin']}"


def test_rotating_the_token_leaves_the_secret_and_its_access_tokens_alone(client, users, team):
    api_client, secret = new_client(users, team=team)
    token = access_token(client, api_client, secret)
    services.api_client_token_rotate(client=api_client, by=users["admin"], now=timezone.now())
    assert get(client, reverse("api:family_list"), token).status_code == 200
    assert access_token(client, api_client, secret)


def test_only_an_administrator_rotates_and_never_a_revoked_client_s_token(client, users, team):
    api_client, _secret = new_client(users, team=team)
    before = api_client.token_hash
    client.force_login(users["manager"])
    assert client.post(reverse("api_clients:client_token"), {"client": api_client.pk}).status_code == 403
    assert client.get(reverse("api_clients:client_token")).status_code == 405
    client.force_login(users["admin"])
    client.post(reverse("api_clients:client_revoke"), {"client": api_client.pk})
    response = client.post(reverse("api_clients:client_token"), {"client": api_client.pk}, follow=True)
    assert "no longer exists or has been revoked" in response.content.decode()
    for junk in ("", "x", "999999", "1 OR 1=1", "<script>alert(1)</script>"):
        assert client.post(reverse("api_clients:client_token"), {"client": junk}).status_code == 302
    api_client.refresh_from_db()
    assert api_client.token_hash == before
    with pytest.raises(services.ClientRefused):
        services.api_client_token_rotate(client=api_client, by=users["admin"], now=timezone.now())
