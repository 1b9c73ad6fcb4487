"""Writes of oversight: Managers Decisions, supervision and its tasks, breach acknowledgements.

Each is one atomic service that checks who may act, writes who and when, and tells the
timescale engine what happened (`oversight_recorded`, `case_discussion_held`,
`supervision_recorded`) so the B13, B14, B19 and B20 clocks stop and restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import roles
from accounts.models import User
from cases.models import Assessment, CaseNote, ClosureRequest, Episode, Plan, Review, StepUp
from deadlines import events
from deadlines.models import Deadline
from deadlines.services import deadline_record_event
from kit.forms import MAX_TEXT
from kit.time import LONDON
from oversight.models import BreachAcknowledgement, ManagersDecision, Supervision, SupervisionAction


class OversightError(Exception):
    """A refused oversight action; the message is for the person who tried it."""


def _text(value: str | None) -> str:
    return (value or "").strip()


def _service_of(user) -> int | None:
    return user.service_id_in_scope if user.is_authenticated else None


def may_record_decision(user, episode: Episode) -> bool:
    """Managers of the service the episode's team belongs to."""
    return (
        user.is_authenticated
        and user.is_active
        and user.has_role(roles.MANAGER)
        and _service_of(user) is not None
        and episode.team.service_id == _service_of(user)
    )


def may_supervise(supervisor, practitioner) -> bool:
    """A team leader supervises their own team; a manager anyone in their service."""
    if not (supervisor.is_authenticated and supervisor.is_active) or supervisor.pk == practitioner.pk:
        return False
    if practitioner.team_id is None:
        return False
    if supervisor.has_role(roles.TEAM_LEADER) and supervisor.team_id == practitioner.team_id:
        return True
    return supervisor.has_role(roles.MANAGER) and practitioner.team.service_id == _service_of(supervisor)


# --- Managers Decisions --------------------------------------------------------------------------

# What each kind of decision may be linked to: the field on ManagersDecision and its model.
LINKS: dict[str, tuple[str, type]] = {
    ManagersDecision.Oversees.ASSESSMENT: ("assessment", Assessment),
    ManagersDecision.Oversees.PLAN: ("plan", Plan),
    ManagersDecision.Oversees.REVIEW: ("review", Review),
    ManagersDecision.Oversees.CLOSURE: ("closure_request", ClosureRequest),
    ManagersDecision.Oversees.STEP_UP: ("step_up", StepUp),
    ManagersDecision.Oversees.CASE_DISCUSSION: ("case_note", CaseNote),
}


@transaction.atomic
def managers_decision_record(
    *,
    episode: Episode,
    oversees: str,
    decision: str,
    rationale: str,
    by,
    now: datetime,
    record=None,
) -> ManagersDecision:
    """Record a manager's oversight of the episode (or of one of its records) and stop the clocks."""
    if not may_record_decision(by, episode):
        raise OversightError("Only a manager of this service can record a Managers Decision on this case.")
    if oversees not in ManagersDecision.Oversees.values:
        raise OversightError("Choose what the decision oversees.")
    decision, rationale = _text(decision), _text(rationale)
    if not decision:
        raise OversightError("Enter the decision.")
    if not rationale:
        raise OversightError("Enter the rationale for the decision.")
    if len(decision) > MAX_TEXT or len(rationale) > MAX_TEXT:
        raise OversightError(f"The decision and the rationale must each be {MAX_TEXT:,} characters or fewer.")
    links: dict = {}
    if record is not None:
        field, model = LINKS.get(oversees, (None, None))
        if model is None or not isinstance(record, model):
            raise OversightError("The record chosen is not the kind of record this decision oversees.")
        if record.episode_id != episode.pk:
            raise OversightError("The record chosen belongs to another case.")
        if oversees == ManagersDecision.Oversees.CASE_DISCUSSION and record.kind != CaseNote.Kind.CASE_DISCUSSION:
            raise OversightError("Choose a case discussion note.")
        links[field] = record
    # Lock the episode so the decision and the clocks it stops are consistent with other writes.
    episode = Episode.objects.select_for_update(of=("self",)).select_related("team", "contact").get(pk=episode.pk)
    managers_decision = ManagersDecision.objects.create(
        episode=episode,
        family_id=episode.family_id,
        oversees=oversees,
        decision=decision,
        rationale=rationale,
        recorded_by=by,
        recorded_at=now,
        **links,
    )
    deadline_record_event(
        event=events.OVERSIGHT_RECORDED, now=now, episode=episode, actor=by, key=overseen_key(episode, oversees, record)
    )
    return managers_decision


