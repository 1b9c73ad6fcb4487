"""The partner portal's pages (for partner agencies' staff) and the administrator's partner agency pages.

Partner pages: signed in, a partner user (accounts.User.is_partner), two-factor passed (the middleware
sends them to `two_factor` first). Every page that shows a family's data logs it (cases.access).
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts import services as account_services
from accounts.forms import EnrolmentCodeForm, TokenForm
from accounts.models import PartnerOrganisation
from cases.access import log_access, log_shown
from cases.models import AccessLog
from kit.permissions import require_role
from partners import selectors, services
from partners.forms import (
    AcceptInvitationForm,
    InvitationForm,
    OrganisationForm,
    PartnerUpdateForm,
    RequestForm,
    request_form_data,
)
from partners.services import PartnerRefused

ENROLMENT_SESSION_KEY = "partner_two_factor_enrolment_device"


def partner_page(view):
    """Signed in (else to sign in), and a partner user (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_partner:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


# --- Home ---------------------------------------------------------------------------------------------


@partner_page
def home(request):
    today = timezone.localdate()
    requests = list(selectors.requests_of(request.user)[:5])
    families = list(selectors.families_of(request.user, today=today)[:20])
    log_shown(request, [(f.pk, None) for f in families], what="partner portal: home")
    return render(
        request,
        "partners/home.html",
        {"requests": [(r, selectors.status_of(r)) for r in requests], "families": families},
    )


# --- Invitation and two-factor ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """The one-time link: choose a password, then set up two-factor straight away."""
    now = timezone.now()
    invite = services.invitation_open(token, now=now)
    if invite is None:
        return render(request, "partners/invitation_invalid.html", status=404)
    form = AcceptInvitationForm(request.POST or None, user=invite.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(invitation=invite, password=form.cleaned_data["password"], now=now)
        except PartnerRefused:
            return render(request, "partners/invitation_invalid.html", status=404)
        login(request, user, backend="accounts.backends.AuthenticationOnlyBackend")
        device = account_services.enrolment_start(user=user)
        request.session[ENROLMENT_SESSION_KEY] = device.pk
        return redirect("partners:two_factor")
    return render(request, "partners/invitation.html", {"form": form, "invite": invite})


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Verify the authenticator's code; or set up the authenticator the invitation (or an enrolment
    code from an administrator) unlocked for this session."""
    if not request.user.is_partner:
        raise PermissionDenied
    user, now = request.user, timezone.now()
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("partners:home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("partners:home")
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        request.session.pop(ENROLMENT_SESSION_KEY, None)
        form = TokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(next_url)
            form.add_error("token", "That code is not right or has expired: enter the current code from your app")
        return _two_factor_page(request, form, "verify", next_url)
    pending = _pending_enrolment(request)
    if pending is None:
        code_form = EnrolmentCodeForm(request.POST if "code" in request.POST else None)
        if code_form.is_bound and code_form.is_valid():
            if account_services.enrolment_code_redeem(user=user, code=code_form.cleaned_data["code"], now=now):
                pending = account_services.enrolment_start(user=user)
                request.session[ENROLMENT_SESSION_KEY] = pending.pk
                return _two_factor_page(request, TokenForm(), "setup", next_url, pending)
            code_form.add_error("code", "That enrolment code is not right, has been used or has expired")
        return _two_factor_page(request, code_form, "need_code", next_url)
    form = TokenForm(request.POST if "token" in request.POST else None)
    if form.is_bound and form.is_valid():
        if account_services.enrolment_confirm(device=pending, token=form.cleaned_data["token"]):
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, pending)
            messages.success(request, "Two-factor sign-in is set up.")
            return redirect(next_url)
        form.add_error("token", "That code is not right or has expired: enter the current code from your app")
    return _two_factor_page(request, form, "setup", next_url, pending)


def _pending_enrolment(request) -> TOTPDevice | None:
    device_id = request.session.get(ENROLMENT_SESSION_KEY)
    if not isinstance(device_id, int):
        return None
    return TOTPDevice.objects.filter(pk=device_id, user=request.user, confirmed=False).first()


def _two_factor_page(request, form, state: str, next_url: str, device: TOTPDevice | None = None):
    context = {"form": form, "state": state, "next": next_url}
    if device is not None:
        context.update(account_services.authenticator_setup(device))
    return render(request, "partners/two_factor.html", context)


# --- Requests for support ---------------------------------------------------------------------------


@partner_page
def request_list(request):
    page = Paginator(selectors.requests_of(request.user), 25).get_page(request.GET.get("page"))
    rows = [(r, selectors.status_of(r), selectors.outcome_letter(r)) for r in page.object_list]
    log_shown(request, [(r.contact.family_id, None) for r, _s, _o in rows if r.contact], what="partner: requests")
    return render(request, "partners/request_list.html", {"page": page, "rows": rows})


@partner_page
def request_detail(request, pk: int):
    support_request = selectors.request_of_or_none(request.user, pk)
    if support_request is None:
        raise Http404
    if support_request.contact is None:
        return redirect("partners:request_edit", pk=support_request.pk)
    log_access(
        request,
        action=AccessLog.Action.VIEW,
        what=f"partner: request {support_request.reference}",
        family=support_request.contact.family,
    )
    return render(
        request,
        "partners/request_detail.html",
        {
            "req": support_request,
            "status": selectors.status_of(support_request),
            "letter": selectors.outcome_letter(support_request),
        },
    )


@partner_page
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int | None = None):
    """The guided request form: "Save as draft" keeps it (formats checked), "Send" checks it is complete
    and sends it to the front door."""
    support_request = None
    if pk is not None:
        support_request = selectors.request_of_or_none(request.user, pk)
        if support_request is None:
            raise Http404
        if support_request.contact is not None:
            return redirect("partners:request_detail", pk=support_request.pk)
    now = timezone.now()
    sending = request.method == "POST" and "send" in request.POST
    if request.method == "POST":
        form = RequestForm(request.POST, today=timezone.localdate(now), sending=sending)
    elif support_request is not None:
        form = RequestForm(request_form_data(support_request.answers), today=timezone.localdate(now))
        form.is_valid()  # show the draft's answers, and what still needs a look
        form.errors.clear()
    else:
        form = RequestForm(today=timezone.localdate(now))
    if request.method == "POST" and form.is_valid():
        try:
            if sending:
                contact = services.request_submit(
                    support_request=support_request, answers=form.answers(), by=request.user, now=now
                )
                messages.success(
                    request,
                    f"Your request was sent to the front door. Our reference is {contact.reference}: "
                    "we have e-mailed you an acknowledgement.",
                )
                return redirect("partners:request_list")
            saved = services.request_save(
                support_request=support_request, answers=form.answers(), by=request.user, now=now
            )
        except PartnerRefused as exc:
            form.add_error(None, str(exc))
            return render(request, "partners/request_form.html", {"form": form, "req": support_request}, status=409)
        messages.success(request, f"Draft {saved.reference} is saved. You can come back to it from Your requests.")
        return redirect("partners:request_edit", pk=saved.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "partners/request_form.html", {"form": form, "req": support_request}, status=status)


@partner_page
@require_POST
def request_discard(request, pk: int):
    support_request = selectors.request_of_or_none(request.user, pk)
    if support_request is None:
        raise Http404
    try:
        services.request_discard(support_request=support_request, by=request.user)
    except PartnerRefused as exc:
        messages.error(request, str(exc))
        return redirect("partners:request_detail", pk=pk)
    messages.success(request, f"Draft {support_request.reference} was deleted.")
    return redirect("partners:request_list")


# --- Families (team around the family) ----------------------------------------------------------------


@partner_page
def family_list(request):
    families = list(selectors.families_of(request.user, today=timezone.localdate()))
    log_shown(request, [(f.pk, None) for f in families], what="partner: families")
    return render(request, "partners/family_list.html", {"families": families})


def _family_or_404(request, pk: int):
    family = selectors.partner_family_or_none(request.user, pk, today=timezone.localdate())
    if family is None:
        raise Http404
    return family


@partner_page
def family_detail(request, pk: int):
    family = _family_or_404(request, pk)
    log_access(request, action=AccessLog.Action.VIEW, what=f"partner: family {family.reference}", family=family)
    return render(
        request,
        "partners/family_detail.html",
        {
            "family": family,
            "plan": selectors.family_plan(family, request.user),
            "updates": selectors.updates_of(family, request.user),
        },
    )


@partner_page
@require_http_methods(["GET", "POST"])
def update_new(request, pk: int):
    family = _family_or_404(request, pk)
    form = PartnerUpdateForm(request.POST or None)
    if request.method == "GET":
        log_access(request, action=AccessLog.Action.VIEW, what=f"partner: update for {family.reference}", family=family)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_add(family=family, **form.cleaned_data, by=request.user, now=timezone.now())
        except PartnerRefused:
            raise Http404 from None
        messages.success(request, "Your update was added. The lead professional will acknowledge it.")
        return redirect("partners:family_detail", pk=family.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "partners/update_form.html", {"form": form, "family": family}, status=status)


# --- Partner agencies (administrators) ----------------------------------------------------------------


@login_required
def organisation_list(request):
    require_role(request.user, roles.ADMINISTRATOR)
    organisations = PartnerOrganisation.objects.order_by("name")
    page = Paginator(organisations, 50).get_page(request.GET.get("page"))
    return render(request, "partners/organisation_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def organisation_new(request):
    require_role(request.user, roles.ADMINISTRATOR)
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.organisation_register(**form.cleaned_data, by=request.user, now=timezone.now())
        messages.success(request, f"{organisation} is registered: invite its staff.")
        return redirect("partners:organisation_detail", pk=organisation.pk)
    return render(
        request, "partners/organisation_form.html", {"form": form}, status=400 if request.method == "POST" else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_detail(request, pk: int):
    """The agency, its partner users, and the form that invites one more."""
    require_role(request.user, roles.ADMINISTRATOR)
    organisation = get_object_or_404(PartnerOrganisation, pk=pk)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user, _link = services.partner_invite(
            organisation=organisation, **form.cleaned_data, by=request.user, now=timezone.now()
        )
        messages.success(request, f"{user.get_full_name()} was invited: the link was e-mailed to {user.email}.")
        return redirect("partners:organisation_detail", pk=organisation.pk)
    return render(
        request,
        "partners/organisation_detail.html",
        {"organisation": organisation, "people": selectors.people_of(organisation), "form": form},
        status=400 if request.method == "POST" else 200,
    )
