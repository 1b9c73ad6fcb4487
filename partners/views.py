"""The partner portal's pages (for partner agencies' staff) and the administrator's partner agency pages.

Partner pages: signed in, a partner user (accounts.User.is_partner), two-factor passed (the middleware
sends them to `two_factor` first). Every page that shows a family's data logs it (cases.access).
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
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
from cases import selectors as case_selectors
from cases.access import log_access, log_shown
from cases.models import AccessLog
from kit.permissions import require_role
from partners import selectors, services
from partners.forms import (
    AcceptInvitationForm,
    InvitationAnswerForm,
    InvitationForm,
    OrganisationForm,
    OutcomeWithActionForm,
    PartnerUpdateForm,
    RequestForm,
    ReviewInviteForm,
    request_form_data,
)
from partners.services import PartnerRefused
from workflows import episode_services
from workflows.errors import WorkflowError

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
@require_POST
def organisation_active(request, pk: int):
    require_role(request.user, roles.ADMINISTRATOR)
    organisation = get_object_or_404(PartnerOrganisation, pk=pk)
    active = request.POST.get("active") == "yes"
    try:
        services.organisation_set_active(organisation=organisation, active=active, by=request.user, now=timezone.now())
    except PartnerRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{organisation} is active again."
            if active
            else f"{organisation} is marked as no longer working with the council: its people lead no episode now.",
        )
    return redirect("partners:organisation_detail", pk=organisation.pk)


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


# --- Episodes a partner agency's lead professional holds (ADR 52) -----------------------------------
# Each page asks partners.selectors.led_episode_or_none on every request (the agency active, consent to
# share in force), logs the view, and does the work through the same workflows services as the internal
# episode pages, so the same clocks start and stop.


def _led_episode_or_404(request, pk: int):
    episode = selectors.led_episode_or_none(request.user, pk, today=timezone.localdate())
    if episode is None:
        raise Http404
    if request.method == "GET":
        log_access(
            request, action=AccessLog.Action.VIEW, what=f"partner: episode {episode.reference}", family=episode.family
        )
    return episode


def _children(episode):
    from workflows.episode_selectors import children_of

    return children_of(episode.family)


def _episode_form_page(request, episode, form, *, title: str, button: str, intro: str = "", status: int = 200):
    return render(
        request,
        "partners/episode_form.html",
        {"episode": episode, "form": form, "title": title, "button": button, "intro": intro},
        status=status,
    )


def _refused(request, episode, form, exc, *, title: str, button: str, intro: str = ""):
    form.add_error(None, str(exc))
    return _episode_form_page(request, episode, form, title=title, button=button, intro=intro, status=409)


@partner_page
def episode_list(request):
    episodes = list(selectors.episodes_led_by(request.user, today=timezone.localdate())[:100])
    log_shown(request, [(e.family_id, None) for e in episodes], what="partner: episodes you lead")
    return render(request, "partners/episode_list.html", {"episodes": episodes})


@partner_page
def episode_detail(request, pk: int):
    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    return render(
        request,
        "partners/episode_detail.html",
        {
            "episode": episode,
            "clocks": selectors.open_clocks(episode, now=now),
            "records": selectors.episode_records(episode),
        },
    )


@partner_page
@require_http_methods(["GET", "POST"])
def episode_visit_new(request, pk: int):
    from cases.models import CaseNote
    from workflows.episode_forms import CaseNoteForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    kinds = [CaseNote.Kind.HOME_VISIT, CaseNote.Kind.OFFICE_VISIT, CaseNote.Kind.PHONE_CALL, CaseNote.Kind.DIRECT_WORK]
    form = CaseNoteForm(request.POST or None, kinds=kinds, children=_children(episode), now=now)
    page = {"title": "Record a visit or contact", "button": "Save the visit"}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            episode_services.episode_record_visit(
                episode=episode,
                kind=data["kind"],
                happened_at=data["when"],
                details=data["details"],
                purpose=data.get("purpose", ""),
                present=data.get("present", ""),
                actions=data.get("actions", ""),
                analysis=data.get("analysis", ""),
                children=form.child_parts(),
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, "The visit was recorded.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_assessment(request, pk: int):
    from cases.models import Assessment
    from workflows.episode_forms import AssessmentForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    children = _children(episode)
    assessment = (
        case_selectors.episode_records(Assessment, episode).prefetch_related("children", "needs", "risks").first()
    )
    if request.method == "POST":
        form = AssessmentForm(request.POST, children=children)
    else:
        form = AssessmentForm(initial=AssessmentForm.initial_from(assessment), children=children)
    page = {
        "title": "Early Help assessment",
        "button": "Save the assessment",
        "intro": "Save as you go; tick the box below when every section is written to complete it.",
    }
    form.fields["complete"] = forms.BooleanField(label="The assessment is complete", required=False)
    if request.method == "POST" and form.is_valid():
        try:
            episode_services.assessment_save(
                episode=episode,
                by=request.user,
                now=now,
                sections=form.sections(),
                children=form.child_sections(),
                needs=form.needs(),
                risks=form.risks(),
                expected_version=form.cleaned_data.get("version"),
                complete=form.cleaned_data.get("complete", False),
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        completed = form.cleaned_data.get("complete")
        messages.success(request, "The assessment is complete." if completed else "The assessment was saved.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_plan(request, pk: int):
    from cases.models import Plan
    from workflows.episode_forms import PlanForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    plan = case_selectors.episode_records(Plan, episode).first()
    initial = {"version": plan.version if plan else 0}
    if plan is not None:
        initial.update(if_not_working=plan.if_not_working, child_voice=plan.child_voice)
    form = PlanForm(request.POST or None, initial=initial)
    page = {
        "title": "The plan",
        "button": "Save the plan",
        "intro": "What happens if the plan is not working and the child's voice. Add outcomes from the episode page.",
    }
    if request.method == "POST" and form.is_valid():
        try:
            episode_services.plan_save(
                episode=episode,
                if_not_working=form.cleaned_data["if_not_working"],
                child_voice=form.cleaned_data["child_voice"],
                expected_version=form.cleaned_data.get("version"),
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, "The plan was saved.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_outcome_new(request, pk: int):
    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    form = OutcomeWithActionForm(request.POST or None)
    page = {"title": "Add an outcome to the plan", "button": "Add the outcome"}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                outcome = episode_services.plan_outcome_save(
                    episode=episode,
                    area=data["area"],
                    description=data["description"],
                    how_measured=data["how_measured"],
                    by_when=data["by_when"],
                    by=request.user,
                    now=now,
                )
                episode_services.plan_action_save(
                    outcome=outcome,
                    what=data["action_what"],
                    who=data["action_who"],
                    by_when=data["action_by_when"],
                    by=request.user,
                    now=now,
                )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, f"Outcome {outcome.number} was added to the plan.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


@partner_page
@require_POST
def episode_plan_activate(request, pk: int):
    episode = _led_episode_or_404(request, pk)
    try:
        episode_services.plan_activate(episode=episode, by=request.user, now=timezone.now())
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The plan is active.")
    return redirect("partners:episode_detail", pk=episode.pk)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_review_new(request, pk: int):
    from workflows.episode_forms import ReviewForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    outcomes = list(case_selectors.plan_outcomes_of(episode).order_by("number"))
    form = ReviewForm(request.POST or None, outcomes=outcomes, now=now)
    page = {"title": "Record a review", "button": "Save the review"}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            episode_services.review_record(
                episode=episode,
                held_at=data["when"],
                attendees=data["attendees"],
                summary=data["summary"],
                child_voice=data["child_voice"],
                family_views=data.get("family_views", ""),
                next_review_on=data["next_review_on"],
                progress=form.progress(),
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, "The review was recorded.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_review_invite(request, pk: int):
    episode = _led_episode_or_404(request, pk)
    return _review_invite_page(request, episode, base="partners/base.html")


def _review_invite_page(request, episode, *, base: str):
    now = timezone.now()
    people = selectors.invitable_people(episode, today=timezone.localdate(now))
    form = ReviewInviteForm(request.POST or None, people=people, now=now)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitations = services.review_invite(
                episode=episode,
                invitees=data["people"],
                review_at=data["review_at"],
                place=data["place"],
                by=request.user,
                now=now,
            )
        except PartnerRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{len(invitations)} invited: each was e-mailed the review's reference.")
            if base == "partners/base.html":
                return redirect("partners:episode_detail", pk=episode.pk)
            return redirect("episodes:episode_detail", pk=episode.pk)
    status = 200 if request.method == "GET" else (409 if form.is_bound and form.is_valid() else 400)
    sent = selectors.invitations_sent(episode)
    return render(
        request,
        "partners/review_invite.html",
        {"episode": episode, "form": form, "people": people, "base": base, "sent": sent},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def staff_review_invite(request, pk: int):
    """The internal lead professional's page for inviting partners to a review (staff only)."""
    from workflows.episode_selectors import visible_episode

    if request.user.is_partner:
        raise Http404
    episode = visible_episode(request.user, pk)
    if episode is None:
        raise Http404
    if not request.user.has_perm("cases.work_on_episode", episode):
        raise PermissionDenied
    if request.method == "GET":
        log_access(
            request,
            action=AccessLog.Action.VIEW,
            what=f"review invitations for {episode.reference}",
            family=episode.family,
        )
    return _review_invite_page(request, episode, base="base.html")


