"""Who may open a family's record from a page, and the access log of every view of one.

Used by the pages in workflows and oversight: each page finds its records through these (in the
user's scope, or under a logged break-glass grant, or else 404) and logs what it showed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from django.core.paginator import Page
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from cases import selectors, services
from cases.models import AccessLog, Contact, Family

# --- The access log ------------------------------------------------------------------------------


def log_access(request, *, action: str, what: str, family=None, person=None, break_glass_reason: str = "") -> None:
    """One access-log row for what this request did (viewed, searched, exported...)."""
    services.access_log_record(
        user=request.user,
        action=action,
        what=what,
        at=timezone.now(),
        family=family,
        person=person,
        ip_address=services.client_ip(request),
        break_glass_reason=break_glass_reason,
    )


def log_shown(request, subjects, *, what: str, action: str = AccessLog.Action.VIEW) -> None:
    """One access-log row for each (family id, person id) a page shows: a list is one view of each."""
    services.access_log_record_many(
        user=request.user,
        action=action,
        what=what,
        at=timezone.now(),
        subjects=subjects,
        ip_address=services.client_ip(request),
    )


def families_in(*values) -> set[int]:
    """The ids of the families whose records are among `values`: what a page's context put on screen.

    It walks lists, dicts, pages, dataclasses, evaluated querysets and model instances, and from each
    instance the related objects it has loaded (by select_related, prefetch_related or a template
    reading an attribute). It never queries: called after rendering, it sees what was rendered.
    """
    found: set[int] = set()
    seen: set[tuple[str, object]] = set()

    def walk(value, depth: int) -> None:
        if value is None or depth > 8 or isinstance(value, (str, bytes, int, float, bool)):
            return
        if isinstance(value, Model):
            key = (value._meta.label, value.pk)
            if key in seen:
                return
            seen.add(key)
            if isinstance(value, Family):
                found.add(value.pk)
            elif isinstance(getattr(value, "family_id", None), int):
                found.add(value.family_id)
            for related in value._state.fields_cache.values():
                walk(related, depth + 1)
            for related in getattr(value, "_prefetched_objects_cache", {}).values():
                walk(related, depth + 1)
        elif isinstance(value, QuerySet):
            if value._result_cache is not None:
                walk(value._result_cache, depth + 1)
        elif isinstance(value, Page):
            walk(value.object_list, depth + 1)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item, depth + 1)
        elif is_dataclass(value) and not isinstance(value, type):
            for field in fields(value):
                walk(getattr(value, field.name), depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item, depth + 1)

    for value in values:
        walk(value, 0)
    return found


def render_logged(request, template: str, context: dict, *, what: str, status: int = 200):
    """Render a page that lists families, then log one view of each family it showed."""
    response = render(request, template, context, status=status)
    log_shown(request, [(pk, None) for pk in families_in(context)], what=what)
    return response


def log_search(request, people, *, what: str) -> None:
    """A search that found people is one row per person and family shown; one that found none, one row."""
    subjects = [(m.family_id, person.pk) for person in people for m in person.memberships.all()]
    if subjects:
        log_shown(request, subjects, what=what, action=AccessLog.Action.SEARCH)
    else:
        log_access(request, action=AccessLog.Action.SEARCH, what=what)


# --- Records in scope, or 404 --------------------------------------------------------------------


def visible_family_or_404(user, pk: int) -> Family:
    family = selectors.family_in_scope(user, pk)
    if family is None:
        raise Http404
    return family


def visible_contact_or_404(user, pk: int) -> Contact:
    return get_object_or_404(
        selectors.contacts_visible_to(user).select_related("family", "decided_by", "allocated_team", "created_by"),
        pk=pk,
    )


def break_glass_reason(request, family_pk: int) -> str | None:
    """The reason given for break-glass access to this family in this session, while it lasts."""
    return services.break_glass_reason(request.session, family_pk, now=timezone.now())


def family_for_request_or_404(request, pk: int) -> tuple[Family, str]:
    """The family if in scope, or under a live break-glass grant (with its reason); else 404."""
    family = selectors.family_in_scope(request.user, pk)  # compiled once per reach shape (ADR 67)
    if family is not None:
        return family, ""
    reason = break_glass_reason(request, pk)
    if reason:
        family = selectors.family_for_break_glass(request.user, pk)
        if family is not None:
            return family, reason
    raise Http404


def remember_matches(request, matches) -> None:
    """The intake match search: log each person and family shown, and let this user record a contact
    for those families for the next hour (they may be outside the user's scope, see find_matches)."""
    subjects = [(family.pk, match["person"].pk) for match in matches for family in match["families"]]
    log_shown(request, subjects, what="intake match search", action=AccessLog.Action.SEARCH)
    services.intake_matches_grant(request.session, [family_pk for family_pk, _ in subjects], now=timezone.now())


def family_for_intake_or_404(request, pk: int) -> tuple[Family, bool]:
    """The family a contact is recorded for: in scope, or picked from this user's intake matches."""
    family = selectors.families_visible_to(request.user).filter(pk=pk).first()
    if family is not None:
        return family, False
    if services.intake_match_granted(request.session, pk, now=timezone.now()):
        return get_object_or_404(Family, pk=pk), True
    raise Http404
