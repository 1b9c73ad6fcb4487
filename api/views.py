"""The read API (ADR 46): thin views over the scope selectors every page uses.

Every call is access-logged as the client's service-account user: one row per family a response
shows (a list is an export of each, a record a view), or one row without a family for a call that
shows none. Lists use cursor pagination ordered by id, so a large read is a walk of stable pages.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import generics
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, PermissionDenied, UnsupportedMediaType
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts import roles
from api import oauth, services
from api import serializers as s
from api.authentication import ClientTokenAuthentication, PerClientRateThrottle, TokenEndpointThrottle
from api.models import ApiClient
from cases import access, selectors
from cases.models import AccessLog, Episode
from deadlines.models import Deadline
from kit.time import LONDON
from oversight import annex_a
from oversight import selectors as oversight_selectors

EXPORT, VIEW = AccessLog.Action.EXPORT, AccessLog.Action.VIEW


class ById(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def _log(request, family_ids, *, what: str, action: str) -> None:
    """One access-log row per family shown, or one row without a family when none was."""
    family_ids = {pk for pk in family_ids if pk}
    if family_ids:
        access.log_shown(request, [(pk, None) for pk in family_ids], what=f"API: {what}", action=action)
    else:
        access.log_access(request, action=action, what=f"API: {what}")


def _require_role(user, *names: str) -> None:
    if not user.has_role(*names):
        raise PermissionDenied(f"This client's role may not read this: it needs {' or '.join(names)}.")


class LoggedList(generics.ListAPIView):
    pagination_class = ById
    filter_class: type = None
    what = ""

    def filters(self) -> dict:
        form = self.filter_class(data=self.request.query_params)
        form.is_valid(raise_exception=True)
        return form.validated_data

    @staticmethod
    def family_of(row) -> int | None:
        return row.family_id

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        data = self.get_serializer(page, many=True).data
        _log(request, (self.family_of(row) for row in page), what=self.what, action=EXPORT)
        return self.get_paginated_response(data)


class LoggedDetail(generics.RetrieveAPIView):
    what = ""

    @staticmethod
    def family_of(record) -> int | None:
        return record.family_id

    def retrieve(self, request, *args, **kwargs):
        record = self.get_object()
        data = self.get_serializer(record).data
        _log(request, [self.family_of(record)], what=self.what, action=VIEW)
        return Response(data)


def _day_start(day):
    return oversight_selectors.local_midnight(day)


# --- Families -----------------------------------------------------------------------------------


class FamilyList(LoggedList):
    """The families this client's role may see."""

    serializer_class = s.FamilySerializer
    what = "families"

    @staticmethod
    def family_of(row) -> int | None:
        return row.pk

    def get_queryset(self):
        return selectors.families_visible_to(self.request.user).select_related("team")


class FamilyDetail(LoggedDetail):
    """One family: 404 when it is outside this client's scope, as on the family's page."""

    serializer_class = s.FamilySerializer
    what = "family"

    @staticmethod
    def family_of(record) -> int | None:
        return record.pk

    def get_object(self):
        return access.visible_family_or_404(self.request.user, self.kwargs["pk"])


# --- Contacts -----------------------------------------------------------------------------------


@extend_schema(parameters=[s.ContactFilter])
class ContactList(LoggedList):
    """Contacts to the front door, in scope."""

    serializer_class = s.ContactSerializer
    filter_class = s.ContactFilter
    what = "contacts"

    def get_queryset(self):
        f = self.filters()
        qs = selectors.contacts_visible_to(self.request.user).select_related("allocated_team")
        if f.get("received_from"):
            qs = qs.filter(received_at__gte=_day_start(f["received_from"]))
        if f.get("received_to"):
            qs = qs.filter(received_at__lt=_day_start(f["received_to"] + timedelta(days=1)))
        if f.get("state"):
            qs = qs.filter(state=f["state"])
        return qs


class ContactDetail(LoggedDetail):
    serializer_class = s.ContactSerializer
    what = "contact"

    def get_object(self):
        return access.visible_contact_or_404(self.request.user, self.kwargs["pk"])


# --- Episodes -----------------------------------------------------------------------------------


@extend_schema(parameters=[s.EpisodeFilter])
class EpisodeList(LoggedList):
    """Early Help episodes, in scope."""

    serializer_class = s.EpisodeSerializer
    filter_class = s.EpisodeFilter
    what = "episodes"

    def get_queryset(self):
        f = self.filters()
        qs = selectors.episodes_visible_to(self.request.user).select_related("team", "lead_professional")
        if f.get("state"):
            qs = qs.filter(state=f["state"])
        if f.get("open") is True:
            qs = qs.exclude(state=Episode.State.CLOSED)
        elif f.get("open") is False:
            qs = qs.filter(state=Episode.State.CLOSED)
        return qs


