"""What every search of people and families costs, query by query, for each role that searches.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_bench200k REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/search_plans.py [--runs 3] [--verbose] [--json out.json]

Calls the real selectors (`cases.selectors.search_people` for a name of one and two words, a misspelt
surname, a common surname prefix, a date of birth, a postcode, an NHS number and a UPN;
`cases.selectors.find_matches`, the intake's duplicate check, by name, name and date of birth, and
postcode) as the front door (MASH officer), the busiest practitioner, their team leader and the first
manager, chosen as `benchmarks/load.py` chooses them. Reports per search and role the median wall time
of `--runs` calls, their SQL time and query count, and each query's EXPLAIN (ANALYZE, BUFFERS):
execution time, buffers touched (the work, which a busy machine does not inflate) and the tables read
by a sequential scan. The searched values are taken from the data (seeded), so the searches find people.
Nothing is written: it may run against a dataset that others use read-only.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from board_plans import setup  # noqa: E402


def searchers() -> dict:
    sys.path.insert(0, str(ROOT))
    from load import choose_users

    return choose_users()


def searches(seed: int = 8) -> list[tuple[str, str, dict]]:
    """(label, selector, arguments): values sampled from the people of the data."""
    import re

    from cases.models import Person

    rng = random.Random(seed)
    top = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    people = list(
        Person.objects.filter(pk__in=[rng.randint(1, top) for _ in range(200)])
        .exclude(date_of_birth=None)
        .order_by("pk")
        .prefetch_related("memberships__family")[:20]
    )
    p = people[0]
    typo = re.sub(r"[aeiou]", lambda x: "aeiou"[("aeiou".index(x.group()) + 1) % 5], p.last_name, count=1)
    postcode = next((m.family.postcode for q in people for m in q.memberships.all() if m.family.postcode), "")
    nhs = next((q.nhs_number for q in people if q.nhs_number), "") or "9434765919"
    upn = Person.objects.exclude(upn="").values_list("upn", flat=True).first() or "A123456789012"
    return [
        ("name: surname", "search", {"query": p.last_name}),
        ("name: first and surname", "search", {"query": f"{p.first_name} {p.last_name}"}),
        ("name: misspelt surname", "search", {"query": typo}),
        ("name: prefix 'Sm'", "search", {"query": "Sm"}),
        ("name: common prefix 'Co'", "search", {"query": "Co"}),
        ("name: prefix 'Jo' 'Sm'", "search", {"query": "Jo Sm"}),
        ("date of birth", "search", {"query": p.date_of_birth.strftime("%d/%m/%Y")}),
        ("postcode", "search", {"query": postcode}),
        ("NHS number", "search", {"query": nhs}),
        ("UPN", "search", {"query": upn}),
        ("intake: first and surname", "match", {"first_name": p.first_name, "last_name": p.last_name}),
        ("intake: surname and DOB", "match", {"last_name": typo, "date_of_birth": p.date_of_birth}),
        ("intake: DOB only", "match", {"date_of_birth": p.date_of_birth}),
        ("intake: surname, postcode", "match", {"last_name": p.last_name, "postcode": postcode}),
        ("intake: NHS number", "match", {"last_name": p.last_name, "nhs_number": nhs}),
    ]


def explain(sql: str, params) -> dict:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]
        transaction.set_rollback(True)
    seq: list[str] = []

    def walk(node):
        if node["Node Type"] == "Seq Scan":
            seq.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    root = plan["Plan"]
    walk(root)
    return {
        "ms": round(plan["Execution Time"], 2),
        "buffers": root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0),
        "rows": root.get("Actual Rows", 0),
        "seq_scans": sorted(set(seq)),
        "sql": sql[:400],
    }


def measure(*, runs: int, roles: list[str]) -> dict:
    from django.db import connection

    from cases import selectors

    users = searchers()
    out = {}
    for label, kind, kwargs in searches():
        for role in roles if kind == "search" else ["any"]:
            user = users["mash" if role == "any" else role]

            def call(user=user, kind=kind, kwargs=kwargs):
                if kind == "search":
                    return selectors.search_people(user, kwargs["query"])
                return selectors.find_matches(**kwargs)

            call()  # warm
            walls, sqls, counts, found = [], [], [], 0
            last: list = []
            for _ in range(runs):
                captured: list = []

                def wrapper(execute, sql, params, many, context, captured=captured):
                    t = time.perf_counter()
                    try:
                        return execute(sql, params, many, context)
                    finally:
                        captured.append((time.perf_counter() - t, sql, params))

                started = time.perf_counter()
                with connection.execute_wrapper(wrapper):
                    found = len(call())
                walls.append((time.perf_counter() - started) * 1000)
                sqls.append(sum(c[0] for c in captured) * 1000)
                counts.append(len(captured))
                last = captured
            plans = [explain(sql, params) for _, sql, params in last]
            out[f"{label} / {role}"] = {
                "found": found,
                "wall_ms": round(statistics.median(walls), 1),
                "sql_ms": round(statistics.median(sqls), 1),
                "queries": sorted(set(counts)),
                "explain_ms": round(sum(p["ms"] for p in plans), 2),
                "buffers": sum(p["buffers"] for p in plans),
                "seq_scans": sorted({t for p in plans for t in p["seq_scans"]}),
                "plans": plans,
            }
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--roles", default="mash,practitioner,team_leader,manager")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--verbose", action="store_true", help="each query's EXPLAIN figures and SQL")
    args = parser.parse_args(argv)
    setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_family")
        families = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM cases_person")
        people = cursor.fetchone()[0]
    result = {"families": families, "people": people, "searches": measure(runs=args.runs, roles=args.roles.split(","))}
    print(f"{families:,} families, {people:,} people; median of {args.runs} calls of the selector, in-process")
    print()
    print("| search / role | found | wall ms | SQL ms | queries | EXPLAIN ms | buffers | seq scans |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, s in result["searches"].items():
        queries = "/".join(map(str, s["queries"]))
        seq = ", ".join(s["seq_scans"]) or "none"
        print(
            f"| {name} | {s['found']} | {s['wall_ms']:.1f} | {s['sql_ms']:.1f} | {queries} | "
            f"{s['explain_ms']:.1f} | {s['buffers']:,} | {seq} |"
        )
    if args.verbose:
        for name, s in result["searches"].items():
            for plan in s["plans"]:
                print(
                    f"    {name}: {plan['ms']:.1f} ms, {plan['buffers']} buffers, "
                    f"seq {plan['seq_scans']}: {plan['sql']}"
                )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
