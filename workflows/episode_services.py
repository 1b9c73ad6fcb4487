"""The only place where episodes of Early Help change state, and where their records are written.

Each action is one atomic service: it checks the user may act, locks the episode, checks
nobody changed it since the user's form was drawn (the version the form carried), performs
the django-fsm transition (whose refusal says why), records who and when, and tells the
timescale engine what happened, with the time it happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed, can_proceed

from accounts import roles
from accounts.models import Team, User
from cases import board
from cases import selectors as case_selectors
from cases.models import (
    Assessment,
    AssessmentChild,
    AssessmentNeed,
    AssessmentRisk,
    CaseNote,
    ChildView,
    ClosureReason,
    ClosureRequest,
    Communication,
    Document,
    Draft,
    Episode,
    Escalation,
    Family,
    Membership,
    NeedLevel,
    OutcomeArea,
    Person,
    Plan,
    PlanAction,
    PlannedVisit,
    PlanOutcome,
    Review,
    ReviewProgress,
    RiskIndicator,
    StepUp,
    TeamMeeting,
    assessment_needed,
    why_not,
)
from deadlines import events
from deadlines.services import deadline_record_event, procedure_has_step
from kit.dates import long_date
from kit.forms import has_hidden_characters
from kit.history import update_with_history
from kit.permissions import require_perm
from kit.time import acting_at
from workflows.errors import CaseChanged, WorkflowError
from workflows.services import communication_record, emit_event, episode_open

S = Episode.State


# --- Shared steps ------------------------------------------------------------------------------


def lock_episode(episode: Episode, expected_version: int | None) -> Episode:
    locked = Episode.objects.select_for_update().select_related("team", "family").get(pk=episode.pk)
    if expected_version is not None and locked.version != expected_version:
        raise CaseChanged(
            f"{locked.reference} was changed by someone else while you were working on it "
            f"(it is now: {locked.get_state_display().lower()}). What you typed has been kept: check and submit again."
        )
    return locked


def _transition(episode: Episode, name: str) -> None:
    try:
        getattr(episode, name)()
    except TransitionNotAllowed:
        raise WorkflowError(why_not(episode, name)) from None


def _save(episode: Episode) -> None:
    episode.version += 1
    episode.save()


def _not_in_future(at: datetime, now: datetime, what: str) -> None:
    if at > now:
        raise WorkflowError(f"{what} cannot be in the future.")


def _emit_on(event: str, *, now: datetime, actor, episode: Episode, key: str = "", worker=None) -> None:
    """Tell the engine about an event on the episode, naming the record it is about (`key`).

    Per-record rules (B13, B18) keep one clock per record; `worker` is the practitioner the
    event also concerns (B20 starts when a practitioner first holds a case).
    """
    deadline_record_event(event=event, now=now, actor=actor, episode=episode, key=key, worker=worker)


def _text(value: str | None) -> str:
    return (value or "").strip()


def caseload_of(practitioner: User) -> int:
    """Open episodes the practitioner leads: their caseload (rulebook B 12)."""
    return Episode.objects.filter(lead_professional=practitioner).exclude(state=S.CLOSED).count()


def over_capacity(*, caseload: int, capacity: int) -> bool:
    """Would one more family take the practitioner above their agreed capacity?"""
    return caseload + 1 > capacity


def check_practitioner(practitioner: User, team, *, then: str = "choose a practitioner of the team") -> None:
    """Refuse unless `practitioner` is an active practitioner of `team` (who may hold its cases)."""
    if not practitioner.is_active or practitioner.is_partner or not practitioner.has_role(roles.PRACTITIONER):
        raise WorkflowError(f"{practitioner} is not an active practitioner: choose someone who can hold cases.")
    if practitioner.team_id != team.pk:
        raise WorkflowError(f"{practitioner} is not in {team}: {then}.")


def set_lead_professional(episode: Episode, practitioner: User) -> None:
    """A council practitioner now leads the episode: it is no longer led by a partner agency (ADR 52).

    Every path that gives an episode to a practitioner of a team (allocation, reallocation, the
    wraparound worker, a transfer, the bulk reallocation) goes through here, so none keeps the mark.
    """
    episode.lead_professional = practitioner
    episode.partner_organisation = None


def check_capacity(practitioner: User, reason: str | None) -> None:
    """Refuse one more family above the practitioner's capacity unless a reason is given."""
    caseload = caseload_of(practitioner)
    if over_capacity(caseload=caseload, capacity=practitioner.caseload_capacity) and not _text(reason):
        raise WorkflowError(
            f"{practitioner} already has {caseload} famil{'y' if caseload == 1 else 'ies'} against a capacity of "
            f"{practitioner.caseload_capacity}: give the reason for allocating above capacity."
        )


# --- Allocation and the pre-allocation list ----------------------------------------------------


@transaction.atomic
def episode_allocate(
    *,
    episode: Episode,
    practitioner: User,
    by,
    now: datetime,
    expected_version: int | None = None,
    reason: str = "",
) -> Episode:
    """A team leader allocates a lead professional, checking the caseload against capacity."""
    require_perm(
        by,
        "cases.allocate_episode",
        episode,
        message="Only a team leader of this team (or a manager) can allocate.",
        error=WorkflowError,
    )
    episode = lock_episode(episode, expected_version)
    check_practitioner(practitioner, episode.team, then="allocate to a practitioner of the team")
    check_capacity(practitioner, reason)
    reallocating = episode.state != S.AWAITING_ALLOCATION
    if reallocating:
        # Reallocation keeps the episode where it is; its open clocks move to the new lead.
        if not episode.is_open or episode.lead_professional_id is None:
            raise WorkflowError(
                f"{episode.reference} is {episode.get_state_display().lower()}: it cannot be reallocated."
            )
        if practitioner.pk == episode.lead_professional_id:
            raise WorkflowError(f"{practitioner} is already the lead professional for {episode.reference}.")
    else:
        _transition(episode, "allocate")
    set_lead_professional(episode, practitioner)
    episode.allocated_at = episode.allocated_at if reallocating else now
    episode.allocated_by = by
    episode.allocation_reason = _text(reason)
    _save(episode)
    _emit_on(
        events.REALLOCATED if reallocating else events.ALLOCATED,
        now=now,
        actor=by,
        episode=episode,
        worker=practitioner,
    )
    return episode


# --- Visits and case notes ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChildPart:
    """One child's part in a visit: seen, spoken to, and their views in their own words."""

    child: Person
    seen: bool = False
    spoken_to: bool = False
    views: str = ""


