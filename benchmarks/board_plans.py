"""What the team board, its lists, the dashboard and its drill-downs cost, query by query.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/earlyhelp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/board_plans.py [--runs 5] [--explain] [--json out.json]

In this process (Django test client, settings as `benchmarks/load.py` sets them), for the team leader
of the busiest practitioner and the first manager of a generated dataset, it requests each page
`--runs` times (after one warm-up) and reports per page the median wall time, the time in SQL, the
number of queries, the rows of the summary tables read, and with `--explain` each query of the last
run with its EXPLAIN ANALYZE execution time, rows and buffers touched (shared and local: the work, which a busy
machine does not inflate), slowest first. Nothing is written but what the
pages write themselves (the access log and the signed-in session): it chooses its users without
changing them, so it may run against a dataset that others use read-only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "board-plans-not-a-secret")
    for key, value in {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_POOL": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "TWO_FACTOR_REQUIRED": "none",
        "AXES_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }.items():
        os.environ[key] = value
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django

    django.setup()


def users() -> dict:
    """The team leader of the busiest practitioner and the first manager, chosen as load.py chooses them."""
    from django.db.models import Count, Q

    from accounts import roles
    from accounts.models import User
    from cases.models import Episode

    practitioner = (
        User.objects.filter(groups__name=roles.PRACTITIONER, is_active=True)
        .annotate(open_cases=Count("lead_episodes", filter=~Q(lead_episodes__state=Episode.State.CLOSED)))
        .order_by("-open_cases", "pk")
        .first()
    )
    lead = (
        User.objects.filter(groups__name=roles.TEAM_LEADER, is_active=True, team_id=practitioner.team_id)
        .order_by("pk")
        .first()
    )
    manager = User.objects.filter(groups__name=roles.MANAGER, is_active=True).order_by("pk").first()
    return {"team_leader": lead, "manager": manager}


def pages() -> list[tuple[str, str, str]]:
    from django.urls import reverse

    board, lists = reverse("oversight:team_board"), reverse("oversight:team_board_list")
    return [
        ("team board", "team_leader", board),
        ("team board, manager", "manager", board),
        ("board list: timescales", "team_leader", f"{lists}?list=timescales"),
        ("board list: timescales, page 3", "team_leader", f"{lists}?list=timescales&page=3"),
        ("board list: breached", "team_leader", f"{lists}?list=timescales&status=breached"),
        ("board list: long-open", "team_leader", f"{lists}?list=long-open"),
        ("board list: no-oversight", "team_leader", f"{lists}?list=no-oversight"),
        ("board list: high-risk", "team_leader", f"{lists}?list=high-risk"),
        ("board list: unrecorded-visits", "team_leader", f"{lists}?list=unrecorded-visits"),
        ("board list: escalations", "team_leader", f"{lists}?list=escalations"),
        ("dashboard", "manager", reverse("oversight:dashboard")),
        ("dashboard: by rule", "manager", reverse("oversight:dashboard_rules")),
        ("dashboard: by team", "manager", reverse("oversight:dashboard_teams")),
        ("dashboard: month by month", "manager", reverse("oversight:dashboard_months")),
        ("dashboard: caseloads", "manager", reverse("oversight:dashboard_caseloads")),
        ("dashboard: caseloads, page 2", "manager", reverse("oversight:dashboard_caseloads") + "?page=2"),
        ("dashboard: breaches", "manager", reverse("oversight:dashboard_breaches")),
    ]


def rows_scanned(node: dict) -> int:
    """Rows the plan's scans returned (actual rows x loops, every scan node), summed."""
    here = node.get("Actual Rows", 0) * node.get("Actual Loops", 1) if "Scan" in node["Node Type"] else 0
    return here + sum(rows_scanned(child) for child in node.get("Plans", []))


def explain(sql: str, params) -> tuple[float, str, int, int]:
    """Execution time (ms), the plan's top node and rows, the buffers it touched (shared and local, hit +
    read: the work done, which a busy machine does not inflate) and the rows its scans returned."""
    from django.db import connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
            transaction.set_rollback(True)
    except Exception as error:  # noqa: BLE001 - a plan we cannot get is reported, not fatal
        return 0.0, f"EXPLAIN failed: {error.__class__.__name__}", 0, 0
    root = plan["Plan"]
    buffers = sum(root.get(f"{kind} {how} Blocks", 0) for kind in ("Shared", "Local") for how in ("Hit", "Read"))
    shape = f"{root['Node Type']}, {root.get('Actual Rows', 0)} rows"
    return plan["Execution Time"], shape, buffers, rows_scanned(root)


