"""Shared fixtures: one user per role plus an outsider, and the browser harness.

The suite runs against real PostgreSQL and Redis (the URLs come from `make test`
or the environment); Celery runs tasks eagerly only inside unit tests that ask
for it with the `eager_celery` fixture.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group

from accounts import roles
from tests import template_db
from tests.factories import ServiceFactory, TeamFactory, UserFactory

# Playwright's sync API runs an event loop in this thread; the live-server tests
# still touch the ORM from the test itself, which Django would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct-horse-battery-staple"


# --- Test databases: each xdist worker's copied from one migrated template (tests/template_db.py) ---


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's own fixture, except that xdist workers copy one migrated template (ADR 0055)."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    keepdb = django_db_keepdb and not django_db_createdb  # for making them; kept afterwards if django_db_keepdb
    verbosity = request.config.option.verbose
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput and django_db_use_migrations and template_db.ALIAS in aliases:
        with django_db_blocker.unblock():
            state = template_db.setup_worker_database(
                worker=workerinput["workerid"],
                run=workerinput["testrunuid"],
                keepdb=keepdb,
                verbosity=verbosity,
                aliases=aliases,
                serialized_aliases=serialized_aliases,
            )
        yield
        with django_db_blocker.unblock():
            template_db.teardown_worker_database(state, keepdb=django_db_keepdb, verbosity=verbosity)
        return
    if not django_db_use_migrations:
        from pytest_django.fixtures import _disable_migrations

        _disable_migrations()
    with django_db_blocker.unblock():
        db_cfg = setup_databases(
            verbosity=verbosity,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            keepdb=keepdb,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=verbosity)


def pytest_sessionfinish(session):
    """The controller of an xdist run drops the workers' template, unless the databases are kept."""
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession"):
        return
    if config.getvalue("reuse_db"):
        return
    from django.conf import settings

    template_db.drop_template(settings.DATABASES[template_db.ALIAS])


# --- Parallel runs: whole files to a worker, the slowest first (ADR 0055) ---------------------------
# `make test` runs `pytest -n N --dist loadfile`: a file's tests run on one worker, so its module fixtures
# are made once. Files that share an expensive per-worker fixture go to the same worker (RUN_TOGETHER).
# Files are handed out in the order below, the slowest first (ADR 0055), then the rest by their
# number of tests (xdist's own heuristic), so that no long file starts last and keeps one worker busy after
# the other has finished.
RUN_FIRST = [
    # Summed junit seconds of the last whole-suite --durations run (session 7, load 5 to 14, BENCHMARKS.md),
    # the largest first; the idle figure is about a sixth. The longest-processing-time-first order leaves
    # the two workers' last files short, so they finish together (ADR 0066).
    "tests/security/test_permission_matrix.py",  # with RUN_TOGETHER's files (crawl, links, POST matrix): ~880
    "tests/browser/test_episode_journeys.py",  # 549
    "tests/deadlines/test_reachability.py",  # 469
    "tests/workflows/test_views.py",  # 372
    "tests/performance/test_generator_equals_engine.py",  # 305
    "tests/partners/test_portal_browser.py",  # 291
    "tests/security/test_hostile_input.py",  # 286
    "tests/security/test_markup_injection.py",  # 279
    "tests/performance/test_generator_plausible.py",  # 275
    "tests/performance/test_benchmark_smoke.py",  # 495 before ADR 0065 took ~60 idle CPU-s of collectstatic out
    "tests/workflows/test_front_door.py",  # 252
    "tests/earlyhelp/test_foundation.py",  # 264 before ADR 0065's pool waits and this ADR's bytecode cache
    "tests/security/test_scope_access_log.py",  # 167
    "tests/workflows/test_services.py",  # 162
    # Not in that run's 15 largest; one or two slow tests each (browser journeys, subprocesses).
    "tests/browser/test_transfer_journey.py",
    "tests/browser/test_sign_in_journey.py",
    "tests/browser/test_single_sign_on_browser.py",
    "tests/workflows/test_correspondence_browser.py",
    "tests/deadlines/test_browser.py",
    "tests/deadlines/test_alerts_benchmark_smoke.py",
    "tests/browser/test_front_door_journey.py",
    "tests/browser/test_oversight_journey.py",
    "tests/browser/test_clock_journey.py",
    "tests/browser/test_consent_withdrawal_browser.py",
    "tests/browser/test_rulebook_editor.py",
    "tests/browser/test_episode_page.py",
    "tests/browser/test_board_browser.py",
    "tests/browser/test_home_browser.py",
    "tests/browser/test_api_clients_browser.py",
    "tests/browser/test_error_summary.py",
]
# The crawl of every GET page as every role (tests/security/crawl.py) is made once per worker.
RUN_TOGETHER = {
    "tests/security/test_page_conventions.py": "tests/security/test_permission_matrix.py",
    "tests/security/test_links.py": "tests/security/test_permission_matrix.py",
    "tests/workflows/test_episode_page_buttons.py": "tests/security/test_permission_matrix.py",
}


