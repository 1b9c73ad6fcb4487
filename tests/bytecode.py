"""Bytecode for the Python processes a test starts (a server, a worker, a `manage.py` command).

A machine may run the suite with `PYTHONDONTWRITEBYTECODE` set (this one's environment does) and a
virtualenv installed without `.pyc` files: then every process a test starts compiles Django, Celery
and the project from source before it does anything, 1 to 2 CPU-seconds each (ADR 0070). The
children use the cache `make test` gives the test process itself: `earlyhelp.devstack.with_bytecode_cache`
(ADR 0066), `.data/pycache`, outside the source tree and the virtualenv. One definition, so a test's
child and `make test`'s processes share one cache.
"""

from __future__ import annotations

from earlyhelp.devstack import PYCACHE, with_bytecode_cache

cached_bytecode = with_bytecode_cache


def use_cached_bytecode(monkeypatch) -> None:
    """For the rest of the test, every child process started with this process's environment."""
    for name, value in with_bytecode_cache({}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)


__all__ = ["PYCACHE", "cached_bytecode", "use_cached_bytecode"]
