"""Where a page's Python goes: cProfile over many requests of one page, in-process, sorted by
cumulative time (which layer: middleware, view, selectors, template, access log) and by own time
(which function), plus each request's CPU time without the profiler (ADR 63).

    DEBUG=true DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_pages5k REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python benchmarks/profile_pages.py --page "signed-in minimum" --page "family page" \\
        --page "episode page" [--requests 40] [--lines 45] [--cpu-only]

The pages, users and sample records are `benchmarks/load.py`'s; "signed-in minimum" is the
practitioner's *Your jobs* page (the base layout, the session, the user, one small query of its own):
what every signed-in page pays before its own work. Like `page_cost.py` it changes nothing but what
viewing a page writes (the access log, sessions), so it can run against the shared datasets.
"""

from __future__ import annotations

import argparse
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402 - after the path

MINIMUM = "signed-in minimum"


def _urls(names: list[str], users: dict, records: int) -> dict[str, tuple[str, list[str]]]:
    from django.urls import reverse

    out: dict[str, tuple[str, list[str]]] = {}
    if MINIMUM in names:
        out[MINIMUM] = ("practitioner", [reverse("jobs:list")])
    wanted = [n for n in names if n != MINIMUM]
    if wanted:
        samples = load.sample_urls(users, n=records)
        pages = [p for p in load._pages() if p.name in wanted]
        load.resolve(pages, samples)
        for page in pages:
            out[page.name] = (page.role, page.urls[:records])
    return out


def _stats_text(profiler, sort: str, lines: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(lines)
    text = out.getvalue()
    text = text[text.find("   ncalls") :].rstrip()
    return text.replace(str(load.ROOT) + "/", "").replace(sys.prefix + "/", "").replace(sys.base_prefix + "/", "")


def _ours(profiler, lines: int) -> str:
    """The project's own functions (not the virtualenv's or the standard library's) by cumulative
    time: which of our layers (middleware, selectors, presenters, template tags) the time is under."""
    stats = pstats.Stats(profiler)
    root = str(load.ROOT) + "/"
    rows = [
        (cumulative, calls, f"{path.replace(root, '')}:{line}({func})")
        for (path, line, func), (_, calls, _, cumulative, _) in stats.stats.items()
        if path.startswith(root) and "/.venv/" not in path and "/benchmarks/" not in path
    ]
    rows.sort(reverse=True)
    out = ["  ncalls  cumtime  function"]
    out += [f"{calls:8d} {cumulative:8.3f}  {where}" for cumulative, calls, where in rows[:lines]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--page", action="append", default=[], help="a page by its load.py name, or 'signed-in minimum'"
    )
    parser.add_argument("--requests", type=int, default=40, help="requests profiled (and timed) per page")
    parser.add_argument("--records", type=int, default=5, help="sample records per page, visited in turn")
    parser.add_argument("--lines", type=int, default=45, help="functions listed per sort")
    parser.add_argument("--no-collectstatic", action="store_true", help="the manifest is already there")
    parser.add_argument("--dump", default="", help="also write each page's pstats file in this directory")
    parser.add_argument("--ours", type=int, default=40, help="the project's own functions listed, by cumulative time")
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU per request, no profile")
    args = parser.parse_args(argv)
    secret_key = "profile-pages-not-a-secret-" + "x" * 30
    load.setup_django(secret_key)
    if not args.no_collectstatic:  # DEBUG is off in-process: the pages need the static manifest
        load.collectstatic(load.server_env(load.database_url(), secret_key))

    import cProfile

    from django.test import Client

    users = load.choose_users()
    names = args.page or [MINIMUM, "family page", "episode page"]
    for name, (role, urls) in _urls(names, users, args.records).items():
        client = Client(HTTP_HOST="127.0.0.1")
        if role:
            client.force_login(users[role])
        for url in urls:  # warm: templates, compiled SQL, the session's first save
            client.get(url)
        cpu = []
        for n in range(args.requests):
            started = time.process_time()
            response = client.get(urls[n % len(urls)])
            cpu.append((time.process_time() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        print(f"## {name}: CPU per request median {statistics.median(cpu):.2f} ms, "
              f"min {min(cpu):.2f} ms over {args.requests} requests ({len(urls)} records)")  # fmt: skip
        if args.cpu_only:
            continue
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for a busy machine or the database
        profiler.enable()
        for n in range(args.requests):
            client.get(urls[n % len(urls)])
        profiler.disable()
        if args.dump:
            profiler.dump_stats(str(Path(args.dump) / (name.replace(" ", "-") + ".pstats")))
        print(f"\n### {name}: the project's own functions, cumulative ({args.requests} requests)\n```")
        print(_ours(profiler, args.ours))
        print(f"```\n\n### {name}: cumulative ({args.requests} requests)\n```")
        print(_stats_text(profiler, "cumulative", args.lines))
        print(f"```\n\n### {name}: own time\n```")
        print(_stats_text(profiler, "tottime", args.lines))
        print("```\n")


if __name__ == "__main__":
    main()
