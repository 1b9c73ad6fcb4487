"""Amended records (ADR 37): which records of an episode were amended, and what each amendment changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cases.models import Episode
from kit.history import history_model
from workflows.amend_services import AMENDABLE


def amendable_record(episode: Episode, kind: str, pk: int):
    """The episode's record of that kind, or None; the episode is already scoped to the user."""
    spec = AMENDABLE.get(kind)
    if spec is None:
        return None
    record = spec.model.objects.filter(episode=episode, pk=pk).first()
    if record is not None:
        record.episode = episode  # the permission reads the episode's team: no second query
    return record


@dataclass(frozen=True)
class Amendment:
    at: datetime
    by: object
    reason: str
    changes: list[tuple[str, str, str]]  # (label, before, after)


def amendment_marks(episode: Episode) -> dict[tuple[str, int], object]:
    """The latest amendment of each amended record of the episode, keyed by (kind, record id): one query a kind,
    none for an episode none of whose records was ever amended."""
    marks: dict[tuple[str, int], object] = {}
    if not episode.records_amended:
        return marks
    for kind, spec in AMENDABLE.items():
        rows = (
            history_model(spec.model)
            .objects.filter(episode_id=episode.pk, history_change_reason__isnull=False)
            .select_related("history_user")
            .order_by("history_date", "history_id")
        )
        for row in rows:
            marks[(kind, row.id)] = row
    return marks


def amendments_of(kind: str, record) -> list[Amendment]:
    """Each amendment of the record, oldest first, with its changes field by field against the version before."""
    spec = AMENDABLE[kind]
    rows = list(
        history_model(spec.model)
        .objects.filter(id=record.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    found = []
    for before, after in zip(rows, rows[1:], strict=False):
        if after.history_change_reason is None:
            continue
        delta = after.diff_against(before, included_fields=list(spec.fields))
        order = list(spec.fields)
        changes = [
            (spec.fields[c.field], c.old or "", c.new or "")
            for c in sorted(delta.changes, key=lambda c: order.index(c.field))
        ]
        found.append(
            Amendment(at=after.history_date, by=after.history_user, reason=after.history_change_reason, changes=changes)
        )
    return found
