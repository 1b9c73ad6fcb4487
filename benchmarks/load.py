"""Load benchmark: the pages staff use, served as in production, under 20 concurrent users.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/earlyhelp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/load.py --duration 60 --users 20

Against a database filled by `manage.py generate_data` (see BENCHMARKS.md), it:

1. picks sample records and one generated user per role, and gives those users a known password
   (the only change it makes to the dataset, with the alert benchmark's rows below);
2. counts the SQL queries of each page in-process (Django test client with
   CaptureQueriesContext, against the same database) and runs EXPLAIN ANALYZE on each page's
   slowest SELECT;
3. starts gunicorn on 127.0.0.1 as in production (DEBUG off, connection pool on, static files
   from the collected manifest), signs each role in through the sign-in page, and drives it with
   locust (headless, a second process): `--users` staff, each moving between the pages by weight
   with a think time, for `--duration` seconds; the users arrive `--arrivals` a second (4: the 20 over
   5 s) and the figures count from when all are running (with `--arrivals 0` every user sends its first
   request in the same instant: a burst that a server-side log showed as every request over 150 ms of
   a run, session 13); locust reports p50/p95/p99 and throughput per page, `/healthz` included as the
   trivial baseline;
4. times the alert job with nothing to do and with 10,000 just-crossed deadlines
   (benchmarks/alerts_benchmark.py, which removes its rows afterwards);
5. writes benchmarks/results/<timestamp>.json and prints a Markdown report for BENCHMARKS.md.

Pages whose URL name does not resolve (a feature not built yet) are skipped and listed.
`--short` is the CI smoke mode: 4 users for 5 seconds and a small alert run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PASSWORD = "benchmark-password-not-for-production"  # noqa: S105 - set on generated staff of a benchmark database
# The environment of the server under test: production settings, but plain HTTP on loopback and
# no second factor (sign-in is not what is measured).
SERVER_ENV = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DATABASE_POOL": "true",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_COOKIES": "false",
    "SECURE_HSTS_SECONDS": "0",
    "TWO_FACTOR_REQUIRED": "none",
    "AXES_ENABLED": "false",
    "LOG_LEVEL": "WARNING",
}
# Targets (milliseconds unless said): every key page one request at a time p50 <= 3x /healthz and
# <= 15 queries; 20 concurrent users: every page p95 < 250 ms (search included).
TARGET_P95 = 250
TARGET_SEARCH_P95 = 250
TARGET_QUERIES = 15
TARGET_P50_RATIO = 3
TARGET_ANNEX_S = 20


@dataclass
class Page:
    name: str
    url_names: tuple[str, ...]  # the first that resolves is used
    role: str | None
    weight: float
    # Text only the real page has: a response counts only with status 200 and this in its body.
    marker: str = ""
    urls: list[str] = field(default_factory=list)
    url_name: str = ""
    query: str = ""  # added to the page's URL (a list of the board)
    skipped: str = ""


H1 = '<h1 class="govuk-heading-l">'
H2 = '<h2 class="govuk-heading-m">'


def _pages() -> list[Page]:
    return [
        Page("healthz (trivial)", ("healthz",), None, 2, "ok"),
        Page("triage queue", ("cases:triage_queue",), "mash", 2, f"{H1}Triage queue</h1>"),
        Page("family page", ("cases:family_detail",), "mash", 3, f"{H2}Episodes of Early Help</h2>"),
        # The results (an <h2> only they have), not the empty form: see `searched_urls`.
        Page("search: name", ("cases:search",), "mash", 1.5, H2),
        Page("search: date of birth", ("cases:search",), "mash", 1, H2),
        Page("search: postcode", ("cases:search",), "mash", 1, H2),
        Page("episode page", ("episodes:episode_detail",), "practitioner", 3, f"{H2}Next steps</h2>"),
        Page("my cases", ("episodes:my_cases",), "practitioner", 2, f"{H1}My cases</h1>"),
        Page("my work", ("oversight:my_work",), "practitioner", 1, f"{H1}My work</h1>"),
        Page("team board", ("oversight:team_board",), "team_leader", 2, f"{H1}Team board</h1>"),
        Page("pre-allocation list", ("episodes:pre_allocation",), "team_leader", 1, f"{H1}Pre-allocation list</h1>"),
        Page("triage queue: page 2", ("cases:triage_queue",), "mash", 0.3, f"{H1}Triage queue</h1>", query="page=2"),
        Page("supervision list", ("oversight:supervision_list",), "team_leader", 0.3, f"{H1}Supervision</h1>"),
        Page("supervision record", ("oversight:supervision_detail",), "team_leader", 0.2, "Actions</caption>"),
        Page("manager dashboard", ("oversight:dashboard",), "manager", 1, f"{H1}Manager dashboard</h1>"),
        # The page everyone lands on: its counts and most urgent clocks are the role's (ADR 64).
        Page("home: practitioner", ("home",), "practitioner", 1, f"{H2}Your roles</h2>"),
        Page("home: team leader", ("home",), "team_leader", 0.5, f"{H2}Your roles</h2>"),
        Page("home: manager", ("home",), "manager", 0.5, f"{H2}Your roles</h2>"),
        # The board's and the dashboard's drill-down pages (ADR 0041, 0050).
        Page("board list: timescales", ("oversight:team_board_list",), "team_leader", 0.5,
             f"{H1}Timescales needing attention</h1>", query="list=timescales"),
        Page("dashboard: breaches", ("oversight:dashboard_breaches",), "manager", 0.3,
             f"{H1}Breaches across the service</h1>"),
        Page("dashboard: by rule", ("oversight:dashboard_rules",), "manager", 0.2,
             f"{H1}Breaches and timeliness by rule</h1>"),
        Page("dashboard: by team", ("oversight:dashboard_teams",), "manager", 0.2,
             f"{H1}Breaches, timeliness and caseloads by team</h1>"),
        Page("dashboard: month by month", ("oversight:dashboard_months",), "manager", 0.2,
             f"{H1}Timeliness month by month, and contacts each week</h1>"),
        Page("dashboard: caseloads", ("oversight:dashboard_caseloads",), "manager", 0.2,
             f"{H1}Caseloads against capacity</h1>"),
        # The form page under load; the export itself is timed by `annex_a_start_and_wait`.
        Page("Annex A form", ("oversight:annex_a",), "manager", 0.2, f"{H1}Ofsted Annex A: lists 1 and 2</h1>"),
    ]  # fmt: skip


# What an error or sign-in page says: a body with one of these is never the real page.
NOT_THE_PAGE = (
    f"{H1}Sign in</h1>",
    f"{H1}Page not found</h1>",
    f"{H1}Sorry, there is a problem with the service</h1>",
    f"{H1}You cannot do that</h1>",
    f"{H1}Sorry, that could not be read</h1>",
)


def content_problem(status: int, body: str, marker: str) -> str:
    """Why a response is not the real page ('' when it is): its status, or its content."""
    if status != 200:
        return f"HTTP {status}"
    if marker and marker not in body:
        wrong = next((text for text in NOT_THE_PAGE if text in body), "")
        return f"marker missing{f' ({wrong!r} page)' if wrong else ''}"
    return ""


# --- Django, in this process ----------------------------------------------------------------------
def setup_django(secret_key: str) -> None:
    from django.apps import apps

    if apps.ready:  # under pytest: settings are the test run's
        return
    sys.path.insert(0, str(ROOT))
    # The key the server is started with (server_env): a SECRET_KEY of the shell would sign this process's
    # sessions with another key, and the server would find every one of them "corrupted".
    os.environ["SECRET_KEY"] = secret_key
    for key, value in SERVER_ENV.items():
        os.environ[key] = value
    os.environ["DATABASE_POOL"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django

    django.setup()


def database_url() -> str:
    """A URL for the database this process uses (the test database under pytest)."""
    from django.db import connection

    s = connection.settings_dict
    user = urllib.parse.quote(s.get("USER") or "postgres")
    password = ":" + urllib.parse.quote(s["PASSWORD"]) if s.get("PASSWORD") else ""
    host = s.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{s['NAME']}?host={urllib.parse.quote(host)}" + (
            f"&port={s['PORT']}" if s.get("PORT") else ""
        )
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{user}{password}@{host or '127.0.0.1'}{port}/{s['NAME']}"


def benchmark_users(*, iterations: int) -> dict[str, object]:
    """One user per role (the busiest practitioner and their team leader), with a known password."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    chosen = choose_users()
    hasher = PBKDF2PasswordHasher()
    for user in chosen.values():
        # Hashed with PBKDF2 whatever this process's hashers are: the server checks it.
        user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=iterations)
        user.save(update_fields=["password"])
    return chosen