@transaction.atomic
def episode_record_visit(
    *,
    episode: Episode,
    kind: str,
    happened_at: datetime,
    details: str,
    by,
    now: datetime,
    purpose: str = "",
    present: str = "",
    actions: str = "",
    analysis: str = "",
    children: Iterable[ChildPart] = (),
    planned_visit: PlannedVisit | None = None,
) -> CaseNote:
    """Record a visit, contact, duty contact or case discussion.

    `planned_visit` is the planned visit this note records, if any: its recording clock (B18)
    is stopped by this note.

    The first contact with the family after allocation is the initial contact; the first
    in-person visit after it at which a child is seen and spoken to is the first visit. Both
    are read from what happened, so the practitioner only ever records visits.
    """
    if kind not in CaseNote.Kind.values:
        raise WorkflowError("Choose what kind of visit or contact this was.")
    if not _text(details):
        raise WorkflowError("Write what happened.")
    _not_in_future(happened_at, now, "The time it happened")
    episode = lock_episode(episode, None)
    if not episode.is_open:
        raise WorkflowError(f"{episode.reference} is closed: nothing more can be recorded on it.")
    if kind == CaseNote.Kind.DUTY_CONTACT:
        require_perm(
            by,
            "cases.record_duty_contact",
            episode,
            message="Only a duty worker or team leader of this team can do that.",
            error=WorkflowError,
        )
        _transition(episode, "record_duty_contact")
    else:
        require_perm(
            by,
            "cases.work_on_episode",
            episode,
            message="Only the lead professional or their team leader can record this.",
            error=WorkflowError,
            now=now,
        )
        if episode.state == S.AWAITING_ALLOCATION:
            raise WorkflowError(
                f"{episode.reference} is waiting for allocation: record a duty contact, or allocate it first."
            )
    if planned_visit is not None:
        planned_visit = PlannedVisit.objects.select_for_update().filter(pk=planned_visit.pk, episode=episode).first()
        if planned_visit is None:
            raise WorkflowError("The planned visit chosen is not one of this episode's.")
        if not planned_visit.is_pending:
            raise WorkflowError("That planned visit was already recorded or cancelled: choose another, or none.")
        if kind in (CaseNote.Kind.DUTY_CONTACT, CaseNote.Kind.CASE_DISCUSSION):
            raise WorkflowError("A planned visit is recorded as a visit or contact with the family.")
    parts = list(children)
    member_ids = set(Membership.objects.filter(family_id=episode.family_id).values_list("person_id", flat=True))
    if any(p.child.pk not in member_ids for p in parts):
        raise WorkflowError("A child chosen is not a member of this family.")
    child_seen = any(p.seen and p.spoken_to for p in parts)
    note = CaseNote.objects.create(
        episode=episode,
        family_id=episode.family_id,
        kind=kind,
        happened_at=happened_at,
        recorded_at=now,
        recorded_by=by,
        purpose=_text(purpose),
        present=_text(present),
        details=_text(details),
        actions=_text(actions),
        analysis=_text(analysis),
        child_seen_and_spoken_to=child_seen,
    )
    ChildView.objects.bulk_create(
        [ChildView(note=note, child=p.child, seen=p.seen, spoken_to=p.spoken_to, views=_text(p.views)) for p in parts]
    )
    changed = False
    if kind in CaseNote.FAMILY_CONTACT_KINDS and episode.state == S.ALLOCATED:
        episode.record_initial_contact()
        note.is_initial_contact = changed = True
        emit_event(events.INITIAL_CONTACT_MADE, now=happened_at, actor=by, episode=episode)
    if kind in CaseNote.IN_PERSON_KINDS and child_seen and episode.state == S.INITIAL_CONTACT:
        episode.record_first_visit()
        note.is_first_visit = changed = True
        emit_event(events.FIRST_VISIT_MADE, now=happened_at, actor=by, episode=episode)
    if changed:
        note.save(update_fields=["is_initial_contact", "is_first_visit"])
        _save(episode)
    if kind == CaseNote.Kind.CASE_DISCUSSION:
        emit_event(events.CASE_DISCUSSION_HELD, now=happened_at, actor=by, episode=episode)
        return note
    # B18 runs from the visit to its recording, one clock per visit: a planned visit's clock
    # started at its planned time; a visit that was not planned (or happened before its planned
    # time, whose planned clock is withdrawn) starts its clock at the time it happened.
    key = f"note:{note.pk}"
    if planned_visit is not None:
        planned_visit.note = note
        planned_visit.save(update_fields=["note"])
        if happened_at >= planned_visit.planned_at:
            key = planned_visit.clock_key
        else:
            _emit_on(events.PLANNED_VISIT_CANCELLED, now=now, actor=by, episode=episode, key=planned_visit.clock_key)
    _emit_on(events.VISIT_RECORDED, now=happened_at, actor=by, episode=episode, key=key)
    if kind in CaseNote.IN_PERSON_KINDS:
        # A9 (the coach's visits) and A5 (the introductory visit) need the family seen in person.
        emit_event(events.FAMILY_VISITED, now=happened_at, actor=by, episode=episode)
    if kind == CaseNote.Kind.DUTY_CONTACT:
        emit_event(events.DUTY_CONTACT_RECORDED, now=happened_at, actor=by, episode=episode)
    _emit_on(events.CASE_RECORDED, now=now, actor=by, episode=episode, key=key)
    return note


# --- Planned visits ------------------------------------------------------------------------------


