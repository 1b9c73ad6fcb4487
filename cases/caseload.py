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

from accounts import roles
from accounts.models import User

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

# --- Bands of caseload against capacity (ADR 68) ----------------------------------------------------
# Each active practitioner of a team, with the band their open cases put them in against capacity
# (as `oversight.selectors.capacity_expression` and `caseload_band` say them); the truth of the
# band columns of `cases_caseload` and of `cases_caseloadband`, which the triggers of migration
# `cases.0023_caseload_bands` keep.
_CAPACITY = " ".join(f"WHEN '{pattern}' THEN {n}" for pattern, n in User.DEFAULT_CAPACITY.items())
_FULL_TIME = User.DEFAULT_CAPACITY[User.WorkingPattern.FULL_TIME]
BAND_TRUTH_SQL = f"""
SELECT id, team_id, service_id,
       CASE WHEN cap <= 0 THEN (CASE WHEN n_open > 0 THEN 'over' ELSE 'at' END)
            WHEN n_open > cap THEN 'over' WHEN n_open = cap THEN 'at'
            WHEN n_open * 5 >= cap * 4 THEN 'near' WHEN n_open * 2 >= cap THEN 'half' ELSE 'under_half' END AS band
  FROM (SELECT u.id, u.team_id::int AS team_id, t.service_id::int AS service_id, COALESCE(c.open_cases, 0) AS n_open,
               COALESCE(u.caseload_capacity_override,
                        CASE u.working_pattern {_CAPACITY} ELSE {_FULL_TIME} END)
                 AS cap
          FROM accounts_user u JOIN accounts_team t ON t.id = u.team_id
          LEFT JOIN cases_caseload c ON c.lead_professional_id = u.id
         WHERE u.is_active AND u.partner_organisation_id IS NULL
           AND EXISTS (SELECT 1 FROM accounts_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                        WHERE ug.user_id = u.id AND g.name = '{roles.PRACTITIONER}')) p
"""  # noqa: S608 (constants only)

# The users whose stored band, team or service differs from the truth ("" stored: not counted).
BAND_DRIFT_SQL = f"""
SELECT COALESCE(c.lead_professional_id, w.id), c.band, w.band
  FROM (SELECT * FROM cases_caseload WHERE COALESCE(band, '') <> '') c
  FULL JOIN ({BAND_TRUTH_SQL}) w ON w.id = c.lead_professional_id
 WHERE c.band IS DISTINCT FROM w.band OR c.band_team_id IS DISTINCT FROM w.team_id
    OR c.band_service_id IS DISTINCT FROM w.service_id
 ORDER BY 1
"""  # noqa: S608

BAND_COUNTS_SQL = f"""
SELECT service_id, COALESCE(team_id, 0), band, count(*) FROM ({BAND_TRUTH_SQL}) w
 GROUP BY GROUPING SETS ((service_id, team_id, band), (service_id, band))
"""  # noqa: S608

BAND_COUNTS_DRIFT_SQL = f"""
SELECT COALESCE(b.service_id, w.s), COALESCE(b.team_id, w.t), COALESCE(b.band, w.band), b.practitioners, w.n
  FROM (SELECT * FROM cases_caseloadband WHERE practitioners <> 0) b
  FULL JOIN ({BAND_COUNTS_SQL}) w (s, t, band, n) ON w.s = b.service_id AND w.t = b.team_id AND w.band = b.band
 WHERE COALESCE(b.practitioners, 0) <> COALESCE(w.n, 0)
 ORDER BY 1, 2, 3
"""  # noqa: S608

BAND_REWRITE_SQL = [
    "UPDATE cases_caseload SET band = '', band_team_id = NULL, band_service_id = NULL",
    f"""INSERT INTO cases_caseload AS c (lead_professional_id, open_cases, band, band_team_id, band_service_id)
        SELECT id, 0, band, team_id, service_id FROM ({BAND_TRUTH_SQL}) w
        ON CONFLICT (lead_professional_id) DO UPDATE SET band = EXCLUDED.band,
           band_team_id = EXCLUDED.band_team_id, band_service_id = EXCLUDED.band_service_id""",  # noqa: S608
    "DELETE FROM cases_caseloadband",
    f"INSERT INTO cases_caseloadband (service_id, team_id, band, practitioners) {BAND_COUNTS_SQL}",  # noqa: S608
]

# Writers hold ROW EXCLUSIVE on the table from their first moved count to their commit; SHARE waits
# for all of them (and keeps new ones out) while the recount and the rewrite run.
LOCK_SQL = "LOCK TABLE cases_caseload IN SHARE MODE"


@dataclass
class Reconciled:
    drift: list[str] = field(default_factory=list)
    repaired: int = 0


def band_drift() -> list[str]:
    """Every practitioner whose stored band differs from the truth, and every band count that differs."""
    out = []
    with connection.cursor() as cursor:
        cursor.execute(BAND_DRIFT_SQL)
        for pk, stored, truth in cursor.fetchall():
            out.append(f"caseload band of user {pk}: stored {stored or 'none'}, worked out {truth or 'none'}")
        cursor.execute(BAND_COUNTS_DRIFT_SQL)
        for service, team, band, stored, counted in cursor.fetchall():
            out.append(
                f"practitioners in band {band} of service {service} team {team}: stored {stored}, counted {counted}"
            )
    return out


def band_rewrite() -> None:
    """Every band and band count from the truth, under the caseloads' lock (writers wait)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL)
        for sql in BAND_REWRITE_SQL:
            cursor.execute(sql)


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
    # The bands after the counts (a repaired count moves its band through the trigger).
    bands = band_drift()
    result.drift.extend(bands)
    if repair and bands:
        band_rewrite()
        result.repaired += len(bands)
    return result