def choose_users() -> dict[str, object]:
    """One user per role (the busiest practitioner and their team leader); made when the database has none."""
    from django.db.models import Count, Q

    from accounts import roles
    from accounts.models import Service, Team, User
    from cases.models import Episode

    def one(role: str, **filters):
        return User.objects.filter(groups__name=role, is_active=True, **filters).order_by("pk").first()

    practitioner = (
        User.objects.filter(groups__name=roles.PRACTITIONER, is_active=True)
        .annotate(open_cases=Count("lead_episodes", filter=~Q(lead_episodes__state=Episode.State.CLOSED)))
        .order_by("-open_cases", "pk")
        .first()
    )
    chosen = {
        "mash": one(roles.MASH_OFFICER),
        "practitioner": practitioner,
        "team_leader": one(roles.TEAM_LEADER, team_id=practitioner.team_id) if practitioner else None,
        "manager": one(roles.MANAGER),
    }
    service = Service.objects.order_by("pk").first() or Service.objects.create(name="Early Help")
    team = Team.objects.filter(service=service).exclude(kind=Team.Kind.FRONT_DOOR).order_by("pk").first()
    role_names = {
        "mash": roles.MASH_OFFICER,
        "practitioner": roles.PRACTITIONER,
        "team_leader": roles.TEAM_LEADER,
        "manager": roles.MANAGER,
    }
    for key, user in list(chosen.items()):
        if user is None:  # not a generated database: make the user
            from django.contrib.auth.models import Group

            user = User.objects.create(
                username=f"bench-{key}",
                team=team if key in ("practitioner", "team_leader") else None,
                service=service if key == "manager" else None,
            )
            user.groups.add(Group.objects.get_or_create(name=role_names[key])[0])
            chosen[key] = user
    return chosen


def sample_urls(users: dict, *, n: int, seed: int = 8) -> dict[str, list[str]]:
    """URLs of real records for each page, chosen once (seeded) so runs compare."""
    from django.db.models import Q

    from cases.models import Episode, Family, Membership
    from cases.selectors import episodes_visible_to

    rng = random.Random(seed)
    out: dict[str, list[str]] = {}
    max_family = Family.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    family_ids = sorted(
        set(
            Family.objects.filter(pk__in=[rng.randint(1, max_family) for _ in range(n * 3)]).values_list(
                "pk", flat=True
            )
        )
    )[:n] or list(Family.objects.values_list("pk", flat=True)[:n])
    out["family"] = family_ids
    members = list(
        Membership.objects.filter(family_id__in=family_ids)
        .select_related("person", "family")
        .order_by("family_id", "person_id")
    )
    names, dobs, postcodes = [], [], []
    for m in members:
        p = m.person
        if len(names) < n:
            if rng.random() < 0.5:
                names.append(f"{p.first_name} {p.last_name}")
            else:  # a typo that sounds the same: another vowel
                names.append(
                    re.sub(r"[aeiou]", lambda x: "aeiou"[("aeiou".index(x.group()) + 1) % 5], p.last_name, count=1)
                )
        if p.date_of_birth and len(dobs) < n:
            dobs.append(p.date_of_birth.strftime("%d/%m/%Y"))
        if m.family.postcode and m.family.postcode not in postcodes and len(postcodes) < n:
            postcodes.append(m.family.postcode)
    out["names"], out["dobs"], out["postcodes"] = names, dobs, postcodes
    practitioner = users["practitioner"]
    visible = episodes_visible_to(practitioner)
    own = list(
        visible.filter(lead_professional=practitioner)
        .exclude(state=Episode.State.CLOSED)
        .values_list("pk", flat=True)[:n]
    )
    team = list(visible.filter(Q(team_id=practitioner.team_id)).order_by("-opened_at").values_list("pk", flat=True)[:n])
    out["episode"] = (own + [e for e in team if e not in own])[:n]
    from oversight.models import Supervision  # an app above cases: imported where it is used

    out["supervision"] = list(
        Supervision.objects.filter(practitioner__team_id=practitioner.team_id)
        .order_by("-held_on", "-pk")
        .values_list("pk", flat=True)[:n]
    )
    return out


