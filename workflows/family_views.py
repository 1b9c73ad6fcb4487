"""Pages about families, people and contacts at the front door. Thin: forms in, services and selectors out.

The records, their scope and the access log are in `cases` (cases.access, cases.selectors,
cases.services); recording a contact starts its workflow, so these pages live here in workflows.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.access import (
    family_for_intake_or_404,
    family_for_request_or_404,
    log_access,
    log_search,
    log_shown,
    remember_matches,
    visible_family_or_404,
)
from cases.forms import (
    AgencyForm,
    BreakGlassForm,
    ContactForm,
    MatchSearchForm,
    NewFamilyForm,
    PersonAddressForm,
    PersonForm,
    SearchForm,
    StepDownSearchForm,
)
from cases.models import AccessLog, Membership
from kit.permissions import require_perm, require_role
from workflows import list_rows, searches
from workflows import services as workflow
from workflows.actions import ActionView
from workflows.errors import WorkflowError
from workflows.row_markup import chronology_items_markup
from workflows.searches import recall_search, remember_search


@login_required
def family_detail(request, pk: int):
    family, glass_reason = family_for_request_or_404(request, pk)
    log_access(
        request,
        action=AccessLog.Action.VIEW,
        what=f"family {family.reference}",
        family=family,
        break_glass_reason=glass_reason,
    )
    context = selectors.family_page(family)
    try:
        limit = max(50, min(int(request.GET.get("show", 100)), 2000))
    except ValueError:
        limit = 100
    context.update(
        family=family,
        # The page has read every episode and contact of the family: the chronology reads the records
        # kept on them by their ids, with no join (ADR 78).
        chronology=selectors.chronology(
            family,
            limit=limit,
            episode_ids=[e.pk for e in context["episodes"]],
            contact_ids=[c.pk for c in (*context["open_contacts"], *context["past_contacts"])],
        ),
        chronology_limit=limit,
        show_address=not family.address_confidential or selectors.can_see_confidential_address(request.user),
        can_record_contact=request.user.has_perm("cases.record_contact"),
        break_glass=glass_reason,
        can_see_access_log=request.user.has_role(*selectors.SERVICE_ROLES),
        can_withdraw_consent=request.user.has_perm("cases.withdraw_consent", family),
        can_export_case_file=request.user.has_perm("cases.export_case_file", family),
        can_see_confidential=selectors.can_see_confidential_address(request.user),
    )
    context["chronology_items"] = chronology_items_markup(context["chronology"])
    return render(request, "cases/family_detail.html", context)


class FamilyAction(ActionView):
    """An action on one family (URL argument `pk`) the user may see; the form page names what it adds."""

    def get_object(self):
        family = visible_family_or_404(self.request.user, self.kwargs["pk"])
        if self.request.method == "GET":
            log_access(self.request, action=AccessLog.Action.VIEW, what=self.logged_as(family), family=family)
        return family

    def logged_as(self, family) -> str:
        raise NotImplementedError

    def page(self, form, *, status: int = 200):
        return render(self.request, self.template_name, {"form": form, "family": self.object}, status=status)

    def success_url(self) -> str:
        return reverse("cases:family_detail", args=[self.object.pk])


PERSON_ADDRESS = ("address_line_1", "address_line_2", "town", "postcode")


class PersonAdd(FamilyAction):
    """Add a person to a family. Whoever may record a contact for the family may add its people first
    (a family picked from the intake matches may be outside the user's scope, see family_for_intake_or_404);
    `?then=contact` comes back to the contact page."""

    form_class = PersonForm
    template_name = "cases/person_form.html"
    success_message = "{data[first_name]} {data[last_name]} was added."

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def get_object(self):
        if not self.request.user.has_perm("cases.record_contact"):
            return super().get_object()
        family, matched = family_for_intake_or_404(self.request, self.kwargs["pk"])
        if self.request.method == "GET":
            what = self.logged_as(family) + (" (picked from intake matches)" if matched else "")
            log_access(self.request, action=AccessLog.Action.VIEW, what=what, family=family)
        return family

    def logged_as(self, family) -> str:
        return f"add a person to {family.reference}"

    def success_url(self) -> str:
        if self.request.GET.get("then") == "contact" and self.request.user.has_perm("cases.record_contact"):
            return reverse("cases:contact_record", args=[self.object.pk])
        return super().success_url()

    def perform(self, data):
        services.person_add_to_family(
            family=self.object,
            **self.from_form("relationship", "address_confidential", *PERSON_ADDRESS),
            **self.form.person_fields(),
        )


class AgencyAdd(FamilyAction):
    form_class = AgencyForm
    template_name = "cases/agency_form.html"
    success_message = "{data[agency]} was added to the team around the family."

    def logged_as(self, family) -> str:
        return f"add an agency to {family.reference}"

    def perform(self, data):
        services.agency_add(family=self.object, **data)


class PersonAddressEdit(FamilyAction):
    """Change a family member's own address. Whoever may see the family may change it, except where the
    member's or the family's address is confidential: only those who may see a confidential address
    (cases.selectors.can_see_confidential_address) are shown it or may change it, the others get a 403,
    as the family page withholds it from them."""

    form_class = PersonAddressForm
    template_name = "cases/person_address_form.html"
    success_message = "The address of {person} was changed."

    def get_object(self):
        family = visible_family_or_404(self.request.user, self.kwargs["pk"])
        membership = get_object_or_404(family.memberships.select_related("person"), person_id=self.kwargs["person_pk"])
        self.person = membership.person
        confidential = self.person.address_confidential or family.address_confidential
        if confidential and not selectors.can_see_confidential_address(self.request.user):
            raise PermissionDenied("This address is confidential.")
        if self.request.method == "GET":
            log_access(self.request, action=AccessLog.Action.VIEW, what=self.logged_as(family), family=family)
        return family

    def logged_as(self, family) -> str:
        return f"the address of person {self.person.pk} in {family.reference}"

    def initial(self) -> dict:
        return {name: getattr(self.person, name) for name in services.PERSON_ADDRESS_FIELDS}

    def page(self, form, *, status: int = 200):
        context = {"form": form, "family": self.object, "person": self.person}
        return render(self.request, self.template_name, context, status=status)

    def message_names(self) -> dict:
        return {**super().message_names(), "person": self.person}

    def perform(self, data):
        return services.person_address_change(person=self.person, **self.from_form(*services.PERSON_ADDRESS_FIELDS))


person_add = PersonAdd.as_view()
person_address_edit = PersonAddressEdit.as_view()
agency_add = AgencyAdd.as_view()


@login_required
def search(request):
    """Find a family or person: the search is POSTed and kept on the server, never put in the URL (ADR 0036)."""
    if not request.user.role_names - {"Administrator"}:
        raise PermissionDenied
    form, typed = _posted_or_recalled(request, SearchForm, kind="people")
    if isinstance(form, HttpResponseRedirect):
        return form
    results = None
    if typed is not None and form.is_valid():
        query = form.cleaned_data["q"]
        people, memberships = selectors.search_person_values(request.user, query)
        results = list_rows.person_rows(people, memberships)
        # As `log_search`: one row per person and family shown, or one row for a search that found none.
        subjects = [(family_id, row.pk) for row in results for family_id in row.family_ids]
        if subjects:
            log_shown(request, subjects, what=f"search: {query}", action=AccessLog.Action.SEARCH)
        else:
            log_access(request, action=AccessLog.Action.SEARCH, what=f"search: {query}")
    result_rows = list_rows.person_rows_markup(results) if results else ""
    return render(request, "cases/search.html", {"form": form, "results": results, "result_rows": result_rows})


@login_required
def step_down_find(request):
    """Find the family social care steps down (a name search: POSTed, never in the URL, ADR 0036)."""
    require_perm(request.user, "cases.receive_step_down")
    form, typed = _posted_or_recalled(request, StepDownSearchForm, kind="step-down")
    if isinstance(form, HttpResponseRedirect):
        return form
    families = None
    if typed is not None and form.is_valid():
        query = form.cleaned_data["q"]
        people = selectors.search_people(request.user, query)
        families = list({m.family.pk: m.family for p in people for m in p.memberships.all()}.values())
        log_search(request, people, what=f"step-down search: {query}")
    return render(request, "episodes/step_down_find.html", {"form": form, "families": families})


def _posted_or_recalled(request, form_class, *, kind: str, prefix: str | None = None):
    """A search page's form: a valid POST is kept under a search id and redirected to `?search=<id>`; a GET
    shows the search of that id again (or an empty form, saying so when it has expired).

    Returns (redirect, None), (form with the errors of a POST, None) or (form, typed answers or None).
    """
    now = timezone.now()
    if request.method == "POST":
        form = form_class(request.POST, prefix=prefix)
        if not form.is_valid():
            return form, None
        fields = [name for name in request.POST if name != "csrfmiddlewaretoken"]
        search_id = remember_search(request.session, kind, request.POST, fields, now=now)
        return HttpResponseRedirect(f"{request.path}?{searches.PARAM}={search_id}"), None
    typed = _recalled_search(request, kind)
    return form_class(typed, prefix=prefix), typed


def _recalled_search(request, kind: str) -> dict | None:
    """The answers of the search `?search=<id>` of this user, or None (saying so when the id is stale)."""
    asked = request.GET.get(searches.PARAM)
    typed = recall_search(request.session, kind, asked, now=timezone.now())
    if asked and typed is None:
        messages.info(request, "That search has expired or is not yours. Search again.")
    return typed


# --- Contact intake ----------------------------------------------------------------


@login_required
def contact_create(request):
    """Step 1: who is it about? Show likely matches before anyone creates a new family."""
    require_perm(request.user, "cases.record_contact")
    if request.method == "POST" and any(name.startswith("find-") for name in request.POST):
        search_form, _ = _posted_or_recalled(request, MatchSearchForm, kind="intake", prefix="find")
        if isinstance(search_form, HttpResponseRedirect):
            return HttpResponseRedirect(f"{search_form.url}#matches")
        new_form = NewFamilyForm(now=timezone.now(), prefix="new")
        context = {"search_form": search_form, "matches": None, "new_form": new_form}
        return render(request, "cases/contact_find.html", context)
    typed = _recalled_search(request, "intake")
    search_form = MatchSearchForm(typed, prefix="find")
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
    new_form = NewFamilyForm(request.POST or None, now=timezone.now(), initial=initial, prefix="new")
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
    require_perm(request.user, "cases.record_contact")
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
    if not selectors.may_break_glass(request.user):
        raise PermissionDenied
    form = BreakGlassForm(request.POST or None, initial={"reference": request.GET.get("family", "")})
    if request.method == "POST" and form.is_valid():
        family = selectors.family_for_break_glass(request.user, form.cleaned_data["family_pk"])
        if family is None:
            form.add_error("reference", "There is no family with that reference")
        else:
            services.break_glass_grant(
                request.session, family=family, reason=form.cleaned_data["reason"], now=timezone.now()
            )
            messages.warning(request, "Break-glass access for one hour. Your reason is logged and shown to managers.")
            return redirect("cases:family_detail", pk=family.pk)
    return render(request, "cases/break_glass.html", {"form": form})


@login_required
def family_access_log(request, pk: int):
    """Who has viewed this family's and its children's records (managers)."""
    require_role(request.user, *selectors.SERVICE_ROLES)
    family = visible_family_or_404(request.user, pk)
    log_access(request, action=AccessLog.Action.VIEW, what=f"access log of {family.reference}", family=family)
    rows = selectors.access_log_for_family(family)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "cases/access_log.html", {"family": family, "page": page})