class EpisodeDetail(LoggedDetail):
    serializer_class = s.EpisodeSerializer
    what = "episode"

    def get_object(self):
        episode = (
            selectors.episodes_visible_to(self.request.user)
            .select_related("team", "lead_professional")
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if episode is None:
            raise Http404
        return episode


# --- Deadlines ----------------------------------------------------------------------------------


def _deadlines(user, now):
    """Clocks of the families in scope, with their status at `now` (staff supervision clocks are not family data)."""
    return (
        Deadline.objects.filter(family__in=selectors.families_visible_to(user).values("pk"))
        .with_status(now)
        .select_related("team")
    )


@extend_schema(parameters=[s.DeadlineFilter])
class DeadlineList(LoggedList):
    """Clocks (deadlines) with their status at the time of the call."""

    serializer_class = s.DeadlineSerializer
    filter_class = s.DeadlineFilter
    what = "deadlines"

    def get_queryset(self):
        f = self.filters()
        qs = _deadlines(self.request.user, timezone.now())
        if f.get("status"):
            qs = qs.filter(status=f["status"])
        if f.get("open") is True:
            qs = qs.filter(stopped_at__isnull=True)
        elif f.get("open") is False:
            qs = qs.filter(stopped_at__isnull=False)
        if f.get("rule_id"):
            qs = qs.filter(rule_id=f["rule_id"])
        return qs


class DeadlineDetail(LoggedDetail):
    serializer_class = s.DeadlineSerializer
    what = "deadline"

    def get_object(self):
        deadline = _deadlines(self.request.user, timezone.now()).filter(pk=self.kwargs["pk"]).first()
        if deadline is None:
            raise Http404
        return deadline


# --- Aggregates behind the returns ----------------------------------------------------------------


class AnnexAList(APIView):
    """Ofsted Annex A, list 1 (contacts) or 2 (early help), for the six months before `as_at`: the
    rows of the workbook the Annex A page builds, for a manager's service. Paged by `offset`/`limit`."""

    list_name = annex_a.LIST_1
    what = "Annex A list 1"

    @extend_schema(parameters=[s.AnnexAFilter], responses=s.AnnexAPageSerializer)
    def get(self, request):
        _require_role(request.user, roles.MANAGER)
        form = s.AnnexAFilter(data=request.query_params)
        form.is_valid(raise_exception=True)
        f = form.validated_data
        as_at = f.get("as_at") or timezone.localdate(timezone.now(), LONDON)
        period = oversight_selectors.annex_a_period(as_at)
        mode = settings.ANNEX_A_VALUES
        if self.list_name == annex_a.LIST_1:
            rows, columns = annex_a.list_1_rows(request.user, period=period, mode=mode), annex_a.LIST_1_COLUMNS
        else:
            rows = annex_a.list_2_rows(
                request.user, period=period, mode=mode, unassessed=settings.ANNEX_A_LIST_2_UNASSESSED
            )
            columns = annex_a.LIST_2_COLUMNS
        offset, limit = f["offset"], f["limit"]
        page = list(islice(rows, offset, offset + limit + 1))
        more = len(page) > limit
        page = page[:limit]
        url = request.build_absolute_uri()
        _log(request, (row.family_id for row in page), what=self.what, action=EXPORT)
        return Response(
            {
                "list": self.list_name,
                "period_start": period.start,
                "period_end": period.end,
                "columns": list(columns),
                "rows": [list(row.cells) for row in page],
                "next": replace_query_param(url, "offset", offset + limit) if more else None,
            }
        )


class AnnexAList2(AnnexAList):
    __doc__ = AnnexAList.__doc__
    list_name = annex_a.LIST_2
    what = "Annex A list 2"


class Timeliness(APIView):
    """Clocks started in the period in the client's service, met within their expected time and
    maximum, grouped by rule, team or month: the figures of the timeliness report (no family data)."""

    @extend_schema(parameters=[s.TimelinessFilter], responses=s.TimelinessSerializer)
    def get(self, request):
        _require_role(request.user, roles.MANAGER, roles.TEAM_LEADER)
        form = s.TimelinessFilter(data=request.query_params)
        form.is_valid(raise_exception=True)
        f = form.validated_data
        now = timezone.now()
        today = timezone.localdate(now, LONDON)
        default = oversight_selectors.default_period(today)
        period = oversight_selectors.Period(f.get("date_from") or default.start, f.get("date_to") or default.end)
        clocks = oversight_selectors.timeliness_clocks(request.user, period=period)
        group = f["group"]
        if group == "rule":
            raw = oversight_selectors.timeliness_by_rule(clocks, now=now)
            rows = [_timeliness_row(r, r["rule_id"], r["title"]) for r in raw]
        elif group == "team":
            raw = oversight_selectors.timeliness_by_team(clocks, now=now)
            rows = [_timeliness_row(r, r["team__name"] or "", "") for r in raw]
        else:
            raw = oversight_selectors.timeliness_by_month(clocks, now=now, period=period)
            rows = [_timeliness_row(r, r["month"].isoformat(), r["month"].strftime("%B %Y")) for r in raw]
        _log(request, (), what=f"timeliness by {group}", action=VIEW)
        return Response({"group": group, "period_start": period.start, "period_end": period.end, "rows": rows})


def _timeliness_row(r: dict, key: str, title: str) -> dict:
    median = r.get("median")
    return {
        "key": key,
        "title": title,
        "run": r["run"],
        "judged_expected": r["judged_expected"],
        "met_expected": r["met_expected"],
        "pct_expected": r["pct_expected"],
        "judged_maximum": r["judged_maximum"],
        "met_maximum": r["met_maximum"],
        "pct_maximum": r["pct_maximum"],
        "open": r["open"],
        "median_hours": round(median.total_seconds() / 3600, 1) if median is not None else None,
    }


# --- OAuth 2.0 client credentials (ADR 54) ------------------------------------------------------


def _no_store(response):
    """RFC 6749 section 5.1: a token response, or an error about one, is never cached."""
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


class OAuthToken(APIView):
    """OAuth 2.0 client credentials (RFC 6749 section 4.4): a client's id and secret, by HTTP Basic or in
    the form, for an access token that reads what the client's own token reads, until `expires_in` seconds
    have passed or the client is revoked or its secret rotated. Errors as RFC 6749 section 5.2."""

    authentication_classes = []  # the client authenticates with its id and secret, checked in `post`
    permission_classes = [AllowAny]
    throttle_classes = [TokenEndpointThrottle]
    parser_classes = [FormParser]

    @extend_schema(
        auth=[],
        request=s.TokenRequestSerializer,
        responses={200: s.AccessTokenSerializer, 400: s.OAuthErrorSerializer, 401: s.OAuthErrorSerializer},
        summary="An access token for the client's id and secret",
    )
    def post(self, request):
        asked = oauth.read_token_request(
            authorization=request.META.get("HTTP_AUTHORIZATION", ""), form=request.data, query=request.query_params
        )
        client = services.client_for_credentials(asked.client_id, asked.client_secret)
        if client is None:
            raise oauth.invalid_client("The client id or secret is wrong, or the client has been revoked.")
        oauth.check_grant_type(asked.grant_type)
        scope = oauth.granted_scope(asked.scope)
        request.user, request.auth = client.user, client
        throttle = PerClientRateThrottle()  # the token endpoint counts towards the client's rate, like any call
        if not throttle.allow_request(request, self):
            self.throttled(request, throttle.wait())
        issued = services.access_token_issue(client=client, now=timezone.now())
        _log(request, (), what="access token issued", action=VIEW)
        return _no_store(
            Response(
                {
                    "access_token": issued.access_token,
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in,
                    "scope": scope,
                }
            )
        )

    def handle_exception(self, exc):
        if isinstance(exc, (ParseError, UnsupportedMediaType)):
            exc = oauth.OAuthError("invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
        if isinstance(exc, oauth.OAuthError):
            response = Response(exc.body(), status=exc.status)
            if exc.status == 401:
                response["WWW-Authenticate"] = 'Basic realm="earlyhelp"'
            return _no_store(response)
        return _no_store(super().handle_exception(exc))


@extend_schema(exclude=True)
class OAuthTokenWithoutSlash(OAuthToken):
    """The same endpoint at the address without the final slash (documented once, with it)."""


# --- The schema and its documentation -----------------------------------------------------------


class ClientOrAdministrator(BasePermission):
    """An API client (its token), or an administrator signed in to the product."""

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiClient):
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.has_role(roles.ADMINISTRATOR))


DOCS_AUTH = [ClientTokenAuthentication, SessionAuthentication]


class Schema(SpectacularAPIView):
    authentication_classes = DOCS_AUTH
    permission_classes = [IsAuthenticated, ClientOrAdministrator]


class Docs(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's static files; its start-up script is a separate
    request, so the page keeps the product's Content-Security-Policy (no inline script or style)."""

    authentication_classes = DOCS_AUTH
    permission_classes = [IsAuthenticated, ClientOrAdministrator]
    template_name = "api/swagger_ui.html"
    url_name = "api:schema"
    title = "Early Help read API"