def _unit_of(nodeid: str) -> str:
    """The file whose worker runs this test (the file itself, or the one it runs together with)."""
    path = nodeid.split("::", 1)[0]
    return RUN_TOGETHER.get(path, path)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """In a parallel run, the files in the order the workers are to get them (the scheduler keeps it)."""
    result = yield  # pytest-django's order first (Django's: tests in a transaction, transactional, no database)
    if hasattr(config, "workerinput"):
        units = [_unit_of(item.nodeid) for item in items]
        sizes = Counter(units)
        first_seen = {unit: i for i, unit in reversed(list(enumerate(units)))}
        rank = {unit: i for i, unit in enumerate(RUN_FIRST)}
        order = {unit: (rank.get(unit, len(rank)), -sizes[unit], first_seen[unit]) for unit in sizes}
        items.sort(key=lambda item: order[_unit_of(item.nodeid)])
    return result


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, with RUN_TOGETHER's files as one unit and the units in the collection's order."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SlowestFirstFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit_of(nodeid)

        def schedule(self) -> None:
            option, reorder = self.config.option, self.config.option.loadscopereorder
            option.loadscopereorder = False  # keep the order pytest_collection_modifyitems gave
            try:
                super().schedule()
            finally:
                option.loadscopereorder = reorder

    return SlowestFirstFileScheduling(config, log)


# --- Garbage collection: what outlives a file is frozen (ADR 0087) ------------------------------------
# A worker keeps what the session made (the crawl, Django's caches, pytest's reports): about a million
# objects by the end of a run. Each full collection of CPython's collector walks them all, and a run made
# eighty-odd of them, each 1-2 s: a tenth of the suite's time spent re-checking objects that live to the
# end. After a file's last test (its module fixtures torn down) one collection frees what the file left,
# then `gc.freeze` moves the survivors out of the collector's sight: later collections walk only what
# later files make. What is frozen is never collected; it was alive when frozen, and a worker ends soon.


def freeze_survivors_between_files(item, nextitem) -> bool:
    """After the last test of a file: collect, then freeze what is left. Whether it did."""
    if nextitem is not None and nextitem.module is item.module:
        return False
    gc.collect()
    gc.freeze()
    return True


@pytest.hookimpl(trylast=True)  # after pytest's own teardown, so the file's module fixtures are gone
def pytest_runtest_teardown(item, nextitem):
    freeze_survivors_between_files(item, nextitem)


@pytest.fixture
def service(db):
    return ServiceFactory(name="Early Help")


@pytest.fixture
def team(service):
    return TeamFactory(name="Northfield Family Hub", service=service)


@pytest.fixture
def other_team(service):
    return TeamFactory(name="Southbank Family Hub", service=service)


@pytest.fixture
def front_door_team(service):
    return TeamFactory(name="Front Door", service=service, kind="front_door")


@functools.cache
def _password_hash() -> str:
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


def make_user(username: str, role: str | None, team=None, service=None, **extra):
    # The password is hashed into the first INSERT (once per process: the test hasher is salted, any salt
    # checks) rather than saved again: each user save is a tracked-fields read, an UPDATE and a history row.
    user = UserFactory(username=username, team=team, service=service, password=_password_hash(), **extra)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def users(team, front_door_team, service):
    """One user per role, and an outsider with no role at all."""
    return make_users(team, front_door_team, service)


def make_users(team, front_door_team, service) -> dict:
    """The `users` fixture's users (also made by fixtures of a wider scope, tests/security/crawl.py)."""
    return {
        "mash": make_user("mash", roles.MASH_OFFICER, front_door_team),
        "mashlead": make_user("mashlead", roles.EH_MASH_LEAD, front_door_team),
        "duty": make_user("duty", roles.DUTY_WORKER, team),
        "coach": make_user("coach", roles.PRACTITIONER, team),
        "teamlead": make_user("teamlead", roles.TEAM_LEADER, team),
        "manager": make_user("manager", roles.MANAGER, None, service=service),
        "dutymanager": make_user("dutymanager", roles.DUTY_MANAGER, None, service=service),
        "admin": make_user("admin", roles.ADMINISTRATOR, None),
        "outsider": make_user("outsider", None, None),
    }


@pytest.fixture(scope="session")
def get_crawl(request, django_db_setup, django_db_blocker):
    """Every URL's GET as every role of the permission matrix, made once per worker and rolled back
    (tests/security/crawl.py): for the tests that only read pages (matrix, conventions, links, buttons)."""
    from tests.security.crawl import crawl_every_get_page

    pinned = request.config.getoption("--pin-time", None)  # the opt-in plugin tests/timeaudit/pin.py
    with django_db_blocker.unblock(), contextlib.ExitStack() as stack:
        if pinned:
            from tests.timeaudit.pin import parse_moment

            stack.enter_context(time_machine.travel(parse_moment(pinned), tick=False))
        return crawl_every_get_page()