@transaction.atomic
def planned_visit_schedule(
    *,
    episode: Episode,
    planned_at: datetime,
    kind: str,
    visitor: User,
    seeing: str,
    by,
    now: datetime,
) -> PlannedVisit:
    """Plan a visit to the family: its case recording falls due from the planned time (B18)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    if not episode.is_open or episode.state == S.AWAITING_ALLOCATION:
        raise WorkflowError(
            f"{episode.reference} is {episode.get_state_display().lower()}: visits are planned once it is allocated."
        )
    if kind not in dict(PlannedVisit.KIND_CHOICES):
        raise WorkflowError("Choose what kind of visit it is.")
    if timezone.localdate(planned_at) < timezone.localdate(now):
        raise WorkflowError("A planned visit cannot be on a day that has passed: record the visit instead.")
    if not visitor.is_active or visitor.team_id != episode.team_id or not visitor.has_role(roles.PRACTITIONER):
        raise WorkflowError(f"{visitor} is not an active practitioner of {episode.team}: choose who will visit.")
    visit = PlannedVisit.objects.create(
        episode=episode,
        family_id=episode.family_id,
        planned_at=planned_at,
        kind=kind,
        visitor=visitor,
        seeing=_text(seeing),
        created_at=now,
        created_by=by,
    )
    # The clock starts at the planned time: until then it shows as coming, then as due.
    _emit_on(events.VISIT_PLANNED, now=planned_at, actor=by, episode=episode, key=visit.clock_key)
    return visit


@transaction.atomic
def planned_visit_cancel(*, visit: PlannedVisit, reason: str, by, now: datetime) -> PlannedVisit:
    """Cancel a planned visit that has not been recorded; its recording clock is withdrawn."""
    episode = visit.episode
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    visit = PlannedVisit.objects.select_for_update().get(pk=visit.pk)
    if not visit.is_pending:
        raise WorkflowError("That visit was already recorded or cancelled.")
    if not _text(reason):
        raise WorkflowError("Say why the visit is cancelled.")
    visit.cancelled_at = now
    visit.cancelled_by = by
    visit.cancel_reason = _text(reason)
    visit.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
    _emit_on(events.PLANNED_VISIT_CANCELLED, now=now, actor=by, episode=episode, key=visit.clock_key)
    return visit


def episode_record_initial_contact(*, episode: Episode, **fields) -> CaseNote:
    """The first contact after allocation; refused (saying why) at any other point."""
    if episode.state != S.ALLOCATED:
        raise WorkflowError(why_not(episode, "record_initial_contact"))
    return episode_record_visit(episode=episode, **fields)


def duty_contact_record(*, episode: Episode, **fields) -> CaseNote:
    """A duty worker's weekly contact with a family on the pre-allocation list (rulebook B 3.3)."""
    return episode_record_visit(episode=episode, kind=CaseNote.Kind.DUTY_CONTACT, **fields)


# --- Assessment ---------------------------------------------------------------------------------


ASSESSMENT_TEXT_FIELDS = (
    "family_history",
    "previous_interventions",
    "agency_views",
    "family_views",
    "child_voice",
    "recommendation",
)
ASSESSMENT_REQUIRED = {
    "family_history": "the family's history",
    "family_views": "what the family thinks",
    "child_voice": "the child's voice",
    "recommendation": "the recommendation",
}


def assessment_gaps(
    *, sections: dict[str, str], children: dict[Person, tuple[str, str]], needs: dict[str, tuple[int, str]]
) -> list[str]:
    """What a complete assessment still lacks, in staff's words (empty when complete)."""
    gaps = [label for name, label in ASSESSMENT_REQUIRED.items() if not _text(sections.get(name))]
    for child, (developmental_needs, _voice) in children.items():
        if not _text(developmental_needs):
            gaps.append(f"{child.first_name}'s developmental needs")
    unassessed = [label for area, label in OutcomeArea.choices if needs.get(area, (0, ""))[0] == NeedLevel.NOT_ASSESSED]
    if unassessed:
        gaps.append("a need level for " + ", ".join(unassessed))
    return gaps


@transaction.atomic
def assessment_save(
    *,
    episode: Episode,
    by,
    now: datetime,
    sections: dict[str, str],
    children: dict[Person, tuple[str, str]],
    needs: dict[str, tuple[int, str]],
    risks: dict[str, tuple[int, str]],
    expected_version: int | None = None,
    complete: bool = False,
) -> Assessment:
    """Save the assessment as it stands (starting it after the first visit), and complete it if asked.

    `expected_version` is the assessment's version the form was drawn from (0 for a new one).
    """
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can assess.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    assessment = Assessment.objects.select_for_update().filter(episode=episode).first()
    if assessment is None:
        if expected_version not in (None, 0):
            raise CaseChanged()
        _transition(episode, "start_assessment")
        assessment = Assessment(episode=episode, started_at=now, started_by=by)
        _save(episode)
    else:
        if expected_version is not None and assessment.version != expected_version:
            raise CaseChanged(
                "Someone else saved this assessment while you were working on it. "
                "What you typed has been kept: check it against theirs and save again."
            )
        _transition(episode, "update_assessment")
        assessment.version += 1
    for name in ASSESSMENT_TEXT_FIELDS:
        setattr(assessment, name, _text(sections.get(name)))
    member_ids = set(Membership.objects.filter(family_id=episode.family_id).values_list("person_id", flat=True))
    if any(child.pk not in member_ids for child in children):
        raise WorkflowError("A child chosen is not a member of this family.")
    if complete:
        gaps = assessment_gaps(sections=sections, children=children, needs=needs)
        if gaps:
            raise WorkflowError("The assessment cannot be completed yet. Add " + "; ".join(gaps) + ".")
        _transition(episode, "complete_assessment")
        assessment.completed_at = now
        assessment.completed_by = by
    assessment.save()
    for child, (developmental_needs, voice) in children.items():
        AssessmentChild.objects.update_or_create(
            assessment=assessment,
            child=child,
            defaults={"developmental_needs": _text(developmental_needs), "child_voice": _text(voice)},
        )
    for area in OutcomeArea.values:
        level, note = needs.get(area, (NeedLevel.NOT_ASSESSED, ""))
        AssessmentNeed.objects.update_or_create(
            assessment=assessment, area=area, defaults={"level": level, "note": _text(note)}
        )
    for indicator in RiskIndicator.Indicator.values:
        level, note = risks.get(indicator, (RiskIndicator.Level.NONE, ""))
        AssessmentRisk.objects.update_or_create(
            assessment=assessment, indicator=indicator, defaults={"level": level, "note": _text(note)}
        )
    board.refresh(episode_ids=[episode.pk])  # the assessment's risks count towards the episode's (ADR 56)
    if complete:
        _save(episode)
        _emit_on(events.ASSESSMENT_COMPLETED, now=now, actor=by, episode=episode, key=f"assessment:{assessment.pk}")
    return assessment


def assessment_complete(**kwargs) -> Assessment:
    return assessment_save(complete=True, **kwargs)


@transaction.atomic
def assessment_not_needed(*, episode: Episode, by, now: datetime, expected_version: int | None = None) -> Episode:
    """Rulebook B 4.5: a step-down with a social care assessment under 3 months old goes to planning.

    The social care assessment stands in for the Early Help assessment, so the clocks that wait
    for an assessment (B10, A6) are told it is done.
    """
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, expected_version)
    if episode.social_care_assessment_date and assessment_needed(
        origin=episode.origin,
        social_care_assessment_date=episode.social_care_assessment_date,
        today=timezone.localdate(now),
    ):
        raise WorkflowError(
            f"The social care assessment of {long_date(episode.social_care_assessment_date)} is 3 months old or more: "
            "an Early Help assessment is needed."
        )
    _transition(episode, "skip_assessment")
    _save(episode)
    _emit_on(events.ASSESSMENT_COMPLETED, now=now, actor=by, episode=episode, key=f"assessment-not-needed:{episode.pk}")
    return episode


