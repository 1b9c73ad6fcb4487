"""Pages about families, people and contacts. Thin: forms in, services and selectors out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from cases import selectors, services
from cases.forms import AgencyForm, ContactForm, MatchSearchForm, NewFamilyForm, PersonForm, SearchForm
from cases.models import AccessLog, Contact, Family, Membership
from workflows import services as workflow
from workflows.errors import WorkflowError


def log_access(request, *, action: str, what: str, family=None, person=None) -> None:
    services.access_log_record(
        user=request.user,
        action=action,
        what=what,
        at=timezone.now(),
        family=family,
        person=person,
        ip_address=services.client_ip(request),
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


BREAK_GLASS_SECONDS = 60 * 60
INTAKE_MATCH_SECONDS = 60 * 60


def visible_family_or_404(user, pk: int) -> Family:
    return get_object_or_404(selectors.families_visible_to(user).select_related("team"), pk=pk)


def break_glass_reason(request, family_pk: int) -> str | None:
    """The reason given for break-glass access to this family in this session, while it lasts."""
    grant = request.session.get("break_glass", {}).get(str(family_pk))
    if not grant or grant["until"] < timezone.now().timestamp():
        return None
    return grant["reason"]


def family_for_request_or_404(request, pk: int) -> tuple[Family, str]:
    """The family if in scope, or under a live break-glass grant (with its reason); else 404."""
    try:
        return selectors.families_visible_to(request.user).select_related("team").get(pk=pk), ""
    except Family.DoesNotExist:
        reason = break_glass_reason(request, pk)
        if reason and selectors.may_break_glass(request.user):
            return get_object_or_404(Family.objects.select_related("team"), pk=pk), reason
        raise Http404 from None


def visible_contact_or_404(user, pk: int) -> Contact:
    return get_object_or_404(
        selectors.contacts_visible_to(user).select_related("family", "decided_by", "allocated_team", "created_by"),
        pk=pk,
    )


def can_see_confidential_address(user) -> bool:
    # Front door, the team working with the family and managers need to find the family;
    # the address still never leaves in anything sent to another party.
    return user.has_role(*selectors.FRONT_DOOR, *selectors.TEAM_ROLES, *selectors.SERVICE_ROLES)


@login_required
def family_detail(request, pk: int):
    family, glass_reason = family_for_request_or_404(request, pk)
    services.access_log_record(
        user=request.user,
        action=AccessLog.Action.VIEW,
        what=f"family {family.reference}",
        at=timezone.now(),
        family=family,
        ip_address=services.client_ip(request),
        break_glass_reason=glass_reason,
    )
    context = selectors.family_page(family)
    try:
        limit = max(50, min(int(request.GET.get("show", 100)), 2000))
    except ValueError:
        limit = 100
    context.update(
        family=family,
        chronology=selectors.chronology(family, limit=limit),
        chronology_limit=limit,
        show_address=not family.address_confidential or can_see_confidential_address(request.user),
        can_record_contact=request.user.has_perm("cases.record_contact"),
        break_glass=glass_reason,
        history=list(family.history.select_related("history_user").order_by("-history_date")[:20]),
        can_see_access_log=request.user.has_role(*selectors.SERVICE_ROLES),
    )
    return render(request, "cases/family_detail.html", context)


@login_required
def person_add(request, pk: int):
    family = visible_family_or_404(request.user, pk)
    if request.method == "GET":
        log_access(request, action=AccessLog.Action.VIEW, what=f"add a person to {family.reference}", family=family)
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.person_add_to_family(
            family=family,
            relationship=form.cleaned_data["relationship"],
            address_confidential=form.cleaned_data["address_confidential"],
            **form.person_fields(),
        )
        messages.success(request, f"{form.cleaned_data['first_name']} {form.cleaned_data['last_name']} was added.")
        return redirect("cases:family_detail", pk=family.pk)
    return render(request, "cases/person_form.html", {"form": form, "family": family})


@login_required
def agency_add(request, pk: int):
    family = visible_family_or_404(request.user, pk)
    if request.method == "GET":
        log_access(request, action=AccessLog.Action.VIEW, what=f"add an agency to {family.reference}", family=family)
    form = AgencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.agency_add(family=family, **form.cleaned_data)
        messages.success(request, f"{form.cleaned_data['agency']} was added to the team around the family.")
        return redirect("cases:family_detail", pk=family.pk)
    return render(request, "cases/agency_form.html", {"form": form, "family": family})


@login_required
def search(request):
    if not request.user.role_names - {"Administrator"}:
        raise PermissionDenied
    form = SearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid():
        results = selectors.search_people(request.user, form.cleaned_data["q"])
        log_search(request, results, what=f"search: {form.cleaned_data['q']}")
    return render(request, "cases/search.html", {"form": form, "results": results})


def log_search(request, people, *, what: str) -> None:
    """A search that found people is one row per person and family shown; one that found none, one row."""
    subjects = [(m.family_id, person.pk) for person in people for m in person.memberships.all()]
    if subjects:
        log_shown(request, subjects, what=what, action=AccessLog.Action.SEARCH)
    else:
        log_access(request, action=AccessLog.Action.SEARCH, what=what)


def remember_matches(request, matches) -> None:
    """The intake match search: log each person and family shown, and let this user record a contact
    for those families for the next hour (they may be outside the user's scope, see find_matches)."""
    subjects = [(family.pk, match["person"].pk) for match in matches for family in match["families"]]
    log_shown(request, subjects, what="intake match search", action=AccessLog.Action.SEARCH)
    until = timezone.now().timestamp() + INTAKE_MATCH_SECONDS
    grants = {k: v for k, v in request.session.get("intake_matches", {}).items() if v > timezone.now().timestamp()}
    grants.update({str(family_pk): until for family_pk, _ in subjects})
    request.session["intake_matches"] = grants


def family_for_intake_or_404(request, pk: int) -> tuple[Family, bool]:
    """The family a contact is recorded for: in scope, or picked from this user's intake matches."""
    family = selectors.families_visible_to(request.user).filter(pk=pk).first()
    if family is not None:
        return family, False
    until = request.session.get("intake_matches", {}).get(str(pk), 0)
    if until > timezone.now().timestamp():
        return get_object_or_404(Family, pk=pk), True
    raise Http404


# --- Contact intake ----------------------------------------------------------------


@login_required
def contact_create(request):
    """Step 1: who is it about? Show likely matches before anyone creates a new family."""
    if not request.user.has_perm("cases.record_contact"):
        raise PermissionDenied
    search_form = MatchSearchForm(request.GET or None, prefix="find")
    matches = None
    if search_form.is_bound and search_form.is_valid():
        matches = selectors.find_matches(**search_form.cleaned_data)
        remember_matches(request, matches)
    initial = {}
    if search_form.is_bound and search_form.is_valid():
        data = search_form.cleaned_data
        initial = {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "postcode": data["postcode"],
            "nhs_number": data["nhs_number"],
            "family_name": f"The {data['last_name']} household" if data["last_name"] else "",
        }
    new_form = NewFamilyForm(request.POST or None, initial=initial, prefix="new")
    if request.method == "POST" and new_form.is_valid():
        data = new_form.cleaned_data
        with transaction.atomic():
            family = services.family_create(
                by=request.user,
                name=data["family_name"],
                address_line_1=data["address_line_1"],
                address_line_2=data["address_line_2"],
                town=data["town"],
                postcode=data["postcode"],
                address_confidential=data["address_confidential"],
                language=data["family_language"],
                duplicate_reason=data["duplicate_reason"],
            )
            services.person_add_to_family(
                family=family, relationship=Membership.Relationship.CHILD, **new_form.person_fields()
            )
        messages.success(request, f"{family} was created. Now record the contact.")
        return redirect("cases:contact_record", family_pk=family.pk)
    if new_form.is_bound and new_form.matches and not matches:
        matches = new_form.matches  # found from the details submitted: show them with the request for a reason
        remember_matches(request, matches)
    return render(
        request, "cases/contact_find.html", {"search_form": search_form, "matches": matches, "new_form": new_form}
    )


@login_required
def contact_record(request, family_pk: int):
    """Step 2: the contact itself, for a family that now exists."""
    if not request.user.has_perm("cases.record_contact"):
        raise PermissionDenied
    family, matched = family_for_intake_or_404(request, family_pk)
    if request.method == "GET":
        what = f"new contact for {family.reference}" + (" (picked from intake matches)" if matched else "")
        log_access(request, action=AccessLog.Action.VIEW, what=what, family=family)
    now = timezone.now()
    local_now = timezone.localtime(now)
    form = ContactForm(
        request.POST or None,
        family=family,
        now=now,
        initial={"received_date": local_now.date(), "received_time": local_now.strftime("%H:%M")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        consent = None
        if data["consent_status"] != "not_sought" or data.get("consent_given_by"):
            consent = {
                "purpose": "early_help",
                "status": data["consent_status"],
                "given_by_name": data.get("consent_given_by", ""),
                "recorded_on": timezone.localdate(now),
            }
        try:
            contact = workflow.contact_receive(
                family=family,
                subjects=data["subjects"],
                received_at=data["received_at"],
                route=data["route"],
                source=data["source"],
                presenting_needs=data["presenting_needs"],
                referrer=form.referrer(),
                risks=form.risks(),
                consent=consent,
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Contact {contact.reference} was recorded for {family}.")
            if contact.lead_professional_notified_id:
                messages.info(
                    request,
                    f"{family} has an open Early Help episode: its lead professional "
                    f"{contact.lead_professional_notified} has been told about this contact.",
                )
            return redirect("cases:contact_detail", pk=contact.pk)
    return render(request, "cases/contact_form.html", {"form": form, "family": family})


@login_required
def break_glass(request):
    """Open a record outside your work: only with a reason, logged and shown to managers."""
    from cases.forms import BreakGlassForm

    if not selectors.may_break_glass(request.user):
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None, initial={"reference": request.GET.get("family", "")})
    if request.method == "POST" and form.is_valid():
        family = Family.objects.filter(pk=form.cleaned_data["family_pk"]).first()
        if family is None:
            form.add_error("reference", "There is no family with that reference")
        else:
            grants = request.session.get("break_glass", {})
            grants[str(family.pk)] = {
                "until": timezone.now().timestamp() + BREAK_GLASS_SECONDS,
                "reason": form.cleaned_data["reason"],
            }
            request.session["break_glass"] = grants
            messages.warning(request, "Break-glass access for one hour. Your reason is logged and shown to managers.")
            return redirect("cases:family_detail", pk=family.pk)
    return render(request, "cases/break_glass.html", {"form": form})


@login_required
def family_access_log(request, pk: int):
    """Who has viewed this family's and its children's records (managers)."""
    if not request.user.has_role(*selectors.SERVICE_ROLES):
        raise PermissionDenied
    family = visible_family_or_404(request.user, pk)
    from django.core.paginator import Paginator

    log_access(request, action=AccessLog.Action.VIEW, what=f"access log of {family.reference}", family=family)
    rows = selectors.access_log_for_family(family)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "cases/access_log.html", {"family": family, "page": page})
