"""What the team board reads of each case, kept on the episode as the work happens (ADR 56).

`Episode.risk_level` is the highest level of the nine risk indicators from three sources: the
contact the episode was opened from, any contact about the family received since the episode
opened, and the episode's assessment. `Episode.high_risks` names the indicators at the high level
(codes, sorted, comma-separated). `Episode.last_decision_at` is the latest Managers Decision.

`_truth_sql` is the truth (what the board computed on read before ADR 56, `with_risk` and the
latest decision). `refresh` rewrites the stored values of some episodes from it, in the caller's
transaction: every service that records a contact for a family, an assessment's risks or a Managers
Decision, opens an episode, or writes such records past the ORM (the import's COPY, the generator)
calls it. `drift` compares every episode with the truth and `reconcile` repairs what differs
(`manage.py reconcile_board_fields`, and a beat entry), like the clock counts (ADR 41).

Not in history: derived from recorded facts, like `cases.FamilyReach`. `Episode.save` never writes
them back from an instance read before they changed (see `Episode.save`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection

from cases import caseload

# One namespace for the advisory locks that serialise two refreshes of the same family's episodes.
LOCK_NAMESPACE = 0x5C0F

FIELDS = ("risk_level", "high_risks", "last_decision_at")
HIGH = 3


def _decision_table() -> str | None:
    """The Managers Decisions' table. The oversight app sits above this one: read through the app
    registry (as the generator does), never imported."""
    try:
        return apps.get_model("oversight", "ManagersDecision")._meta.db_table
    except LookupError:
        return None


def _truth_sql(where: str) -> str:
    decisions = _decision_table()
    last_decision = (
        f"(SELECT max(d.recorded_at) FROM {decisions} d WHERE d.episode_id = e.id)"  # noqa: S608
        if decisions
        else "NULL::timestamptz"
    )
    # The three sources of risk, each one index probe per episode (as `with_risk` was).
    sources = """
        SELECT r.indicator, r.level FROM cases_riskindicator r WHERE r.contact_id = e.contact_id
        UNION ALL
        SELECT r.indicator, r.level FROM cases_riskindicator r JOIN cases_contact c ON c.id = r.contact_id
         WHERE c.family_id = e.family_id AND c.received_at >= e.opened_at
        UNION ALL
        SELECT r.indicator, r.level FROM cases_assessmentrisk r JOIN cases_assessment a ON a.id = r.assessment_id
         WHERE a.episode_id = e.id
    """
    return f"""
        SELECT e.id,
               COALESCE((SELECT max(s.level) FROM ({sources}) s), 0) AS risk_level,
               COALESCE((SELECT string_agg(DISTINCT s.indicator, ',' ORDER BY s.indicator) FROM ({sources}) s
                          WHERE s.level = {HIGH}), '') AS high_risks,
               {last_decision} AS last_decision_at
          FROM cases_episode e
         WHERE {where}
    """  # noqa: S608 (constants only; the ids are parameters)


def truth(episode_ids: Iterable[int] | None = None) -> dict[int, tuple]:
    """{episode id: (risk_level, high_risks, last_decision_at)} from the records (every episode when None)."""
    with connection.cursor() as cursor:
        if episode_ids is None:
            cursor.execute(_truth_sql("TRUE"))
        else:
            cursor.execute(_truth_sql("e.id = ANY(%s::bigint[])"), [sorted(set(episode_ids))])
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def stored(episode_ids: Iterable[int] | None = None) -> dict[int, tuple]:
    """{episode id: (risk_level, high_risks, last_decision_at)} as stored (every episode when None)."""
    sql = "SELECT id, risk_level, high_risks, last_decision_at FROM cases_episode"
    with connection.cursor() as cursor:
        if episode_ids is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql + " WHERE id = ANY(%s::bigint[])", [sorted(set(episode_ids))])
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def _update_sql(where: str) -> str:
    return f"""
        WITH t AS ({_truth_sql(where)})
        UPDATE cases_episode e
           SET risk_level = t.risk_level, high_risks = t.high_risks, last_decision_at = t.last_decision_at
          FROM t
         WHERE e.id = t.id
           AND (e.risk_level, e.high_risks, e.last_decision_at)
               IS DISTINCT FROM (t.risk_level, t.high_risks, t.last_decision_at)
    """  # noqa: S608


# The episodes a refresh rewrites: those named, and every episode of the families named.
WHICH = "(e.id = ANY(%s::bigint[]) OR e.family_id = ANY(%s::bigint[]))"

LOCK_SQL = (
    "SELECT pg_advisory_xact_lock(%s, (f %% 2147483647)::int) FROM ("  # noqa: S608 (constants only)
    f" SELECT DISTINCT family_id AS f FROM cases_episode e WHERE {WHICH}"
    ") x ORDER BY f"
)


def refresh(*, episode_ids: Iterable[int] = (), family_ids: Iterable[int] = ()) -> int:
    """Rewrite the stored values of these episodes and of every episode of these families from the
    records, in the caller's transaction; the number of episodes changed.

    Two statements, like `cases.reach.refresh`: advisory locks on the families (so two transactions
    changing the same family refresh one after the other, the second from what the first committed),
    then one UPDATE of the rows whose values differ.
    """
    episodes = sorted({int(pk) for pk in episode_ids if pk is not None})
    families = sorted({int(pk) for pk in family_ids if pk is not None})
    if not episodes and not families:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, [LOCK_NAMESPACE, episodes, families])
        cursor.execute(_update_sql(WHICH), [episodes, families])
        return cursor.rowcount


def rebuild() -> int:
    """Rewrite every episode's values (the migration's backfill, the generator); the rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(_update_sql("TRUE"))
        return cursor.rowcount


@dataclass
class Reconciled:
    checked: int = 0
    drift: list[str] = field(default_factory=list)
    repaired: int = 0
    caseloads_repaired: int = 0


def reconcile(*, repair: bool = True) -> Reconciled:
    """Compare every episode's stored values, and every lead professional's caseload (`cases.caseload`),
    with a recount (in SQL: only the differences come back); repair them (through `refresh`, under
    the family locks, or `cases.caseload`'s table lock, so a write committed meanwhile is not
    overwritten with an older recount) and describe each difference."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_episode")
        checked = cursor.fetchone()[0]
        cursor.execute(
            f"""WITH t AS ({_truth_sql("TRUE")})
            SELECT e.id, e.risk_level, e.high_risks, e.last_decision_at, t.risk_level, t.high_risks, t.last_decision_at
              FROM cases_episode e JOIN t ON t.id = e.id
             WHERE (e.risk_level, e.high_risks, e.last_decision_at)
                   IS DISTINCT FROM (t.risk_level, t.high_risks, t.last_decision_at)
             ORDER BY e.id"""  # noqa: S608
        )
        rows = cursor.fetchall()
    result = Reconciled(checked=checked)
    for pk, *values in rows:
        result.drift.append(f"episode {pk}: stored {tuple(values[:3])}, recounted {tuple(values[3:])}")
    if repair and rows:
        result.repaired = refresh(episode_ids=[row[0] for row in rows])
    # And each lead professional's open caseload, kept by the episodes' trigger (ADR 62).
    caseloads = caseload.reconcile(repair=repair)
    result.drift.extend(caseloads.drift)
    result.caseloads_repaired = caseloads.repaired
    return result