# --- Meetings of the team around the family ------------------------------------------------------


def _meeting(*, episode: Episode, kind: str, held_at: datetime, attendees: str, notes: str, by, now) -> TeamMeeting:
    _not_in_future(held_at, now, "The meeting's date and time")
    if not _text(attendees):
        raise WorkflowError("List who attended the meeting.")
    return TeamMeeting.objects.create(
        episode=episode,
        kind=kind,
        held_at=held_at,
        attendees=_text(attendees),
        notes=_text(notes),
        recorded_at=now,
        recorded_by=by,
    )


@transaction.atomic
def planning_meeting_record(
    *,
    episode: Episode,
    held_at: datetime,
    attendees: str,
    notes: str,
    by,
    now: datetime,
    expected_version: int | None = None,
) -> TeamMeeting:
    """The initial planning meeting of the team around the family (A7, A8 and A9 run from it)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, expected_version)
    _transition(episode, "hold_planning_meeting")
    meeting = _meeting(
        episode=episode,
        kind=TeamMeeting.Kind.INITIAL_PLANNING,
        held_at=held_at,
        attendees=attendees,
        notes=notes,
        by=by,
        now=now,
    )
    _save(episode)
    emit_event(events.PLANNING_MEETING_HELD, now=held_at, actor=by, episode=episode)
    return meeting


@transaction.atomic
def ending_meeting_record(
    *, episode: Episode, held_at: datetime, attendees: str, notes: str, by, now: datetime
) -> TeamMeeting:
    """The ending meeting before closure (rulebook A)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    _transition(episode, "hold_ending_meeting")
    return _meeting(
        episode=episode, kind=TeamMeeting.Kind.ENDING, held_at=held_at, attendees=attendees, notes=notes, by=by, now=now
    )


# --- Plan ------------------------------------------------------------------------------------


def plan_gaps(outcomes: Iterable[PlanOutcome]) -> list[str]:
    """Each outcome that is not SMART yet, naming it and what it lacks (empty when all are)."""
    problems = []
    outcomes = list(outcomes)
    if not outcomes:
        return ["The plan has no outcomes yet: add at least one."]
    for outcome in outcomes:
        missing = []
        if not _text(outcome.description):
            missing.append("what will be different")
        if not _text(outcome.how_measured):
            missing.append("how progress will be measured")
        if outcome.by_when is None:
            missing.append("by when")
        actions = list(outcome.actions.all())
        if not actions:
            missing.append("at least one action")
        for i, action in enumerate(actions, start=1):
            lacks = [
                label
                for label, present in (
                    ("what", _text(action.what)),
                    ("who is responsible", _text(action.who)),
                    ("by when", action.by_when),
                )
                if not present
            ]
            if lacks:
                missing.append(f"action {i}'s " + " and ".join(lacks))
        if missing:
            name = f"Outcome {outcome.number}"
            if _text(outcome.description):
                name += f" ({_text(outcome.description)[:60]})"
            problems.append(f"{name} is missing: " + ", ".join(missing) + ".")
    return problems


def _plan_for_edit(episode: Episode, by, now: datetime) -> tuple[Plan, bool]:
    """The episode's plan, locked, and whether it was created just now (it had none)."""
    _transition(episode, "edit_plan")
    plan = Plan.objects.select_for_update().filter(episode=episode).first()
    if plan is None:
        plan = Plan.objects.create(episode=episode, created_at=now, created_by=by)
        # The support plan is commenced: with the assessment, this stops B10.
        _emit_on(events.PLAN_STARTED, now=now, actor=by, episode=episode, key=f"plan:{plan.pk}")
        return plan, True
    return plan, False


def _check_version(record, expected_version: int | None, message: str, *, created: bool = False) -> None:
    """ADR 4: refuse a save drawn from an older version of the record (0: the form saw no record yet)."""
    if expected_version is None:
        return
    current = 0 if created else record.version
    if current != expected_version:
        raise CaseChanged(message)


PLAN_CHANGED = (
    "Someone else changed this plan while you were working on it. What you typed has been kept: "
    "check it against theirs and save again."
)
OUTCOME_CHANGED = (
    "Someone else saved this outcome while you were working on it. What you typed has been kept below; "
    "their version is on the plan page: check it against theirs and save again."
)
ACTION_CHANGED = (
    "Someone else saved this action while you were working on it. What you typed has been kept below; "
    "their version is on the plan page: check it against theirs and save again."
)


@transaction.atomic
def plan_save(
    *,
    episode: Episode,
    if_not_working: str,
    by,
    now: datetime,
    expected_version: int | None = None,
    child_voice: str | None = None,
) -> Plan:
    """The plan's own text: what happens if the plan is not working, and the child's voice (None: unchanged).

    `expected_version` is the plan's version the form was drawn from (0 when there was no plan yet).
    """
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    plan, created = _plan_for_edit(episode, by, now)
    _check_version(plan, expected_version, PLAN_CHANGED, created=created)
    plan.if_not_working = _text(if_not_working)
    if child_voice is not None:
        plan.child_voice = _text(child_voice)
    plan.version += 1
    plan.save()
    return plan


@transaction.atomic
def plan_outcome_save(
    *,
    episode: Episode,
    by,
    now: datetime,
    description: str,
    how_measured: str,
    by_when: date | None,
    area: str = "",
    outcome: PlanOutcome | None = None,
    expected_version: int | None = None,
) -> PlanOutcome:
    """Add an outcome to the plan, or change one.

    A change carries `expected_version`, the outcome's version its form was drawn from.
    """
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    plan, _created = _plan_for_edit(episode, by, now)
    if outcome is None:
        last = plan.outcomes.order_by("-number").values_list("number", flat=True).first() or 0
        outcome = PlanOutcome(plan=plan, number=last + 1)
    else:
        outcome = PlanOutcome.objects.select_for_update().filter(pk=outcome.pk).first()
        if outcome is None:
            raise CaseChanged("Someone else removed this outcome while you were working on it.")
        if outcome.plan_id != plan.pk:
            raise WorkflowError("That outcome belongs to another plan.")
        _check_version(outcome, expected_version, OUTCOME_CHANGED)
        outcome.version += 1
    if area and area not in OutcomeArea.values:
        raise WorkflowError("Choose an outcome area from the list.")
    outcome.area = area
    outcome.description = _text(description)
    outcome.how_measured = _text(how_measured)
    outcome.by_when = by_when
    outcome.save()
    return outcome


KEEP = object()  # an argument left out: the value stays as it is


