"""Each lead professional's open caseload, kept as the work happens (ADR 62).

`cases.Caseload` holds one row per lead professional: how many of their episodes are not closed.
A trigger on `cases_episode` (`cases_episode_caseload`, installed by migration `cases.0022_caseload`) moves
the counts in the writer's own transaction on every insert and delete, and on every update of
`state` or `lead_professional_id`, so no writer can forget it (the ORM, queryset `update()`, raw
SQL, the import's and the generator's COPY). A reallocation from one practitioner to another moves
both rows in one statement, in the order of their ids, so two opposite reallocations lock them in
the same order.

`RECOUNT_SQL` is the truth (what `oversight.selectors.caseloads` counted on read before ADR 62).
`reconcile` compares the rows with it (only the differences come back) and repairs them under a
lock that waits for every transaction that has moved a count and not yet committed, so a write
committed meanwhile is never overwritten with an older recount. `rebuild` rewrites every row
(the generator, after its COPY).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction

CLOSED = "closed"

RECOUNT_SQL = f"""
SELECT lead_professional_id, count(*) AS n
  FROM cases_episode
 WHERE state <> '{CLOSED}' AND lead_professional_id IS NOT NULL
 GROUP BY lead_professional_id
"""  # noqa: S608 (constants only)

DRIFT_SQL = f"""
SELECT COALESCE(c.lead_professional_id, t.lead_professional_id), c.open_cases, COALESCE(t.n, 0)
  FROM cases_caseload c
  FULL JOIN ({RECOUNT_SQL}) t ON t.lead_professional_id = c.lead_professional_id
 WHERE COALESCE(c.open_cases, 0) <> COALESCE(t.n, 0)
 ORDER BY 1
"""  # noqa: S608

# Every row to the recount: the leads with open cases, and zero for the rows of those with none.
REWRITE_SQL = f"""
WITH t AS ({RECOUNT_SQL}),
     fixed AS (
        INSERT INTO cases_caseload AS c (lead_professional_id, open_cases)
        SELECT lead_professional_id, n FROM t
        ON CONFLICT (lead_professional_id) DO UPDATE SET open_cases = EXCLUDED.open_cases
        WHERE c.open_cases <> EXCLUDED.open_cases
        RETURNING 1
     ),
     emptied AS (
        UPDATE cases_caseload c SET open_cases = 0
         WHERE c.open_cases <> 0 AND NOT EXISTS (SELECT 1 FROM t WHERE t.lead_professional_id = c.lead_professional_id)
        RETURNING 1
     )
SELECT (SELECT count(*) FROM fixed) + (SELECT count(*) FROM emptied)
"""  # noqa: S608

# Writers hold ROW EXCLUSIVE on the table from their first moved count to their commit; SHARE waits
# for all of them (and keeps new ones out) while the recount and the rewrite run.
LOCK_SQL = "LOCK TABLE cases_caseload IN SHARE MODE"


@dataclass
class Reconciled:
    drift: list[str] = field(default_factory=list)
    repaired: int = 0


def drift() -> list[tuple[int, int | None, int]]:
    """(lead professional id, stored open cases or None, recounted) for every row that differs."""
    with connection.cursor() as cursor:
        cursor.execute(DRIFT_SQL)
        return [tuple(row) for row in cursor.fetchall()]


def rewrite() -> int:
    """Lock the table, recount and rewrite the rows that differ; how many were rewritten."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL)
        cursor.execute(REWRITE_SQL)
        return cursor.fetchone()[0]


def rebuild() -> int:
    """Every row from a recount (the generator, after its COPY); the rows changed."""
    return rewrite()


def reconcile(*, repair: bool = True) -> Reconciled:
    """Compare every caseload row with a recount and, with `repair`, rewrite them under the lock."""
    found = drift()
    result = Reconciled(
        drift=[f"caseload of user {pk}: stored {stored}, recounted {counted}" for pk, stored, counted in found]
    )
    if repair and found:
        result.repaired = rewrite()
    return result