# The kinds of decision that oversee one record with its own oversight clock (B13, `per_record`),
# and the prefix of that clock's key (workflows/episode_services.py names the record it starts on).
_CLOCK_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    ManagersDecision.Oversees.ASSESSMENT: ("assessment:", "assessment-not-needed:"),
    ManagersDecision.Oversees.PLAN: ("plan:",),
    ManagersDecision.Oversees.REVIEW: ("review:",),
    ManagersDecision.Oversees.CLOSURE: ("closure:",),
}


def overseen_key(episode: Episode, oversees: str, record=None) -> str:
    """The record a Managers Decision oversees, as the clocks key it: only that record's clock stops.

    Oversight is recorded "for each assessment, support plan, review and closure" (B13: one
    clock per record), so a decision on the plan leaves the assessment's oversight due. A
    decision linked to a record names it; one not linked to a record oversees the record of its
    kind that has waited longest (its oldest open clock). A decision of another kind (monthly,
    case discussion, step-up) names no such record and stops no per-record clock; the episode's
    other oversight clocks (B14, B19) stop on any decision, as before.
    """
    prefixes = _CLOCK_KEY_PREFIXES.get(oversees)
    if record is not None:
        return f"{prefixes[0] if prefixes else oversees + ':'}{record.pk}"
    if not prefixes:
        return oversees
    waiting = Q()
    for prefix in prefixes:
        waiting |= Q(key__startswith=prefix)
    oldest = (
        Deadline.objects.filter(waiting, episode=episode, stopped_at__isnull=True)
        .order_by("started_at", "id")
        .values_list("key", flat=True)
        .first()
    )
    return oldest or oversees


# --- Supervision ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    """One action agreed in supervision, as the form collected it."""

    text: str
    assignee: User
    due_on: date
    episode: Episode | None = None


def _event_time(held_on: date, now: datetime) -> datetime:
    """When the supervision happened, as far as the clocks care: its day, never after now.

    Day- and week-based limits end at the end of a local day, so any time on the day gives the
    same limits; the end of the day keeps a same-day decision recorded earlier from being
    "before" the discussion it records.
    """
    end_of_day = datetime.combine(held_on, time(23, 59, 59), tzinfo=LONDON)
    return min(now, end_of_day)


