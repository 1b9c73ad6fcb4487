"""Locust users for benchmarks/load.py: staff moving between the pages they use, signed in by role.

Not run on its own: load.py signs in one user per role, writes the pages, their URLs and the
session cookies to a JSON file and points EARLYHELP_LOCUST_CONFIG at it. Each request names its
page, so locust reports percentiles per page; anything but a 200 whose body holds the page's marker
counts as a failure (a redirect to the sign-in page, or an error page served with 200, would otherwise
look like a fast success).
"""

from __future__ import annotations

import json
import os
import random

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

CONFIG = json.loads(open(os.environ["EARLYHELP_LOCUST_CONFIG"]).read())  # noqa: SIM115, PTH123
PAGES = CONFIG["pages"]
WEIGHTS = [page["weight"] for page in PAGES]
COOKIES = {role: f"sessionid={session}" for role, session in CONFIG["sessions"].items()}


class Staff(FastHttpUser):
    wait_time = between(CONFIG["think_min"], CONFIG["think_max"])
    network_timeout = 120.0
    connection_timeout = 10.0

    def on_start(self):
        # Each request carries the session of the role its page needs; no cookie jar.
        self.client.client.cookiejar = None
        self.rng = random.Random()

    @task
    def visit(self):
        page = self.rng.choices(PAGES, weights=WEIGHTS)[0]
        url = self.rng.choice(page["urls"])
        headers = {"Cookie": COOKIES[page["role"]]} if page["role"] else {}
        with self.client.get(
            url, name=page["name"], headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif page.get("marker") and page["marker"] not in (response.text or ""):
                response.failure("not the page: its marker is missing")
