"""Creating and revoking API clients, and finding the client a token belongs to."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify

from accounts import roles
from accounts.models import Service, Team, User
from api.models import ApiClient

TOKEN_PREFIX = "ehapi_"  # noqa: S105 (the prefix every token starts with)
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


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


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
    return client


def client_for_token(token: str, *, now: datetime) -> ApiClient | None:
    """The active client holding this token, with its user and the user's role names loaded (one query)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    client = (
        ApiClient.objects.select_related("user", "user__team")
        .annotate(role_list=ArrayAgg("user__groups__name", filter=Q(user__groups__isnull=False), default=[]))
        .filter(token_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if client is None:
        return None
    client.user._role_names = frozenset(client.role_list)
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_EVERY:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client