SEARCH_PAGES = ("search: name", "search: date of birth", "search: postcode")
# A session keeps its 20 newest searches (workflows.searches.KEPT): 6 for each of the 3 search pages.
SEARCHES_PER_PAGE = 6


def _typed(url: str) -> tuple[str, str]:
    path, _, query = url.partition("?")
    return path, urllib.parse.parse_qs(query).get("q", [""])[0]


def searched_urls(client, urls: list[str]) -> list[str]:
    """The results page of each search URL (`...?q=<what was typed>`), as a user reaches it: a search is
    POSTed, kept in the session and shown at `?search=<id>` (ADR 36), an id that only the session that
    posted it can open. `client` is a signed-in Django test client of that session."""
    out = []
    for url in urls[:SEARCHES_PER_PAGE]:
        path, typed = _typed(url)
        response = client.post(path, {"q": typed})
        if response.status_code != 302:
            raise RuntimeError(f"searching {typed!r} answered {response.status_code}, not a redirect to the results")
        out.append(response["Location"])
    return out


def searched_urls_http(port: int, session: str, urls: list[str]) -> list[str]:
    """`searched_urls` through the server, for a session signed in there: the form's CSRF token and
    cookie are read from the search page, as a browser does."""
    out = []
    for url in urls[:SEARCHES_PER_PAGE]:
        path, typed = _typed(url)
        status, html, _, headers = fetch(port, path, session)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if status != 200 or not token:
            raise RuntimeError(f"the search page answered {status} without its form")
        csrf = "; ".join(c.split(";")[0] for c in (headers.get_all("Set-Cookie") or []) if c.startswith("csrftoken="))
        data = {"q": typed, "csrfmiddlewaretoken": token.group(1)}
        status, _, _, headers = fetch(port, path, session, data=data, cookies=csrf)
        if status != 302:
            raise RuntimeError(f"searching {typed!r} answered {status}, not a redirect to the results")
        location = urllib.parse.urlsplit(headers["Location"])
        out.append(f"{location.path}?{location.query}")
    return out


def resolve(pages: list[Page], samples: dict) -> None:
    from django.urls import NoReverseMatch, reverse

    for page in pages:
        for name in page.url_names:
            try:
                by_record = {
                    "cases:family_detail": "family",
                    "episodes:episode_detail": "episode",
                    "oversight:supervision_detail": "supervision",
                }
                if name in by_record:
                    page.urls = [reverse(name, kwargs={"pk": pk}) for pk in samples[by_record[name]]]
                else:
                    page.urls = [reverse(name) + (f"?{page.query}" if page.query else "")]
                page.url_name = name
                break
            except NoReverseMatch:
                continue
        if not page.url_name:
            page.skipped = f"no URL named {' or '.join(page.url_names)} yet"
            continue
        if not page.urls:  # a page of one record, and the dataset has none (e.g. no supervision yet)
            page.skipped = "no sample records for it"
            continue
        base = page.urls[0]
        if page.name == "search: name":
            page.urls = [f"{base}?{urllib.parse.urlencode({'q': q})}" for q in samples["names"]]
        elif page.name == "search: date of birth":
            page.urls = [f"{base}?{urllib.parse.urlencode({'q': q})}" for q in samples["dobs"]]
        elif page.name == "search: postcode":
            page.urls = [f"{base}?{urllib.parse.urlencode({'q': q})}" for q in samples["postcodes"]]
        if not page.urls:
            page.skipped = "no sample records for it"


