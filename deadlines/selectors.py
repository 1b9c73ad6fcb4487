"""Reads of deadlines that pages share. Status is derived from `now` in the query."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from deadlines.models import Deadline


def deadlines_for_subject(*, now: datetime, contact=None, episode=None, limit: int = 100) -> list[Deadline]:
    """The clocks of one contact or episode, open ones first, with their derived status."""
    qs = Deadline.objects.with_status(now)
    if contact is not None:
        qs = qs.filter(contact=contact)
    elif episode is not None:
        qs = qs.filter(episode=episode)
    else:
        return []
    rows = list(qs.order_by("stopped_at", "due_at", "started_at")[:limit])
    for row in rows:
        row.rule_title = row.title
    return rows


def with_time_left(contacts: QuerySet, *, now: datetime) -> QuerySet:
    """Annotate each contact with its most urgent open clock, and order the most urgent first."""
    open_clocks = Deadline.objects.filter(contact=OuterRef("pk"), stopped_at__isnull=True, due_at__isnull=False)
    most_urgent = open_clocks.order_by("due_at")
    return contacts.annotate(
        next_due_at=Subquery(most_urgent.values("due_at")[:1]),
        next_due_rule=Subquery(most_urgent.values("rule_id")[:1]),
    ).order_by("next_due_at", "received_at", "pk")
