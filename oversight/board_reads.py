"""Reads of the team board that it needs less of than the shared selectors give (ADR 84).

*The totals by bucket alone*, for the timescales list, which needs only how many clocks each bucket
holds (its pages are numbered among them, ADR 50). It read `board_counts`, which sums the summary
rows by practitioner and by rule (a hundred rows at 5,000 families) and makes both tables. Here the
same rows are summed by status and day only (a few rows), through the same compiled reader and the
same filters, and each group's bucket said by the same function: the same totals
(tests/oversight/test_board_filter.py compares them with `board_counts`' for every filter).

*The team's practitioners, narrow*: `selectors.caseloads_of_teams` (shared with the dashboard's
caseloads) reads each practitioner's every column and their team; the board shows the name, the
caseload, the capacity and the last supervision. The same rows in the same order, read with their
SQL compiled once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import router
from django.utils import timezone

from accounts.models import Team, User
from kit.compiled_sql import compiled_instances
from oversight import selectors

# What the board's "By practitioner" rows read of a practitioner (`board_rows.people_rows_markup`).
PRACTITIONER_COLUMNS = ("id", "username", "first_name", "last_name", "team_id")
_STAND_IN = -7_105_994_500


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


def team_practitioners(team_id: int) -> list[User]:
    """`selectors.caseloads_of_teams([team_id])`'s practitioners, in its order, with `caseload`,
    `capacity` and `last_supervised_on`; of each user only `PRACTITIONER_COLUMNS` (a deferred field
    read later is a query of its own)."""

    def build(team_id):
        return selectors.caseloads(team_ids=[team_id]).select_related(None).only(*PRACTITIONER_COLUMNS)

    stand_ins = ((_STAND_IN,), (_STAND_IN - 1,))  # one `team_id IN (%s)` parameter, as `caseloads_of_teams`
    return compiled_instances(("board practitioners",), build, stand_ins, (team_id,), using=router.db_for_read(User))