class _Timer:
    """Wall time of SQL (all of it, and the part run while a template renders) and of template rendering,
    for requests made in this process: an execute wrapper and a wrapper of the top-level template render."""

    def __init__(self):
        self.sql = self.sql_in_template = self.template = 0.0
        self.depth = 0

    def reset(self) -> None:
        self.sql = self.sql_in_template = self.template = 0.0

    def execute(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - t
            self.sql += spent
            if self.depth:
                self.sql_in_template += spent

    @contextlib.contextmanager
    def templates(self):
        from django.template.backends.django import Template

        original = Template.render
        timer = self

        def render(self, *args, **kwargs):
            timer.depth += 1
            t = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                timer.depth -= 1
                if not timer.depth:
                    timer.template += time.perf_counter() - t

        Template.render = render
        try:
            yield
        finally:
            Template.render = original


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else 0.0


def _profile_summary(profiler, *, lines: int = 12) -> str:
    """The functions that took the most time (own time), as pstats prints them, trimmed to the table."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    text = out.getvalue()
    start = text.find("   ncalls")
    return text[start:].rstrip().replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")


def count_queries(pages: list[Page], users: dict, *, per_page: int, profile: bool = False) -> dict[str, dict]:
    """In this process, for `per_page` different records of each page: the queries, whether the response
    is the real page (status and marker), where the time goes (SQL, template rendering, the rest of the
    Python; CPU time of this process), EXPLAIN ANALYZE of the slowest SELECT, and with `profile` a
    cProfile summary of one request."""
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results: dict[str, dict] = {}
    timer = _Timer()
    handler = None  # one request handler for every page's client: its middleware (whitenoise's file scan) made once
    for page in pages:
        if page.skipped:
            continue
        client = Client(HTTP_HOST="127.0.0.1")
        if handler is None:
            handler = client.handler
        else:
            client.handler = handler
        if page.role:
            client.force_login(users[page.role])
        counts, statuses, selects, problems = [], [], [], []
        split = {"total_ms": [], "cpu_ms": [], "sql_ms": [], "template_ms": [], "python_ms": []}
        urls = searched_urls(client, page.urls[:per_page]) if page.name in SEARCH_PAGES else page.urls
        client.get(urls[0])  # warm up: the first request of a session also saves it
        with timer.templates(), connection.execute_wrapper(timer.execute):
            for n, url in enumerate(urls[:per_page]):
                timer.reset()
                wall, cpu = time.perf_counter(), time.process_time()
                with CaptureQueriesContext(connection) as ctx:
                    response = client.get(url)
                    body = (
                        b"".join(response.streaming_content)
                        if hasattr(response, "streaming_content")
                        else response.content
                    )
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                template = timer.template - timer.sql_in_template
                split["total_ms"].append(wall * 1000)
                split["cpu_ms"].append(cpu * 1000)
                split["sql_ms"].append(timer.sql * 1000)
                split["template_ms"].append(template * 1000)
                split["python_ms"].append((wall - timer.sql - template) * 1000)
                counts.append(len(ctx.captured_queries))
                statuses.append(response.status_code)
                problem = content_problem(response.status_code, body.decode(errors="replace"), page.marker)
                if problem:
                    problems.append(f"{url}: {problem}")
                if n == 0:
                    selects = [
                        q["sql"]
                        for q in ctx.captured_queries
                        if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
                    ]
        profiled = ""
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            client.get(urls[-1 if len(urls) > 1 else 0])
            profiler.disable()
            profiled = _profile_summary(profiler)
        # The heaviest query is the one PostgreSQL takes longest over, not the one the clock
        # happened to catch: EXPLAIN ANALYZE each SELECT of the first record's page, keep the worst.
        slowest, plan, worst = None, "", -1.0
        for sql_text in selects:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql_text)
                    lines = [row[0] for row in cursor.fetchall()]
                    transaction.set_rollback(True)
            except Exception as error:  # noqa: BLE001 - a plan we cannot get is reported, not fatal
                lines = [f"(EXPLAIN failed: {error.__class__.__name__}: {error})", "Execution Time: 0 ms"]
            ms = next((float(line.split(":")[1].split()[0]) for line in lines if line.startswith("Execution Time")), 0)
            if ms > worst:
                worst, slowest, plan = ms, {"sql": sql_text, "time": ms / 1000, "url": urls[0]}, "\n".join(lines)
        results[page.name] = {
            "queries": counts,
            "statuses": statuses,
            "content_problems": problems,
            "split_ms": {key: round(_median(values), 2) for key, values in split.items()},
            "profile": profiled,
            "slowest_query_ms": float(slowest["time"]) * 1000 if slowest else None,
            "slowest_query": slowest["sql"] if slowest else "",
            "slowest_query_url": slowest["url"] if slowest else "",
            "explain": plan,
        }
    return results


# --- the server and the load ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(db_url: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")}
    env.update(SERVER_ENV)
    env.update(DATABASE_URL=db_url, SECRET_KEY=secret_key, EARLYHELP_TESTING="false")
    env.setdefault("REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    env["PYTHONPATH"] = str(ROOT)
    return env


def collectstatic(env: dict) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
        env=env,
        cwd=ROOT,
        check=True,
    )


@contextlib.contextmanager
def gunicorn(env: dict, *, port: int, workers: int, threads: int):
    cmd = [
        sys.executable, "-m", "gunicorn", "earlyhelp.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--timeout", "120", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 180  # a shared, busy machine can take a while
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310 - http
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer /healthz within 180 s")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def celery_worker(env: dict):
    """One Celery worker (one process) for the background exports, as the deployment runs one."""
    cmd = [sys.executable, "-m", "celery", "-A", "earlyhelp", "worker", "--concurrency", "1", "--loglevel", "WARNING"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(port: int, username: str) -> str:
    """Sign in through the real sign-in page; returns the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    base = f"http://127.0.0.1:{port}"
    with opener.open(f"{base}/sign-in/", timeout=30) as r:
        html = r.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    try:
        opener.open(urllib.request.Request(f"{base}/sign-in/", data=data), timeout=60)  # noqa: S310 - http
    except urllib.error.HTTPError as redirect:
        if redirect.code != 302:
            raise
    session = next((c.value for c in jar if c.name == "sessionid"), None)
    if not session:
        raise RuntimeError(f"could not sign in as {username}")
    return session


def fetch(
    port: int, path: str, session: str | None, *, data: dict | None = None, cookies: str = "", timeout: float = 120
):
    """One request, no redirect followed: (status, body, milliseconds, headers)."""
    opener = urllib.request.build_opener(_NoRedirect())
    cookie = "; ".join(c for c in (f"sessionid={session}" if session else "", cookies) if c)
    request = urllib.request.Request(  # noqa: S310 - http on loopback
        f"http://127.0.0.1:{port}{path}",
        data=urllib.parse.urlencode(data).encode() if data is not None else None,
        headers={"Cookie": cookie, "Referer": f"http://127.0.0.1:{port}{path}"} if cookie else {},
    )
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=timeout) as r:
            body, status, headers = r.read(), r.status, r.headers
    except urllib.error.HTTPError as error:
        body, status, headers = error.read(), error.code, error.headers
    return status, body.decode(errors="replace"), (time.perf_counter() - started) * 1000, headers


