"""What the key pages cost, without the load: where each request's time goes (in-process) and each
page one request at a time against gunicorn, as a multiple of `/healthz` (ADR 49).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_pages5k REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python benchmarks/page_cost.py [--records 5] [--rounds 5] [--in-process-only] [--profile]

It uses the pages, sample records and measurements of `benchmarks/load.py` (the same tables), but
changes nothing in the dataset beyond what viewing a page writes (the access log, sessions): the
users are signed in in-process (`force_login`, `last_login` left alone) and their session cookies
are given to gunicorn, so no password is set. It can therefore be run against a dataset that must
stay as it is (the 200,000-family one, read-only).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402 - after the path

PAGES = (
    "healthz (trivial)",
    "family page",
    "episode page",
    "triage queue",
    "my cases",
    "my work",
    "pre-allocation list",
    "triage queue: page 2",
    "supervision list",
    "supervision record",
    "search: name",
    "search: date of birth",
    "search: postcode",
    "home: practitioner",
    "home: team leader",
    "home: manager",
)


def sessions_for(users: dict, pages: list) -> dict[str, str]:
    """A session cookie per role, made in this process (the server reads the same session store). The
    search pages' queries are posted in their role's session here, and the pages pointed at the results
    (`load.searched_urls`): a search id opens only in the session that made it."""
    from django.conf import settings
    from django.contrib.auth import user_logged_in
    from django.contrib.auth.models import update_last_login
    from django.test import Client

    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    out = {}
    for role, user in users.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for page in pages:
            if page.role == role and page.name in load.SEARCH_PAGES and not page.skipped:
                page.urls = load.searched_urls(client, page.urls)
        out[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return out


def markdown(sql: dict, sequential: dict | None, pages: list) -> str:
    out = [
        "Where a request's time goes (in-process, Django test client, median over the sample records, ms): "
        "SQL = time in the database driver; template = rendering less the SQL it ran; Python = the rest; "
        "CPU = this process's CPU time for the request.",
        "",
        "| page | total | SQL | template | Python | CPU | queries |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page in pages:
        q = sql.get(page.name)
        if not q:
            continue
        s = q["split_ms"]
        queries = "/".join(str(c) for c in sorted(set(q["queries"])))
        out.append(
            f"| {page.name} | {s['total_ms']:.1f} | {s['sql_ms']:.1f} | {s['template_ms']:.1f} | "
            f"{s['python_ms']:.1f} | {s['cpu_ms']:.1f} | {queries} |"
        )
        if q["content_problems"]:
            out.append(f"|  ↳ not the page: {'; '.join(q['content_problems'][:2])} | | | | | | |")
    if sequential:
        out += [
            "",
            f"One request at a time (each page request followed by a `/healthz`; /healthz p50 "
            f"{sequential['healthz_p50_ms']} ms over {sequential['healthz_requests']} requests).",
            "",
            "| page | cold p50 ms | × healthz | warm p50 ms | × healthz | warm max ms | requests | not the page |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, t in sequential["pages"].items():
            out.append(
                f"| {name} | {t['cold_p50_ms']:.0f} | {t['cold_ratio']} | {t['warm_p50_ms']:.0f} | "
                f"{t['warm_ratio']} | {t['warm_max_ms']:.0f} | {t['requests']} | {len(t['problems'])} |"
            )
    profiles = [(p.name, sql[p.name]["profile"]) for p in pages if sql.get(p.name, {}).get("profile")]
    for name, text in profiles:
        out += ["", f"**{name}**", "", "```", text, "```"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5, help="sample records per page (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="warm visits per record, one at a time (default 5)")
    parser.add_argument("--in-process", type=int, default=5, help="records per page measured in-process (default 5)")
    parser.add_argument("--in-process-only", action="store_true", help="do not start gunicorn")
    parser.add_argument("--profile", action="store_true", help="add a cProfile summary of one request per page")
    parser.add_argument("--page", action="append", default=[], help="only this page (repeatable), by its name")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1: one at a time)")
    args = parser.parse_args(argv)
    secret_key = secrets.token_urlsafe(50)
    load.setup_django(secret_key)
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    say("Choosing users and sample records...")
    users = load.choose_users()
    samples = load.sample_urls(users, n=max(args.records, args.in_process))
    wanted = set(args.page or PAGES) | {PAGES[0]}
    pages = [p for p in load._pages() if p.name in wanted]
    load.resolve(pages, samples)
    env = load.server_env(load.database_url(), secret_key)
    say("Collecting static files for DEBUG-off serving...")
    load.collectstatic(env)
    say("In-process: queries and where the time goes...")
    sql = load.count_queries(pages, users, per_page=args.in_process, profile=args.profile)
    sequential = None
    if not args.in_process_only:
        sessions = sessions_for(users, pages)
        port = load.free_port()
        with load.gunicorn(env, port=port, workers=args.workers, threads=1):
            say("One request at a time (cold, then warm), with /healthz between...")
            sequential = load.sequential_timings(port, pages, sessions, per_page=args.records, rounds=args.rounds)
    text = markdown(sql, sequential, pages)
    print(text)
    return text


if __name__ == "__main__":
    main()
