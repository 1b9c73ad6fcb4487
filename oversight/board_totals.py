"""The board's totals by bucket alone, for its timescales list (ADR 84).

The timescales list needs only how many clocks each bucket holds (its pages are numbered among them,
ADR 50). It read `board_counts`, which sums the summary rows by practitioner and by rule (a hundred
rows at 5,000 families) and makes both tables. Here the same rows are summed by status and day only
(a few rows), through the same compiled reader and the same filters, and each group's bucket said by
the same function: the same totals (tests/oversight/test_board_filter.py compares them with
`board_counts`' for every filter).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Team
from oversight import selectors


def board_totals(
    *, team: Team, now: datetime, practitioner_id: int | None = None, rule_id: str = "", status: str = ""
) -> dict:
    """`selectors.board_counts(...)["totals"]` for the same team, filters and instant: the team's open
    clocks breached, overdue, due today and due later this week, and their total."""
    from deadlines.counts import open_totals_compiled

    today = timezone.localdate(now)
    sunday = today + timedelta(days=6 - today.weekday())
    bucket_of = selectors.board_bucket

    def keep(key) -> bool:
        b = bucket_of(key[3], key[4], today=today, sunday=sunday)
        if b is None or (practitioner_id and key[1] != practitioner_id) or (rule_id and key[2] != rule_id):
            return False
        return status not in selectors.BUCKET_LABELS or b == status

    filters = selectors.board_count_filters(
        team_id=team.pk, today=today, sunday=sunday, practitioner_id=practitioner_id, rule_id=rule_id, status=status
    )
    (by_day,) = open_totals_compiled(filters, now=now, by=(("status", "day"),), keep=keep)
    totals = dict.fromkeys([*selectors.BUCKET_LABELS, "total"], 0)
    for (clock_status, day), n in by_day.items():
        b = bucket_of(clock_status, day, today=today, sunday=sunday)
        if b is not None:
            totals[b] += n
            totals["total"] += n
    return totals
