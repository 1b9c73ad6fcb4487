"""Moving work: transfers between teams, bulk reallocation, and families leaving the pre-allocation list.

ADR 0032. Each action is one atomic service, like workflows.episode_services: it
checks the user may act, locks what it changes, refuses with a reason (WorkflowError) when the
case changed meanwhile, records who and when, and tells the timescale engine.

Clocks keep running across a transfer or a reallocation: an event on the episode moves its open
clocks to the episode's team and lead professional as they are now (deadlines.engine.follows).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from accounts.models import Team, User
from cases.models import ClosureReason, Episode, PlannedVisit, Reallocation, Transfer, why_not
from deadlines import events
from deadlines.services import deadline_record_event
from kit.dates import long_datetime
from kit.history import update_with_history
from kit.permissions import require_perm
from workflows.episode_services import (
    caseload_of,
    check_capacity,
    check_practitioner,
    lock_episode,
    set_lead_professional,
)
from workflows.errors import CaseChanged, WorkflowError

S = Episode.State

# A transfer or reallocation moves a case that is being worked with, or still waiting: not one
# waiting for a manager's decision on closure or step-up (that decision is the sending team's).
MOVABLE_STATES = (S.AWAITING_ALLOCATION, *Episode.WORKING_STATES)

# Why a family leaves the pre-allocation list closed: the choices the page offers.
CLOSE_REASONS = (ClosureReason.MOVED_AWAY, ClosureReason.NO_LONGER_NEEDED, ClosureReason.OTHER)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _families(n: int) -> str:
    return f"{n} famil{'y' if n == 1 else 'ies'}"


def _movable(episode: Episode, what: str) -> None:
    if episode.state not in MOVABLE_STATES:
        raise WorkflowError(
            f"{episode.reference} cannot {what} now: it is {episode.get_state_display().lower()}. "
            "Only an open case that is not waiting for a manager's decision can move."
        )


def _save(episode: Episode) -> None:
    episode.version += 1
    episode.save()


def _visits_follow(episode: Episode, *, old_lead_id: int | None, new_lead: User, by, now: datetime) -> int:
    """The previous lead's planned visits still to come go with the case to the new lead (each in its history)."""
    if old_lead_id is None:
        return 0
    visits = list(
        PlannedVisit.objects.select_for_update().filter(
            episode=episode, visitor_id=old_lead_id, planned_at__gte=now, note__isnull=True, cancelled_at__isnull=True
        )
    )
    for visit in visits:
        visit.visitor = new_lead
    update_with_history(visits, ["visitor"], by=by, now=now, reason=f"{episode.reference} reallocated")
    return len(visits)


# --- Transfer between teams ----------------------------------------------------------------------


def teams_to_transfer_to(episode: Episode):
    """The Early Help teams an episode may be sent to: any team that holds cases, but its own."""
    return (
        Team.objects.exclude(pk=episode.team_id)
        .exclude(kind=Team.Kind.FRONT_DOOR)
        .select_related("service")
        .order_by("name")
    )


def pending_transfer(episode: Episode) -> Transfer | None:
    return (
        Transfer.objects.filter(episode=episode, status=Transfer.Status.PENDING)
        .select_related("from_team", "to_team", "to_team__service", "requested_by")
        .first()
    )


@transaction.atomic
def transfer_request(
    *, episode: Episode, to_team: Team, reason: str, by, now: datetime, expected_version: int | None = None
) -> Transfer:
    """The sending team leader asks another team to take the case, saying why."""
    require_perm(
        by,
        "cases.request_transfer",
        episode,
        message="Only a team leader of the case's team (or a manager) can ask for a transfer.",
        error=WorkflowError,
    )
    if not _text(reason):
        raise WorkflowError("Say why the case should move to another team.")
    episode = lock_episode(episode, expected_version)
    _movable(episode, "be transferred")
    if to_team.pk == episode.team_id:
        raise WorkflowError(f"{episode.reference} is already with {to_team}: choose another team.")
    if to_team.kind == Team.Kind.FRONT_DOOR:
        raise WorkflowError(f"{to_team} does not hold cases: choose an Early Help team.")
    waiting = pending_transfer(episode)
    if waiting is not None:
        raise WorkflowError(
            f"{episode.reference} is already waiting for {waiting.to_team} to accept a transfer "
            f"(asked {long_datetime(waiting.requested_at)} by {waiting.requested_by})."
        )
    return Transfer.objects.create(
        episode=episode,
        from_team=episode.team,
        to_team=to_team,
        reason=_text(reason),
        requested_at=now,
        requested_by=by,
        previous_lead=episode.lead_professional,
    )


