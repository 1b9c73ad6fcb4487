"""Each query a page sends, run three ways: as Django sends it (parameters bound client-side, the
statement parsed and planned on every run), prepared with PostgreSQL's default plan choice
(`plan_cache_mode = auto`: five custom plans, then the generic one if its estimate is no worse), and
prepared with a generic plan forced. For ADR 82: is preparing the compiled reads worth it?

    DEBUG=true DATABASE_URL=... .venv/bin/python benchmarks/prepared_plans.py --runs 15 "family page" ...

Prints, per query: the median ms of each way, the EXPLAIN's planning and execution ms (custom), whether
`auto` settled on the generic plan (pg_prepared_statements' counters), and whether the rows are equal
("order": the same rows in another order, for a query without ORDER BY).
Read-only but for what viewing the pages writes (the access log, the session).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402


def _ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pages", nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--select-only", action="store_true", help="skip INSERT/UPDATE statements")
    args = parser.parse_args()
    load.setup_django("x" * 50)
    import psycopg
    from django.db import connection
    from django.test import Client

    users = load.choose_users()
    samples = load.sample_urls(users, n=5)
    pages = [p for p in load._pages() if p.name in args.pages]
    load.resolve(pages, samples)
    for page in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[page.role])
        urls = load.searched_urls(client, page.urls[:2]) if page.name in load.SEARCH_PAGES else page.urls[:2]
        client.get(urls[0])
        seen: list[tuple[str, tuple]] = []

        def capture(execute, sql, params, many, context, seen=seen):
            if not many:
                seen.append((sql, tuple(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(capture):
            client.get(urls[0])
        print(f"## {page.name}  ({len(seen)} queries)")
        print(f"{'client':>7} {'auto':>7} {'generic':>7} {'plan':>6} {'exec':>6} {'auto→':>7} {'same':>5}  query")
        totals = [0.0, 0.0, 0.0]
        raw = connection.connection
        raw.prepare_threshold = 10**9  # only what is asked for by prepare=True
        for sql, params in seen:
            head = " ".join(sql.split())[:90]
            if args.select_only and not head.upper().startswith(("SELECT", "WITH", "(")):
                continue
            if head.upper().startswith(("INSERT", "UPDATE", "DELETE")):
                print(f"{'':>7} {'':>7} {'':>7} {'':>6} {'':>6} {'':>7} {'':>5}  (write) {head}")
                continue
            client_cur = connection.connection.cursor()  # Django's ClientCursor

            def client_run(client_cur=client_cur, sql=sql, params=params):
                client_cur.execute(sql, params)
                return client_cur.fetchall()

            client_rows = client_run()
            c_ms = _ms(client_run, args.runs)
            client_cur.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params)
            plan_text = "\n".join(r[0] for r in client_cur.fetchall())
            planning = float(re.search(r"Planning Time: ([\d.]+)", plan_text).group(1))
            execution = float(re.search(r"Execution Time: ([\d.]+)", plan_text).group(1))
            results = []
            chosen = ""
            same = True
            for mode in ("auto", "force_generic_plan"):
                raw.execute("DEALLOCATE ALL")
                raw._prepared.clear()
                raw._prepared._to_flush.clear()
                raw.execute(f"SET plan_cache_mode = {mode}")
                server_cur = psycopg.Cursor(raw)

                def server_run(server_cur=server_cur, sql=sql, params=params):
                    server_cur.execute(sql, params, prepare=True)
                    return server_cur.fetchall()

                try:
                    rows = server_run()
                except psycopg.Error as error:
                    raw.rollback() if not raw.autocommit else None
                    results.append(float("nan"))
                    chosen = f"error: {str(error).splitlines()[0][:40]}"
                    continue
                got, want = [tuple(r) for r in rows], [tuple(r) for r in client_rows]
                if got != want:
                    same = "order" if sorted(map(repr, got)) == sorted(map(repr, want)) and same is True else False
                for _ in range(6):
                    server_run()
                results.append(_ms(server_run, args.runs))
                if mode == "auto":
                    generic, custom = raw.execute(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE '_pg3_%'"
                    ).fetchone()
                    chosen = "generic" if generic > 0 and generic >= custom - 6 else "custom"
            raw.execute("DEALLOCATE ALL")
            raw._prepared.clear()
            raw._prepared._to_flush.clear()
            raw.execute("SET plan_cache_mode = auto")
            for n, value in enumerate((c_ms, *results)):
                totals[n] += value if value == value else c_ms
            a_ms, g_ms = results
            timings = f"{c_ms:7.2f} {a_ms:7.2f} {g_ms:7.2f} {planning:6.2f} {execution:6.2f}"
            print(f"{timings} {chosen:>7} {str(same):>5}  {head}")
        print(f"{totals[0]:7.2f} {totals[1]:7.2f} {totals[2]:7.2f}  total of the reads")


if __name__ == "__main__":
    main()
