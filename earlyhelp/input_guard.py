"""Hostile input refused at the door, and small parsers for the values views read from a query string.

PostgreSQL cannot store or even compare text holding a NUL character (U+0000): any such value
reaching a query or a JSON column is an error, a 500. No form in this service has a use for
one, so rather than check in every view (and miss the next one), one middleware refuses any
request with a NUL in its path, query string, form fields and their names, uploaded file names
or cookies with a 400 page, before a view, a form or the session store sees it. See ADR 14.

Numbers read from a query string go through `kit.params.int_param`, which ignores what is not a
plain number and clamps what is, so a filter can never overflow a date or a database integer
(re-exported here for the callers that still import it from this module).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import JsonResponse
from django.shortcuts import render

from earlyhelp.middleware import CONTENT_SECURITY_POLICY

__all__ = ["RefuseNulMiddleware", "has_nul"]

NUL = "\x00"
# The OAuth token endpoint's errors have the shape RFC 6749 section 5.2 gives them (ADR 54).
OAUTH_TOKEN_PATH = "/api/v1/oauth/token/"  # noqa: S105 (an address)


def _any_nul(values: Iterable[str]) -> bool:
    return any(NUL in value for value in values)


def _query_has_nul(query) -> bool:
    return any(NUL in key or _any_nul(values) for key, values in query.lists())


def has_nul(request) -> bool:
    """Whether any text of the request that the application reads holds a NUL."""
    if NUL in request.path or _query_has_nul(request.GET) or _any_nul(request.COOKIES.values()):
        return True
    if request.method == "POST":
        if _query_has_nul(request.POST):
            return True
        for key, files in request.FILES.lists():
            if NUL in key or _any_nul(f.name or "" for f in files):
                return True
    return False


class RefuseNulMiddleware:
    """A 400, before anything else reads it, for a request carrying a NUL character."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not has_nul(request):
            return self.get_response(request)
        if request.path.rstrip("/") == OAUTH_TOKEN_PATH.rstrip("/"):
            body = {"error": "invalid_request", "error_description": "The request holds a NUL character."}
            response = JsonResponse(body, status=400)
            response["Pragma"] = "no-cache"
        elif "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"error": "invalid_characters"}, status=400)
        else:
            # Rendered without the session or the user: the cookie itself may be what was refused.
            response = render(request, "errors/400.html", status=400)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Cache-Control"] = "no-store"
        return response
