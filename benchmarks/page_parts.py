"""CPU per request of one page of `board_plans.py` split by function: each named function is wrapped to add
up its own `time.process_time`, and the medians over the requests are printed (ADR 85).

    WT=/path/to/worktree DATABASE_URL=... REDIS_URL=... .venv/bin/python benchmarks/page_parts.py 25 \\
        "dashboard: by team" oversight.views:dashboard_teams oversight.selectors:breach_summaries ...

A function is `module:name` or `module:Class.method`; name it in the module the caller looks it up in (a view
calls `oversight.views:render`, not `django.shortcuts:render`). Nested functions are each counted whole.
Nothing is written but what the page writes (the access log, the session).
"""

from __future__ import annotations

import collections
import functools
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("WT", str(Path(__file__).resolve().parent.parent)))

from benchmarks import board_plans  # noqa: E402 - after the path


def _wrap(target: str, spent: dict) -> None:
    module_name, _, name = target.partition(":")
    owner = importlib.import_module(module_name)
    if "." in name:
        class_name, name = name.split(".", 1)
        owner = getattr(owner, class_name)
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[target] += time.process_time() - started

    setattr(owner, name, timed)


def main() -> None:
    board_plans.setup()
    from django.test import Client

    runs, page, targets = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    spent: dict[str, float] = collections.defaultdict(float)
    for target in targets:
        _wrap(target, spent)
    url, role = {name: (url, role) for name, role, url in board_plans.pages()}[page]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(board_plans.users()[role])
    client.get(url)
    client.get(url)  # warm: the session's first save, compiled SQL
    per: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(runs):
        spent.clear()
        started = time.process_time()
        client.get(url)
        per["the whole request"].append(time.process_time() - started)
        for target in targets:
            per[target].append(spent[target])
    for name, values in per.items():
        print(f"{statistics.median(values) * 1000:7.2f} ms  {name}")


if __name__ == "__main__":
    main()