def _lock_pending(transfer: Transfer) -> tuple[Transfer, Episode]:
    episode = Episode.objects.select_for_update().select_related("team", "family").get(pk=transfer.episode_id)
    transfer = Transfer.objects.select_for_update().select_related("to_team", "from_team").get(pk=transfer.pk)
    if transfer.status != Transfer.Status.PENDING:
        raise WorkflowError(f"This transfer has already been {transfer.get_status_display().lower()}.")
    return transfer, episode


@transaction.atomic
def transfer_decline(*, transfer: Transfer, reason: str, by, now: datetime) -> Transfer:
    """The receiving team leader declines, saying why; the case stays where it is."""
    require_perm(
        by,
        "cases.decide_transfer",
        transfer,
        message="Only a team leader of the receiving team (or its manager) can decide a transfer.",
        error=WorkflowError,
    )
    if not _text(reason):
        raise WorkflowError("Say why your team cannot take the case: the sending team leader will read it.")
    transfer, _episode = _lock_pending(transfer)
    transfer.status = Transfer.Status.DECLINED
    transfer.decline_reason = _text(reason)
    transfer.decided_at = now
    transfer.decided_by = by
    transfer.save()
    return transfer


@transaction.atomic
def transfer_accept(
    *, transfer: Transfer, practitioner: User, allocation_reason: str = "", by, now: datetime
) -> Transfer:
    """The receiving team leader accepts and allocates a lead professional of their team, against
    capacity. The episode, its open clocks and the previous lead's planned visits move to the new
    team and lead; the clocks keep their start and due times."""
    require_perm(
        by,
        "cases.decide_transfer",
        transfer,
        message="Only a team leader of the receiving team (or its manager) can decide a transfer.",
        error=WorkflowError,
    )
    transfer, episode = _lock_pending(transfer)
    if episode.team_id != transfer.from_team_id:
        raise WorkflowError(
            f"{episode.reference} has moved to {episode.team} since the transfer was asked for: decline it."
        )
    _movable(episode, "be transferred")
    check_practitioner(practitioner, transfer.to_team)
    check_capacity(practitioner, allocation_reason)
    old_lead_id = episode.lead_professional_id
    allocating = episode.state == S.AWAITING_ALLOCATION
    if allocating:
        episode.allocate()
        episode.allocated_at = now
    episode.team = transfer.to_team
    set_lead_professional(episode, practitioner)
    episode.allocated_by = by
    episode.allocation_reason = _text(allocation_reason)
    _save(episode)
    _visits_follow(episode, old_lead_id=old_lead_id, new_lead=practitioner, by=by, now=now)
    transfer.status = Transfer.Status.ACCEPTED
    transfer.decided_at = now
    transfer.decided_by = by
    transfer.previous_lead_id = old_lead_id
    transfer.new_lead = practitioner
    transfer.allocation_reason = _text(allocation_reason)
    transfer.save()
    # The clocks follow the case to its new team and lead (deadlines.engine.follows); a case
    # that was waiting is allocated now, which stops its allocation clocks.
    deadline_record_event(
        event=events.ALLOCATED if allocating else events.REALLOCATED,
        now=now,
        actor=by,
        episode=episode,
        worker=practitioner,
    )
    return transfer


# --- Bulk reallocation of one practitioner's caseload --------------------------------------------


@dataclass(frozen=True)
class Move:
    """One case of the bulk reallocation: the episode, the version the page showed, the new lead."""

    episode_pk: int
    version: int
    to: User


