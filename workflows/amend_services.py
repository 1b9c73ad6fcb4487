"""Amending a saved record (ADR 37): the author or their team leader corrects a visit, an assessment or a
plan; the original stays in the record's history, and the amendment is the historical row that carries
the reason (simple-history's change reason), who made it and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from cases.models import Assessment, CaseNote, Episode, Plan
from kit.history import history_of_update
from workflows.episode_services import ASSESSMENT_TEXT_FIELDS
from workflows.errors import WorkflowError

# simple-history keeps the change reason in a 100-character column.
REASON_MAX = 100


@dataclass(frozen=True)
class Amendable:
    """A kind of record that may be amended: its model, the fields that may be corrected and their labels."""

    key: str
    model: type
    name: str
    fields: dict[str, str]


AMENDABLE: dict[str, Amendable] = {
    "note": Amendable(
        "note",
        CaseNote,
        "visit or case note",
        {
            "purpose": "Purpose",
            "present": "Who was there",
            "details": "What happened",
            "actions": "Actions agreed",
            "analysis": "Analysis",
        },
    ),
    "assessment": Amendable(
        "assessment",
        Assessment,
        "assessment",
        dict(
            zip(
                ASSESSMENT_TEXT_FIELDS,
                (
                    "The family's history",
                    "Previous help and interventions",
                    "What each agency involved thinks",
                    "What the family thinks",
                    "The child's voice",
                    "Recommendation",
                ),
                strict=True,
            )
        ),
    ),
    "plan": Amendable(
        "plan",
        Plan,
        "plan",
        {"if_not_working": "What happens if the plan is not working", "child_voice": "The child's voice"},
    ),
}


def why_not_amend(kind: str, record) -> str:
    """Why this record cannot be amended now ("" when it can): records still being written are edited, not amended."""
    if kind == "assessment" and not record.completed_at:
        return "The assessment is still being written: change it on the assessment page."
    if kind == "plan" and not record.activated_at:
        return "The plan is still being written: change it on the plan page."
    return ""


def amend_record(*, kind: str, record, changes: dict, reason: str, by, now: datetime):
    """Correct the record's fields; the history keeps what it said before, with who, when and why."""
    spec = AMENDABLE.get(kind)
    if spec is None or not isinstance(record, spec.model):
        raise WorkflowError("That record cannot be amended.")
    problem = why_not_amend(kind, record)
    if problem:
        raise WorkflowError(problem)
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("Give the reason for the amendment.")
    if len(reason) > REASON_MAX:
        raise WorkflowError(f"Give the reason in {REASON_MAX} characters or fewer.")
    with transaction.atomic():
        current = spec.model.objects.select_for_update().get(pk=record.pk)
        changed = {
            name: value
            for name, value in changes.items()
            if name in spec.fields and (getattr(current, name) or "") != (value or "")
        }
        if not changed:
            raise WorkflowError("Nothing was changed: correct what was wrong, or go back to the record.")
        for name, value in changed.items():
            setattr(current, name, value)
        if hasattr(current, "version"):
            current.version += 1
        current._change_reason = reason
        current._history_user = by
        current._history_date = now
        current.save()
        # Not a change of the episode's content (no version): the episode page's cue to look for amendments,
        # set once (a conditional UPDATE), with a history row when it is set.
        if Episode.objects.filter(pk=current.episode_id, records_amended=False).update(records_amended=True):
            history_of_update(Episode.objects.filter(pk=current.episode_id), by=by, now=now, reason=reason)
    return current
