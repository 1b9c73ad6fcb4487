"""Episode pages. Thin: a form in, one service call, a redirect; a refusal re-renders with what was typed."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from cases import selectors as case_selectors
from cases.access import log_access, log_search, render_logged, visible_family_or_404
from cases.models import (
    AccessLog,
    CaseNote,
    ClosureRequest,
    Communication,
    Document,
    Draft,
    Episode,
    Escalation,
    NeedLevel,
    PlanAction,
    PlannedVisit,
    PlanOutcome,
    StepUp,
    TeamMeeting,
    assessment_needed,
    why_not,
)
from workflows import episode_selectors as selectors
from workflows import episode_services as services
from workflows.episode_forms import (
    ASSESSMENT_LABELS,
    ActionForm,
    AllocateForm,
    AssessmentForm,
    CaseNoteForm,
    ClosureRequestForm,
    ClosureReturnForm,
    ClosureSignOffForm,
    DeclineForm,
    DocumentForm,
    EscalationForm,
    EscalationOutcomeForm,
    OutcomeForm,
    PlanCopyForm,
    PlanForm,
    PlannedVisitCancelForm,
    PlannedVisitForm,
    ReviewForm,
    StepDownForm,
    StepUpDecideForm,
    StepUpProposeForm,
    StepUpSendForm,
    TeamMeetingForm,
    draft_querydict,
    restore_draft,
)
from workflows.errors import CaseChanged, WorkflowError

S = Episode.State
# Long forms whose typing is saved as the user goes (static/js/drafts.mjs), with the permissions
# that open each form (any one of them): nobody keeps drafts of a form they cannot submit.
DRAFT_FORMS = {
    "visit": ("cases.work_on_episode", "cases.record_duty_contact"),
    "assessment": ("cases.work_on_episode",),
    "plan": ("cases.work_on_episode",),
    "review": ("cases.work_on_episode",),
    "closure": ("cases.work_on_episode",),
    "step_up": ("cases.work_on_episode", "cases.send_step_up"),
}


# --- Shared steps ------------------------------------------------------------------------------


def _episode(request, pk: int, *, log: bool = True, with_planned_visits: bool = False) -> Episode:
    """The episode if in the user's scope (else 404); a page showing it (a GET) is one access-log row."""
    episode = selectors.visible_episode(request.user, pk, with_planned_visits=with_planned_visits)
    if episode is None:
        raise Http404("No such episode")
    if log and request.method == "GET":
        page = request.resolver_match.url_name if request.resolver_match else ""
        what = f"episode {episode.reference}" + ("" if page == "episode_detail" else f": {page.replace('_', ' ')}")
        log_access(request, action=AccessLog.Action.VIEW, what=what, family=episode.family)
    return episode


def _need(request, perm: str, episode: Episode | None = None) -> None:
    if not request.user.has_perm(perm, episode):
        raise PermissionDenied


def _refused(form, exc: WorkflowError, *, current_version: int | None = None) -> None:
    """Show why the service refused; after a concurrent change, the next submit is against the latest."""
    form.add_error(None, str(exc))
    if isinstance(exc, CaseChanged) and current_version is not None and form.is_bound:
        data = form.data.copy()
        data["version"] = str(current_version)
        form.data = data


def _seen_version(data: dict) -> int:
    """The version an edit form was drawn from; a form that does not say is treated as drawn from none (0)."""
    return data.get("version") or 0


def _current_version(model, record) -> int | None:
    """The record's version now, for the next submit after a refusal (None: nothing to compare)."""
    if record is None:
        return None
    return model.objects.filter(pk=record.pk).values_list("version", flat=True).first() or 0