@transaction.atomic
def plan_action_save(
    *,
    outcome: PlanOutcome,
    by,
    now: datetime,
    what: str,
    who: str,
    by_when: date | None,
    done_on: date | None = None,
    note: str = "",
    action: PlanAction | None = None,
    expected_version: int | None = None,
    partner_assignee=KEEP,
) -> PlanAction:
    """Add an action to an outcome, or change one (including marking it done). `partner_assignee`: a
    named partner in the team around the family who holds it (None: nobody; left out: unchanged).

    A change carries `expected_version`, the action's version its form was drawn from.
    """
    episode = outcome.plan.episode
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    _plan_for_edit(episode, by, now)
    if action is None:
        action = PlanAction(outcome=outcome)
    else:
        action = PlanAction.objects.select_for_update().filter(pk=action.pk).first()
        if action is None:
            raise CaseChanged("Someone else removed this action while you were working on it.")
        if action.outcome_id != outcome.pk:
            raise WorkflowError("That action belongs to another outcome.")
        _check_version(action, expected_version, ACTION_CHANGED)
        action.version += 1
    if done_on and done_on > timezone.localdate(now):
        raise WorkflowError("The date it was done cannot be in the future.")
    action.what = _text(what)
    action.who = _text(who)
    action.by_when = by_when
    action.done_on = done_on
    action.note = _text(note)
    if partner_assignee is not KEEP:
        if (
            partner_assignee is not None
            and not case_selectors.partner_people_of(episode.family).filter(pk=partner_assignee.pk).exists()
        ):
            raise WorkflowError("Choose someone named for a partner agency in the team around the family.")
        action.partner_assignee = partner_assignee
    action.save()
    return action


@transaction.atomic
def plan_activate(*, episode: Episode, by, now: datetime, expected_version: int | None = None) -> Plan:
    """Make the plan active, once every outcome is SMART; the plan is then complete (B11)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, expected_version)
    plan = Plan.objects.select_for_update().filter(episode=episode).first()
    if not can_proceed(episode.activate_plan):  # say why before listing the plan's gaps
        raise WorkflowError(why_not(episode, "activate_plan"))
    if episode.state != S.PLANNING and procedure_has_step("planning_meeting", episode=episode):
        # The rulebook, not the code, says whether this procedure has a planning meeting.
        raise WorkflowError(
            f"{episode.reference}'s plan becomes active at the initial planning meeting, which this service's "
            "procedure requires: record the initial planning meeting first."
        )
    if plan is None:
        raise WorkflowError("Write the plan first: its outcomes and actions.")
    problems = plan_gaps(plan.outcomes.prefetch_related("actions"))
    if not _text(plan.if_not_working):
        problems.append("Say what happens if the plan is not working.")
    if not _text(plan.child_voice):
        problems.append("Record the child's voice in the plan (what the children said they want to change).")
    if problems:
        raise WorkflowError("The plan cannot be made active yet. " + " ".join(problems))
    _transition(episode, "activate_plan")
    plan.activated_at = now
    plan.activated_by = by
    plan.version += 1
    plan.save()
    _save(episode)
    _emit_on(events.PLAN_COMPLETED, now=now, actor=by, episode=episode, key=f"plan:{plan.pk}")
    return plan


def plan_copy_sent(
    *, episode: Episode, recipient: str, method: str, sent_at: datetime, by, now: datetime
) -> Communication:
    """The family were given a copy of the assessment and plan (A8)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    if not _text(recipient):
        raise WorkflowError("Say who the copy went to.")
    return communication_record(
        family=episode.family,
        episode=episode,
        kind=Communication.Kind.PLAN_COPY,
        recipient=_text(recipient),
        method=method,
        sent_at=sent_at,
        summary="Plain-language copy of the Early Help assessment and plan.",
        by=by,
        now=now,
    )


# --- Reviews ---------------------------------------------------------------------------------


@transaction.atomic
def review_record(
    *,
    episode: Episode,
    held_at: datetime,
    attendees: str,
    summary: str,
    child_voice: str,
    next_review_on: date,
    progress: dict[int, tuple[int, str]],
    by,
    now: datetime,
    family_views: str = "",
) -> Review:
    """A review: progress against each outcome of the plan, and the date of the next review."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, None)
    _transition(episode, "hold_review")
    outcomes = list(PlanOutcome.objects.filter(plan__episode=episode).order_by("number"))
    unrated = [o for o in outcomes if o.pk not in progress]
    if unrated:
        raise WorkflowError(
            "Say what progress has been made on " + ", ".join(f"outcome {o.number}" for o in unrated) + "."
        )
    if not _text(summary):
        raise WorkflowError("Say what has changed since the last review.")
    if not _text(child_voice):
        raise WorkflowError("Record the child's voice: what the children said about how things are.")
    if next_review_on <= timezone.localdate(held_at):
        raise WorkflowError("The next review must be after this one.")
    meeting = _meeting(
        episode=episode, kind=TeamMeeting.Kind.REVIEW, held_at=held_at, attendees=attendees, notes="", by=by, now=now
    )
    review = Review.objects.create(
        episode=episode,
        meeting=meeting,
        summary=_text(summary),
        family_views=_text(family_views),
        child_voice=_text(child_voice),
        next_review_on=next_review_on,
        recorded_at=now,
        recorded_by=by,
    )
    ReviewProgress.objects.bulk_create(
        [
            ReviewProgress(review=review, outcome=o, rating=progress[o.pk][0], comment=_text(progress[o.pk][1]))
            for o in outcomes
        ]
    )
    _emit_on(events.REVIEW_HELD, now=held_at, actor=by, episode=episode, key=f"review:{review.pk}")
    return review


# --- Closure -----------------------------------------------------------------------------------


@transaction.atomic
def closure_request(
    *,
    episode: Episode,
    checklist: dict[str, bool],
    summary: str,
    child_voice: str,
    proposed_reason: str,
    by,
    now: datetime,
    expected_version: int | None = None,
    family_views: str = "",
) -> ClosureRequest:
    """The practitioner asks a manager to close the episode, with the readiness checklist."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    episode = lock_episode(episode, expected_version)
    if not can_proceed(episode.request_closure):  # say why before listing the checklist
        raise WorkflowError(why_not(episode, "request_closure"))
    missing = [label for name, label in ClosureRequest.CHECKLIST.items() if not checklist.get(name)]
    if not _text(summary):
        missing.append("A closure summary is written")
    if not _text(child_voice):
        missing.append("The child's voice at closure is recorded")
    if proposed_reason not in ClosureReason.values:
        missing.append("A reason for closing is chosen")
    if missing:
        raise WorkflowError("The case is not ready to close. Not yet done: " + "; ".join(missing) + ".")
    _transition(episode, "request_closure")
    request = ClosureRequest.objects.create(
        episode=episode,
        requested_at=now,
        requested_by=by,
        summary=_text(summary),
        child_voice=_text(child_voice),
        family_views=_text(family_views),
        proposed_reason=proposed_reason,
        **dict.fromkeys(ClosureRequest.CHECKLIST, True),
    )
    _save(episode)
    _emit_on(events.CLOSURE_REQUESTED, now=now, actor=by, episode=episode, key=f"closure:{request.pk}")
    return request


