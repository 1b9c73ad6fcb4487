"""What the pages show, and to whom: display rules kept out of the views.

Each function takes records and the user and returns plain values for a template (labels, rows,
buttons, flags). The rules of the work itself (which transitions an episode allows, who holds which
permission) stay in the models, `workflows.rules` and the services; these decide which of the allowed
things a page offers and how it words them.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases.models import (
    CaseNote,
    ClosureRequest,
    Communication,
    Contact,
    Episode,
    NeedLevel,
    PlannedVisit,
    StepUp,
    assessment_needed,
)
from deadlines.models import DUE_SOON, Status
from deadlines.services import procedure_has_step
from kit.dates import long_date, long_datetime
from kit.time import acting_at
from workflows.episode_forms import ASSESSMENT_LABELS
from workflows.errors import CaseChanged

S = Episode.State


# --- The episode page ------------------------------------------------------------------------------


def next_steps(episode: Episode, user, *, now) -> list[dict]:
    """The actions this user may take now: only transitions the episode allows, as buttons."""
    available = {t.name for t in episode.get_available_state_transitions()}
    with acting_at(now):  # the page's one reading of the clock judges a partner lead's consent
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
            episode.state == S.PLANNING or not procedure_has_step("planning_meeting", episode=episode)
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


def episode_page(episode: Episode, user, page: dict, *, now) -> dict:
    """The episode summary's buttons and panels for this user, given what `episode_summary` selected.

    `buttons`: what the user is here to do, in order: a sign-off or step-up decision waiting for them,
    then the next steps. Only the first that is not a side step is green (one primary button per page);
    the others are grey.
    """
    pending_closure = next((c for c in page["closure_requests"] if c.status == ClosureRequest.Status.PENDING), None)
    open_step_up = next((s for s in page["step_ups"] if not s.decided_at), None)
    with acting_at(now):  # the page's one reading of the clock judges a partner lead's consent
        can_work = user.has_perm("cases.work_on_episode", episode)
    waiting: list[dict] = []

    def ask(label: str, name: str, record) -> None:
        url = reverse(name, args=[episode.pk, record.pk])
        waiting.append({"label": label, "url": url, "post": False, "secondary": False})

    if pending_closure is not None and user.has_perm("cases.sign_off_closure", episode):
        ask("Sign off or return the closure", "episodes:closure_decide", pending_closure)
    if open_step_up and not open_step_up.sent_at and user.has_perm("cases.send_step_up", episode):
        ask("Review the step-up and send it to the duty manager", "episodes:step_up_send", open_step_up)
    if open_step_up and open_step_up.sent_at and user.has_perm("cases.decide_step_up", episode):
        ask("Decide the step-up", "episodes:step_up_decide", open_step_up)
    buttons = one_primary([*waiting, *next_steps(episode, user, now=now)])
    return {
        "buttons": buttons,
        "has_primary": any(b["primary"] for b in buttons),
        "can_work": can_work,
        "can_record_note": can_work and episode.is_open and episode.state != S.AWAITING_ALLOCATION,
        "can_escalate": user.has_perm("cases.record_escalation", episode),
    }


def one_primary(buttons: list[dict]) -> list[dict]:
    """The same buttons, with `primary` set on the first that is not secondary and on no other."""
    marked, found = [], False
    for button in buttons:
        primary = not found and not button.get("secondary")
        found = found or primary
        marked.append({**button, "primary": primary})
    return marked


# The episode's pages: a summary, then one page per kind of record (ADR 35). (url name, label)
EPISODE_TABS = (
    ("episodes:episode_detail", "Summary"),
    ("episodes:episode_notes", "Visits and notes"),
    ("episodes:episode_timescales", "Timescales"),
    ("episodes:episode_documents", "Documents"),
    ("episodes:episode_history", "History"),
)


def episode_tabs(episode: Episode, current: str) -> list[dict]:
    """The episode's sub-navigation, `current` (a url name) marked as the page shown."""
    return [
        {"label": label, "url": reverse(name, args=[episode.pk]), "current": name == current}
        for name, label in EPISODE_TABS
    ]


# --- Deadlines: one wording everywhere ---------------------------------------------------------------

# Deadline status -> GOV.UK tag colour, as `{% status_tag %}` colours it.
_STATUS_COLOURS = {
    Status.BREACHED: "red",
    Status.OVERDUE: "orange",
    Status.DUE_SOON: "yellow",
    Status.ON_TIME: "blue",
    Status.MET_LATE: "pink",
    Status.MET: "green",
    Status.WITHDRAWN: "grey",
}


def _span(delta: timedelta) -> str:
    """A length of time in the words the pages use: "3 days", "1 day", "5 hours", "less than an hour"."""
    seconds = max(int(delta.total_seconds()), 0)
    days, hours = seconds // 86400, seconds // 3600
    if days:
        return f"{days} day{'s' if days != 1 else ''}"
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return "less than an hour"


def deadline_words(status: str, *, expected_at=None, due_at=None, now) -> dict:
    """How late or how soon a clock is, in the one wording every queue and page uses, with its tag colour:

    "Breached" (past its maximum), "Overdue by 3 days" (past its expected time), "Due in 5 hours" (the
    next limit, expected time first), "Met", "Met late" or "Withdrawn" once finished.
    """
    colour = _STATUS_COLOURS.get(status, "grey")
    if status == Status.BREACHED:
        text = "Breached"
    elif status == Status.OVERDUE:
        passed = [limit for limit in (expected_at, due_at) if limit and limit < now]
        text = f"Overdue by {_span(now - min(passed))}" if passed else "Overdue"
    elif status in (Status.DUE_SOON, Status.ON_TIME):
        ahead = [limit for limit in (expected_at, due_at) if limit and limit >= now]
        text = f"Due in {_span(min(ahead) - now)}" if ahead else Status(status).label
    elif status in _STATUS_COLOURS:
        text = Status(status).label
    else:
        text = str(status).replace("_", " ").capitalize()
    return {"text": text, "colour": colour}