def sequential_timings(
    port: int, pages: list[Page], sessions: dict, *, per_page: int, rounds: int, min_visits: int = 0
) -> dict:
    """One request at a time (no other load from this benchmark): each page's first visit to each sample
    record with the cache empty (cold), then `rounds` visits more (warm), each page request followed by
    a `/healthz` so the baseline is measured in the same minutes. Only real pages count (status and
    marker); the others are listed.

    A page with fewer records than `per_page` (one team's board, one user's work) gets as many warm
    visits as `min_visits` by visiting its records again: each gunicorn worker process compiles a
    page's SQL on the first visit it serves (150-250 ms, once per process), and with three processes
    and six visits two of those first visits could fall among the "warm" ones and move a six-visit
    median (session 12: the first ten visits of the team board included three of 160-250 ms, one a
    worker, where the rest took 30-50 ms; ADR 88)."""
    from django.core.cache import cache

    cache.clear()  # the server's cache (the same Redis database): cold means nothing cached yet
    live = [p for p in pages if not p.skipped and not p.name.startswith("healthz")]
    health: list[float] = []
    out: dict[str, dict] = {}

    def visit(page: Page, url: str, into: list[float], problems: list[str]) -> None:
        status, body, ms, _ = fetch(port, url, sessions.get(page.role) if page.role else None)
        problem = content_problem(status, body, page.marker)
        if problem:
            problems.append(f"{url}: {problem}")
        else:
            into.append(ms)
        status, body, ms, _ = fetch(port, "/healthz", None)
        if not content_problem(status, body, "ok"):
            health.append(ms)

    for page in live:
        out[page.name] = {"cold": [], "warm": [], "problems": []}
        for url in page.urls[:per_page]:
            visit(page, url, out[page.name]["cold"], out[page.name]["problems"])
    for round_ in range(rounds):
        for page in live:
            urls = page.urls[:per_page]
            visits = max(len(urls), -(-min_visits // rounds)) if urls else 0  # ceil(min_visits / rounds)
            for i in range(visits):
                visit(page, urls[(round_ * visits + i) % len(urls)], out[page.name]["warm"], out[page.name]["problems"])
    base = _median(health)
    summary = {"healthz_p50_ms": round(base, 2), "healthz_requests": len(health), "pages": {}}
    for name, t in out.items():
        cold, warm = _median(t["cold"]), _median(t["warm"])
        summary["pages"][name] = {
            "cold_p50_ms": round(cold, 1),
            "warm_p50_ms": round(warm, 1),
            "warm_max_ms": round(max(t["warm"], default=0), 1),
            "cold_ratio": round(cold / base, 1) if base else None,
            "warm_ratio": round(warm / base, 1) if base else None,
            "requests": len(t["cold"]) + len(t["warm"]),
            "problems": t["problems"],
        }
    return summary


def _form_fields(html: str, *, dates: dict[str, str]) -> dict[str, str]:
    """The fields of the page's POST form as the browser would send them: hidden values kept, and each
    GOV.UK date input (day, month, year inputs in that order) filled from `dates` by field name."""
    # The page's own form: the POST form with the date inputs asked for (not the header's sign-out form).
    forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', html, re.S | re.I)
    form = next((f for f in forms if any(f'name="{base}_0"' in f or f'name="{base}-day"' in f for base in dates)), None)
    if form is None:
        raise RuntimeError("the page has no POST form with " + ", ".join(dates))
    fields: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for tag in re.findall(r"<input\b[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or (re.search(r'type="(checkbox|radio)"', tag) and "checked" not in tag):
            continue  # a browser sends an unchecked box or radio not at all
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
        part = re.fullmatch(r"(.+?)(?:_[012]|-(?:day|month|year))", name.group(1))
        if part and part.group(1) in dates:  # a GOV.UK date input: day, month, year in that order
            parts.setdefault(part.group(1), []).append(name.group(1))
    for base, names in parts.items():
        if base in dates and len(names) == 3:
            day = datetime.fromisoformat(dates[base])
            fields.update(zip(names, (str(day.day), str(day.month), str(day.year)), strict=True))
    return fields


def annex_a_start_and_wait(port: int, session: str, *, as_at: str, timeout: float = 600, poll: float = 1.0) -> dict:
    """Start an Annex A export as a manager does and wait for it: the form page must render (marker),
    the POST of its real fields must answer 302, 303 or 202 (a redirect to the page or to a job page,
    whichever the export now uses; a 200 is the form's error page and fails), then the page it points
    to is polled until it offers the workbook (`workbook.xlsx`) or says the export failed."""
    from django.urls import reverse

    form_url = reverse("oversight:annex_a")
    status, html, form_ms, headers = fetch(port, form_url, session)
    problem = content_problem(status, html, f"{H1}Ofsted Annex A: lists 1 and 2</h1>")
    if problem:
        return {"ok": False, "problem": f"form page: {problem}"}
    data = _form_fields(html, dates={"as_at": as_at})
    csrf = "; ".join(c.split(";")[0] for c in (headers.get_all("Set-Cookie") or []) if c.startswith("csrftoken="))
    started = time.perf_counter()
    status, body, post_ms, headers = fetch(port, form_url, session, data=data, cookies=csrf)
    post_status = status
    if status not in (202, 302, 303):
        errors = re.findall(r'<a href="#[^"]+">([^<]+)</a>', body)[:3]
        return {"ok": False, "problem": f"POST answered {status} {errors or ''}", "posted": sorted(data)}
    job_url = urllib.parse.urlsplit(headers.get("Location") or form_url)
    job_path = job_url.path + (f"?{job_url.query}" if job_url.query else "")
    polls = 0
    while time.perf_counter() - started < timeout:
        polls += 1
        status, body, _, _ = fetch(port, job_path, session)
        if status == 200 and "workbook.xlsx" in body:
            return {
                "ok": True,
                "seconds": round(time.perf_counter() - started, 2),
                "form_ms": round(form_ms, 1),
                "post_ms": round(post_ms, 1),
                "post_status": post_status,
                "job_url": job_path,
                "polls": polls,
            }
        if status == 200 and re.search(r"could not be prepared", body, re.I):
            return {"ok": False, "problem": "the export failed", "job_url": job_path}
        time.sleep(poll)
    return {"ok": False, "problem": f"not ready within {timeout:.0f} s (is a Celery worker running?)"}


def locust_stats(rows: list[dict]) -> dict[str, dict]:
    """Locust's per-page CSV rows as figures; a page with no requests has none."""
    stats = {}
    for row in rows:
        if int(row["Request Count"]) == 0:
            # A page the run happened not to visit (a short run on a busy machine): locust writes "N/A"
            # for its percentiles. It has no figures, rather than failing the whole report.
            continue
        stats[row["Name"]] = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
            "mean_ms": float(row["Average Response Time"]),
            "max_ms": float(row["Max Response Time"]),
            "rps": float(row["Requests/s"]),
        }
    return stats


def run_locust(
    *, port: int, pages: list[Page], sessions: dict, users: int, duration: int, think: tuple, arrivals: float = 0
) -> dict:
    """Drive `users` for `duration` seconds. `arrivals`: users started per second (0: all at once); when they
    arrive over time, the statistics start once all of them are running (locust's `--reset-stats`)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.json"
        config.write_text(
            json.dumps(
                {
                    "pages": [
                        {"name": p.name, "urls": p.urls, "role": p.role, "weight": p.weight, "marker": p.marker}
                        for p in pages
                        if not p.skipped
                    ],
                    "sessions": sessions,
                    "think_min": think[0],
                    "think_max": think[1],
                }
            )
        )
        prefix = Path(tmp) / "locust"
        cmd = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
            "--users", str(users), "--spawn-rate", str(arrivals or users), *(["--reset-stats"] if arrivals else []),
            "--run-time", f"{duration}s",
            "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
            "--loglevel", "WARNING",
        ]  # fmt: skip
        env = {**os.environ, "EARLYHELP_LOCUST_CONFIG": str(config)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        completed = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=duration + 120)
        stats_file = Path(f"{prefix}_stats.csv")
        if not stats_file.exists():
            raise RuntimeError(f"locust wrote no statistics:\n{completed.stdout}\n{completed.stderr}")
        import csv

        with stats_file.open() as f:
            rows = list(csv.DictReader(f))
        failures_file = Path(f"{prefix}_failures.csv")
        failures = list(csv.DictReader(failures_file.open())) if failures_file.exists() else []
    stats = locust_stats(rows)
    return {"stats": stats, "failures": failures, "locust_stderr": completed.stderr[-4000:]}


# --- the report --------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()  # noqa: S602
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"nproc": sh("nproc"), "free": sh("free -h"), "lscpu": sh("lscpu | head -20")}


def dataset() -> dict:
    from django.db import connection

    tables = [
        "cases_family", "cases_person", "cases_contact", "cases_episode", "cases_casenote",
        "deadlines_deadline", "deadlines_alert", "cases_accesslog",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(%s)", [tables])
        rows = dict(cursor.fetchall())
        cursor.execute("SELECT count(*) FROM deadlines_deadline WHERE stopped_at IS NULL")
        open_deadlines = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database())), version()")
        size, version = cursor.fetchone()
    return {"rows (estimated)": rows, "open deadlines": open_deadlines, "database size": size, "postgres": version}


def check_targets(name: str, s: dict, q: dict | None, base_p50: float | None) -> list[str]:
    misses = []
    if name.startswith("healthz"):
        return misses
    limit = TARGET_SEARCH_P95 if name.startswith("search") else TARGET_P95
    if s["p95_ms"] > limit:
        misses.append(f"p95 {s['p95_ms']:.0f} > {limit} ms (by {s['p95_ms'] - limit:.0f} ms)")
    if base_p50 and s["p50_ms"] > TARGET_P50_RATIO * base_p50:
        misses.append(f"p50 {s['p50_ms'] / base_p50:.1f}× healthz > {TARGET_P50_RATIO}×")
    if q and max(q["queries"], default=0) > TARGET_QUERIES:
        misses.append(f"{max(q['queries'])} queries > {TARGET_QUERIES}")
    if q and len(set(q["queries"])) > 1:
        misses.append(f"query count varies by record: {sorted(set(q['queries']))}")
    if q and q.get("content_problems"):
        misses.append(f"{len(q['content_problems'])} responses were not the page")
    if s["failures"]:
        misses.append(f"{s['failures']} failed requests")
    return misses


def markdown(result: dict) -> str:
    out = []
    ds = result["dataset"]
    rows = ds["rows (estimated)"]
    out.append(
        f"Run {result['started']} · {result['users']} users · {result['duration_s']} s · think time "
        f"{result['think_s'][0]}–{result['think_s'][1]} s · "
        + (
            f"users arrive {result['arrivals_per_s']:g} a second, counted once all are running · "
            if result.get("arrivals_per_s")
            else "users all start at once · "
        )
        + f"gunicorn {result['workers']} workers × "
        f"{result['threads']} threads · dataset: {rows.get('cases_family', 0):,} families, "
        f"{rows.get('cases_casenote', 0):,} case notes, {rows.get('deadlines_deadline', 0):,} deadlines "
        f"({ds['open deadlines']:,} open), {rows.get('cases_accesslog', 0):,} access-log rows, {ds['database size']}"
    )
    out.append("")
    out.append(
        "| page | requests | failed | p50 ms | p95 ms | p99 ms | req/s | SQL queries | slowest query ms | targets |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, page in result["pages"].items():
        s = page.get("load")
        if not s:
            continue
        q = page.get("sql") or {}
        queries = "/".join(str(c) for c in sorted(set(q.get("queries", [])))) or "–"
        slow = f"{q['slowest_query_ms']:.1f}" if q.get("slowest_query_ms") is not None else "–"
        verdict = "; ".join(page.get("misses", [])) or "met"
        out.append(
            f"| {name} | {s['requests']:,} | {s['failures']:,} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
            f"{s['p99_ms']:.0f} | {s['rps']:.1f} | {queries} | {slow} | {verdict} |"
        )
    if "Aggregated" in result.get("totals", {}):
        t = result["totals"]["Aggregated"]
        out.append(
            f"| **all pages** | {t['requests']:,} | {t['failures']:,} | {t['p50_ms']:.0f} | {t['p95_ms']:.0f} | "
            f"{t['p99_ms']:.0f} | {t['rps']:.1f} | | | |"
        )
    skipped = [f"{name} ({page['skipped']})" for name, page in result["pages"].items() if page.get("skipped")]
    if skipped:
        out.append("")
        out.append("Skipped: " + "; ".join(skipped) + ".")
    a = result.get("alerts") or {}
    if a:
        out.append("")
        out.append(
            f"Alert job (`alerts_raise`): nothing to do {a.get('no_change_ms', 0):.1f} ms (median; target < 500 ms); "
            f"{a.get('crossed', 0):,} just-crossed deadlines alerted in {a.get('crossed_s', 0):.2f} s "
            f"(target < 15 s), {a.get('alerts_created', 0):,} alert rows."
        )
    g = result.get("generate")
    if g:
        out.append("")
        out.append(f"generate_data: {g.get('families', 0):,} families in {g.get('seconds', 0):,.0f} s.")
    seq = result.get("sequential") or {}
    if seq.get("pages"):
        out.append("")
        out.append(
            f"One request at a time (each page request followed by a `/healthz`; /healthz p50 "
            f"{seq['healthz_p50_ms']:.1f} ms over {seq['healthz_requests']} requests). Cold: each record's first "
            "visit with the cache emptied; warm: the visits after."
        )
        out.append("")
        out.append(
            "| page | cold p50 ms | × healthz | warm p50 ms | × healthz | warm max ms | requests | not the page |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, t in seq["pages"].items():
            out.append(
                f"| {name} | {t['cold_p50_ms']:.0f} | {t['cold_ratio']} | {t['warm_p50_ms']:.0f} | {t['warm_ratio']} | "
                f"{t['warm_max_ms']:.0f} | {t['requests']} | {len(t['problems'])} |"
            )
    split = [(name, page["sql"]) for name, page in result["pages"].items() if (page.get("sql") or {}).get("split_ms")]
    if split:
        out.append("")
        out.append(
            "Where a request's time goes (in-process, Django test client, median over the sample records, ms): "
            "SQL = time in the database driver; template = rendering less the SQL it ran; Python = the rest; "
            "CPU = this process's CPU time for the request (the database server's is not in it)."
        )
        out.append("")
        out.append("| page | total | SQL | template | Python | CPU | queries |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, q in split:
            t = q["split_ms"]
            queries = "/".join(str(c) for c in sorted(set(q.get("queries", []))))
            out.append(
                f"| {name} | {t['total_ms']:.1f} | {t['sql_ms']:.1f} | {t['template_ms']:.1f} | {t['python_ms']:.1f} | "
                f"{t['cpu_ms']:.1f} | {queries} |"
            )
    annex = result.get("annex_a")
    if annex:
        out.append("")
        if annex.get("ok"):
            out.append(
                f"Annex A export (the form's real fields posted, then waited for): ready in {annex['seconds']:.1f} s "
                f"(POST answered {annex['post_status']} in {annex['post_ms']:.0f} ms; "
                f"{annex['polls']} polls of {annex['job_url']})."
            )
        else:
            out.append(f"Annex A export: **not measured**: {annex.get('problem')}.")
    problems = [
        f"{name}: {p}"
        for name, page in result["pages"].items()
        for p in ((page.get("sql") or {}).get("content_problems") or [])
    ]
    if problems:
        out.append("")
        out.append("Responses that were not the real page: " + "; ".join(problems[:10]) + ".")
    out.append("")
    out.append("<details><summary>EXPLAIN ANALYZE of each page's slowest query</summary>")
    out.append("")
    for name, page in result["pages"].items():
        q = page.get("sql")
        if q and q.get("explain"):
            out.append(f"**{name}** ({q['slowest_query_ms']:.1f} ms, {q['slowest_query_url']})")
            out.append("")
            out.append("```")
            out.append(q["explain"])
            out.append("```")
            out.append("")
    out.append("</details>")
    profiles = [
        (name, page["sql"]["profile"])
        for name, page in result["pages"].items()
        if (page.get("sql") or {}).get("profile")
    ]
    if profiles:
        out.append("")
        out.append("<details><summary>cProfile of one request per page (own time, top functions)</summary>")
        out.append("")
        for name, text in profiles:
            out.append(f"**{name}**")
            out.append("")
            out.append("```")
            out.append(text)
            out.append("```")
            out.append("")
        out.append("</details>")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 1.5), metavar=("MIN", "MAX"),
                        help="seconds each user waits between pages (default 0.5 1.5)")  # fmt: skip
    parser.add_argument(
        "--arrivals", type=float, default=4,
        help="users who start per second (default 4: the 20 arrive over 5 s and the statistics start once all are "
        "running); 0 starts every user in the same instant and counts from then (each user's first request at once)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--samples", type=int, default=50, help="records per page to rotate through (default 50)")
    parser.add_argument("--crossed", type=int, default=10_000, help="just-crossed deadlines for the alert job")
    parser.add_argument("--skip-alerts", action="store_true", help="do not run the alert job benchmark")
    parser.add_argument("--annex-end", default=None, help="the Annex A 'as at' date (default today)")
    parser.add_argument(
        "--generate-report",
        type=Path,
        default=RESULTS / "generate.json",
        help="generate_data --report JSON to include (default benchmarks/results/generate.json)",
    )
    parser.add_argument(
        "--skip-page", action="append", default=[], metavar="NAME", help="leave a page out (repeatable), by its name"
    )
    parser.add_argument("--sequential-rounds", type=int, default=5, help="warm visits per record, one at a time")
    parser.add_argument("--sequential-records", type=int, default=5, help="records per page for one-at-a-time timings")
    parser.add_argument(
        "--sequential-visits", type=int, default=30, help="warm visits per page at least (records visited again)"
    )
    parser.add_argument("--profile", action="store_true", help="add a cProfile summary of one request per page")
    parser.add_argument("--skip-annex", action="store_true", help="do not start and wait for an Annex A export")
    parser.add_argument("--annex-timeout", type=float, default=600, help="seconds to wait for the Annex A export")
    parser.add_argument("--short", action="store_true", help="smoke mode: 4 users, 5 seconds, small alert run")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON result")
    args = parser.parse_args(argv)
    if args.short:
        args.duration, args.users, args.samples, args.crossed = 5, 4, 5, 200
        args.workers, args.threads = 2, 2
        args.sequential_rounds, args.sequential_records, args.annex_timeout = 1, 2, 180
        args.sequential_visits = 2
    secret_key = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50)
    setup_django(secret_key)

    from django.utils import timezone

    started = datetime.now(UTC)
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    say("Choosing benchmark users and sample records...")
    users = benchmark_users(iterations=10_000 if args.short else 600_000)
    samples = sample_urls(users, n=args.samples)
    pages = _pages()
    unknown = set(args.skip_page) - {p.name for p in pages}
    if unknown:
        parser.error(f"no page named {', '.join(sorted(unknown))}")
    resolve(pages, samples)
    db_url = database_url()
    env = server_env(db_url, secret_key)
    say("Collecting static files for DEBUG-off serving...")
    collectstatic(env)
    for page in pages:
        if page.name in args.skip_page:
            page.skipped = "left out with --skip-page"
    say("Counting queries per page and explaining the slowest (in-process)...")
    sql = count_queries(pages, users, per_page=2 if args.short else 3, profile=args.profile)
    port = free_port()
    say(f"Starting gunicorn on 127.0.0.1:{port} ({args.workers} workers × {args.threads} threads)...")
    annex: dict = {}
    with gunicorn(env, port=port, workers=args.workers, threads=args.threads):
        sessions = {role: sign_in(port, user.username) for role, user in users.items()}
        for page in pages:
            if page.name in SEARCH_PAGES and not page.skipped:
                page.urls = searched_urls_http(port, sessions[page.role], page.urls)
        say("Timing each page one request at a time (cold, then warm), with /healthz between...")
        sequential = sequential_timings(
            port,
            pages,
            sessions,
            per_page=args.sequential_records,
            rounds=args.sequential_rounds,
            min_visits=args.sequential_visits,
        )
        say(f"Driving {args.users} users for {args.duration} s with locust...")
        load = run_locust(
            port=port,
            pages=pages,
            sessions=sessions,
            users=args.users,
            duration=args.duration,
            think=tuple(args.think),
            arrivals=args.arrivals,
        )
        if not args.skip_annex:
            say("Starting an Annex A export as a manager and waiting for it (one Celery worker)...")
            with celery_worker(env):
                annex = annex_a_start_and_wait(
                    port,
                    sessions["manager"],
                    as_at=args.annex_end or timezone.localdate().isoformat(),
                    timeout=args.annex_timeout,
                )

    alerts = {}
    if not args.skip_alerts:
        say(f"Timing the alert job (nothing to do, then {args.crossed:,} just crossed)...")
        from benchmarks import alerts_benchmark

        with contextlib.redirect_stdout(sys.stderr):  # its narrative goes with the progress, not the report
            raw = alerts_benchmark.main(
                ["--open", str(args.crossed), "--crossed", str(args.crossed), "--repeat", "3" if args.short else "5",
                 "--cleanup"]
            )  # fmt: skip
        alerts = {k: v for k, v in raw.items() if not k.endswith("plan") and not k.startswith("no_change_plan")}
        alerts["plans"] = {k: v for k, v in raw.items() if k.endswith("plan") or k.startswith("no_change_plan")}

    base = load["stats"].get("healthz (trivial)", {}).get("p50_ms")
    result = {
        "started": started.isoformat(timespec="seconds"),
        "users": args.users,
        "duration_s": args.duration,
        "think_s": list(args.think),
        "arrivals_per_s": args.arrivals,
        "workers": args.workers,
        "threads": args.threads,
        "machine": machine(),
        "dataset": dataset(),
        "pages": {},
        "totals": {k: v for k, v in load["stats"].items() if k == "Aggregated"},
        "failures": load["failures"],
        "alerts": alerts,
        "sequential": sequential,
        "annex_a": annex,
        "generate": json.loads(args.generate_report.read_text()) if args.generate_report.exists() else None,
    }
    for page in pages:
        entry: dict = {"url_name": page.url_name, "role": page.role, "weight": page.weight}
        if page.skipped:
            entry["skipped"] = page.skipped
        else:
            entry["load"] = load["stats"].get(page.name)
            entry["sql"] = sql.get(page.name)
            if entry["load"]:
                entry["misses"] = check_targets(page.name, entry["load"], entry["sql"], base)
        result["pages"][page.name] = entry
    result["markdown"] = markdown(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    print(result["markdown"])
    say(f"\nWrote {path}")
    result["path"] = str(path)
    return result


if __name__ == "__main__":
    main()
