"""Creating and revoking API clients, their client secrets and access tokens, and finding the client a
token belongs to (its own token, or an access token issued for its client credentials: ADR 54)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify
from simple_history.utils import bulk_update_with_history

from accounts import roles
from accounts.models import Service, Team, User
from api.models import AccessToken, ApiClient

TOKEN_PREFIX = "ehapi_"  # noqa: S105 (the prefix every token starts with)
CLIENT_ID_PREFIX = "ehc_"
CLIENT_ID_SHAPE = re.compile(r"ehc_[0-9a-f]{1,64}")
SECRET_PREFIX = "ehcs_"  # noqa: S105 (the prefix of every client secret)
ACCESS_TOKEN_PREFIX = "ehat_"  # noqa: S105 (the prefix of every access token)
# The one scope: the API is read-only, and what a client reads is its role's (never more).
SCOPE = "read"
# Longer values are never ours: refused without hashing or a query.
LONGEST_CREDENTIAL = 200
# Roles a client may act as: every role that reads families' work, never the Administrator.
CLIENT_ROLES = tuple(name for name in roles.ALL_ROLES if name != roles.ADMINISTRATOR)
TEAM_ROLES = frozenset({roles.PRACTITIONER, roles.TEAM_LEADER, roles.DUTY_WORKER})
SERVICE_ROLES = frozenset({roles.MANAGER, roles.DUTY_MANAGER})
# `last_used_at` is written at most this often, not on every call.
LAST_USED_EVERY = timedelta(minutes=5)


class ClientRefused(Exception):
    """The client cannot be created as asked; the message says why (and the field it is about)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IssuedClient:
    client: ApiClient
    token: str  # shown once, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


@dataclass(frozen=True)
class IssuedSecret:
    client: ApiClient
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str  # returned once, never stored
    expires_in: int  # seconds
    scope: str


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(10)


def _username_for(name: str) -> str:
    base = f"api-{slugify(name)[:100] or 'client'}"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


@transaction.atomic
def api_client_create(
    *, name: str, role: str, team: Team | None, service: Service | None, by: User, now: datetime
) -> IssuedClient:
    """A client, its service-account user in `role` (with the team or service the role needs) and its token."""
    name = name.strip()
    if not name:
        raise ClientRefused("Enter a name for the client", "name")
    if ApiClient.objects.filter(name__iexact=name).exists():
        raise ClientRefused("A client with this name already exists: choose another name", "name")
    if role not in CLIENT_ROLES:
        raise ClientRefused("Choose the role the client acts as", "role")
    if role in TEAM_ROLES and team is None:
        raise ClientRefused(f"Choose the team: a {role.lower()} sees their team's families", "team")
    if role in SERVICE_ROLES and service is None and team is None:
        raise ClientRefused(f"Choose the service: a {role.lower()} sees their service's families", "service")
    user = User(
        username=_username_for(name),
        first_name=name[:150],
        last_name="(API client)",
        team=team,
        service=service,
        job_title="API client",
    )
    user.set_unusable_password()
    user.save()
    user.groups.set([Group.objects.get_or_create(name=role)[0]])
    token = _new_token()
    client = ApiClient.objects.create(
        name=name,
        user=user,
        token_hash=token_hash(token),
        token_prefix=token[: len(TOKEN_PREFIX) + 4],
        client_id=new_client_id(),
        created_by=by,
        created_at=now,
    )
    return IssuedClient(client=client, token=token)


@transaction.atomic
def api_client_revoke(*, client: ApiClient, by: User, now: datetime) -> ApiClient:
    """The token stops working at once; the service account is deactivated (the history keeps both)."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is None:
        client.revoked_at = now
        client.revoked_by = by
        client.save(update_fields=["revoked_at", "revoked_by"])
        user = client.user
        user.is_active = False
        user.save(update_fields=["is_active"])
        _end_access_tokens(client, by=by, now=now)
    return client


def _end_access_tokens(client: ApiClient, *, by: User, now: datetime) -> int:
    """Every access token of the client still running ends now (each change in its history)."""
    live = list(AccessToken.objects.filter(client=client, revoked_at__isnull=True, expires_at__gt=now))
    for access_token in live:
        access_token.revoked_at = now
    if live:
        bulk_update_with_history(live, AccessToken, ["revoked_at"], default_user=by, default_date=now)
    return len(live)


@transaction.atomic
def api_client_secret_rotate(*, client: ApiClient, by: User, now: datetime) -> IssuedSecret:
    """A new client secret (the first, or in place of the old one, which stops working at once, as do the
    access tokens issued for it). The secret is returned once; only its hash is kept."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ClientRefused(f"{client.name} has been revoked: add a new client instead")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    client.secret_hash = token_hash(secret)
    client.secret_prefix = secret[: len(SECRET_PREFIX) + 4]
    client.secret_created_at = now
    client.save(update_fields=["secret_hash", "secret_prefix", "secret_created_at"])
    _end_access_tokens(client, by=by, now=now)
    return IssuedSecret(client=client, secret=secret)


