"""Episode pages. Thin: a form in, one service call, a redirect; a refusal re-renders with what was typed.

Every action is a subclass of `workflows.actions.ActionView` (through `EpisodeAction`): it declares the
form, the permission, the service call and the words; the steps between are the generic view's.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import roles
from cases import selectors as case_selectors
from cases.access import log_access, log_shown, render_logged, visible_family_or_404
from cases.models import (
    AccessLog,
    CaseNote,
    ClosureRequest,
    Communication,
    Document,
    Episode,
    Escalation,
    Family,
    PlanAction,
    PlannedVisit,
    PlanOutcome,
    StepUp,
    TeamMeeting,
    why_not,
)
from kit.dates import long_datetime
from kit.permissions import require_perm, require_role
from kit.querystring import querystring
from workflows import episode_selectors as selectors
from workflows import episode_services as services
from workflows import list_rows, presenters, row_markup
from workflows.actions import ActionView
from workflows.episode_forms import (
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
)
from workflows.episode_page_forms import NoteFilterForm
from workflows.errors import WorkflowError

S = Episode.State
WORK = "cases.work_on_episode"
# Long forms whose typing is saved as the user goes (static/js/drafts.mjs), with the permissions
# that open each form (any one of them): nobody keeps drafts of a form they cannot submit.
DRAFT_FORMS = {
    "visit": (WORK, "cases.record_duty_contact"),
    "assessment": (WORK,),
    "plan": (WORK,),
    "review": (WORK,),
    "closure": (WORK,),
    "step_up": (WORK, "cases.send_step_up"),
}


# --- Shared steps ------------------------------------------------------------------------------


def _episode(
    request, pk: int, *, log: bool = True, with_planned_visits: bool = False, with_assessment_and_plan: bool = False
) -> Episode:
    """The episode if in the user's scope (else 404); a page showing it (a GET) is one access-log row."""
    episode = selectors.visible_episode(
        request.user, pk, with_planned_visits=with_planned_visits, with_assessment_and_plan=with_assessment_and_plan
    )
    if episode is None:
        raise Http404("No such episode")
    if log and request.method == "GET":
        page = request.resolver_match.url_name if request.resolver_match else ""
        what = f"episode {episode.reference}" + ("" if page == "episode_detail" else f": {page.replace('_', ' ')}")
        log_access(request, action=AccessLog.Action.VIEW, what=what, family=episode.family)
    return episode


def _seen_version(data: dict) -> int:
    """The version an edit form was drawn from; a form that does not say is treated as drawn from none (0)."""
    return data.get("version") or 0


def _current_version(model, record) -> int | None:
    """The record's version now, for the next submit after a refusal (None: nothing to compare)."""
    if record is None:
        return None
    saved = case_selectors.record_as_saved(record)
    return (saved.version or 0) if saved is not None else 0


