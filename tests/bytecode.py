"""Bytecode for the Python processes a test starts (a server, a worker, a `manage.py` command).

A machine may run the suite with `PYTHONDONTWRITEBYTECODE` set (this one's environment does) and a
virtualenv installed without `.pyc` files: then every process a test starts compiles Django, Celery
and the project from source before it does anything, 1 to 2 CPU-seconds each (ADR 0070), and a
gunicorn whose three processes compile under load can miss the benchmark's 180 s start-up wait.
`cached_bytecode` lets those processes write and read their bytecode under `.data/pycache`
(`PYTHONPYCACHEPREFIX`, Python's own cache; stale files are recompiled from the source's mtime and
size), outside the source tree and the virtualenv. The test process itself is unchanged.
"""

from __future__ import annotations

from tests.conftest import ROOT

PYCACHE = ROOT / ".data" / "pycache"


def cached_bytecode(env: dict[str, str]) -> dict[str, str]:
    """`env` for a child Python process, with its bytecode written to and read from `.data/pycache`."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def use_cached_bytecode(monkeypatch) -> None:
    """For the rest of the test, every child process started with this process's environment."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(PYCACHE))