@transaction.atomic
def api_client_token_rotate(*, client: ApiClient, by: User, now: datetime) -> IssuedClient:
    """A new long-lived token in place of the client's: the old one stops working at once (only the new
    one's hash is kept; the history keeps which prefix was replaced, when and by whom). Access tokens
    issued for the client's secret are not the token's and go on until they expire."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ClientRefused(f"{client.name} has been revoked: add a new client instead")
    token = _new_token()
    client.token_hash = token_hash(token)
    client.token_prefix = token[: len(TOKEN_PREFIX) + 4]
    client._history_user = by
    client._change_reason = f"Token rotated by {by}"
    client.save(update_fields=["token_hash", "token_prefix"])
    return IssuedClient(client=client, token=token)


# Expired access tokens are kept this long after they end (a support question about a failed call
# can still find the row), then deleted by the beat task `api.tasks.purge_access_tokens`.
EXPIRED_ACCESS_TOKENS_KEPT = timedelta(days=1)


def access_tokens_purge(*, now: datetime) -> int:
    """Delete the access tokens that expired more than EXPIRED_ACCESS_TOKENS_KEPT before `now` (ended ones
    too: they expire as the others do). Each token's history keeps its issue and any ending; its deletion
    is recorded in that history by the same delete. Returns how many were deleted."""
    deleted, _ = AccessToken.objects.filter(expires_at__lt=now - EXPIRED_ACCESS_TOKENS_KEPT).delete()
    return deleted


def client_for_credentials(client_id: str, secret: str) -> ApiClient | None:
    """The active client with this id and secret (compared in constant time), or None."""
    if not CLIENT_ID_SHAPE.fullmatch(client_id) or not secret.startswith(SECRET_PREFIX):
        return None
    if len(secret) > LONGEST_CREDENTIAL:
        return None
    client = (
        ApiClient.objects.select_related("user")
        .filter(client_id=client_id, revoked_at__isnull=True, user__is_active=True)
        .exclude(secret_hash="")
        .first()
    )
    if client is None or not hmac.compare_digest(client.secret_hash, token_hash(secret)):
        return None
    return client


def access_token_issue(*, client: ApiClient, now: datetime) -> IssuedAccessToken:
    """A bearer token for the client, good for API_ACCESS_TOKEN_SECONDS (only its hash is kept)."""
    token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = settings.API_ACCESS_TOKEN_SECONDS
    AccessToken.objects.create(
        client=client, token_hash=token_hash(token), created_at=now, expires_at=now + timedelta(seconds=lifetime)
    )
    return IssuedAccessToken(access_token=token, expires_in=lifetime, scope=SCOPE)


def client_for_token(token: str, *, now: datetime) -> ApiClient | None:
    """The active client holding this token (its own, or an access token issued to it that has not expired
    or been ended), with its user and the user's role names loaded (one query)."""
    if len(token) > LONGEST_CREDENTIAL:
        return None
    if token.startswith(TOKEN_PREFIX):
        holding = Q(token_hash=token_hash(token))
    elif token.startswith(ACCESS_TOKEN_PREFIX):
        holding = Q(
            access_tokens__token_hash=token_hash(token),
            access_tokens__expires_at__gt=now,
            access_tokens__revoked_at__isnull=True,
        )
    else:
        return None
    client = (
        ApiClient.objects.filter(holding, revoked_at__isnull=True, user__is_active=True)
        .select_related("user", "user__team")
        .annotate(role_list=ArrayAgg("user__groups__name", filter=Q(user__groups__isnull=False), default=[]))
        .first()
    )
    if client is None:
        return None
    client.user._role_names = frozenset(client.role_list)
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_EVERY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client