def _now_initial() -> dict:
    local = timezone.localtime()
    return {"when_date": local.date(), "when_time": local.strftime("%H:%M")}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _form_page(
    request,
    episode: Episode,
    form,
    *,
    title: str,
    button: str,
    draft_key: str = "",
    draft=None,
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


def _one_or_404(records, **lookup):
    """One record of a queryset already scoped to the user (an episode's records), else 404."""
    found = records.filter(**lookup).first()
    if found is None:
        raise Http404("No such record")
    return found


class EpisodeAction(ActionView):
    """An action on one episode (URL argument `pk`), on the shared form page unless it draws its own.

    `versioned`: the form carries the episode's version; a refusal reloads the episode and, after a
    concurrent change, puts its current version into the form.
    """

    versioned = False
    title = ""
    button = ""
    intro = ""
    multipart = False
    extra_buttons: list = []
    hidden: dict = {}
    summary_rows: list = []

    def get_object(self) -> Episode:
        return _episode(self.request, self.kwargs["pk"])

    @property
    def episode(self) -> Episode:
        return self.object

    def initial(self) -> dict:
        return {"version": self.episode.version} if self.versioned else {}

    def current_version(self) -> int | None:
        if not self.versioned:
            return None
        self.episode.refresh_from_db()
        return self.episode.version

    def back(self, error: str):
        """Refuse before the form: say why on the episode page."""
        messages.error(self.request, error)
        return redirect("episodes:episode_detail", pk=self.episode.pk)

    def page(self, form, *, status: int = 200):
        return _form_page(
            self.request,
            self.episode,
            form,
            title=self.title,
            button=self.button,
            draft_key=self.draft_key,
            draft=self.draft,
            status=status,
            summary_rows=self.summary_rows,
            intro=self.intro,
            multipart=self.multipart,
            extra_buttons=self.extra_buttons,
            hidden=self.hidden,
        )

    def message_names(self) -> dict:
        return {**super().message_names(), "episode": self.episode}

    def success_url(self) -> str:
        return reverse("episodes:episode_detail", args=[self.episode.pk])


# --- Lists ---------------------------------------------------------------------------------------


@login_required
def my_cases(request):
    require_role(request.user, roles.PRACTITIONER)
    values, rows = row_markup.my_cases(request.user, now=timezone.now())
    response = render(request, "episodes/my_cases.html", {"episodes": values, "rows": rows})
    log_shown(request, row_markup.families_of(values), what="my cases")
    return response


@login_required
def pre_allocation(request):
    user = request.user
    require_role(user, roles.TEAM_LEADER, roles.DUTY_WORKER, roles.MANAGER)
    team_id = user.team_id if user.has_role(roles.TEAM_LEADER, roles.DUTY_WORKER) else None
    page = list_rows.pre_allocation(user, team_id=team_id, page_number=request.GET.get("page"), now=timezone.now())
    can_allocate, can_duty = user.has_perm("cases.allocate_episode"), user.has_perm("cases.record_duty_contact")
    response = render(
        request,
        "episodes/pre_allocation.html",
        {
            "page": page,
            "rows": list_rows.waiting_rows_markup(page.object_list, can_allocate=can_allocate, can_duty=can_duty),
            "querystring": "",
            "can_allocate": can_allocate,
            "can_duty": can_duty,
            "can_step_down": user.has_perm("cases.receive_step_down"),
        },
    )
    list_rows.log_rows(request, page.object_list, what="pre-allocation list")
    return response


@login_required
def sign_off(request):
    user = request.user
    require_role(user, roles.MANAGER, roles.DUTY_MANAGER)
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


def _episode_subpage(request, episode: Episode, template: str, context: dict, *, now):
    """An episode page with its sub-navigation (ADR 35); the access log row was written by `_episode`."""
    page = request.resolver_match.view_name if request.resolver_match else "episodes:episode_detail"
    return render(
        request,
        template,
        {
            **context,
            "episode": episode,
            "family": episode.family,
            "now": now,
            "tabs": presenters.episode_tabs(episode, page),
        },
    )


@login_required
def episode_detail(request, pk: int):
    """The episode's summary: key facts, next steps, the most urgent clocks, the latest notes."""
    episode = _episode(request, pk, with_planned_visits=True, with_assessment_and_plan=True)
    now = timezone.now()
    context = selectors.episode_summary(episode, now=now)
    context.update(presenters.episode_page(episode, request.user, context, now=now))
    return _episode_subpage(request, episode, "episodes/episode_detail.html", context, now=now)


NOTES_PER_PAGE = 20
DOCUMENTS_PER_PAGE = 50


@login_required
def episode_notes(request, pk: int):
    """Every visit and case note of the episode, newest first, a page at a time, filtered by kind and date."""
    episode = _episode(request, pk, with_planned_visits=True)
    now = timezone.now()
    filtering = bool(set(request.GET) - {"page"})  # only a page number: no filter, nothing to say about it
    form = NoteFilterForm(request.GET if filtering else None)
    notes = selectors.episode_notes(episode, **(form.filters() if form.is_bound else {}))
    can_work = request.user.has_perm(WORK, episode)
    context = {
        "form": form,
        "page": Paginator(notes, NOTES_PER_PAGE).get_page(request.GET.get("page")),
        "querystring": querystring(request.GET),
        "planned_visits": selectors.planned_visit_rows(episode),
        "can_record_note": can_work and episode.is_open and episode.state != S.AWAITING_ALLOCATION,
    }
    return _episode_subpage(request, episode, "episodes/episode_notes.html", context, now=now)


@login_required
def episode_timescales(request, pk: int):
    """Every clock of the episode, breached first, then overdue, due soon, on time, met and withdrawn."""
    episode = _episode(request, pk)
    now = timezone.now()
    context = {"clocks": selectors.clocks_by_urgency(episode, now=now)}
    return _episode_subpage(request, episode, "episodes/episode_timescales.html", context, now=now)


@login_required
def episode_documents(request, pk: int):
    episode = _episode(request, pk)
    now = timezone.now()
    context = {
        "page": Paginator(selectors.episode_documents(episode), DOCUMENTS_PER_PAGE).get_page(request.GET.get("page")),
        "querystring": querystring(request.GET),
        "can_work": request.user.has_perm(WORK, episode),
    }
    return _episode_subpage(request, episode, "episodes/episode_documents.html", context, now=now)


@login_required
def episode_history(request, pk: int):
    """Reviews, meetings, what was sent to the family and partners, and every change to the episode."""
    episode = _episode(request, pk)
    now = timezone.now()
    return _episode_subpage(
        request, episode, "episodes/episode_history.html", selectors.episode_history(episode), now=now
    )


# --- Allocation ------------------------------------------------------------------------------------


class Allocate(EpisodeAction):
    form_class = AllocateForm
    permission = "cases.allocate_episode"
    versioned = True
    success_message = "{episode.reference} was allocated to {data[practitioner_user]}."

    def form_kwargs(self) -> dict:
        self.practitioners = selectors.practitioners_with_caseload(self.episode.team_id)
        return {"practitioners": self.practitioners}

    def perform(self, data):
        services.episode_allocate(
            episode=self.episode,
            practitioner=data["practitioner_user"],
            **self.from_form("reason"),
            expected_version=data["version"],
            **self.by_now(),
        )

    def page(self, form, *, status: int = 200):
        context = {"episode": self.episode, "family": self.episode.family, "form": form}
        return render(
            self.request, "episodes/allocate.html", {**context, "practitioners": self.practitioners}, status=status
        )


allocate = Allocate.as_view()


# --- Visits and case notes --------------------------------------------------------------------------


class NoteNew(EpisodeAction):
    """A visit or contact; who may record which kinds is `presenters.note_kinds`."""

    form_class = CaseNoteForm
    draft_key = "visit"
    button = "Save record"

    def before(self):
        episode = self.episode
        self.kinds = presenters.note_kinds(self.request.user, episode)
        if not self.kinds:
            if not episode.is_open:
                return self.back(f"{episode.reference} is closed: nothing more can be recorded on it.")
            if episode.state == S.AWAITING_ALLOCATION:
                return self.back(why_not(episode, "record_initial_contact"))
            raise PermissionDenied
        self.planned = selectors.pending_planned_visits(episode) if self.kinds != [CaseNote.Kind.DUTY_CONTACT] else []
        self.title = presenters.note_page_title(self.kinds)
        self.intro = presenters.note_page_intro(episode)
        return None

    def initial(self) -> dict:
        asked = self.request.GET.get("kind")
        initial = {**_now_initial(), "kind": asked if asked in self.kinds else None}
        chosen = next((v for v in self.planned if str(v.pk) == self.request.GET.get("planned")), None)
        if chosen is not None:
            kind = chosen.kind if chosen.kind in self.kinds else initial["kind"]
            initial.update(planned_visit=str(chosen.pk), kind=kind)
            if chosen.planned_at <= self.now:
                local = timezone.localtime(chosen.planned_at)
                initial.update(when_date=local.date(), when_time=local.strftime("%H:%M"))
        return initial

    def form_kwargs(self) -> dict:
        children = selectors.children_of(self.episode.family)
        return {"kinds": self.kinds, "children": children, "now": self.now, "planned": self.planned}

    def perform(self, data):
        return services.episode_record_visit(
            episode=self.episode,
            happened_at=data["when"],
            **self.from_form("kind", "purpose", "present", "details", "actions", "analysis"),
            children=self.form.child_parts(),
            planned_visit=data.get("planned_visit_obj"),
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        return presenters.note_recorded(self.result)


note_new = NoteNew.as_view()


# --- Planned visits ---------------------------------------------------------------------------------


class PlannedVisitNew(EpisodeAction):
    """Plan a visit: its case recording is then due from the planned time (B18)."""

    form_class = PlannedVisitForm
    permission = WORK
    title = "Plan a visit"
    button = "Plan the visit"
    intro = "The visit's case note is due by the end of the next working day after the planned time."

    def before(self):
        episode = self.episode
        if not episode.is_open or episode.state == S.AWAITING_ALLOCATION:
            state = episode.get_state_display().lower()
            return self.back(f"{episode.reference} is {state}: visits are planned once it is allocated.")
        return None

    def initial(self) -> dict:
        return {"visitor": str(self.episode.lead_professional_id or ""), "kind": CaseNote.Kind.HOME_VISIT}

    def form_kwargs(self) -> dict:
        return {"visitors": selectors.practitioners_with_caseload(self.episode.team_id), "now": self.now}

    def perform(self, data):
        return services.planned_visit_schedule(
            episode=self.episode,
            planned_at=data["when"],
            visitor=data["visitor_user"],
            **self.from_form("kind", "seeing"),
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        when = timezone.localtime(self.result.planned_at)
        return (
            f"{self.result.get_kind_display()} planned for {long_datetime(when)}. "
            "Record it by the end of the next working day after the visit."
        )


planned_visit_new = PlannedVisitNew.as_view()


class PlannedVisitCancel(EpisodeAction):
    form_class = PlannedVisitCancelForm
    permission = WORK
    title = "Cancel a planned visit"
    button = "Cancel the visit"
    success_message = "The planned visit was cancelled."

    def before(self):
        visits = case_selectors.episode_records(PlannedVisit, self.episode).select_related("visitor")
        self.visit = _one_or_404(visits, pk=self.kwargs["visit_pk"])
        if not self.visit.is_pending:
            return self.back("That visit was already recorded or cancelled.")
        self.summary_rows = presenters.planned_visit_rows(self.visit)
        return None

    def perform(self, data):
        services.planned_visit_cancel(visit=self.visit, reason=data["reason"], **self.by_now())


planned_visit_cancel = PlannedVisitCancel.as_view()


# --- Assessment ------------------------------------------------------------------------------------


class Assessment(EpisodeAction):
    """Saved as the user goes; completing it is a second button. A completed assessment is read, not edited."""

    form_class = AssessmentForm
    permission = WORK
    draft_key = "assessment"
    title = "Early Help assessment"
    button = "Save and carry on later"
    extra_buttons = [{"label": "Complete the assessment", "name": "action", "value": "complete"}]
    intro = (
        "Need levels run from 'No need' to 'Significant need' for each of the ten outcome areas. "
        "Completing the assessment needs the family's history, their views, the child's voice, each child's "
        "developmental needs, a level for every outcome area and a recommendation."
    )

    def before(self):
        self.existing = selectors.assessment_with_sections(self.episode)
        if self.existing is None or not self.existing.completed_at:
            return None
        context = {"episode": self.episode, "family": self.episode.family, "assessment": self.existing}
        sections = presenters.assessment_sections(self.existing)
        return render(self.request, "episodes/assessment_view.html", {**context, "sections": sections})

    def initial(self) -> dict:
        return AssessmentForm.initial_from(self.existing)

    def form_kwargs(self) -> dict:
        return {"children": selectors.children_of(self.episode.family)}

    def perform(self, data):
        self.complete = self.request.POST.get("action") == "complete"
        form = self.form
        services.assessment_save(
            episode=self.episode,
            sections=form.sections(),
            children=form.child_sections(),
            needs=form.needs(),
            risks=form.risks(),
            expected_version=data["version"],
            complete=self.complete,
            **self.by_now(),
        )

    def current_version(self) -> int:
        latest = selectors.assessment_with_sections(self.episode)
        return latest.version if latest else 0

    def get_success_message(self) -> str:
        if self.complete:
            return "The assessment was completed."
        return "The assessment was saved. You can carry on with it later."

    def success_url(self) -> str:
        return super().success_url() if self.complete else reverse("episodes:assessment", args=[self.episode.pk])


assessment = Assessment.as_view()


class AssessmentNotNeeded(EpisodeAction):
    """A button on the episode page: a refusal is said there."""

    permission = WORK
    post_only = True
    refusal = "message"
    success_message = "No Early Help assessment is needed: the social care assessment stands. Plan next."

    def perform(self, data):
        version = _int(self.request.POST.get("version"))
        services.assessment_not_needed(episode=self.episode, expected_version=version, **self.by_now())


assessment_not_needed = AssessmentNotNeeded.as_view()


# --- Meetings of the team around the family ------------------------------------------------------


class MeetingNew(EpisodeAction):
    """The initial planning meeting or the ending meeting (reviews have their own page)."""

    form_class = TeamMeetingForm
    permission = WORK
    versioned = True
    button = "Save meeting"

    def before(self):
        self.kind = self.request.GET.get("kind") or self.request.POST.get("kind_key") or ""
        if self.kind not in (TeamMeeting.Kind.INITIAL_PLANNING, TeamMeeting.Kind.ENDING):
            raise Http404("Reviews are recorded on the review page")
        self.label = TeamMeeting.Kind(self.kind).label
        self.title = f"Record the {self.label.lower()}"
        self.hidden = {"kind_key": self.kind}
        self.success_message = f"{self.label} recorded."
        return None

    def initial(self) -> dict:
        return {**_now_initial(), **super().initial()}

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def perform(self, data):
        meeting = {"episode": self.episode, "held_at": data["when"], "attendees": data["attendees"]}
        if self.kind == TeamMeeting.Kind.INITIAL_PLANNING:
            services.planning_meeting_record(
                **meeting, notes=data["notes"], expected_version=data["version"], **self.by_now()
            )
        else:
            services.ending_meeting_record(**meeting, notes=data["notes"], **self.by_now())


meeting_new = MeetingNew.as_view()


# --- Plan ------------------------------------------------------------------------------------------


class Plan(EpisodeAction):
    """The plan page: what to do if the plan is not working, with its outcomes and actions listed."""

    form_class = PlanForm
    permission = WORK
    draft_key = "plan"
    success_message = "The plan was saved."

    def before(self):
        self.current = selectors.plan_with_outcomes(self.episode)
        return None

    def initial(self) -> dict:
        current = self.current
        return {
            "if_not_working": current.if_not_working if current else "",
            "child_voice": current.child_voice if current else "",
            "version": current.version if current else 0,
        }

    def perform(self, data):
        services.plan_save(
            episode=self.episode,
            if_not_working=data["if_not_working"],
            child_voice=data["child_voice"],
            expected_version=_seen_version(data),
            **self.by_now(),
        )

    def current_version(self) -> int:
        latest = selectors.plan_with_outcomes(self.episode)
        return latest.version if latest else 0

    def success_url(self) -> str:
        return reverse("episodes:plan", args=[self.episode.pk])

    def page(self, form, *, status: int = 200):
        current, episode = self.current, self.episode
        return render(
            self.request,
            "episodes/plan.html",
            {
                "episode": episode,
                "family": episode.family,
                "plan": current,
                "outcomes": list(current.outcomes.all()) if current else [],
                "form": form,
                "draft": self.draft,
                "draft_url": reverse("episodes:draft_save", args=["plan", episode.pk]),
                "draft_discard_url": reverse("episodes:draft_discard", args=["plan", episode.pk]),
                "can_activate": episode.state == S.PLANNING,
                "gaps": services.plan_gaps(current.outcomes.all()) if current else [],
            },
            status=status,
        )


plan = Plan.as_view()


class PlanPartEdit(EpisodeAction):
    """A new or changed part of the plan (an outcome, an action), back to the plan page when saved.

    The form starts from the record's `fields`; after someone else saved first, the page shows what
    they saved of `compared` beside what this user typed.
    """

    permission = WORK
    model: type = PlanOutcome
    fields: tuple[str, ...] = ()
    compared: tuple[str, ...] = ()
    record = None

    def initial(self) -> dict:
        if self.record is None:
            return {}
        return {name: getattr(self.record, name) for name in (*self.fields, "version")}

    def current_version(self) -> int | None:
        return _current_version(self.model, self.record)

    def refused(self, exc):
        theirs = presenters.saved_by_someone_else(exc, self.model, self.record, self.compared)
        self.summary_rows = [*self.summary_rows, *theirs]
        return super().refused(exc)

    def success_url(self) -> str:
        return reverse("episodes:plan", args=[self.episode.pk])

    def outcome(self, outcome_pk: int | None) -> PlanOutcome | None:
        if outcome_pk is None:
            return None
        outcomes = case_selectors.plan_outcomes_of(self.episode).select_related("plan__episode")
        return _one_or_404(outcomes, pk=outcome_pk)


class OutcomeEdit(PlanPartEdit):
    form_class = OutcomeForm
    fields = ("area", "description", "how_measured", "by_when")
    compared = ("description", "how_measured", "by_when")
    button = "Save outcome"
    intro = "A SMART outcome says specifically what will be different, how progress will be measured and by when."
    success_message = "Outcome {result.number} was saved."

    def before(self):
        self.record = self.outcome(self.kwargs.get("outcome_pk"))
        self.title = f"Outcome {self.record.number}" if self.record else "Add an outcome"
        return None

    def perform(self, data):
        return services.plan_outcome_save(
            episode=self.episode,
            outcome=self.record,
            **self.from_form(*self.fields),
            expected_version=_seen_version(data),
            **self.by_now(),
        )


outcome_edit = OutcomeEdit.as_view()


class ActionEdit(PlanPartEdit):
    model = PlanAction
    form_class = ActionForm
    fields = ("what", "who", "by_when", "done_on", "note")
    compared = fields
    button = "Save action"

    def before(self):
        self.plan_outcome = self.outcome(self.kwargs["outcome_pk"])
        action_pk = self.kwargs.get("action_pk")
        actions = case_selectors.plan_actions_of(self.episode).filter(outcome=self.plan_outcome)
        self.record = _one_or_404(actions, pk=action_pk) if action_pk else None
        number = self.plan_outcome.number
        self.title = f"{'Change an' if self.record else 'Add an'} action for outcome {number}"
        self.summary_rows = [("Outcome", self.plan_outcome.description or "Not written yet")]
        self.success_message = f"The action for outcome {number} was saved."
        return None

    def form_kwargs(self) -> dict:
        return {"partners": case_selectors.partner_people_of(self.episode.family)}

    def initial(self) -> dict:
        initial = super().initial()
        if self.record is not None:
            initial["partner_assignee"] = self.record.partner_assignee_id
        return initial

    def perform(self, data):
        held = {"partner_assignee": data.get("partner_assignee")} if "partner_assignee" in self.form.fields else {}
        services.plan_action_save(
            outcome=self.plan_outcome,
            action=self.record,
            **self.from_form(*self.fields),
            **held,
            expected_version=_seen_version(data),
            **self.by_now(),
        )


action_edit = ActionEdit.as_view()


class PlanActivate(EpisodeAction):
    """A button: on the plan page while planning, else on the episode page; a refusal is said there."""

    permission = WORK
    post_only = True
    refusal = "message"
    success_message = "The plan is active. Give the family their copy of the assessment and plan."

    def perform(self, data):
        version = _int(self.request.POST.get("version"))
        services.plan_activate(episode=self.episode, expected_version=version, **self.by_now())

    def failure_url(self) -> str:
        target = "episodes:plan" if self.episode.state == S.PLANNING else "episodes:episode_detail"
        return reverse(target, args=[self.episode.pk])


plan_activate = PlanActivate.as_view()


# --- Reviews --------------------------------------------------------------------------------------


class ReviewNew(EpisodeAction):
    form_class = ReviewForm
    permission = WORK
    draft_key = "review"
    title = "Record a review"
    button = "Save review"
    success_message = "The review was recorded."

    def initial(self) -> dict:
        return _now_initial()

    def form_kwargs(self) -> dict:
        outcomes = list(case_selectors.plan_outcomes_of(self.episode).order_by("number"))
        return {"outcomes": outcomes, "now": self.now}

    def perform(self, data):
        services.review_record(
            episode=self.episode,
            held_at=data["when"],
            **self.from_form("attendees", "summary", "family_views", "child_voice", "next_review_on"),
            progress=self.form.progress(),
            **self.by_now(),
        )


review_new = ReviewNew.as_view()


# --- Closure ---------------------------------------------------------------------------------------


class ClosureRequestAction(EpisodeAction):
    form_class = ClosureRequestForm
    permission = WORK
    versioned = True
    draft_key = "closure"
    title = "Request closure"
    button = "Request closure"
    success_message = "Closure was requested. A manager will sign it off."

    def before(self):
        actions = case_selectors.plan_actions_of(self.episode).filter(done_on__isnull=True)
        self.summary_rows = [("Plan actions not marked done", str(actions.count()))]
        return None

    def perform(self, data):
        services.closure_request(
            episode=self.episode,
            checklist=self.form.checklist(),
            **self.from_form("summary", "family_views", "child_voice", "proposed_reason"),
            expected_version=data["version"],
            **self.by_now(),
        )


closure_request = ClosureRequestAction.as_view()


class ClosureDecide(EpisodeAction):
    """The manager signs the closure off or returns it: two forms on one page, the button says which."""

    permission = "cases.sign_off_closure"
    versioned = True

    def before(self):
        closures = case_selectors.episode_records(ClosureRequest, self.episode).select_related("requested_by")
        self.closure = _one_or_404(closures, pk=self.kwargs["closure_pk"])
        return None

    def build_form(self):
        post = self.request.POST
        self.returning = "return" in post and "sign_off" not in post
        initial = {
            "version": self.episode.version,
            "ended_on": timezone.localdate(),
            "reason": self.closure.proposed_reason,
            "letter_method": "letter",
        }
        self.sign_off_form = ClosureSignOffForm(post if "sign_off" in post else None, prefix="off", initial=initial)
        self.return_form = ClosureReturnForm(post if self.returning else None, prefix="ret")
        return (self.return_form if self.returning else self.sign_off_form), None

    def perform(self, data):
        if self.returning:
            services.closure_return(closure=self.closure, reason=data["return_reason"], **self.by_now())
            return
        services.closure_sign_off(
            closure=self.closure,
            **self.from_form("ended_on", "reason", "letter_recipient", "letter_method", "partners"),
            expected_version=data["version"],
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        if self.returning:
            return "The closure request was returned to the practitioner."
        return f"{self.episode.reference} is closed. The letter and notices are recorded."

    def page(self, form, *, status: int = 200):
        episode = self.episode
        return render(
            self.request,
            "episodes/closure_decide.html",
            {
                "episode": episode,
                "family": episode.family,
                "closure": self.closure,
                "checklist": presenters.closure_checklist(self.closure),
                "sign_off_form": self.sign_off_form,
                "return_form": self.return_form,
                "address": case_selectors.address_for_letter(episode.family),
            },
            status=status,
        )


closure_decide = ClosureDecide.as_view()


class Decline(EpisodeAction):
    form_class = DeclineForm
    permission = WORK
    versioned = True
    title = "The family declines Early Help"
    button = "Close the episode"
    success_message = "{episode.reference} is closed: the family declined Early Help."

    def perform(self, data):
        services.family_declines(
            episode=self.episode, reason=data["reason"], expected_version=data["version"], **self.by_now()
        )


decline = Decline.as_view()


# --- Step-up ----------------------------------------------------------------------------------------


class StepUpNew(EpisodeAction):
    form_class = StepUpProposeForm
    permission = (WORK, "cases.send_step_up")
    versioned = True
    draft_key = "step_up"
    title = "Propose a step-up to children's social care"
    button = "Propose step-up"
    intro = (
        "Propose a step-up when 6 weeks show limited change with continuing high risk, increasing risk or "
        "safeguarding concerns, or no engagement with the plan. For an immediate safeguarding concern, contact "
        "the duty and assessment team now, then record it here."
    )
    success_message = "The step-up was proposed. The Early Help manager has 48 hours to send it on."

    def perform(self, data):
        services.step_up_propose(
            episode=self.episode,
            **self.from_form("concern", "reason", "multi_agency_views", "family_views"),
            expected_version=data["version"],
            **self.by_now(),
        )


step_up_new = StepUpNew.as_view()


class StepUpStep(EpisodeAction):
    """A step on a proposed step-up (URL argument `step_up_pk`), with the proposal shown above the form."""

    def before(self):
        step_ups = case_selectors.episode_records(StepUp, self.episode).select_related("proposed_by", "sent_by")
        self.step_up = _one_or_404(step_ups, pk=self.kwargs["step_up_pk"])
        self.summary_rows = presenters.step_up_rows(self.step_up)
        return None


class StepUpSend(StepUpStep):
    form_class = StepUpSendForm
    permission = "cases.send_step_up"
    title = "Early Help manager's oversight of the step-up"
    button = "Send to the duty manager"
    success_message = "The step-up was sent to the duty manager, who has 48 hours to decide."

    def perform(self, data):
        services.step_up_send_to_duty_manager(
            step_up=self.step_up,
            **self.from_form("next_step", "parenting", "judgement"),
            **self.by_now(),
        )


step_up_send = StepUpSend.as_view()


class StepUpDecide(StepUpStep):
    form_class = StepUpDecideForm
    permission = "cases.decide_step_up"
    title = "Duty manager's decision on the step-up"
    button = "Record decision"

    def perform(self, data):
        return services.step_up_decide(
            step_up=self.step_up,
            wraparound=data["wraparound_bool"],
            **self.from_form("decision", "notes", "focused_plan_note"),
            **self.by_now(),
        )

    def get_success_message(self) -> str:
        self.episode.refresh_from_db()
        return (
            f"Step-up decision recorded: {self.result.get_decision_display()}. "
            f"{self.episode.reference} is now {self.episode.get_state_display().lower()}."
        )


step_up_decide = StepUpDecide.as_view()


# --- Step-down and escalation -----------------------------------------------------------------------


class StepDown(ActionView):
    """Social care steps a family down: a new episode on the team's pre-allocation list."""

    form_class = StepDownForm
    permission = "cases.receive_step_down"
    permission_first = True
    success_message = "{object} is on {result.team}'s pre-allocation list: allocate within 48 hours."

    def get_object(self) -> Family:
        family = visible_family_or_404(self.request.user, self.kwargs["family_pk"])
        if self.request.method == "GET":
            log_access(
                self.request, action=AccessLog.Action.VIEW, what=f"step-down for {family.reference}", family=family
            )
        return family

    def initial(self) -> dict:
        return {"team": self.request.user.team_id}

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def perform(self, data):
        return services.step_down_receive(
            family=self.object, **self.from_form("team", "social_care_assessment_date", "summary"), **self.by_now()
        )

    def page(self, form, *, status: int = 200):
        return render(self.request, "episodes/step_down.html", {"family": self.object, "form": form}, status=status)

    def success_url(self) -> str:
        return reverse("episodes:episode_detail", args=[self.result.pk])


step_down = StepDown.as_view()


class EscalationNew(EpisodeAction):
    form_class = EscalationForm
    permission = "cases.record_escalation"
    title = "Escalate a disagreement"
    button = "Record escalation"
    success_message = "The escalation was recorded."

    def perform(self, data):
        services.escalation_record(episode=self.episode, **self.by_now(), **data)


escalation_new = EscalationNew.as_view()


class EscalationOutcome(EpisodeAction):
    form_class = EscalationOutcomeForm
    permission = "cases.record_escalation"
    title = "Record the escalation's outcome"
    button = "Save outcome"
    success_message = "The escalation's outcome was recorded."

    def before(self):
        escalations = case_selectors.episode_records(Escalation, self.episode)
        self.escalation = _one_or_404(escalations, pk=self.kwargs["escalation_pk"])
        escalation = self.escalation
        self.summary_rows = [("Disagreement", escalation.disagreement), ("Escalated to", escalation.escalated_to)]
        return None

    def perform(self, data):
        services.escalation_resolve(escalation=self.escalation, outcome=data["outcome"], **self.by_now())


escalation_outcome = EscalationOutcome.as_view()


# --- Documents ----------------------------------------------------------------------------------------


class DocumentNew(EpisodeAction):
    form_class = DocumentForm
    permission = WORK
    title = "Upload a document"
    button = "Upload"
    multipart = True
    success_message = "{result.title} was uploaded."

    def perform(self, data):
        return services.document_upload(
            episode=self.episode, **self.from_form("file", "kind", "title"), **self.by_now()
        )


document_new = DocumentNew.as_view()


@login_required
def document_download(request, pk: int, document_pk: int):
    episode = _episode(request, pk, log=False)  # logged below as the download it is
    document = _one_or_404(case_selectors.episode_records(Document, episode), pk=document_pk)
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
    require_perm(request.user, WORK, episode)
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
            "needs": presenters.needs_for_family(assessment_),
            "plan": selectors.plan_with_outcomes(episode),
            "address": case_selectors.address_for_letter(episode.family),
        },
    )


class FamilyCopySent(EpisodeAction):
    """Record the copy as sent, after a page that shows the recipient and address for a check."""

    form_class = PlanCopyForm
    permission = WORK
    checking = False
    success_message = "The copy of the assessment and plan to {data[recipient]} is recorded."

    def initial(self) -> dict:
        return _now_initial()

    def form_kwargs(self) -> dict:
        return {"now": self.now}

    def pending(self, data):
        if data["checked"]:
            return None
        self.checking = True
        return self.page(self.form)

    def perform(self, data):
        services.plan_copy_sent(
            episode=self.episode,
            sent_at=data["when"],
            **self.from_form("recipient", "method"),
            **self.by_now(),
        )

    def page(self, form, *, status: int = 200):
        episode = self.episode
        return render(
            self.request,
            "episodes/family_copy_sent.html",
            {
                "episode": episode,
                "family": episode.family,
                "form": form,
                "checking": self.checking,
                "method_label": dict(Communication.Method.choices).get(form.data.get("method", ""), ""),
                "address": case_selectors.address_for_letter(episode.family),
                "show_confidential": case_selectors.can_see_confidential_address(self.request.user),
            },
            status=status,
        )


family_copy_sent = FamilyCopySent.as_view()


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