def _close(episode: Episode, *, now: datetime, reason: str, ended_on: date) -> None:
    episode.closed_at = now
    episode.closure_reason = reason
    episode.ended_on = ended_on


@transaction.atomic
def closure_sign_off(
    *,
    closure: ClosureRequest,
    ended_on: date,
    reason: str,
    letter_recipient: str,
    letter_method: str,
    partners: str,
    by,
    now: datetime,
    expected_version: int | None = None,
) -> Episode:
    """A manager signs the closure off: end date and reason, closure letter and notice to partners."""
    episode = closure.episode
    require_perm(
        by,
        "cases.sign_off_closure",
        episode,
        message="Only a manager of this service can sign off a closure.",
        error=WorkflowError,
    )
    episode = lock_episode(episode, expected_version)
    closure = ClosureRequest.objects.select_for_update().get(pk=closure.pk)
    if closure.status != ClosureRequest.Status.PENDING:
        raise WorkflowError(f"This closure request has already been {closure.get_status_display().lower()}.")
    if reason not in ClosureReason.values:
        raise WorkflowError("Choose the reason the episode ends.")
    if ended_on > timezone.localdate(now):
        raise WorkflowError("The end date cannot be in the future.")
    if ended_on < timezone.localdate(episode.opened_at):
        raise WorkflowError("The end date cannot be before the episode opened.")
    if not _text(letter_recipient):
        raise WorkflowError("Say who the closure letter goes to.")
    if not _text(partners):
        raise WorkflowError("Say which partners were told the case is closing (or 'none involved').")
    _transition(episode, "sign_off_closure")
    _close(episode, now=now, reason=reason, ended_on=ended_on)
    _save(episode)
    closure.status = ClosureRequest.Status.SIGNED_OFF
    closure.decided_at = now
    closure.decided_by = by
    closure.save()
    for kind, recipient, method, summary in (
        (Communication.Kind.CLOSURE_LETTER, letter_recipient, letter_method, "Closure letter to the family."),
        (Communication.Kind.PARTNER_NOTICE, partners, Communication.Method.EMAIL, "Partners told the case is closed."),
    ):
        communication_record(
            family=episode.family,
            episode=episode,
            kind=kind,
            recipient=_text(recipient)[:200],
            method=method,
            sent_at=now,
            summary=summary,
            by=by,
            now=now,
        )
    emit_event(events.CLOSURE_SIGNED_OFF, now=now, actor=by, episode=episode)
    emit_event(events.EPISODE_CLOSED, now=now, actor=by, episode=episode)
    return episode


@transaction.atomic
def closure_return(*, closure: ClosureRequest, reason: str, by, now: datetime) -> Episode:
    """A manager sends the request back as not ready, saying why; the work carries on."""
    episode = closure.episode
    require_perm(
        by,
        "cases.sign_off_closure",
        episode,
        message="Only a manager of this service can return a closure.",
        error=WorkflowError,
    )
    if not _text(reason):
        raise WorkflowError("Say why the case is not ready to close.")
    episode = lock_episode(episode, None)
    closure = ClosureRequest.objects.select_for_update().get(pk=closure.pk)
    if closure.status != ClosureRequest.Status.PENDING:
        raise WorkflowError(f"This closure request has already been {closure.get_status_display().lower()}.")
    _transition(episode, "return_closure")
    _save(episode)
    closure.status = ClosureRequest.Status.RETURNED
    closure.return_reason = _text(reason)
    closure.decided_at = now
    closure.decided_by = by
    closure.save()
    emit_event(events.CLOSURE_RETURNED, now=now, actor=by, episode=episode)
    return episode


@transaction.atomic
def family_declines(
    *, episode: Episode, reason: str, by, now: datetime, expected_version: int | None = None
) -> Episode:
    """The family declines Early Help (or withdraws consent): the episode ends."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can do that.",
        error=WorkflowError,
        now=now,
    )
    if not _text(reason):
        raise WorkflowError("Record what the family said and how they were told what support is still open to them.")
    episode = lock_episode(episode, expected_version)
    _transition(episode, "family_declines")
    _close(episode, now=now, reason=ClosureReason.FAMILY_DECLINED, ended_on=timezone.localdate(now))
    episode.closure_note = _text(reason)
    _save(episode)
    emit_event(events.EPISODE_CLOSED, now=now, actor=by, episode=episode)
    return episode


# --- Step-up (rulebook C) ------------------------------------------------------------------------


@transaction.atomic
def step_up_propose(
    *,
    episode: Episode,
    concern: str,
    reason: str,
    multi_agency_views: str,
    family_views: str,
    by,
    now: datetime,
    expected_version: int | None = None,
) -> StepUp:
    """Propose a step-up to children's social care; the Early Help manager's clock (C1) starts."""
    with acting_at(now):
        allowed = by.has_perm("cases.work_on_episode", episode) or by.has_perm("cases.send_step_up", episode)
    if not allowed:
        raise WorkflowError("Only the lead professional, their team leader or a manager can propose a step-up.")
    if concern not in StepUp.Concern.values:
        raise WorkflowError("Choose what the concern is.")
    for value, what in (
        (reason, "the reason for concern"),
        (multi_agency_views, "the views of the agencies involved"),
        (family_views, "the family's views"),
    ):
        if not _text(value):
            raise WorkflowError(f"Record {what}: the duty manager needs it to decide.")
    episode = lock_episode(episode, expected_version)
    _transition(episode, "request_step_up")
    step_up = StepUp.objects.create(
        episode=episode,
        proposed_at=now,
        proposed_by=by,
        concern=concern,
        reason=_text(reason),
        multi_agency_views=_text(multi_agency_views),
        family_views=_text(family_views),
    )
    _save(episode)
    emit_event(events.STEP_UP_REQUESTED, now=now, actor=by, episode=episode)
    return step_up


@transaction.atomic
def step_up_send_to_duty_manager(
    *, step_up: StepUp, next_step: str, parenting: str, judgement: str, by, now: datetime
) -> StepUp:
    """The Early Help manager's oversight, sent to the duty manager within 48 hours (C1)."""
    episode = step_up.episode
    require_perm(
        by,
        "cases.send_step_up",
        episode,
        message="Only an Early Help manager of this service can do that.",
        error=WorkflowError,
    )
    if next_step not in StepUp.NextStep.values:
        raise WorkflowError("Choose the next step.")
    if parenting not in StepUp.Parenting.values:
        raise WorkflowError("Give your judgement: are the safeguarding concerns attributable to parenting?")
    if not _text(judgement):
        raise WorkflowError("Record your professional judgement.")
    episode = lock_episode(episode, None)
    step_up = StepUp.objects.select_for_update().get(pk=step_up.pk)
    if step_up.sent_at:
        raise WorkflowError("This step-up request has already been sent to the duty manager.")
    _transition(episode, "send_step_up")
    step_up.next_step = next_step
    step_up.parenting = parenting
    step_up.manager_judgement = _text(judgement)
    step_up.sent_at = now
    step_up.sent_by = by
    step_up.save()
    _save(episode)
    emit_event(events.STEP_UP_SENT_TO_DUTY_MANAGER, now=now, actor=by, episode=episode)
    return step_up