def status_at(*, due_at, now, flag_only: bool = False) -> str:
    """The status of an open clock known only by its maximum (a queue's "next due"), as
    `Deadline.objects.with_status` would give it: past the maximum is breached (overdue for an aim)."""
    if due_at < now:
        return Status.OVERDUE if flag_only else Status.BREACHED
    return Status.DUE_SOON if due_at <= now + DUE_SOON else Status.ON_TIME


# --- Case notes and visits ---------------------------------------------------------------------------


def note_kinds(user, episode: Episode) -> list[str]:
    """The kinds of case note this user may record on the episode now (none: the page is refused)."""
    K = CaseNote.Kind
    if episode.state == S.AWAITING_ALLOCATION:
        return [K.DUTY_CONTACT] if user.has_perm("cases.record_duty_contact", episode) else []
    if not user.has_perm("cases.work_on_episode", episode) or not episode.is_open:
        return []
    kinds = [K.HOME_VISIT, K.OFFICE_VISIT, K.PHONE_CALL, K.DIRECT_WORK]
    if user.has_role(roles.TEAM_LEADER, roles.MANAGER):
        kinds.append(K.CASE_DISCUSSION)
    return kinds


def note_page_title(kinds: list[str]) -> str:
    return "Record a duty contact" if kinds == [CaseNote.Kind.DUTY_CONTACT] else "Record a visit or contact"


def note_page_intro(episode: Episode) -> str:
    if episode.state == S.INITIAL_CONTACT:
        return "The first visit counts when a child is seen and spoken to, at home, in the office or in direct work."
    return ""


def note_recorded(note: CaseNote) -> str:
    """The confirmation after a case note, saying when it was a milestone of the episode."""
    message = f"{note.get_kind_display()} recorded."
    if note.is_first_visit:
        message += " This was the first visit: the child was seen and spoken to."
    elif note.is_initial_contact:
        message += " This was the initial contact with the family."
    return message


def planned_visit_rows(visit: PlannedVisit) -> list[tuple[str, str]]:
    when = timezone.localtime(visit.planned_at)
    return [
        ("Visit", visit.get_kind_display()),
        ("When", f"{long_datetime(when)}"),
        ("Who will visit", str(visit.visitor)),
        ("Who will be seen", visit.seeing or "Not given"),
    ]


# --- Assessment, plan and closure -------------------------------------------------------------------


def assessment_sections(assessment) -> list[tuple[str, str]]:
    return [(label, getattr(assessment, name)) for name, label in ASSESSMENT_LABELS.items()]


def needs_for_family(assessment) -> list:
    """The outcome areas shown in the family's copy: those with some need or more."""
    return [n for n in assessment.needs.all() if n.level >= NeedLevel.SOME_NEED] if assessment else []


def closure_checklist(closure: ClosureRequest) -> list[tuple[str, bool]]:
    return [(label, getattr(closure, name)) for name, label in ClosureRequest.CHECKLIST.items()]


def saved_by_someone_else(exc: Exception, model, record, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """After a concurrent save, what the other person saved, beside what this user typed (kept in the form)."""
    latest = model.objects.filter(pk=record.pk).first() if record is not None else None
    if not isinstance(exc, CaseChanged) or latest is None:
        return []
    rows = []
    for name in fields:
        value = getattr(latest, name)
        shown = f"{long_date(value)}" if isinstance(value, date) else (str(value) if value else "Not given")
        rows.append((f"Saved by someone else: {model._meta.get_field(name).verbose_name}", shown))
    return rows


# --- Step-up ------------------------------------------------------------------------------------------


def step_up_rows(step_up: StepUp) -> list[tuple[str, str]]:
    rows = [
        ("Proposed", f"{long_datetime(timezone.localtime(step_up.proposed_at))} by {step_up.proposed_by}"),
        ("Concern", step_up.get_concern_display()),
        ("Reason for concern", step_up.reason),
        ("Views of the agencies", step_up.multi_agency_views),
        ("The family's views", step_up.family_views),
    ]
    if step_up.sent_at:
        rows += [
            ("Sent to the duty manager", f"{long_datetime(timezone.localtime(step_up.sent_at))} by {step_up.sent_by}"),
            ("Next step", step_up.get_next_step_display()),
            ("Attributable to parenting", step_up.get_parenting_display()),
            ("Manager's judgement", step_up.manager_judgement),
        ]
    return rows


# --- The front door -----------------------------------------------------------------------------------


def contact_page(user, contact: Contact, communications: list, *, decision_form, referral_form) -> dict:
    """Which forms the contact page offers this user: a refused form stays on screen with what was typed."""
    # A3: sending the referral to the team is a step of its own, after the decision to allocate.
    awaiting_referral = contact.state == Contact.State.ALLOCATED_TO_TEAM and not any(
        c.kind == Communication.Kind.REFERRAL_TO_TEAM for c in communications
    )
    return {
        "can_send_referral": user.has_perm("cases.decide_contact")
        and (awaiting_referral or (referral_form is not None and referral_form.is_bound)),
        # A refused decision stays on screen with what was typed, even if the contact moved on.
        "can_decide": user.has_perm("cases.decide_contact")
        and (decision_form.is_bound or (contact.is_open and contact.state != Contact.State.AT_MEETING)),
        "can_record": user.has_perm("cases.record_contact"),
    }
