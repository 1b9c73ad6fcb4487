"""How long the database plans and runs each SELECT of a page: planning is a real cost of large generated
SQL (ADR 78), and it does not show in EXPLAIN's plan, only in its summary.

Two steps, so that two versions of the code (two worktrees) can be compared against the same database in
the same minutes:

    # 1. in each worktree: write each SELECT of one request of the page, its parameters written in
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_p5k REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python benchmarks/plan_split.py dump /tmp/plans-main --page "family page" --page "episode page"
    # 2. EXPLAIN (ANALYZE, SUMMARY) of every file of both directories, alternately, medians per query
    .venv/bin/python benchmarks/plan_split.py compare postgresql://postgres@127.0.0.1:5432/eh_p5k \\
        /tmp/plans-main /tmp/plans-branch [--rounds 9] [--each]

The dump changes nothing but what viewing a page writes (the access log, a session), like page_cost.py;
the comparison only reads (EXPLAIN ANALYZE of SELECTs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dump(out: Path, names: list[str], record: int) -> None:
    from benchmarks import load

    load.setup_django("plan-split-not-a-secret-" + "x" * 30)
    load.collectstatic(load.server_env(load.database_url(), "plan-split-not-a-secret-" + "x" * 30))
    from django.db import connection
    from django.test import Client

    users = load.choose_users()
    samples = load.sample_urls(users, n=max(5, record + 1))
    pages = [p for p in load._pages() if p.name in names]
    load.resolve(pages, samples)
    out.mkdir(parents=True, exist_ok=True)
    for page in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[page.role])
        url = page.urls[record % len(page.urls)]
        client.get(url)  # warm: compiled SQL, the session's first save
        found = []

        def wrapper(execute, sql, params, many, context, found=found):
            found.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            client.get(url)
        selects = [(sql, params) for sql, params in found if sql.lstrip().upper().startswith("SELECT")]
        for n, (sql, params) in enumerate(selects):
            text = connection.ops.compose_sql(sql, params) if params else sql
            (out / f"{page.name.replace(' ', '_').replace(':', '')}-{n:02d}.sql").write_text(text + "\n")
        print(f"{page.name}: {url}, {len(found)} queries, {len(selects)} SELECTs written")


def compare(url: str, dirs: list[Path], rounds: int, each: bool) -> None:
    import psycopg

    files = {d: sorted(d.glob("*.sql")) for d in dirs}
    pages = sorted({f.name.rsplit("-", 1)[0] for fs in files.values() for f in fs})
    times: dict[Path, tuple[list, list]] = {f: ([], []) for fs in files.values() for f in fs}
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(rounds):
            for d in dirs:  # alternately: a busy minute costs both versions alike
                for f in files[d]:
                    sql = f.read_text().strip().rstrip(";")
                    lines = [r[0] for r in conn.execute("EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) " + sql).fetchall()]
                    times[f][0].append(float(next(x for x in lines if x.startswith("Planning Time")).split()[2]))
                    times[f][1].append(float(next(x for x in lines if x.startswith("Execution Time")).split()[2]))
    print("| page | code | SELECTs | planning ms | execution ms |\n|---|---|---:|---:|---:|")
    for page in pages:
        for d in dirs:
            mine = [f for f in files[d] if f.name.rsplit("-", 1)[0] == page]
            plan = sum(statistics.median(times[f][0]) for f in mine)
            run = sum(statistics.median(times[f][1]) for f in mine)
            print(f"| {page.replace('_', ' ')} | {d.name} | {len(mine)} | {plan:.2f} | {run:.2f} |")
    if each:
        for d in dirs:
            for f in files[d]:
                head = f.read_text()[:70].replace("\n", " ")
                print(f"{d.name}/{f.name}: planning {statistics.median(times[f][0]):.3f} "
                      f"execution {statistics.median(times[f][1]):.3f}  {head}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="write each SELECT of one request of the pages")
    d.add_argument("out", type=Path)
    d.add_argument("--page", action="append", required=True, help="a page by its load.py name (repeatable)")
    d.add_argument("--record", type=int, default=0, help="which of the sample records (default the first)")
    c = sub.add_parser("compare", help="planning and execution of the dumped SELECTs, directories alternately")
    c.add_argument("url", help="a postgresql:// URL of the database the dumps were taken from")
    c.add_argument("dirs", type=Path, nargs="+")
    c.add_argument("--rounds", type=int, default=9)
    c.add_argument("--each", action="store_true", help="also each query's medians")
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.page, args.record)
    else:
        compare(args.url, args.dirs, args.rounds, args.each)


if __name__ == "__main__":
    main()