@transaction.atomic
def step_up_decide(
    *,
    step_up: StepUp,
    decision: str,
    notes: str,
    by,
    now: datetime,
    wraparound: bool | None = None,
    focused_plan_note: str = "",
) -> StepUp:
    """The duty manager's decision (C2): accepted (wraparound or close) or returned to Early Help."""
    episode = step_up.episode
    require_perm(
        by, "cases.decide_step_up", episode, message="Only a duty manager can decide a step-up.", error=WorkflowError
    )
    if decision not in StepUp.Decision.values:
        raise WorkflowError("Choose a decision.")
    if not _text(notes):
        raise WorkflowError("Record your management oversight: the decision and the action required.")
    if decision == StepUp.Decision.ACCEPTED and wraparound is None:
        raise WorkflowError("Say whether Early Help continues as wraparound support or closes.")
    if decision == StepUp.Decision.RETURNED and not _text(focused_plan_note):
        raise WorkflowError("Say when the family meeting is and what the focused plan must address.")
    episode = lock_episode(episode, None)
    step_up = StepUp.objects.select_for_update().get(pk=step_up.pk)
    if step_up.decided_at:
        raise WorkflowError("This step-up request has already been decided.")
    if not step_up.sent_at:
        raise WorkflowError("The Early Help manager has not sent this request to the duty manager yet.")
    if decision == StepUp.Decision.RETURNED:
        _transition(episode, "step_up_returned")
    elif wraparound:
        _transition(episode, "step_up_accepted_with_wraparound")
    else:
        _transition(episode, "step_up_accepted_and_close")
        _close(episode, now=now, reason=ClosureReason.STEPPED_UP, ended_on=timezone.localdate(now))
    step_up.decision = decision
    step_up.wraparound = wraparound if decision == StepUp.Decision.ACCEPTED else None
    step_up.decision_notes = _text(notes)
    step_up.focused_plan_note = _text(focused_plan_note) if decision == StepUp.Decision.RETURNED else ""
    step_up.decided_at = now
    step_up.decided_by = by
    step_up.save()
    _save(episode)
    emit_event(events.STEP_UP_DECIDED, now=now, actor=by, episode=episode)
    if step_up.awaits_wraparound_worker:
        # Social care ask Early Help to continue alongside them: a request for wraparound support
        # (B16), screened and allocated when Early Help confirms the wraparound worker.
        emit_event(events.WRAPAROUND_REQUESTED, now=now, actor=by, episode=episode)
    if not episode.is_open:
        emit_event(events.EPISODE_CLOSED, now=now, actor=by, episode=episode)
    return step_up


def wraparound_step_up(episode: Episode) -> StepUp | None:
    """The step-up accepted with wraparound whose wraparound worker Early Help has yet to confirm."""
    if episode.state != S.WRAPAROUND:
        return None
    return (
        StepUp.objects.filter(
            episode=episode,
            decision=StepUp.Decision.ACCEPTED,
            wraparound=True,
            wraparound_confirmed_at__isnull=True,
        )
        .select_related("decided_by")
        .order_by("-decided_at")
        .first()
    )


def why_not_wraparound(episode: Episode) -> str:
    """Why an episode has no wraparound worker to confirm, in staff's words."""
    if episode.state != S.WRAPAROUND:
        return why_not(episode, "confirm_wraparound_worker")
    return f"The wraparound worker for {episode.reference} has already been confirmed."


@transaction.atomic
def wraparound_worker_confirm(
    *,
    episode: Episode,
    practitioner: User,
    by,
    now: datetime,
    expected_version: int | None = None,
    reason: str = "",
) -> StepUp:
    """Early Help confirms its wraparound worker after social care accepted a step-up (rulebook B 7.3).

    The manager (or the team leader) takes the worker out of the key worker role and allocates
    the case as "wraparound": the same practitioner or another of the team, whose caseload is
    checked as at allocation. This screens and allocates the wraparound request: B16 stops.
    """
    require_perm(
        by,
        "cases.allocate_episode",
        episode,
        message="Only a team leader of this team or a manager can confirm the wraparound worker.",
        error=WorkflowError,
    )
    episode = lock_episode(episode, expected_version)
    _transition(episode, "confirm_wraparound_worker")
    step_up = wraparound_step_up(episode)
    if step_up is None:
        raise WorkflowError(why_not_wraparound(episode))
    step_up = StepUp.objects.select_for_update().get(pk=step_up.pk)
    check_practitioner(practitioner, episode.team)
    changing = practitioner.pk != episode.lead_professional_id
    if changing:
        check_capacity(practitioner, reason)
        set_lead_professional(episode, practitioner)
        episode.allocated_by = by
        episode.allocation_reason = _text(reason)
    step_up.wraparound_worker = practitioner
    step_up.wraparound_confirmed_at = now
    step_up.wraparound_confirmed_by = by
    step_up.save(update_fields=["wraparound_worker", "wraparound_confirmed_at", "wraparound_confirmed_by"])
    _save(episode)
    if changing:
        # The open clocks move to the new worker, who now holds a case (B20).
        _emit_on(events.REALLOCATED, now=now, actor=by, episode=episode, worker=practitioner)
    _emit_on(events.WRAPAROUND_WORKER_CONFIRMED, now=now, actor=by, episode=episode, worker=practitioner)
    return step_up


# --- Step-down and escalation ---------------------------------------------------------------------