def _saved_rows(exc: WorkflowError, model, record, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """After a concurrent save, what the other person saved, beside what this user typed (kept in the form)."""
    latest = model.objects.filter(pk=record.pk).first() if record is not None else None
    if not isinstance(exc, CaseChanged) or latest is None:
        return []
    rows = []
    for name in fields:
        value = getattr(latest, name)
        shown = f"{value:%d %B %Y}" if isinstance(value, date) else (str(value) if value else "Not given")
        rows.append((f"Saved by someone else: {model._meta.get_field(name).verbose_name}", shown))
    return rows


def _now_initial() -> dict:
    local = timezone.localtime()
    return {"when_date": local.date(), "when_time": local.strftime("%H:%M")}


def _draft_for(request, form_key: str, episode: Episode) -> Draft | None:
    return Draft.objects.filter(user=request.user, form_key=form_key, object_key=str(episode.pk)).first()


def _form_page(
    request,
    episode: Episode,
    form,
    *,
    title: str,
    button: str,
    draft_key: str = "",
    draft: Draft | None = None,
    status: int = 200,
    summary_rows: list | None = None,
    intro: str = "",
    multipart: bool = False,
    extra_buttons: list | None = None,
    hidden: dict | None = None,
):
    return render(
        request,
        "episodes/form.html",
        {
            "episode": episode,
            "family": episode.family,
            "form": form,
            "title": title,
            "button": button,
            "extra_buttons": extra_buttons or [],
            "draft_url": reverse("episodes:draft_save", args=[draft_key, episode.pk]) if draft_key else "",
            "draft_discard_url": reverse("episodes:draft_discard", args=[draft_key, episode.pk]) if draft_key else "",
            "draft": draft,
            "summary_rows": summary_rows or [],
            "intro": intro,
            "multipart": multipart,
            "hidden": hidden or {},
        },
        status=status,
    )


def _bound_or_draft(request, form_class, episode: Episode, draft_key: str, *, initial: dict, **kwargs):
    """POST data; else the user's draft of this form (restored, not judged); else a fresh form."""
    if request.method == "POST":
        return form_class(request.POST, request.FILES or None, **kwargs), None
    draft = _draft_for(request, draft_key, episode) if draft_key else None
    if draft is not None:
        return restore_draft(form_class(draft_querydict(draft.data), **kwargs)), draft
    return form_class(initial=initial, **kwargs), None


def _done(request, episode: Episode, message: str, *, draft_key: str = ""):
    if draft_key:
        services.draft_discard(user=request.user, form_key=draft_key, object_key=str(episode.pk))
    messages.success(request, message)
    return redirect("episodes:episode_detail", pk=episode.pk)


# --- Lists ---------------------------------------------------------------------------------------


@login_required
def my_cases(request):
    if not request.user.has_role(roles.PRACTITIONER):
        raise PermissionDenied
    return render_logged(
        request,
        "episodes/my_cases.html",
        {"episodes": selectors.my_cases(request.user), "now": timezone.now()},
        what="my cases",
    )


@login_required
def pre_allocation(request):
    user = request.user
    if not user.has_role(roles.TEAM_LEADER, roles.DUTY_WORKER, roles.MANAGER):
        raise PermissionDenied
    team_id = user.team_id if user.has_role(roles.TEAM_LEADER, roles.DUTY_WORKER) else None
    return render_logged(
        request,
        "episodes/pre_allocation.html",
        {
            "episodes": selectors.pre_allocation_list(user, team_id=team_id),
            "now": timezone.now(),
            "can_allocate": user.has_perm("cases.allocate_episode"),
            "can_duty": user.has_perm("cases.record_duty_contact"),
            "can_step_down": user.has_perm("cases.receive_step_down"),
        },
        what="pre-allocation list",
    )


@login_required
def sign_off(request):
    user = request.user
    if not user.has_role(roles.MANAGER, roles.DUTY_MANAGER):
        raise PermissionDenied
    is_manager = user.has_role(roles.MANAGER)
    return render_logged(
        request,
        "episodes/sign_off.html",
        {
            "closures": selectors.closure_queue(user) if is_manager else [],
            "to_send": selectors.step_up_queue(user, sent=False) if is_manager else [],
            "to_decide": selectors.step_up_queue(user, sent=True) if user.has_role(roles.DUTY_MANAGER) else [],
            "is_manager": is_manager,
            "is_duty_manager": user.has_role(roles.DUTY_MANAGER),
            "now": timezone.now(),
        },
        what="sign-off list",
    )


# --- The episode page ------------------------------------------------------------------------------


def next_steps(episode: Episode, user, *, now) -> list[dict]:
    """The actions this user may take now: only transitions the episode allows, as buttons."""
    available = {t.name for t in episode.get_available_state_transitions()}
    can_work = user.has_perm("cases.work_on_episode", episode)
    steps: list[dict] = []

    def link(label: str, name: str, *args, query: str = "", secondary: bool = False):
        url = reverse(name, args=[episode.pk, *args]) + (f"?{query}" if query else "")
        steps.append({"label": label, "url": url, "post": False, "secondary": secondary})

    def post(label: str, name: str):
        steps.append({"label": label, "url": reverse(name, args=[episode.pk]), "post": True, "secondary": False})

    if "allocate" in available and user.has_perm("cases.allocate_episode", episode):
        link("Allocate a lead professional", "episodes:allocate")
    elif episode.is_open and episode.lead_professional_id and user.has_perm("cases.allocate_episode", episode):
        link("Reallocate to another practitioner", "episodes:allocate", secondary=True)
    if "record_duty_contact" in available and user.has_perm("cases.record_duty_contact", episode):
        link("Record a duty contact", "episodes:note_new", query="kind=duty_contact")
    if can_work:
        if "record_initial_contact" in available:
            link("Record the initial contact", "episodes:note_new")
        if "record_first_visit" in available:
            link("Record the first visit", "episodes:note_new", query="kind=home_visit")
        if "start_assessment" in available or "update_assessment" in available:
            label = "Start the assessment" if "start_assessment" in available else "Continue the assessment"
            link(label, "episodes:assessment")
        if "skip_assessment" in available and not assessment_needed(
            origin=episode.origin,
            social_care_assessment_date=episode.social_care_assessment_date,
            today=timezone.localdate(now),
        ):
            post("Go to planning: the social care assessment is under 3 months old", "episodes:assessment_not_needed")
        if "hold_planning_meeting" in available:
            link("Record the initial planning meeting", "episodes:meeting_new", query="kind=initial_planning")
        if "edit_plan" in available:
            link("Write the plan" if episode.state != S.PLAN_ACTIVE else "Change the plan", "episodes:plan")
        if "activate_plan" in available and (
            episode.state == S.PLANNING or not services.procedure_has_step("planning_meeting", episode=episode)
        ):
            post("Make the plan active", "episodes:plan_activate")
        if "hold_review" in available:
            link("Record a review", "episodes:review_new")
        if "hold_ending_meeting" in available:
            link("Record the ending meeting", "episodes:meeting_new", query="kind=ending", secondary=True)
        if "request_closure" in available:
            link("Request closure", "episodes:closure_request", secondary=True)
        if "family_declines" in available:
            link("The family declines Early Help", "episodes:decline", secondary=True)
    if "request_step_up" in available and (can_work or user.has_perm("cases.send_step_up", episode)):
        link("Propose a step-up to social care", "episodes:step_up_new", secondary=True)
    if user.has_role(roles.MANAGER):
        steps.append(
            {
                "label": "Record a Managers Decision",
                "url": reverse("oversight:decision_new", args=[episode.pk]),
                "post": False,
                "secondary": True,
            }
        )
    return steps


@login_required
def episode_detail(request, pk: int):
    episode = _episode(request, pk, with_planned_visits=True)
    user = request.user
    now = timezone.now()
    context = selectors.episode_page(episode, now=now)
    pending_closure = next((c for c in context["closure_requests"] if c.status == ClosureRequest.Status.PENDING), None)
    open_step_up = next((s for s in context["step_ups"] if not s.decided_at), None)
    can_work = user.has_perm("cases.work_on_episode", episode)
    context.update(
        episode=episode,
        family=episode.family,
        steps=next_steps(episode, user, now=now),
        can_work=can_work,
        can_record_note=can_work and episode.is_open and episode.state != S.AWAITING_ALLOCATION,
        can_escalate=user.has_perm("cases.record_escalation", episode),
        pending_closure=pending_closure if user.has_perm("cases.sign_off_closure", episode) else None,
        step_up_to_send=open_step_up
        if open_step_up and not open_step_up.sent_at and user.has_perm("cases.send_step_up", episode)
        else None,
        step_up_to_decide=open_step_up
        if open_step_up and open_step_up.sent_at and user.has_perm("cases.decide_step_up", episode)
        else None,
        now=now,
    )
    return render(request, "episodes/episode_detail.html", context)


# --- Allocation ------------------------------------------------------------------------------------


@login_required
def allocate(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.allocate_episode", episode)
    practitioners = selectors.practitioners_with_caseload(episode.team_id)
    form = AllocateForm(request.POST or None, practitioners=practitioners, initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.episode_allocate(
                    episode=episode,
                    practitioner=form.cleaned_data["practitioner_user"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=form.cleaned_data["version"],
                )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, current_version=episode.version)
                status = 409
            else:
                return _done(
                    request, episode, f"{episode.reference} was allocated to {form.cleaned_data['practitioner_user']}."
                )
    return render(
        request,
        "episodes/allocate.html",
        {"episode": episode, "family": episode.family, "form": form, "practitioners": practitioners},
        status=status,
    )


# --- Visits and case notes --------------------------------------------------------------------------


def _note_kinds(user, episode: Episode) -> list[str]:
    K = CaseNote.Kind
    if episode.state == S.AWAITING_ALLOCATION:
        return [K.DUTY_CONTACT] if user.has_perm("cases.record_duty_contact", episode) else []
    if not user.has_perm("cases.work_on_episode", episode) or not episode.is_open:
        return []
    kinds = [K.HOME_VISIT, K.OFFICE_VISIT, K.PHONE_CALL, K.DIRECT_WORK]
    if user.has_role(roles.TEAM_LEADER, roles.MANAGER):
        kinds.append(K.CASE_DISCUSSION)
    return kinds


@login_required
def note_new(request, pk: int):
    episode = _episode(request, pk)
    kinds = _note_kinds(request.user, episode)
    if not kinds:
        if not episode.is_open:
            messages.error(request, f"{episode.reference} is closed: nothing more can be recorded on it.")
            return redirect("episodes:episode_detail", pk=episode.pk)
        if episode.state == S.AWAITING_ALLOCATION:
            messages.error(request, why_not(episode, "record_initial_contact"))
            return redirect("episodes:episode_detail", pk=episode.pk)
        raise PermissionDenied
    now = timezone.now()
    children = selectors.children_of(episode.family)
    initial = {**_now_initial(), "kind": request.GET.get("kind") if request.GET.get("kind") in kinds else None}
    planned = selectors.pending_planned_visits(episode) if kinds != [CaseNote.Kind.DUTY_CONTACT] else []
    chosen = next((v for v in planned if str(v.pk) == request.GET.get("planned")), None)
    if chosen is not None:
        initial.update(planned_visit=str(chosen.pk), kind=chosen.kind if chosen.kind in kinds else initial["kind"])
        local = timezone.localtime(chosen.planned_at)
        if chosen.planned_at <= now:
            initial.update(when_date=local.date(), when_time=local.strftime("%H:%M"))
    form, draft = _bound_or_draft(
        request,
        CaseNoteForm,
        episode,
        "visit",
        initial=initial,
        kinds=kinds,
        children=children,
        now=now,
        planned=planned,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                note = services.episode_record_visit(
                    episode=episode,
                    kind=data["kind"],
                    happened_at=data["when"],
                    purpose=data["purpose"],
                    present=data["present"],
                    details=data["details"],
                    actions=data["actions"],
                    analysis=data["analysis"],
                    children=form.child_parts(),
                    by=request.user,
                    now=now,
                    planned_visit=data.get("planned_visit_obj"),
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                message = f"{note.get_kind_display()} recorded."
                if note.is_first_visit:
                    message += " This was the first visit: the child was seen and spoken to."
                elif note.is_initial_contact:
                    message += " This was the initial contact with the family."
                return _done(request, episode, message, draft_key="visit")
    title = "Record a duty contact" if kinds == [CaseNote.Kind.DUTY_CONTACT] else "Record a visit or contact"
    intro = ""
    if episode.state == S.INITIAL_CONTACT:
        intro = "The first visit counts when a child is seen and spoken to, at home, in the office or in direct work."
    return _form_page(
        request,
        episode,
        form,
        title=title,
        button="Save record",
        draft_key="visit",
        draft=draft,
        status=status,
        intro=intro,
    )


# --- Planned visits ---------------------------------------------------------------------------------


@login_required
def planned_visit_new(request, pk: int):
    """Plan a visit: its case recording is then due from the planned time (B18)."""
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    if not episode.is_open or episode.state == S.AWAITING_ALLOCATION:
        messages.error(
            request,
            f"{episode.reference} is {episode.get_state_display().lower()}: visits are planned once it is allocated.",
        )
        return redirect("episodes:episode_detail", pk=episode.pk)
    now = timezone.now()
    visitors = selectors.practitioners_with_caseload(episode.team_id)
    initial = {"visitor": str(episode.lead_professional_id or ""), "kind": CaseNote.Kind.HOME_VISIT}
    form = PlannedVisitForm(request.POST or None, visitors=visitors, now=now, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit = services.planned_visit_schedule(
                    episode=episode,
                    planned_at=data["when"],
                    kind=data["kind"],
                    visitor=data["visitor_user"],
                    seeing=data["seeing"],
                    by=request.user,
                    now=now,
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                when = timezone.localtime(visit.planned_at)
                return _done(
                    request,
                    episode,
                    f"{visit.get_kind_display()} planned for {when:%d %B %Y at %H:%M}. "
                    "Record it by the end of the next working day after the visit.",
                )
    return _form_page(
        request,
        episode,
        form,
        title="Plan a visit",
        button="Plan the visit",
        status=status,
        intro="The visit's case note is due by the end of the next working day after the planned time.",
    )


@login_required
def planned_visit_cancel(request, pk: int, visit_pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    visit = get_object_or_404(PlannedVisit.objects.select_related("visitor"), pk=visit_pk, episode=episode)
    if not visit.is_pending:
        messages.error(request, "That visit was already recorded or cancelled.")
        return redirect("episodes:episode_detail", pk=episode.pk)
    form = PlannedVisitCancelForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.planned_visit_cancel(
                    visit=visit, reason=form.cleaned_data["reason"], by=request.user, now=timezone.now()
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, "The planned visit was cancelled.")
    when = timezone.localtime(visit.planned_at)
    return _form_page(
        request,
        episode,
        form,
        title="Cancel a planned visit",
        button="Cancel the visit",
        status=status,
        summary_rows=[
            ("Visit", visit.get_kind_display()),
            ("When", f"{when:%d %B %Y at %H:%M}"),
            ("Who will visit", str(visit.visitor)),
            ("Who will be seen", visit.seeing or "Not given"),
        ],
    )


# --- Assessment ------------------------------------------------------------------------------------


@login_required
def assessment(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    existing = selectors.assessment_with_sections(episode)
    if existing is not None and existing.completed_at:
        # A completed assessment is a record: it is read, not edited.
        return render(
            request,
            "episodes/assessment_view.html",
            {
                "episode": episode,
                "family": episode.family,
                "assessment": existing,
                "sections": [(label, getattr(existing, name)) for name, label in ASSESSMENT_LABELS.items()],
            },
        )
    children = selectors.children_of(episode.family)
    form, draft = _bound_or_draft(
        request, AssessmentForm, episode, "assessment", initial=AssessmentForm.initial_from(existing), children=children
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            complete = request.POST.get("action") == "complete"
            try:
                services.assessment_save(
                    episode=episode,
                    by=request.user,
                    now=timezone.now(),
                    sections=form.sections(),
                    children=form.child_sections(),
                    needs=form.needs(),
                    risks=form.risks(),
                    expected_version=form.cleaned_data["version"],
                    complete=complete,
                )
            except WorkflowError as exc:
                latest = selectors.assessment_with_sections(episode)
                _refused(form, exc, current_version=latest.version if latest else 0)
                status = 409
            else:
                if complete:
                    return _done(request, episode, "The assessment was completed.", draft_key="assessment")
                services.draft_discard(user=request.user, form_key="assessment", object_key=str(episode.pk))
                messages.success(request, "The assessment was saved. You can carry on with it later.")
                return redirect("episodes:assessment", pk=episode.pk)
    return _form_page(
        request,
        episode,
        form,
        title="Early Help assessment",
        button="Save and carry on later",
        extra_buttons=[{"label": "Complete the assessment", "name": "action", "value": "complete"}],
        draft_key="assessment",
        draft=draft,
        status=status,
        intro="Need levels run from 'No need' to 'Significant need' for each of the ten outcome areas. "
        "Completing the assessment needs the family's history, their views, the child's voice, each child's "
        "developmental needs, a level for every outcome area and a recommendation.",
    )


@login_required
@require_POST
def assessment_not_needed(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    try:
        services.assessment_not_needed(
            episode=episode, by=request.user, now=timezone.now(), expected_version=_int(request.POST.get("version"))
        )
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "No Early Help assessment is needed: the social care assessment stands. Plan next.")
    return redirect("episodes:episode_detail", pk=episode.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Meetings of the team around the family ------------------------------------------------------


@login_required
def meeting_new(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    kind = request.GET.get("kind") or request.POST.get("kind_key") or ""
    if kind not in (TeamMeeting.Kind.INITIAL_PLANNING, TeamMeeting.Kind.ENDING):
        raise Http404("Reviews are recorded on the review page")
    now = timezone.now()
    form = TeamMeetingForm(request.POST or None, now=now, initial={**_now_initial(), "version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if kind == TeamMeeting.Kind.INITIAL_PLANNING:
                    services.planning_meeting_record(
                        episode=episode,
                        held_at=data["when"],
                        attendees=data["attendees"],
                        notes=data["notes"],
                        by=request.user,
                        now=now,
                        expected_version=data["version"],
                    )
                else:
                    services.ending_meeting_record(
                        episode=episode,
                        held_at=data["when"],
                        attendees=data["attendees"],
                        notes=data["notes"],
                        by=request.user,
                        now=now,
                    )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, current_version=episode.version)
                status = 409
            else:
                return _done(request, episode, f"{TeamMeeting.Kind(kind).label} recorded.")
    return _form_page(
        request,
        episode,
        form,
        title=f"Record the {TeamMeeting.Kind(kind).label.lower()}",
        button="Save meeting",
        status=status,
        hidden={"kind_key": kind},
    )


# --- Plan ------------------------------------------------------------------------------------------


@login_required
def plan(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    current = selectors.plan_with_outcomes(episode)
    initial = {
        "if_not_working": current.if_not_working if current else "",
        "version": current.version if current else 0,
    }
    form, draft = _bound_or_draft(request, PlanForm, episode, "plan", initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.plan_save(
                    episode=episode,
                    if_not_working=form.cleaned_data["if_not_working"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=_seen_version(form.cleaned_data),
                )
            except WorkflowError as exc:
                latest = selectors.plan_with_outcomes(episode)
                _refused(form, exc, current_version=latest.version if latest else 0)
                status = 409
            else:
                services.draft_discard(user=request.user, form_key="plan", object_key=str(episode.pk))
                messages.success(request, "The plan was saved.")
                return redirect("episodes:plan", pk=episode.pk)
    return render(
        request,
        "episodes/plan.html",
        {
            "episode": episode,
            "family": episode.family,
            "plan": current,
            "outcomes": list(current.outcomes.all()) if current else [],
            "form": form,
            "draft": draft,
            "draft_url": reverse("episodes:draft_save", args=["plan", episode.pk]),
            "draft_discard_url": reverse("episodes:draft_discard", args=["plan", episode.pk]),
            "can_activate": episode.state == S.PLANNING,
            "gaps": services.plan_gaps(current.outcomes.all()) if current else [],
        },
        status=status,
    )


def _outcome_of(episode: Episode, outcome_pk: int | None) -> PlanOutcome | None:
    if outcome_pk is None:
        return None
    return get_object_or_404(PlanOutcome.objects.select_related("plan__episode"), pk=outcome_pk, plan__episode=episode)


@login_required
def outcome_edit(request, pk: int, outcome_pk: int | None = None):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    outcome = _outcome_of(episode, outcome_pk)
    initial = (
        {
            "area": outcome.area,
            "description": outcome.description,
            "how_measured": outcome.how_measured,
            "by_when": outcome.by_when,
            "version": outcome.version,
        }
        if outcome
        else {}
    )
    form = OutcomeForm(request.POST or None, initial=initial)
    status = 200
    theirs: list[tuple[str, str]] = []
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = services.plan_outcome_save(
                    episode=episode,
                    outcome=outcome,
                    area=data["area"],
                    description=data["description"],
                    how_measured=data["how_measured"],
                    by_when=data["by_when"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=_seen_version(data),
                )
            except WorkflowError as exc:
                _refused(form, exc, current_version=_current_version(PlanOutcome, outcome))
                theirs = _saved_rows(exc, PlanOutcome, outcome, ("description", "how_measured", "by_when"))
                status = 409
            else:
                messages.success(request, f"Outcome {saved.number} was saved.")
                return redirect("episodes:plan", pk=episode.pk)
    return _form_page(
        request,
        episode,
        form,
        title=f"Outcome {outcome.number}" if outcome else "Add an outcome",
        button="Save outcome",
        status=status,
        summary_rows=theirs,
        intro="A SMART outcome says specifically what will be different, how progress will be measured and by when.",
    )


@login_required
def action_edit(request, pk: int, outcome_pk: int, action_pk: int | None = None):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    outcome = _outcome_of(episode, outcome_pk)
    action = get_object_or_404(PlanAction, pk=action_pk, outcome=outcome) if action_pk else None
    initial = (
        {
            "what": action.what,
            "who": action.who,
            "by_when": action.by_when,
            "done_on": action.done_on,
            "note": action.note,
            "version": action.version,
        }
        if action
        else {}
    )
    form = ActionForm(request.POST or None, initial=initial)
    status = 200
    theirs: list[tuple[str, str]] = []
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.plan_action_save(
                    outcome=outcome,
                    action=action,
                    what=data["what"],
                    who=data["who"],
                    by_when=data["by_when"],
                    done_on=data["done_on"],
                    note=data["note"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=_seen_version(data),
                )
            except WorkflowError as exc:
                _refused(form, exc, current_version=_current_version(PlanAction, action))
                theirs = _saved_rows(exc, PlanAction, action, ("what", "who", "by_when", "done_on", "note"))
                status = 409
            else:
                messages.success(request, f"The action for outcome {outcome.number} was saved.")
                return redirect("episodes:plan", pk=episode.pk)
    return _form_page(
        request,
        episode,
        form,
        title=f"{'Change an' if action else 'Add an'} action for outcome {outcome.number}",
        button="Save action",
        status=status,
        summary_rows=[("Outcome", outcome.description or "Not written yet"), *theirs],
    )


@login_required
@require_POST
def plan_activate(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    try:
        services.plan_activate(
            episode=episode, by=request.user, now=timezone.now(), expected_version=_int(request.POST.get("version"))
        )
    except WorkflowError as exc:
        messages.error(request, str(exc))
        target = "episodes:plan" if episode.state == S.PLANNING else "episodes:episode_detail"
        return redirect(target, pk=episode.pk)
    messages.success(request, "The plan is active. Give the family their copy of the assessment and plan.")
    return redirect("episodes:episode_detail", pk=episode.pk)


# --- Reviews --------------------------------------------------------------------------------------


@login_required
def review_new(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    now = timezone.now()
    outcomes = list(PlanOutcome.objects.filter(plan__episode=episode).order_by("number"))
    form, draft = _bound_or_draft(
        request, ReviewForm, episode, "review", initial=_now_initial(), outcomes=outcomes, now=now
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.review_record(
                    episode=episode,
                    held_at=data["when"],
                    attendees=data["attendees"],
                    summary=data["summary"],
                    family_views=data["family_views"],
                    child_voice=data["child_voice"],
                    next_review_on=data["next_review_on"],
                    progress=form.progress(),
                    by=request.user,
                    now=now,
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, "The review was recorded.", draft_key="review")
    return _form_page(
        request,
        episode,
        form,
        title="Record a review",
        button="Save review",
        draft_key="review",
        draft=draft,
        status=status,
    )


# --- Closure ---------------------------------------------------------------------------------------


@login_required
def closure_request(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    form, draft = _bound_or_draft(request, ClosureRequestForm, episode, "closure", initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.closure_request(
                    episode=episode,
                    checklist=form.checklist(),
                    summary=data["summary"],
                    child_voice=data["child_voice"],
                    proposed_reason=data["proposed_reason"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=data["version"],
                )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, current_version=episode.version)
                status = 409
            else:
                return _done(
                    request, episode, "Closure was requested. A manager will sign it off.", draft_key="closure"
                )
    open_actions = PlanAction.objects.filter(outcome__plan__episode=episode, done_on__isnull=True).count()
    return _form_page(
        request,
        episode,
        form,
        title="Request closure",
        button="Request closure",
        draft_key="closure",
        draft=draft,
        status=status,
        summary_rows=[("Plan actions not marked done", str(open_actions))],
    )


@login_required
def closure_decide(request, pk: int, closure_pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.sign_off_closure", episode)
    closure = get_object_or_404(ClosureRequest.objects.select_related("requested_by"), pk=closure_pk, episode=episode)
    sign_off_form = ClosureSignOffForm(
        request.POST if "sign_off" in request.POST else None,
        prefix="off",
        initial={
            "version": episode.version,
            "ended_on": timezone.localdate(),
            "reason": closure.proposed_reason,
            "letter_method": "letter",
        },
    )
    return_form = ClosureReturnForm(request.POST if "return" in request.POST else None, prefix="ret")
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if "sign_off" in request.POST and sign_off_form.is_valid():
                data = sign_off_form.cleaned_data
                services.closure_sign_off(
                    closure=closure,
                    ended_on=data["ended_on"],
                    reason=data["reason"],
                    letter_recipient=data["letter_recipient"],
                    letter_method=data["letter_method"],
                    partners=data["partners"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=data["version"],
                )
                return _done(request, episode, f"{episode.reference} is closed. The letter and notices are recorded.")
            if "return" in request.POST and return_form.is_valid():
                services.closure_return(
                    closure=closure,
                    reason=return_form.cleaned_data["return_reason"],
                    by=request.user,
                    now=timezone.now(),
                )
                return _done(request, episode, "The closure request was returned to the practitioner.")
        except WorkflowError as exc:
            episode.refresh_from_db()
            form = sign_off_form if "sign_off" in request.POST else return_form
            _refused(form, exc, current_version=episode.version)
            status = 409
    return render(
        request,
        "episodes/closure_decide.html",
        {
            "episode": episode,
            "family": episode.family,
            "closure": closure,
            "checklist": [(label, getattr(closure, name)) for name, label in ClosureRequest.CHECKLIST.items()],
            "sign_off_form": sign_off_form,
            "return_form": return_form,
            "address": case_selectors.address_for_letter(episode.family),
        },
        status=status,
    )


@login_required
def decline(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    form = DeclineForm(request.POST or None, initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.family_declines(
                    episode=episode,
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=form.cleaned_data["version"],
                )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, current_version=episode.version)
                status = 409
            else:
                return _done(request, episode, f"{episode.reference} is closed: the family declined Early Help.")
    return _form_page(
        request, episode, form, title="The family declines Early Help", button="Close the episode", status=status
    )


# --- Step-up ----------------------------------------------------------------------------------------


@login_required
def step_up_new(request, pk: int):
    episode = _episode(request, pk)
    if not (
        request.user.has_perm("cases.work_on_episode", episode) or request.user.has_perm("cases.send_step_up", episode)
    ):
        raise PermissionDenied
    form, draft = _bound_or_draft(request, StepUpProposeForm, episode, "step_up", initial={"version": episode.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.step_up_propose(
                    episode=episode,
                    concern=data["concern"],
                    reason=data["reason"],
                    multi_agency_views=data["multi_agency_views"],
                    family_views=data["family_views"],
                    by=request.user,
                    now=timezone.now(),
                    expected_version=data["version"],
                )
            except WorkflowError as exc:
                episode.refresh_from_db()
                _refused(form, exc, current_version=episode.version)
                status = 409
            else:
                return _done(
                    request,
                    episode,
                    "The step-up was proposed. The Early Help manager has 48 hours to send it on.",
                    draft_key="step_up",
                )
    return _form_page(
        request,
        episode,
        form,
        title="Propose a step-up to children's social care",
        button="Propose step-up",
        draft_key="step_up",
        draft=draft,
        status=status,
        intro="Propose a step-up when 6 weeks show limited change with continuing high risk, increasing risk or "
        "safeguarding concerns, or no engagement with the plan. For an immediate safeguarding concern, contact "
        "the duty and assessment team now, then record it here.",
    )


def _step_up_rows(step_up: StepUp) -> list[tuple[str, str]]:
    rows = [
        ("Proposed", f"{timezone.localtime(step_up.proposed_at):%d %B %Y %H:%M} by {step_up.proposed_by}"),
        ("Concern", step_up.get_concern_display()),
        ("Reason for concern", step_up.reason),
        ("Views of the agencies", step_up.multi_agency_views),
        ("The family's views", step_up.family_views),
    ]
    if step_up.sent_at:
        rows += [
            ("Sent to the duty manager", f"{timezone.localtime(step_up.sent_at):%d %B %Y %H:%M} by {step_up.sent_by}"),
            ("Next step", step_up.get_next_step_display()),
            ("Attributable to parenting", step_up.get_parenting_display()),
            ("Manager's judgement", step_up.manager_judgement),
        ]
    return rows


@login_required
def step_up_send(request, pk: int, step_up_pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.send_step_up", episode)
    step_up = get_object_or_404(StepUp.objects.select_related("proposed_by", "sent_by"), pk=step_up_pk, episode=episode)
    form = StepUpSendForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.step_up_send_to_duty_manager(
                    step_up=step_up,
                    next_step=data["next_step"],
                    parenting=data["parenting"],
                    judgement=data["judgement"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, "The step-up was sent to the duty manager, who has 48 hours to decide.")
    return _form_page(
        request,
        episode,
        form,
        title="Early Help manager's oversight of the step-up",
        button="Send to the duty manager",
        status=status,
        summary_rows=_step_up_rows(step_up),
    )


@login_required
def step_up_decide(request, pk: int, step_up_pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.decide_step_up", episode)
    step_up = get_object_or_404(StepUp.objects.select_related("proposed_by", "sent_by"), pk=step_up_pk, episode=episode)
    form = StepUpDecideForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                decided = services.step_up_decide(
                    step_up=step_up,
                    decision=data["decision"],
                    wraparound=data["wraparound_bool"],
                    notes=data["notes"],
                    focused_plan_note=data["focused_plan_note"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                episode.refresh_from_db()
                return _done(
                    request,
                    episode,
                    f"Step-up decision recorded: {decided.get_decision_display()}. "
                    f"{episode.reference} is now {episode.get_state_display().lower()}.",
                )
    return _form_page(
        request,
        episode,
        form,
        title="Duty manager's decision on the step-up",
        button="Record decision",
        status=status,
        summary_rows=_step_up_rows(step_up),
    )


# --- Step-down and escalation -----------------------------------------------------------------------


@login_required
def step_down_find(request):
    _need(request, "cases.receive_step_down")
    query = (request.GET.get("q") or "").strip()[:100]
    people = case_selectors.search_people(request.user, query) if query else []
    families = {m.family.pk: m.family for p in people for m in p.memberships.all()}
    if query:
        log_search(request, people, what=f"step-down search: {query}")
    return render(request, "episodes/step_down_find.html", {"query": query, "families": list(families.values())})


@login_required
def step_down(request, family_pk: int):
    _need(request, "cases.receive_step_down")
    family = visible_family_or_404(request.user, family_pk)
    if request.method == "GET":
        log_access(request, action=AccessLog.Action.VIEW, what=f"step-down for {family.reference}", family=family)
    form = StepDownForm(request.POST or None, initial={"team": request.user.team_id})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                episode = services.step_down_receive(
                    family=family,
                    team=data["team"],
                    social_care_assessment_date=data["social_care_assessment_date"],
                    summary=data["summary"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                messages.success(
                    request, f"{family} is on {episode.team}'s pre-allocation list: allocate within 48 hours."
                )
                return redirect("episodes:episode_detail", pk=episode.pk)
    return render(request, "episodes/step_down.html", {"family": family, "form": form}, status=status)


@login_required
def escalation_new(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.record_escalation", episode)
    form = EscalationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.escalation_record(episode=episode, by=request.user, now=timezone.now(), **form.cleaned_data)
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, "The escalation was recorded.")
    return _form_page(
        request, episode, form, title="Escalate a disagreement", button="Record escalation", status=status
    )


@login_required
def escalation_outcome(request, pk: int, escalation_pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.record_escalation", episode)
    escalation = get_object_or_404(Escalation, pk=escalation_pk, episode=episode)
    form = EscalationOutcomeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.escalation_resolve(
                    escalation=escalation, outcome=form.cleaned_data["outcome"], by=request.user, now=timezone.now()
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, "The escalation's outcome was recorded.")
    return _form_page(
        request,
        episode,
        form,
        title="Record the escalation's outcome",
        button="Save outcome",
        status=status,
        summary_rows=[("Disagreement", escalation.disagreement), ("Escalated to", escalation.escalated_to)],
    )


# --- Documents ----------------------------------------------------------------------------------------


@login_required
def document_new(request, pk: int):
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    form = DocumentForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                document = services.document_upload(
                    episode=episode,
                    file=data["file"],
                    kind=data["kind"],
                    title=data["title"],
                    by=request.user,
                    now=timezone.now(),
                )
            except WorkflowError as exc:
                _refused(form, exc)
                status = 409
            else:
                return _done(request, episode, f"{document.title} was uploaded.")
    return _form_page(request, episode, form, title="Upload a document", button="Upload", status=status, multipart=True)


@login_required
def document_download(request, pk: int, document_pk: int):
    episode = _episode(request, pk, log=False)  # logged below as the download it is
    document = get_object_or_404(Document, pk=document_pk, episode=episode)
    log_access(
        request,
        action=AccessLog.Action.DOWNLOAD,
        what=f"document {document.pk} of episode {episode.reference}",
        family=episode.family,
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage") from None
    return FileResponse(handle, as_attachment=True, filename=document.original_name, content_type=document.content_type)


# --- The family's copy of the assessment and plan ----------------------------------------------------


@login_required
def family_copy(request, pk: int):
    episode = _episode(request, pk, log=False)  # logged below as the export it is
    _need(request, "cases.work_on_episode", episode)
    log_access(
        request, action=AccessLog.Action.EXPORT, what=f"family copy of {episode.reference}", family=episode.family
    )
    assessment_ = selectors.assessment_with_sections(episode)
    return render(
        request,
        "episodes/family_copy.html",
        {
            "episode": episode,
            "family": episode.family,
            "assessment": assessment_,
            "needs": [n for n in assessment_.needs.all() if n.level >= NeedLevel.SOME_NEED] if assessment_ else [],
            "plan": selectors.plan_with_outcomes(episode),
            "address": case_selectors.address_for_letter(episode.family),
        },
    )


@login_required
def family_copy_sent(request, pk: int):
    """Record the copy as sent, after a page that shows the recipient and address for a check."""
    episode = _episode(request, pk)
    _need(request, "cases.work_on_episode", episode)
    now = timezone.now()
    form = PlanCopyForm(request.POST or None, now=now, initial=_now_initial())
    checking = False
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            if not data["checked"]:
                checking = True
                status = 200
            else:
                try:
                    services.plan_copy_sent(
                        episode=episode,
                        recipient=data["recipient"],
                        method=data["method"],
                        sent_at=data["when"],
                        by=request.user,
                        now=now,
                    )
                except WorkflowError as exc:
                    _refused(form, exc)
                    status = 409
                else:
                    return _done(
                        request, episode, f"The copy of the assessment and plan to {data['recipient']} is recorded."
                    )
    return render(
        request,
        "episodes/family_copy_sent.html",
        {
            "episode": episode,
            "family": episode.family,
            "form": form,
            "checking": checking,
            "method_label": dict(Communication.Method.choices).get(form.data.get("method", ""), ""),
            "address": case_selectors.address_for_letter(episode.family),
            "show_confidential": case_selectors.can_see_confidential_address(request.user),
        },
        status=status,
    )


# --- Drafts ----------------------------------------------------------------------------------------


@require_POST
def draft_save(request, form_key: str, pk: int):
    """The autosave endpoint: JSON in the answer, never a redirect, so the script can tell what happened."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed_out"}, status=401)
    if form_key not in DRAFT_FORMS:
        raise Http404("No such form")
    episode = _episode(request, pk)
    if not _may_draft(request.user, form_key, episode):
        return JsonResponse({"error": "forbidden"}, status=403)
    data = {k: v for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"}
    now = timezone.now()
    try:
        services.draft_save(user=request.user, form_key=form_key, object_key=str(episode.pk), data=data, now=now)
    except WorkflowError as exc:
        return JsonResponse({"error": str(exc)}, status=413)
    return JsonResponse({"saved_at": timezone.localtime(now).strftime("%H:%M:%S")})


@login_required
@require_POST
def draft_discard(request, form_key: str, pk: int):
    if form_key not in DRAFT_FORMS:
        raise Http404("No such form")
    episode = _episode(request, pk)
    if not _may_draft(request.user, form_key, episode):
        raise PermissionDenied
    services.draft_discard(user=request.user, form_key=form_key, object_key=str(episode.pk))
    messages.success(request, "The draft was discarded.")
    if _safe_next(request):
        return redirect(request.POST["next_page"])
    return redirect("episodes:episode_detail", pk=episode.pk)


def _may_draft(user, form_key: str, episode: Episode) -> bool:
    return any(user.has_perm(perm, episode) for perm in DRAFT_FORMS[form_key])


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next_page") or ""
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
