"""The token request of OAuth 2.0 client credentials (RFC 6749 sections 2.3.1, 4.4 and 5), read and checked.

No database here: `read_token_request` turns the Authorization header and the form into the client's
credentials and what it asks for, or raises `OAuthError` with the RFC's error code. The view finds the
client (api.services), then checks the grant type and the scope (`check_grant_type`, `granted_scope`),
and answers.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

GRANT_TYPE = "client_credentials"
SCOPES = {"read": "Read what the client's role sees (the API has no write endpoints)"}
# Parameters the token endpoint reads; others are ignored, as RFC 6749 section 3.2 says.
PARAMETERS = ("grant_type", "scope", "client_id", "client_secret")
LONGEST_VALUE = 1000


class OAuthError(Exception):
    """An error response of RFC 6749 section 5.2: `error` is one of its codes; `description` is plain ASCII."""

    def __init__(self, error: str, description: str, *, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status  # 401 for invalid_client, with a WWW-Authenticate challenge

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    grant_type: str
    scope: str


def _single(form, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"Send {name} once, not {len(values)} times.")
    if not values:
        return None
    value = values[0]
    if len(value) > LONGEST_VALUE:
        raise OAuthError("invalid_request", f"The {name} parameter is too long.")
    return value


def _basic_credentials(header: str) -> tuple[str, str]:
    """The client id and secret of `Authorization: Basic ...`, each form-urlencoded (RFC 6749 2.3.1)."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Authenticate the client with HTTP Basic (client id and secret) or in the form.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise invalid_client("The Basic credentials are not valid base64 of client_id:client_secret.") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("The Basic credentials must be client_id:client_secret.")
    return unquote_plus(client_id), unquote_plus(secret)


def read_token_request(*, authorization: str, form, query) -> TokenRequest:
    """The client's credentials and scope, or `OAuthError`. `form` and `query` are QueryDicts."""
    if "client_secret" in query or "client_id" in query:
        raise OAuthError(
            "invalid_request", "Send the client credentials in the Authorization header or the form, never the URL."
        )
    values = {name: _single(form, name) for name in PARAMETERS}
    if authorization:
        if values["client_secret"] is not None:
            raise OAuthError(
                "invalid_request", "Authenticate the client one way: the Authorization header or the form, not both."
            )
        client_id, secret = _basic_credentials(authorization)
        if values["client_id"] is not None and values["client_id"] != client_id:
            raise OAuthError("invalid_request", "The client_id in the form is not the one in the Authorization header.")
    else:
        client_id, secret = values["client_id"], values["client_secret"]
        if not client_id or not secret:
            raise invalid_client(
                "Authenticate the client: HTTP Basic with the client id and secret, or client_id and client_secret."
            )
    return TokenRequest(
        client_id=client_id, client_secret=secret, grant_type=values["grant_type"] or "", scope=values["scope"] or ""
    )


def check_grant_type(grant_type: str) -> None:
    """Asked once the client is authenticated, so a caller without credentials learns nothing more."""
    if not grant_type:
        raise OAuthError("invalid_request", "Send grant_type=client_credentials.")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported.")


def granted_scope(requested: str) -> str:
    """The scope granted for what the client asked (nothing asked: all of it), or `invalid_scope`."""
    asked = set(requested.split())
    if asked - set(SCOPES):
        raise OAuthError("invalid_scope", f"The only scope is: {' '.join(SCOPES)}.")
    return " ".join(sorted(asked or SCOPES))
