"""The internal side of the team around the family with partner agencies (ADR 0044): the lead
professional (and whoever may work on the family's open episode) adds a registered partner agency to
the team with its named people, removes it, and acknowledges the updates its people add."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cases.models import AgencyInvolvement, Episode, Family, PartnerUpdate
from kit.permissions import require_perm
from workflows.errors import WorkflowError


def open_episode_of(family: Family) -> Episode | None:
    """The family's open episode, whose lead professional holds the team around the family."""
    return (
        Episode.objects.filter(family=family)
        .exclude(state=Episode.State.CLOSED)
        .select_related("team", "lead_professional")
        .order_by("-opened_at")
        .first()
    )


def _require_lead(by, family: Family, *, now: datetime) -> Episode:
    episode = open_episode_of(family)
    message = "Only the lead professional of the family's open episode (or their managers) can do this."
    if episode is None:
        raise WorkflowError(message)
    require_perm(by, "cases.work_on_episode", episode, now=now, message=message, error=WorkflowError)
    return episode


@transaction.atomic
def partner_agency_add(*, family: Family, organisation, named_users, by, now: datetime) -> AgencyInvolvement:
    _require_lead(by, family, now=now)
    named = list(named_users)
    if any(user.partner_organisation_id != organisation.pk for user in named):
        raise WorkflowError(f"Choose only people who work for {organisation}.")
    if AgencyInvolvement.objects.filter(family=family, organisation=organisation, ended_on__isnull=True).exists():
        raise WorkflowError(f"{organisation} is already in the team around the family.")
    involvement = AgencyInvolvement.objects.create(
        family=family,
        organisation=organisation,
        agency=organisation.name,
        email=organisation.email,
        started_on=timezone.localdate(now),
    )
    involvement.named_users.set(named)
    return involvement


@transaction.atomic
def partner_agency_remove(*, involvement: AgencyInvolvement, by, now: datetime) -> AgencyInvolvement:
    """Out of the team from today: its people lose the family at once."""
    _require_lead(by, involvement.family, now=now)
    locked = AgencyInvolvement.objects.select_for_update().get(pk=involvement.pk)
    if locked.ended_on is not None:
        raise WorkflowError(f"{locked.agency} has already left the team around the family.")
    locked.ended_on = timezone.localdate(now)
    locked.save(update_fields=["ended_on"])
    return locked


@transaction.atomic
def partner_update_acknowledge(*, update: PartnerUpdate, by, now: datetime) -> PartnerUpdate:
    _require_lead(by, update.family, now=now)
    locked = PartnerUpdate.objects.select_for_update().get(pk=update.pk)
    if locked.acknowledged_at is not None:
        raise WorkflowError("This update has already been acknowledged.")
    locked.acknowledged_at, locked.acknowledged_by = now, by
    locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return locked
