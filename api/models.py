"""An API client: a system of the council's (business intelligence, a partner) that reads data out.

Each client acts as its own service-account user, which holds one role (and the team or service
that role needs): every read goes through the same scope selectors as that role's pages, so a
client never sees more than a person in that role would. Only a hash of its token is kept.

A client may also hold a client secret (OAuth 2.0 client credentials, ADR 54): with its client id and
secret it asks the token endpoint for a short-lived access token, which reads exactly what its token
reads. Only hashes of the secret and of each access token are kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

USER = settings.AUTH_USER_MODEL


class ApiClient(models.Model):
    name = models.CharField(max_length=120, unique=True, help_text="For example, Business intelligence team")
    user = models.OneToOneField(USER, on_delete=models.PROTECT, related_name="api_client")
    # SHA-256 of the token (a 256-bit random value, so a fast hash is enough); the token itself is shown once.
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's first characters, so an administrator can tell which token a system holds.
    token_prefix = models.CharField(max_length=16)
    # OAuth 2.0 client credentials (ADR 54): the public client id, and the SHA-256 of the client secret
    # (a 256-bit random value; empty until an administrator creates one). Rotating replaces it.
    client_id = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64, blank=True)
    secret_prefix = models.CharField(max_length=16, blank=True)
    secret_created_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccessToken(models.Model):
    """A short-lived bearer token issued to a client for its id and secret (OAuth 2.0 client credentials).

    It ends at `expires_at`, or earlier when the client is revoked or its secret rotated (`revoked_at`).
    """

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="access_tokens")
    # SHA-256 of the token (a 256-bit random value); the token itself is returned once, to the client.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["client", "expires_at"])]

    def __str__(self) -> str:
        return f"Access token of {self.client} until {self.expires_at:%Y-%m-%d %H:%M}"