@transaction.atomic
def supervision_record(
    *,
    practitioner: User,
    held_on: date,
    notes: str,
    by,
    now: datetime,
    cases_discussed: Iterable[Episode] = (),
    actions: Sequence[ActionInput] = (),
) -> Supervision:
    """Record a supervision, its case discussions and its actions (each a task with a due date).

    Fires `supervision_recorded` for the practitioner (B20: the next one is due in 4 calendar
    weeks) and `case_discussion_held` for each case discussed (B19: the supervisor records a
    Managers Decision on it by the end of the next working day).
    """
    if not may_supervise(by, practitioner):
        raise OversightError("You can record supervision only for practitioners you supervise.")
    notes = _text(notes)
    if not notes:
        raise OversightError("Enter what was discussed in supervision.")
    if len(notes) > MAX_TEXT:
        raise OversightError(f"The notes must be {MAX_TEXT:,} characters or fewer.")
    today = timezone.localdate(now)
    if held_on > today:
        raise OversightError("The date of the supervision cannot be in the future.")
    if held_on < date(today.year - 1, today.month, 1):
        raise OversightError("The date of the supervision cannot be more than a year ago.")
    discussed = list({e.pk: e for e in cases_discussed}.values())

    def check_case(episode: Episode) -> None:
        if episode.team_id != practitioner.team_id and episode.lead_professional_id != practitioner.pk:
            raise OversightError(f"{episode.reference} is not one of {practitioner}'s team's cases.")

    for episode in discussed:
        check_case(episode)
    for action in actions:
        if not _text(action.text):
            raise OversightError("Enter what each action is.")
        if action.due_on < held_on:
            raise OversightError("An action cannot be due before the supervision was held.")
        if action.assignee.team_id is None or action.assignee.team.service_id != practitioner.team.service_id:
            raise OversightError(f"{action.assignee} is not in this service and cannot be given an action.")
        if action.episode is not None:
            check_case(action.episode)
    supervision = Supervision.objects.create(
        practitioner=practitioner, supervisor=by, held_on=held_on, notes=notes, recorded_at=now
    )
    if discussed:
        supervision.cases_discussed.set(discussed)
    for action in actions:
        SupervisionAction.objects.create(
            supervision=supervision,
            episode=action.episode,
            text=_text(action.text)[:MAX_TEXT],
            assignee=action.assignee,
            due_on=action.due_on,
        )
    at = _event_time(held_on, now)
    deadline_record_event(event=events.SUPERVISION_RECORDED, now=at, worker=practitioner, actor=by)
    for episode in discussed:
        deadline_record_event(event=events.CASE_DISCUSSION_HELD, now=at, episode=episode, actor=by)
    return supervision


def may_complete_task(user, task: SupervisionAction) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if task.assignee_id == user.pk or task.supervision.supervisor_id == user.pk:
        return True
    return may_supervise(user, task.assignee)


@transaction.atomic
def task_complete(*, task: SupervisionAction, by, now: datetime) -> SupervisionAction:
    """Mark a supervision action done (once: the first completion is kept)."""
    task = (
        SupervisionAction.objects.select_for_update(of=("self",))
        .select_related("supervision", "assignee__team")
        .get(pk=task.pk)
    )
    if not may_complete_task(by, task):
        raise OversightError("Only the person the task is for, or their supervisor, can mark it done.")
    if task.done_at is not None:
        raise OversightError("This task was already marked done.")
    task.done_at = now
    task.done_by = by
    task.save(update_fields=["done_at", "done_by"])
    return task


# --- Breaches ------------------------------------------------------------------------------------


def is_breach(deadline: Deadline, now: datetime) -> bool:
    """Past its maximum: still open after it, or met after it."""
    if deadline.flag_only or deadline.due_at is None:
        return False
    if deadline.stopped_at is None:
        return deadline.due_at < now
    return deadline.stop_reason == Deadline.StopReason.MET and deadline.stopped_at > deadline.due_at


def may_acknowledge(user, deadline: Deadline) -> bool:
    service_id = _service_of(user)
    return (
        user.is_authenticated
        and user.is_active
        and user.has_role(roles.MANAGER)
        and service_id is not None
        and deadline.team_id is not None
        and deadline.team.service_id == service_id
    )


@transaction.atomic
def breach_acknowledge(*, deadline: Deadline, comment: str, by, now: datetime) -> BreachAcknowledgement:
    """A manager acknowledges a breach with a comment saying what is being done."""
    deadline = Deadline.objects.select_for_update(of=("self",)).select_related("team").get(pk=deadline.pk)
    if not may_acknowledge(by, deadline):
        raise OversightError("Only a manager of this service can acknowledge this breach.")
    if not is_breach(deadline, now):
        raise OversightError("This timescale has not been breached, so there is nothing to acknowledge.")
    comment = _text(comment)
    if not comment:
        raise OversightError("Enter a comment saying what is being done about the breach.")
    if len(comment) > MAX_TEXT:
        raise OversightError(f"The comment must be {MAX_TEXT:,} characters or fewer.")
    if BreachAcknowledgement.objects.filter(deadline=deadline).exists():
        raise OversightError("This breach has already been acknowledged.")
    try:
        with transaction.atomic():
            return BreachAcknowledgement.objects.create(deadline=deadline, by=by, at=now, comment=comment)
    except IntegrityError:
        raise OversightError("This breach has already been acknowledged.") from None