@partner_page
@require_http_methods(["GET", "POST"])
def episode_closure(request, pk: int):
    from workflows.episode_forms import ClosureRequestForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    form = ClosureRequestForm(request.POST or None, initial={"version": episode.version})
    page = {
        "title": "Ask for the episode to be closed",
        "button": "Ask for closure",
        "intro": f"A manager of {episode.team} signs the closure off, or sends it back saying why.",
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            episode_services.closure_request(
                episode=episode,
                checklist=form.checklist(),
                summary=data.get("summary", ""),
                child_voice=data.get("child_voice", ""),
                family_views=data.get("family_views", ""),
                proposed_reason=data.get("proposed_reason", ""),
                expected_version=data.get("version"),
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, "Closure was asked for: the Early Help team's manager will sign it off.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)


# --- Review invitations (partner users invited) ------------------------------------------------------


@partner_page
def review_invitation_list(request):
    invitations = list(selectors.invitations_of(request.user, today=timezone.localdate())[:100])
    log_shown(request, [(i.episode.family_id, None) for i in invitations], what="partner: review invitations")
    return render(request, "partners/review_invitation_list.html", {"invitations": invitations})


@partner_page
@require_http_methods(["GET", "POST"])
def review_invitation(request, pk: int):
    invitation = selectors.invitation_of_or_none(request.user, pk, today=timezone.localdate())
    if invitation is None:
        raise Http404
    form = InvitationAnswerForm(request.POST or None)
    if request.method == "GET":
        log_access(
            request,
            action=AccessLog.Action.VIEW,
            what=f"partner: review invitation {invitation.reference}",
            family=invitation.episode.family,
        )
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            services.review_invitation_answer(
                invitation=invitation,
                answer=form.cleaned_data["answer"],
                note=form.cleaned_data["note"],
                by=request.user,
                now=timezone.now(),
            )
        except PartnerRefused as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            messages.success(request, "Your answer was sent to the lead professional.")
            return redirect("partners:review_invitation_list")
    return render(request, "partners/review_invitation.html", {"invitation": invitation, "form": form}, status=status)


@partner_page
@require_http_methods(["GET", "POST"])
def episode_planning_meeting(request, pk: int):
    from workflows.episode_forms import TeamMeetingForm

    episode = _led_episode_or_404(request, pk)
    now = timezone.now()
    form = TeamMeetingForm(request.POST or None, now=now, initial={"version": episode.version})
    page = {
        "title": "Record the initial planning meeting",
        "button": "Save the meeting",
        "intro": "Where the council's procedure has one, the plan becomes active at this meeting.",
    }
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            episode_services.planning_meeting_record(
                episode=episode,
                held_at=data["when"],
                attendees=data["attendees"],
                notes=data.get("notes", ""),
                expected_version=data.get("version"),
                by=request.user,
                now=now,
            )
        except WorkflowError as exc:
            return _refused(request, episode, form, exc, **page)
        messages.success(request, "The initial planning meeting was recorded.")
        return redirect("partners:episode_detail", pk=episode.pk)
    return _episode_form_page(request, episode, form, **page, status=400 if request.method == "POST" else 200)