@transaction.atomic
def step_down_receive(
    *,
    family: Family,
    team: Team,
    social_care_assessment_date: date,
    summary: str,
    by,
    now: datetime,
) -> Episode:
    """A case stepped down from social care joins the team's pre-allocation list (B15: 48 hours)."""
    require_perm(
        by,
        "cases.receive_step_down",
        message="Only the front door, a team leader or a manager can receive a step-down.",
        error=WorkflowError,
    )
    if social_care_assessment_date > timezone.localdate(now):
        raise WorkflowError("The social care assessment's date cannot be in the future.")
    if not _text(summary):
        raise WorkflowError("Summarise social care's involvement and why the family is stepped down.")
    episode = episode_open(
        contact=None,
        family=family,
        team=team,
        now=now,
        by=by,
        origin=Episode.Origin.STEP_DOWN,
        social_care_assessment_date=social_care_assessment_date,
    )
    episode.referral_notes = _text(summary)
    update_with_history([episode], ["referral_notes"], by=by, now=now)
    return episode


@transaction.atomic
def escalation_record(
    *, episode: Episode, about: str, disagreement: str, escalated_to: str, by, now: datetime, escalated_to_user=None
) -> Escalation:
    """A step-up or step-down disagreement escalated to the operational leads; its clock (C3) starts."""
    require_perm(
        by, "cases.record_escalation", episode, message="You cannot escalate on this case.", error=WorkflowError
    )
    if about not in (Escalation.About.STEP_UP, Escalation.About.STEP_DOWN):
        raise WorkflowError("Say whether the disagreement is about a step-up or a step-down.")
    if not _text(disagreement) or not (_text(escalated_to) or escalated_to_user):
        raise WorkflowError("Say what the disagreement is and which operational lead it went to.")
    escalation = Escalation.objects.create(
        episode=episode,
        about=about,
        disagreement=_text(disagreement),
        escalated_to=_text(escalated_to) or str(escalated_to_user),
        escalated_to_user=escalated_to_user,
        raised_at=now,
        raised_by=by,
    )
    _emit_on(events.EPISODE_ESCALATION_RAISED, now=now, actor=by, episode=episode, key=f"escalation:{escalation.pk}")
    return escalation


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, outcome: str, by, now: datetime) -> Escalation:
    """The operational leads' outcome: whoever may escalate on the episode, or an operational lead (ADR 0038)."""
    if not (
        by.has_perm("cases.resolve_escalation", escalation)
        or by.has_perm("cases.record_escalation", escalation.episode)
    ):
        raise WorkflowError("You cannot record this escalation's outcome.")
    if not _text(outcome):
        raise WorkflowError("Record the outcome the operational leads agreed.")
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.resolved_at:
        raise WorkflowError("This escalation's outcome has already been recorded.")
    escalation.outcome = _text(outcome)
    escalation.resolved_at = now
    escalation.resolved_by = by
    escalation.save()
    if escalation.episode_id:
        _emit_on(
            events.EPISODE_ESCALATION_RESOLVED,
            now=now,
            actor=by,
            episode=escalation.episode,
            key=f"escalation:{escalation.pk}",
        )
    return escalation


# --- Documents ----------------------------------------------------------------------------------

# Extension -> (content type, the bytes such a file starts with; None when it has no signature).
ALLOWED_DOCUMENTS: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".txt": ("text/plain", None),
}


def max_document_bytes() -> int:
    return settings.EARLYHELP_MAX_DOCUMENT_MB * 1024 * 1024


def document_problem(*, name: str, size: int, head: bytes) -> str | None:
    """Why a file cannot be stored (its name, type by extension and by its first bytes, and size), or None."""
    if has_hidden_characters(name):
        # A right-to-left override can make "report\u202efdp.exe" read "reportexe.pdf".
        return "The file name has hidden characters that change how it reads: rename the file and upload it again."
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = ", ".join(sorted({s.lstrip(".").upper() for s in ALLOWED_DOCUMENTS}))
    if suffix not in ALLOWED_DOCUMENTS:
        return f"The file must be one of: {allowed}."
    if size == 0:
        return "The file is empty."
    if size > max_document_bytes():
        return f"The file must be smaller than {max_document_bytes() // (1024 * 1024)} MB."
    _content_type, signatures = ALLOWED_DOCUMENTS[suffix]
    if signatures is not None and not any(head.startswith(sig) for sig in signatures):
        return f"The file does not look like a {suffix.lstrip('.').upper()} file: it may be damaged or renamed."
    if signatures is None and b"\x00" in head:
        return "The file does not look like a text file."
    return None


@transaction.atomic
def document_upload(*, episode: Episode, file: UploadedFile, kind: str, title: str, by, now: datetime) -> Document:
    """Store a document on the episode through Django's storage (never a public path)."""
    require_perm(
        by,
        "cases.work_on_episode",
        episode,
        message="Only the lead professional or their team leader can upload.",
        error=WorkflowError,
        now=now,
    )
    if kind not in Document.Kind.values:
        raise WorkflowError("Choose what kind of document it is.")
    name = (file.name or "document").rsplit("/", 1)[-1][:200]
    file.seek(0)
    head = file.read(2048)
    file.seek(0)
    problem = document_problem(name=name, size=file.size or 0, head=head)
    if problem:
        raise WorkflowError(problem)
    suffix = "." + name.rsplit(".", 1)[-1].lower()
    document = Document(
        episode=episode,
        family_id=episode.family_id,
        kind=kind,
        title=_text(title) or name,
        original_name=name,
        content_type=ALLOWED_DOCUMENTS[suffix][0],
        size=file.size,
        uploaded_at=now,
        uploaded_by=by,
    )
    document.file.save(name, file, save=False)
    try:
        document.save()
    except BaseException:
        # Without its row the stored file would be an orphan nobody can find or delete.
        document.file.delete(save=False)
        raise
    return document


# --- Drafts of long forms -------------------------------------------------------------------------

MAX_DRAFT_BYTES = 200_000


def draft_save(
    *, user, form_key: str, object_key: str, data: dict, now: datetime, episode: Episode | None = None
) -> Draft:
    """Keep what the user has typed so far; one draft per user, form and record."""
    if len(json.dumps(data)) > MAX_DRAFT_BYTES:
        raise WorkflowError("This draft is too long to save automatically: submit the form to keep it.")
    # Every autosaved form is an episode's, keyed by the episode's id; the foreign key makes the
    # draft go with the episode (and so with the family's records at retention).
    episode_id = episode.pk if episode is not None else int(object_key)
    draft, _created = Draft.objects.update_or_create(
        user=user,
        form_key=form_key,
        object_key=object_key,
        defaults={"data": data, "updated_at": now, "episode_id": episode_id},
    )
    return draft


def draft_discard(*, user, form_key: str, object_key: str) -> None:
    Draft.objects.filter(user=user, form_key=form_key, object_key=object_key).delete()
