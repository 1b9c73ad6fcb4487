"""Every URL of the app, filled in with ids from the test world, for the permission matrix."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver, reverse

SKIP_NAMESPACES = {"admin"}  # Django's own admin (superusers only) is out of the product's scope.
SKIP_NAMES = {"login", "logout", "healthz", "notify_receipts"}  # the last: Notify's callback, bearer token


def all_url_names() -> list[tuple[str, list[str]]]:
    """(namespaced name, kwarg names) for every named URL pattern."""
    found: list[tuple[str, list[str]]] = []

    def walk(patterns, namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in SKIP_NAMESPACES:
                    continue
                walk(entry.url_patterns, f"{namespace}{entry.namespace}:" if entry.namespace else namespace)
            elif isinstance(entry, URLPattern) and entry.name and entry.name not in SKIP_NAMES:
                found.append((f"{namespace}{entry.name}", list(entry.pattern.converters)))

    walk(get_resolver().url_patterns)
    return sorted({(n, tuple(k)) for n, k in found})


def object_for_pk(name: str, world: dict):
    if name.startswith("episodes:message_"):
        return world["message"]
    if name.startswith("episodes:") or name == "oversight:decision_new":
        return world["episode"]
    if name.startswith("accounts:service"):
        return world["episode"].team.service
    prefixes = {
        "cases:family": "family",
        "cases:person": "family",
        "cases:agency": "family",
        "cases:consent": "family",
        "cases:screening": "screening",
        "cases:escalation_resolve": "contact_escalation",
        "cases:re_referral": "contact",
        "cases:contact": "contact",
        "cases:meeting": "meeting",
        "oversight:retention_family": "family",
        "oversight:legal_hold": "family",
        "oversight:subject_access": "child",
        "oversight:breach": "deadline",
        "oversight:supervision_detail": "supervision",
        "oversight:task": "task",
        "deadlines:alert": "alert",
        "deadlines:clock": "deadline",
        "deadlines:closure_day": "closure_day",
        "accounts:user": "user",
        "cases:partner": "family",
        "partners:request": "support_request",
        "partners:family": "family",
        "partners:update": "family",
        "partners:organisation": "organisation",
        "partners:episode": "partner_episode",
        "partners:review_invitation": "review_invitation",
        "partners:staff_review_invite": "episode",
        "api:family": "family",
        "api:contact": "contact",
        "api:episode": "episode",
        "api:deadline": "deadline",
    }
    for prefix, key in prefixes.items():
        if name.startswith(prefix):
            return world[key]
    raise KeyError(f"no world object for {name}: add it to tests/security/matrix.py")


KWARG_OBJECTS = {
    "family_pk": "family",
    "item_pk": "item",
    "outcome_pk": "outcome",
    "action_pk": "action",
    "closure_pk": "closure",
    "step_up_pk": "step_up",
    "escalation_pk": "escalation",
    "document_pk": "document",
    "visit_pk": "planned_visit",
    "practitioner_pk": "practitioner",
    "record_pk": "note",
    "job_id": "job",
    "agency_pk": "partner_agency",
    "update_pk": "partner_update",
    "consent_pk": "consent",
    "contact_pk": "contact",
    "person_pk": "child",
}
KWARG_VALUES = {
    "form_key": "assessment",
    "table": "breaches",
    "kind": "acknowledgement",
    "record_kind": "note",
    "slug": "family-solutions",
    "rule_id": "B2",
    "number": 1,
    "token": "not-an-invitation",
    "layout_kind": "families",
}


def url_for(name: str, kwarg_names, world: dict) -> str:
    kwargs = {}
    for kwarg in kwarg_names:
        if kwarg == "pk":
            kwargs[kwarg] = object_for_pk(name, world).pk
        elif kwarg in KWARG_OBJECTS:
            kwargs[kwarg] = world[KWARG_OBJECTS[kwarg]].pk
        else:
            kwargs[kwarg] = KWARG_VALUES[kwarg]
    return reverse(name, kwargs=kwargs)


# What to POST to a search page to make it show what it finds (for the access-log test; ADR 0036).
QUERY_STRINGS = {
    "cases:search": lambda w: {"q": str(w["child"])},
    "cases:contact_create": lambda w: {
        "find-first_name": w["child"].first_name,
        "find-last_name": w["child"].last_name,
    },
    "episodes:step_down_find": lambda w: {"q": str(w["child"])},
}
