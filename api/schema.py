"""How the schema describes authentication (registered when the app is ready): the client's own token,
or OAuth 2.0 client credentials (ADR 54), whose access token is sent the same way."""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from api.oauth import SCOPES


class ClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ClientTokenAuthentication"
    name = ["clientToken", "oauth2"]

    def get_security_requirement(self, auto_schema):
        return [{"clientToken": []}, {"oauth2": list(SCOPES)}]  # either one

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "The token an administrator created for this client (shown once).",
            },
            {
                "type": "oauth2",
                "description": (
                    "OAuth 2.0 client credentials: the client id and secret an administrator created, sent by "
                    "HTTP Basic (or as client_id and client_secret in the form) to the token endpoint; then "
                    "`Authorization: Bearer <access_token>` until it expires."
                ),
                "flows": {"clientCredentials": {"tokenUrl": reverse("api:oauth_token"), "scopes": dict(SCOPES)}},
            },
        ]
