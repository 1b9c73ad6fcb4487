"""Benchmark the alert job (`deadlines.alerts.alerts_raise`) over many open deadlines.

    DEBUG=true DATABASE_URL=postgresql://... REDIS_URL=redis://... \\
        python benchmarks/alerts_benchmark.py --open 1000000 --crossed 10000 [--cleanup]

1. Inserts `--open` open deadlines with COPY (on a handful of contacts of one benchmark
   family and team), none past a limit still waiting for its alert; a share of them long
   overdue and already alerted, as a live service has.
2. Times `alerts_raise` with nothing to do (the common case: every few minutes, all day) and
   prints EXPLAIN ANALYZE of its detection statement.
3. Adds `--crossed` deadlines that have just passed their maximum, prints the plan again and
   times the run that alerts them (rows/s).

Rows are marked with the rulebook slug "benchmark"; `--cleanup` deletes them and the fixtures
at the end (with `--open 0`, it only cleans up). Note that `alerts_raise` works on the whole
table: on a database with real clocks it alerts them too, as the beat job would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

SLUG = "benchmark"
TEAM_NAME = "Benchmark team (alerts_benchmark.py)"
LEAD_USERNAME = "benchmark-team-leader"
FAMILY_NAME = "Benchmark household (alerts_benchmark.py)"
CONTACTS = 5
COLUMNS = (
    "rulebook",
    "rule_id",
    "title",
    "contact_id",
    "family_id",
    "team_id",
    "cycle",
    "started_at",
    "expected_at",
    "due_at",
    "stop_reason",
    "flag_only",
    "overdue_alerted_at",
    "breach_alerted_at",
)


def _setup_django() -> None:
    import django
    from django.apps import apps

    if apps.ready:
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    django.setup()


def _fixtures():
    from django.contrib.auth.models import Group

    from accounts import roles
    from accounts.models import Service, Team, User
    from cases.models import Contact, Family

    service, _ = Service.objects.get_or_create(name="Benchmark service (alerts_benchmark.py)")
    team, _ = Team.objects.get_or_create(name=TEAM_NAME, defaults={"service": service})
    lead, _ = User.objects.get_or_create(
        username=LEAD_USERNAME, defaults={"team": team, "email": "benchmark-lead@example.invalid"}
    )
    if lead.team_id != team.pk or not lead.is_active:
        lead.team, lead.is_active = team, True
        lead.save(update_fields=["team", "is_active"])
    lead.groups.add(Group.objects.get_or_create(name=roles.TEAM_LEADER)[0])
    family, _ = Family.objects.get_or_create(name=FAMILY_NAME)
    contacts = list(Contact.objects.filter(family=family))
    from django.utils import timezone

    while len(contacts) < CONTACTS:
        contacts.append(
            Contact.objects.create(
                family=family, received_at=timezone.now(), route="email", source="2A", presenting_needs="benchmark"
            )
        )
    return team, family, [c.pk for c in contacts]


def _copy_rows(rows) -> int:
    from django.db import connection

    from deadlines.models import Deadline

    table = connection.ops.quote_name(Deadline._meta.db_table)
    count = 0
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _rows(*, start: int, n: int, team, family, contacts, now, crossed: bool, alerted_every: int):
    """Deadline rows for COPY. Rule ids are unique per row: one open clock per rule and contact."""
    for i in range(start, start + n):
        contact = contacts[i % len(contacts)]
        started = now - timedelta(minutes=i % 20_000)
        if crossed:
            # Overdue long ago (alerted then), breached in the last few minutes.
            expected, due = now - timedelta(days=1), now - timedelta(seconds=1 + i % 600)
            overdue_at, breach_at = now - timedelta(days=1), None
        elif alerted_every and i % alerted_every == 0:
            # Long past both limits and already alerted: the job must not even look at these.
            expected, due = now - timedelta(days=3), now - timedelta(days=1)
            overdue_at, breach_at = now - timedelta(days=3), now - timedelta(days=1)
        else:
            expected = now + timedelta(hours=1 + i % 500)
            due, overdue_at, breach_at = expected + timedelta(days=2), None, None
        yield (
            SLUG, f"BM{i}", "Benchmark clock", contact, family.pk, team.pk, 1,
            started, expected, due, "", False, overdue_at, breach_at,
        )  # fmt: skip


def _explain(level: str, now) -> str:
    """EXPLAIN ANALYZE of one claim statement, rolled back so it changes nothing."""
    from django.db import connection, transaction

    from deadlines.alerts import detection_sql

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + detection_sql(level), {"now": now, "batch": 1000})
        plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deadlines_deadline")


def _sizes() -> dict[str, str]:
    from django.db import connection

    names = ["deadlines_deadline", "deadline_overdue_pending", "deadline_breach_pending", "deadline_open_due"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_relation_size(oid)) FROM pg_class WHERE relname = ANY(%s)", [names]
        )
        return dict(cursor.fetchall())


def cleanup() -> int:
    """Delete everything the benchmark inserted; returns the number of deadlines removed."""
    from django.db import connection, transaction

    from accounts.models import Service, Team, User
    from cases.models import Family

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM deadlines_alert WHERE deadline_id IN (SELECT id FROM deadlines_deadline WHERE rulebook = %s)",
            [SLUG],
        )
        cursor.execute("DELETE FROM deadlines_deadline WHERE rulebook = %s", [SLUG])
        removed = cursor.rowcount
        Family.objects.filter(name=FAMILY_NAME).delete()
        # A staff account's role history is append-only evidence (accounts.RoleChange): the account
        # stays, switched off and out of the team, and is taken up again by the next run.
        User.objects.filter(username=LEAD_USERNAME).update(is_active=False, team=None)
        Team.objects.filter(name=TEAM_NAME).delete()
        Service.objects.filter(name="Benchmark service (alerts_benchmark.py)").delete()
    return removed


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1_000_000, help="open deadlines to insert (default 1,000,000)")
    parser.add_argument("--crossed", type=int, default=10_000, help="deadlines that just crossed a limit")
    parser.add_argument(
        "--alerted-share", type=float, default=0.1, help="share of open rows long past and already alerted"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed no-change runs (median reported)")
    parser.add_argument("--cleanup", action="store_true", help="delete the benchmark rows at the end")
    args = parser.parse_args(argv)
    _setup_django()

    from django.utils import timezone

    from deadlines.alerts import alerts_raise
    from deadlines.models import Alert

    result: dict = {"open": args.open, "crossed": args.crossed}
    previous = cleanup()
    if previous:
        print(f"Removed {previous:,} deadlines left by an earlier run.")
    if args.open <= 0:
        return result

    team, family, contacts = _fixtures()
    now = timezone.now()
    alerted_every = round(1 / args.alerted_share) if args.alerted_share > 0 else 0
    # Let anything real that is already due be alerted first, so the timings are ours alone.
    alerts_raise(now=now)

    background = args.open - args.crossed
    started = time.perf_counter()
    inserted = _copy_rows(
        _rows(
            start=0, n=background, team=team, family=family, contacts=contacts, now=now,
            crossed=False, alerted_every=alerted_every,
        )
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    _analyze()
    print(f"Inserted {inserted:,} open deadlines in {elapsed:.1f} s ({inserted / elapsed:,.0f} rows/s) with COPY.")
    result["insert_rows_per_s"] = inserted / elapsed

    # 1. Nothing to do: the run every few minutes, all day long.
    timings = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        raised = alerts_raise(now=now)
        timings.append(time.perf_counter() - t)
        assert raised == 0, f"expected nothing to alert, raised {raised}"
    result["no_change_ms"] = statistics.median(timings) * 1000
    result["no_change_raised"] = 0
    print(f"\nNo-change run over {args.open - args.crossed:,} open deadlines: median {result['no_change_ms']:.2f} ms")
    for level in ("overdue", "breached"):
        plan = _explain(level, now)
        result[f"no_change_plan_{level}"] = plan
        print(f"\nEXPLAIN ANALYZE, {level} claim, nothing to do:\n{plan}")

    # 2. K deadlines have just crossed their maximum.
    _copy_rows(
        _rows(
            start=background, n=args.crossed, team=team, family=family, contacts=contacts, now=now,
            crossed=True, alerted_every=0,
        )
    )  # fmt: skip
    _analyze()
    plan = _explain("breached", now)
    result["crossed_plan"] = plan
    print(f"\nEXPLAIN ANALYZE, breached claim, first batch of {min(args.crossed, 1000):,}:\n{plan}")
    alerts_before = Alert.objects.count()
    t = time.perf_counter()
    raised = alerts_raise(now=now)
    elapsed = time.perf_counter() - t
    result.update(
        crossed_raised=raised,
        crossed_s=elapsed,
        crossed_rows_per_s=raised / elapsed if elapsed else float("inf"),
        alerts_created=Alert.objects.count() - alerts_before,
    )
    print(
        f"\nRun with {args.crossed:,} just crossed: raised {raised:,} in {elapsed:.2f} s "
        f"({result['crossed_rows_per_s']:,.0f} deadlines/s, {result['alerts_created']:,} alert rows)"
    )
    result["sizes"] = _sizes()
    print("\nSizes:", ", ".join(f"{k} {v}" for k, v in sorted(result["sizes"].items())))

    if args.cleanup:
        print(f"\nCleanup: removed {cleanup():,} benchmark deadlines.")
    return result


if __name__ == "__main__":
    main()
