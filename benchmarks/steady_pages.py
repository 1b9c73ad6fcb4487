"""Pages in their steady state, in-process: each page's records visited round after round on one
connection, as a pooled connection serves them, with each request's wall time, CPU time and the time
spent in SQL (ADR 82: a prepared statement is planned generically from its sixth run on a connection,
so `page_cost.py`'s one visit per record after one warm-up measures mostly the first runs).

    DEBUG=false DATABASE_URL=... REDIS_URL=... .venv/bin/python benchmarks/steady_pages.py \\
        [--warm 3] [--rounds 5] [--records 5] "family page" "episode page" ...

Prints per page the medians (ms) of wall, CPU, the reads' SQL, the writes' SQL (the access log's INSERT
and its commit, a session's save: on a busy disk the commit's flush dominates and hides the reads).
Then the 25th percentiles of wall and reads: on a shared machine the median carries the other
processes' load. It changes nothing but what viewing a page writes (the access log, sessions), like `page_cost.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402 - after the path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pages", nargs="*")
    parser.add_argument("--warm", type=int, default=3, help="rounds over the records before measuring")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds over the records")
    parser.add_argument("--records", type=int, default=5)
    parser.add_argument("--minimum", action="store_true", help='add "signed-in minimum" (Your jobs)')
    args = parser.parse_args()
    load.setup_django("x" * 50)
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    users = load.choose_users()
    samples = load.sample_urls(users, n=args.records)
    pages = [p for p in load._pages() if p.name in args.pages]
    load.resolve(pages, samples)
    plan = [(p.name, p.role, p.urls[: args.records], p.name in load.SEARCH_PAGES) for p in pages]
    if args.minimum:
        plan.insert(0, ("signed-in minimum", "practitioner", [reverse("jobs:list")], False))
    sql_time = [0.0, 0.0]  # reads, writes

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            write = sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE")
            sql_time[write] += time.perf_counter() - start

    print(f"{'page':32} {'wall':>6} {'cpu':>6} {'reads':>6} {'writes':>6}   p25: {'wall':>6} {'reads':>6}")
    for name, role, urls, search in plan:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[role])
        if search:
            urls = load.searched_urls(client, urls)
        for _ in range(args.warm):
            for url in urls:
                client.get(url)
        wall, cpu, reads, writes = [], [], [], []
        with connection.execute_wrapper(timed):
            for _ in range(args.rounds):
                for url in urls:
                    sql_time[:] = [0.0, 0.0]
                    w, c = time.perf_counter(), time.process_time()
                    response = client.get(url)
                    wall.append((time.perf_counter() - w) * 1000)
                    cpu.append((time.process_time() - c) * 1000)
                    reads.append(sql_time[0] * 1000)
                    writes.append(sql_time[1] * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: {url} answered {response.status_code}")
        med = statistics.median

        def p25(values):
            return statistics.quantiles(values, n=4)[0]

        print(
            f"{name:32} {med(wall):6.2f} {med(cpu):6.2f} {med(reads):6.2f} {med(writes):6.2f}"
            f"        {p25(wall):6.2f} {p25(reads):6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
