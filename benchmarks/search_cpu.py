"""CPU per request of the search pages' results, in-process (session 10, ADR 81).

`profile_pages.py` opens a search page's URL as it is (`?q=...`), which shows the empty form: a search is
POSTed, kept in the session and shown at `?search=<id>` (ADR 36). This posts each sample search once, as
`load.py` does (`searched_urls`), then times the results pages:

    DEBUG=true DATABASE_URL=postgresql://postgres@127.0.0.1:5432/eh_p5k REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python benchmarks/search_cpu.py [--page "search: date of birth"] [--rounds 8]

Like `page_cost.py` it changes nothing but what viewing a page writes (the access log, sessions).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", action="append", help="a search page by its load.py name (repeatable)")
    parser.add_argument("--rounds", type=int, default=8, help="visits of each sample search (default 8)")
    args = parser.parse_args()
    load.setup_django("benchmark-search-cpu-" + "x" * 40)
    from django.test import Client

    names = args.page or sorted(load.SEARCH_PAGES)
    users = load.choose_users()
    samples = load.sample_urls(users, n=5)
    pages = [p for p in load._pages() if p.name in names]
    load.resolve(pages, samples)
    for page in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(users[page.role])
        urls = load.searched_urls(client, page.urls[:5])
        for url in urls:  # warm
            client.get(url)
        times = []
        for _ in range(args.rounds):
            for url in urls:
                start = time.process_time()
                response = client.get(url)
                times.append((time.process_time() - start) * 1000)
                if load.content_problem(response.status_code, response.content.decode(), page.marker):
                    raise SystemExit(f"{page.name}: {url} is not the results page")
        print(
            f"## {page.name}: CPU per request median {statistics.median(times):.2f} ms, "
            f"min {min(times):.2f} ms over {len(times)} requests ({len(urls)} searches)"
        )


if __name__ == "__main__":
    main()