def measure(*, runs: int, with_plans: bool) -> dict:
    from django.db import connection
    from django.test import Client

    chosen = users()
    clients = {}
    for role, user in chosen.items():
        clients[role] = Client(HTTP_HOST="127.0.0.1")
        clients[role].force_login(user)
    out = {}
    for name, role, url in pages():
        client = clients[role]
        client.get(url)  # warm up (the first request of a session also saves it)
        walls, cpus, sqls, counts, statuses = [], [], [], [], []
        last: list[tuple[float, str, object]] = []
        for _ in range(runs):
            captured: list[tuple[float, str, object]] = []

            def wrapper(execute, sql, params, many, context, captured=captured):
                t = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    captured.append((time.perf_counter() - t, sql, params))

            started, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(wrapper):
                response = client.get(url)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            sqls.append(sum(c[0] for c in captured) * 1000)
            counts.append(len(captured))
            statuses.append(response.status_code)
            last = captured
        entry = {
            "url": url,
            "role": role,
            "status": sorted(set(statuses)),
            "wall_ms": round(statistics.median(walls), 1),
            "sql_ms": round(statistics.median(sqls), 1),
            "cpu_ms": round(statistics.median(cpus), 1),
            "queries": sorted(set(counts)),
        }
        if with_plans:
            plans = []
            for _, sql, params in last:
                if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                    ms, shape, buffers, scanned = explain(sql, params)
                    plans.append(
                        {"ms": round(ms, 2), "shape": shape, "buffers": buffers, "rows": scanned, "sql": sql[:300]}
                    )
            entry["plans"] = sorted(plans, key=lambda p: -p["ms"])
            entry["explain_ms"] = round(sum(p["ms"] for p in plans), 1)
            entry["buffers"] = sum(p["buffers"] for p in plans)
            entry["rows_scanned"] = sum(p["rows"] for p in plans)
        out[name] = entry
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each query of the last run")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="with --explain: the four slowest queries of each page")
    parser.add_argument(
        "--overlay-caseloads",
        action="store_true",
        help="for a shared dataset migrated before cases.0022: the caseload rows (ADR 62) as a TEMP table of "
        "this session, filled from a recount (nothing is written to the dataset; one connection is kept open)",
    )
    parser.add_argument(
        "--overlay-service-counts",
        action="store_true",
        help="for a shared dataset migrated before deadlines.0013: each service's clock summary rows (ADR 68) "
        "as TEMP tables of this session, summed from the teams' rows (nothing is written to the dataset)",
    )
    parser.add_argument(
        "--overlay-caseload-bands",
        action="store_true",
        help="for a shared dataset migrated before cases.0023: the practitioners per band of caseload (ADR 68) "
        "as a TEMP table of this session, worked out from the users and caseload rows (nothing is written)",
    )
    args = parser.parse_args(argv)
    setup()
    from django.db import connection

    if args.overlay_caseloads:
        from cases.caseload import RECOUNT_SQL

        connection.settings_dict["CONN_MAX_AGE"] = None  # one connection: the TEMP table lives in it
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE cases_caseload (lead_professional_id bigint PRIMARY KEY, open_cases int NOT NULL)"
            )
            cursor.execute(f"INSERT INTO cases_caseload {RECOUNT_SQL}")  # noqa: S608 (a constant)
            cursor.execute("ANALYZE cases_caseload")

    if args.overlay_service_counts:
        from deadlines.counts import SERVICE_OPEN_SUM, SERVICE_TIMELY_SUM, TIMELINESS_MEASURES

        connection.settings_dict["CONN_MAX_AGE"] = None  # one connection: the TEMP tables live in it
        measures = ", ".join(f"{m} int NOT NULL" for m in TIMELINESS_MEASURES)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE deadlines_serviceclockcount (id bigserial PRIMARY KEY, service_id int NOT NULL, "
                "rule_id varchar(20) NOT NULL, status varchar(10) NOT NULL, day date, n int NOT NULL, "
                "CONSTRAINT service_clock_count_key UNIQUE NULLS NOT DISTINCT (service_id, rule_id, status, day))"
            )
            cursor.execute(
                "CREATE TEMP TABLE deadlines_servicetimeliness (id bigserial PRIMARY KEY, service_id int NOT NULL, "
                f"rule_id varchar(20) NOT NULL, month date NOT NULL, {measures}, "
                "CONSTRAINT service_timeliness_key UNIQUE (service_id, rule_id, month))"
            )
            cursor.execute(
                f"INSERT INTO deadlines_serviceclockcount (service_id, rule_id, status, day, n) {SERVICE_OPEN_SUM}"  # noqa: S608
            )
            columns = ", ".join(TIMELINESS_MEASURES)
            cursor.execute(
                f"INSERT INTO deadlines_servicetimeliness (service_id, rule_id, month, {columns}) {SERVICE_TIMELY_SUM}"  # noqa: S608
            )
            cursor.execute("ANALYZE deadlines_serviceclockcount; ANALYZE deadlines_servicetimeliness")

    if args.overlay_caseload_bands:
        from cases.caseload import BAND_COUNTS_SQL

        connection.settings_dict["CONN_MAX_AGE"] = None  # one connection: the TEMP table lives in it
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE cases_caseloadband (id bigserial PRIMARY KEY, service_id int NOT NULL, "
                "team_id int NOT NULL, band varchar(10) NOT NULL, practitioners int NOT NULL, "
                "CONSTRAINT caseload_band_key UNIQUE (service_id, team_id, band))"
            )
            cursor.execute(
                f"INSERT INTO cases_caseloadband (service_id, team_id, band, practitioners) {BAND_COUNTS_SQL}"  # noqa: S608
            )
            cursor.execute("ANALYZE cases_caseloadband")

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_family")
        families = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM deadlines_deadline WHERE stopped_at IS NULL")
        open_clocks = cursor.fetchone()[0]
    pages_ = measure(runs=args.runs, with_plans=args.explain)
    result = {"families": families, "open_clocks": open_clocks, "pages": pages_}
    print(f"{families:,} families, {open_clocks:,} open clocks; median of {args.runs} requests, in-process")
    print()
    print("| page | wall ms | SQL ms | CPU ms | queries | EXPLAIN ms | buffers | rows scanned | status |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, p in result["pages"].items():
        queries = "/".join(map(str, p["queries"]))
        print(
            f"| {name} | {p['wall_ms']:.0f} | {p['sql_ms']:.0f} | {p['cpu_ms']:.0f} | {queries} | "
            f"{p.get('explain_ms', '')} | {p.get('buffers', '')} | {p.get('rows_scanned', '')} | {p['status']} |"
        )
    if args.verbose:
        for name, p in result["pages"].items():
            for plan in p.get("plans", [])[:4]:
                text = plan["sql"][:100]
                print(f"    {name}: {plan['ms']:.1f} ms, {plan['buffers']} buffers, {plan['shape']}: {text}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