@transaction.atomic
def caseload_reallocate(
    *, from_practitioner: User, moves: list[Move], reason: str, capacity_reason: str = "", by, now: datetime
) -> list[Reallocation]:
    """A team leader moves chosen cases of one practitioner to new lead professionals, all at once.

    One transaction: the cases are locked (in id order, so two leaders never deadlock); if any of
    them changed since the page was drawn (its version), left the practitioner, or cannot move,
    nothing moves and the refusal names the case. Capacity counts the cases this batch gives
    each new lead; going above it needs the reason.
    """
    require_perm(
        by,
        "cases.reallocate_caseload",
        from_practitioner,
        message="Only a team leader of the practitioner's team (or a manager) can reallocate their cases.",
        error=WorkflowError,
    )
    if not moves:
        raise WorkflowError("Choose at least one case and its new lead professional.")
    if not _text(reason):
        raise WorkflowError("Say why the cases are moving (for example, the practitioner is leaving).")
    wanted = {move.episode_pk: move for move in moves}
    locked = list(Episode.objects.select_for_update().select_related("team").filter(pk__in=wanted).order_by("pk"))
    found = {episode.pk: episode for episode in locked}
    for pk, move in wanted.items():
        episode = found.get(pk)
        if episode is None or episode.lead_professional_id != from_practitioner.pk:
            raise WorkflowError(
                f"E{pk:07d} is no longer {from_practitioner}'s case: nothing has moved. "
                "Check the list and confirm again."
            )
        if episode.version != move.version:
            raise CaseChanged(
                f"{episode.reference} was changed by someone else since the list was drawn (it is now: "
                f"{episode.get_state_display().lower()}): nothing has moved. Check the list and confirm again."
            )
        if not episode.is_open:  # any open case, as a single reallocation (episode_allocate)
            raise WorkflowError(f"{episode.reference} is closed: it cannot be reallocated. Nothing has moved.")
        if move.to.pk == from_practitioner.pk:
            raise WorkflowError(f"{episode.reference}: choose someone other than {from_practitioner}.")
        check_practitioner(move.to, episode.team)
    over = over_capacity_after(moves)
    if over and not _text(capacity_reason):
        raise WorkflowError(
            "; ".join(over.values()) + ": give the reason for allocating above capacity (nothing has moved)."
        )
    batch = uuid.uuid4()
    rows = []
    for episode in locked:
        move = wanted[episode.pk]
        set_lead_professional(episode, move.to)
        episode.allocated_by = by
        episode.allocation_reason = _text(capacity_reason) if move.to.pk in over else ""
        _save(episode)
        _visits_follow(episode, old_lead_id=from_practitioner.pk, new_lead=move.to, by=by, now=now)
        rows.append(
            Reallocation(
                batch=batch,
                episode=episode,
                from_lead=from_practitioner,
                to_lead=move.to,
                moved_at=now,
                moved_by=by,
                reason=_text(reason),
            )
        )
        deadline_record_event(event=events.REALLOCATED, now=now, actor=by, episode=episode, worker=move.to)
    return Reallocation.objects.bulk_create(rows)


def over_capacity_after(moves: list[Move]) -> dict[int, str]:
    """Who would be above capacity after the moves (by user id), in words: the page asks for a reason."""
    adding: dict[int, list[Move]] = {}
    for move in moves:
        adding.setdefault(move.to.pk, []).append(move)
    words = {}
    for pk, group in adding.items():
        to = group[0].to
        caseload = caseload_of(to)
        if caseload + len(group) > to.caseload_capacity:
            words[pk] = (
                f"{to} would have {_families(caseload + len(group))} against a capacity of {to.caseload_capacity}"
            )
    return words


# --- Families still awaiting allocation -------------------------------------------------------------


@transaction.atomic
def before_allocation_close(
    *, episode: Episode, reason: str, note: str, by, now: datetime, expected_version: int | None = None
) -> Episode:
    """A family on the pre-allocation list is closed without allocation: moved away, no longer
    needed, or another reason in words. The episode's clocks end (EPISODE_CLOSED)."""
    require_perm(
        by,
        "cases.end_before_allocation",
        episode,
        message="Only a team leader of this team (or a manager) can close a family on the pre-allocation list.",
        error=WorkflowError,
    )
    if reason not in CLOSE_REASONS:
        raise WorkflowError("Choose why the family no longer needs allocating.")
    if reason == ClosureReason.OTHER and not _text(note):
        raise WorkflowError("Say what the other reason is.")
    episode = lock_episode(episode, expected_version)
    try:
        episode.close_before_allocation()
    except TransitionNotAllowed as exc:
        raise WorkflowError(why_not(episode, "close_before_allocation")) from exc
    episode.closed_at = now
    episode.closure_reason = reason
    episode.ended_on = timezone.localdate(now)
    episode.closure_note = _text(note)
    _save(episode)
    deadline_record_event(event=events.EPISODE_CLOSED, now=now, actor=by, episode=episode)
    return episode


@transaction.atomic
def before_allocation_step_down(
    *, episode: Episode, support: str, by, now: datetime, expected_version: int | None = None
) -> Episode:
    """A family on the pre-allocation list is stepped down to universal or community support (named)
    instead of being allocated; the episode ends and its clocks with it (EPISODE_CLOSED)."""
    require_perm(
        by,
        "cases.end_before_allocation",
        episode,
        message="Only a team leader of this team (or a manager) can step down a family on the pre-allocation list.",
        error=WorkflowError,
    )
    if not _text(support):
        raise WorkflowError("Say which universal or community support the family is stepped down to, and why.")
    episode = lock_episode(episode, expected_version)
    try:
        episode.step_down_before_allocation()
    except TransitionNotAllowed as exc:
        raise WorkflowError(why_not(episode, "step_down_before_allocation")) from exc
    episode.closed_at = now
    episode.closure_reason = ClosureReason.STEPPED_DOWN
    episode.ended_on = timezone.localdate(now)
    episode.closure_note = _text(support)
    _save(episode)
    deadline_record_event(event=events.EPISODE_CLOSED, now=now, actor=by, episode=episode)
    return episode