@pytest.fixture
def eager_celery(settings):
    from earlyhelp.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# --- Browser harness -------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe is injected as a script tag, which our own Content Security Policy would refuse.
    return {**browser_context_args, "bypass_csp": True, "locale": "en-GB", "timezone_id": "Europe/London"}


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def _govuk_conditional_radio(rule: str, node: dict) -> bool:
    """GOV.UK Frontend's conditional reveal puts aria-expanded on a radio that controls a question: axe
    reports it (aria-allowed-attr), and GOV.UK keep it on purpose, as screen readers announce it (their
    documented known issue, alphagov/govuk-frontend#979; ADR 36). Only that attribute on such a radio is
    let through; any other attribute, element or rule still fails."""
    if rule != "aria-allowed-attr" or 'type="radio"' not in node.get("html", "") or "aria-controls" not in node["html"]:
        return False
    messages = [check.get("message", "") for part in ("any", "all", "none") for check in node.get(part, [])]
    flagged = [m for m in messages if m]
    return bool(flagged) and all("aria-expanded" in m and m.count("=") == 1 for m in flagged)


PAGE_STRUCTURE_JS = (ROOT / "tests" / "browser" / "page_structure.js").read_text()


class AxeChecks:
    """axe-core on a page, once per page structure in a test run (ADR 0071).

    The structure (tests/browser/page_structure.js) is everything axe's WCAG A/AA rules read, with
    the words of the text, id values and URLs left out; a page whose structure has already passed
    axe in this process gets the same result, so axe is not run again. A page that fails is not
    remembered (every visit to it runs axe and fails), and a page with frames, objects, media or
    shadow roots is always checked. EARLYHELP_AXE_EVERY_PAGE=1 runs axe on every page, as before.
    """

    def __init__(self, every_page: bool = False):
        self.every_page = every_page
        self.passed: set[str] = set()
        self.runs = 0
        self.skipped = 0

    def structure(self, page) -> dict:
        """The page's structure: `signature` (a sha256), `always` (never skip) and `axe` (already injected)."""
        found = page.evaluate(PAGE_STRUCTURE_JS)
        return {**found, "signature": hashlib.sha256(found["signature"].encode()).hexdigest()}

    def run_axe(self, page, injected: bool = False) -> dict:
        if not injected:
            page.add_script_tag(path=str(AXE_JS))
        self.runs += 1
        return page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            AXE_TAGS,
        )

    def check(self, page) -> None:
        """Any WCAG 2.2 A/AA violation on the current page fails the test."""
        structure = self.structure(page)
        remembered = not structure["always"] and not self.every_page
        if remembered and structure["signature"] in self.passed:
            self.skipped += 1
            return
        result = self.run_axe(page, injected=structure["axe"])
        violations = []
        for v in result["violations"]:
            nodes = [n for n in v["nodes"] if not _govuk_conditional_radio(v["id"], n)]
            if nodes:
                violations.append(
                    {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in nodes][:5]}
                )
        assert not violations, f"axe found WCAG violations on {page.url}:\n{json.dumps(violations, indent=2)}"
        if remembered:
            self.passed.add(structure["signature"])


AXE_CHECKS = AxeChecks(every_page=os.environ.get("EARLYHELP_AXE_EVERY_PAGE", "") not in ("", "0", "false"))


def assert_accessible(page) -> None:
    """Run axe-core on the current page, unless a page of the same structure already passed in this run."""
    AXE_CHECKS.check(page)


def pytest_terminal_summary(terminalreporter):
    if AXE_CHECKS.runs or AXE_CHECKS.skipped:
        terminalreporter.write_line(
            f"axe-core: {AXE_CHECKS.runs} runs; {AXE_CHECKS.skipped} pages skipped, their structure already passed"
        )


class Browser:
    """A small driver for journeys: visit pages, and check every page it lands on with axe."""

    def __init__(self, page, live_server):
        self.page = page
        self.base = live_server.url

    def go(self, path: str):
        self.page.goto(self.base + path)
        assert_accessible(self.page)
        return self.page

    def sign_in(self, username: str, password: str = PASSWORD):
        self.go("/sign-in/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()
        assert_accessible(self.page)
        return self.page

    def submit(self, name: str):
        self.page.get_by_role("button", name=name).click()
        self.page.wait_for_load_state()
        assert_accessible(self.page)
        return self.page


@pytest.fixture
def browser_session(page, live_server, transactional_db):
    return Browser(page, live_server)
