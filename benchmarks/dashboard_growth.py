"""The dashboard's pages only, as `board_plans.py` measures them (its users, pages and `measure`),
without EXPLAIN: one tab-separated line per page (tag, page, wall ms, SQL ms, CPU ms, queries),
medians of `runs` requests. For alternating base and branch, 5,000 and 200,000 families (ADR 80):

    WT=/path/to/worktree DATABASE_URL=... REDIS_URL=... .venv/bin/python benchmarks/dashboard_growth.py 15 "tag"
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, os.environ.get("WT", str(Path(__file__).resolve().parent.parent)))

from benchmarks import board_plans  # noqa: E402 - after the path


def main() -> None:
    board_plans.setup()
    every = board_plans.pages
    board_plans.pages = lambda: [p for p in every() if p[0].startswith("dashboard")]
    out = board_plans.measure(runs=int(sys.argv[1]), with_plans=False)
    tag = sys.argv[2] if len(sys.argv) > 2 else ""
    for name, e in out.items():
        print(f"{tag}\t{name}\t{e['wall_ms']}\t{e['sql_ms']}\t{e['cpu_ms']}\t{e['queries']}")


if __name__ == "__main__":
    main()
