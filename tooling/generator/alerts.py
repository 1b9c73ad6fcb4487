"""When the alert job would have claimed each generated clock's crossings.

The clocks themselves come from the deadline engine's own functions (`deadlines.engine.Replay`,
the ones `deadline_record_event` uses). What is left here is the alert job's side: a freshly
generated database should leave `deadlines.alerts` nothing to do, so each crossing before now is
stamped as claimed a few minutes after it happened, with its alert rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from deadlines.engine import Clock

# The alert job runs every few minutes: a crossing is claimed this long after it happens.
CLAIM_LAG = timedelta(minutes=3)


def alerts(clock: Clock, now: datetime) -> tuple[datetime | None, datetime | None, list[tuple[str, datetime]]]:
    """(overdue_alerted_at, breach_alerted_at, [(level, created_at) of alert rows]) at `now`.

    Mirrors `deadlines.alerts`: only open clocks are claimed; a clock found past its maximum
    when its overdue level is claimed gets the breach alert only; aims never breach.
    """
    end = clock.stopped_at or now

    def claimed(limit: datetime | None) -> datetime | None:
        if limit is None or limit >= end:
            return None
        at = limit + CLAIM_LAG
        if at < end:
            return at
        return now if clock.stopped_at is None else None

    rule = clock.rule
    overdue_at = claimed(clock.expected_at)
    breach_at = None if rule.flag_only else claimed(clock.due_at)
    rows = []
    if overdue_at is not None and (rule.flag_only or clock.due_at is None or clock.due_at >= overdue_at):
        rows.append(("overdue", overdue_at))
    if breach_at is not None:
        rows.append(("breached", breach_at))
    return overdue_at, breach_at, rows
