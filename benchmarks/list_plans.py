"""Every query of the list and dashboard pages, EXPLAINed: what grows with the data.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_bench200k REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python benchmarks/list_plans.py [--page NAME ...] [--verbose] [--json out.json]

As the users `benchmarks/load.py` chooses (the busiest practitioner, their team leader, the first MASH
officer and manager), it requests each page once in this process (after a warm-up), captures its
queries with their parameters and runs EXPLAIN (ANALYZE, BUFFERS) on each SELECT. Per page it prints
the queries, their summed execution time and buffers (shared hit + read: the work, which a busy
machine does not inflate), and per query its buffers, the rows its scans read and any sort of more
than `--sort-rows` rows (a list sorting every open row to show a page). Nothing is written but what the
pages write themselves (the access log, the session), so it may run against a read-only dataset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402 - after the path

PAGES = (
    "triage queue",
    "triage queue: page 2",
    "my cases",
    "my work",
    "pre-allocation list",
    "supervision list",
    "manager dashboard",
    "dashboard: breaches",
    "dashboard: by rule",
    "dashboard: by team",
    "dashboard: month by month",
)
# The home page of each role (not a page of load.py).
HOMES = ("mash", "practitioner", "team_leader", "manager")


def _walk(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _walk(child)


def explain(sql: str, params, *, sort_rows: int) -> dict:
    from django.db import connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0][0]
            transaction.set_rollback(True)
    except Exception as error:  # noqa: BLE001 - a plan we cannot get is reported, not fatal
        return {"ms": 0.0, "buffers": 0, "notes": [f"EXPLAIN failed: {error.__class__.__name__}"], "sql": sql}
    root = plan["Plan"]
    notes = []
    scanned = 0
    for node in _walk(root):
        loops = node.get("Actual Loops", 1) or 1
        rows = node.get("Actual Rows", 0) * loops
        kind = node["Node Type"]
        if "Scan" in kind:
            scanned += rows + node.get("Rows Removed by Filter", 0) * loops
        if kind in ("Sort", "Incremental Sort") and rows >= sort_rows:
            notes.append(f"{kind} of {rows:,} rows ({node.get('Sort Method', '')})")
        if kind == "Seq Scan" and rows + node.get("Rows Removed by Filter", 0) * loops >= sort_rows:
            notes.append(f"Seq Scan on {node.get('Relation Name')} ({rows:,} kept)")
        if kind == "Aggregate" and rows == 1 and node.get("Plans"):
            child = node["Plans"][0]
            read = child.get("Actual Rows", 0) * (child.get("Actual Loops", 1) or 1)
            if read >= sort_rows:
                notes.append(f"Aggregate over {read:,} rows")
    return {
        "ms": round(plan["Execution Time"], 2),
        "buffers": root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0),
        "rows_scanned": scanned,
        "notes": notes,
        "sql": sql,
    }


def measure(names, *, sort_rows: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    users = load.choose_users()
    samples = load.sample_urls(users, n=1)
    pages = [p for p in load._pages() if p.name in names]
    load.resolve(pages, samples)
    targets = [(p.name, p.role, p.urls[0]) for p in pages if not p.skipped and p.urls]
    targets += [(f"home page: {role}", role, reverse("home")) for role in HOMES if f"home page: {role}" in names]
    clients = {}
    out = {}
    for name, role, url in targets:
        if role not in clients:
            clients[role] = Client(HTTP_HOST="127.0.0.1")
            clients[role].force_login(users[role])
        client = clients[role]
        client.get(url)  # warm up
        captured = []

        def wrapper(execute, sql, params, many, context, captured=captured):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                captured.append((time.perf_counter() - started, sql, params))

        cpu = time.process_time()
        with connection.execute_wrapper(wrapper):
            response = client.get(url)
        cpu = (time.process_time() - cpu) * 1000
        plans = [
            explain(sql, params, sort_rows=sort_rows)
            for _, sql, params in captured
            if sql.lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        out[name] = {
            "url": url,
            "status": response.status_code,
            "queries": len(captured),
            "cpu_ms": round(cpu, 1),
            "explain_ms": round(sum(p["ms"] for p in plans), 2),
            "buffers": sum(p["buffers"] for p in plans),
            "plans": plans,
        }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", action="append", default=[], help="only this page (repeatable)")
    parser.add_argument("--sort-rows", type=int, default=1000, help="report sorts and scans of this many rows")
    parser.add_argument("--verbose", action="store_true", help="each query's SQL (first 400 characters)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    load.setup_django("list-plans-not-a-secret")
    load.collectstatic(load.server_env(load.database_url(), "list-plans-not-a-secret"))
    names = args.page or [*PAGES, *(f"home page: {role}" for role in HOMES)]
    result = measure(names, sort_rows=args.sort_rows)
    print("| page | status | queries | EXPLAIN ms | buffers | CPU ms |")
    print("|---|---|---:|---:|---:|---:|")
    for name, p in result.items():
        print(f"| {name} | {p['status']} | {p['queries']} | {p['explain_ms']} | {p['buffers']:,} | {p['cpu_ms']} |")
    for name, p in result.items():
        print(f"\n{name}:")
        for plan in sorted(p["plans"], key=lambda x: -x["buffers"]):
            notes = "; ".join(plan["notes"])
            print(f"  {plan['ms']:8.2f} ms {plan['buffers']:8,} buf {plan['rows_scanned']:9,} scanned  {notes}")
            if args.verbose:
                print("      " + plan["sql"][:400].replace("\n", " "))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
