"""Is a read's generic plan as good for every record? For each of a page's first five records, each
SELECT the page sends, run as Django sends it (values written in: a custom plan) and as a prepared
statement with a generic plan forced (`plan_cache_mode = force_generic_plan`), median ms of 7 runs
(ADR 82: only reads whose generic plan is as good for every value may be prepared).

    DATABASE_URL=... REDIS_URL=... .venv/bin/python benchmarks/prepared_skew.py "family page" "episode page"

Prints one line per query: "custom/generic" ms for each record. Read-only but for what viewing the
pages writes (the access log, the session).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402 - after the path


def _ms(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    load.setup_django("x" * 50)
    import psycopg
    from django.db import connection
    from django.test import Client

    users = load.choose_users()
    samples = load.sample_urls(users, n=5)
    pages = [p for p in load._pages() if p.name in sys.argv[1:]]
    load.resolve(pages, samples)
    for page in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[page.role])
        per_record = []
        for url in page.urls[:5]:
            client.get(url)
            seen: list[tuple[str, tuple]] = []

            def capture(execute, sql, params, many, context, seen=seen):
                if sql.lstrip().upper().startswith("SELECT"):
                    seen.append((sql, tuple(params or ())))
                return execute(sql, params, many, context)

            with connection.execute_wrapper(capture):
                client.get(url)
            per_record.append(seen)
        raw = connection.connection
        raw.prepare_threshold = 10**9
        raw.execute("SET plan_cache_mode = force_generic_plan")
        print(f"## {page.name} (ms per record: custom, client-bound / generic, prepared)")
        for n in range(min(len(seen) for seen in per_record)):
            cells = []
            for seen in per_record:
                sql, params = seen[n]
                plain, prepared = raw.cursor(), psycopg.Cursor(raw)
                custom = _ms(lambda plain=plain, sql=sql, params=params: plain.execute(sql, params).fetchall())
                generic = _ms(
                    lambda prepared=prepared, sql=sql, params=params: prepared.execute(
                        sql, params, prepare=True
                    ).fetchall()
                )
                cells.append(f"{custom:5.2f}/{generic:5.2f}")
            print("  ".join(cells), " ", " ".join(per_record[0][n][0].split())[:70])
        raw.execute("SET plan_cache_mode = auto")
        raw.execute("DEALLOCATE ALL")
        raw._prepared.clear()
        raw._prepared._to_flush.clear()


if __name__ == "__main__":
    main()
