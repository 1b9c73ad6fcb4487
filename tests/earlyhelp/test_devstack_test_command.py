"""`make test`'s steps (earlyhelp/devstack.py `cmd_test`): what each is run with (ADR 0066)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest

from earlyhelp import devstack


@pytest.fixture
def steps(monkeypatch):
    """The commands `cmd_test` runs and their environments, without starting servers or running them."""
    ran: list[tuple[list[str], dict]] = []

    @contextlib.contextmanager
    def fake_stack(**_kwargs):
        env = {
            "PATH": "/usr/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
        yield env, None

    monkeypatch.setattr(devstack, "stack", fake_stack)
    monkeypatch.setattr(devstack, "_run", lambda cmd, env: ran.append((cmd, env)) or 0)
    monkeypatch.setenv("TEST_WORKERS", "2")
    return ran


def test_every_step_keeps_its_bytecode_under_data(steps):
    assert devstack.cmd_test(["tests/kit"]) == 0
    assert [cmd[-1] for cmd, _env in steps][-1] == "tests/kit"  # ruff, format, lint-imports, migrations, pytest
    assert len(steps) == 5
    for _cmd, env in steps:
        assert "PYTHONDONTWRITEBYTECODE" not in env
        assert env["PYTHONPYCACHEPREFIX"] == str(devstack.DATA / "pycache")
        assert env["EARLYHELP_TESTING"] == "true"
    pytest_cmd = steps[-1][0]
    assert pytest_cmd[pytest_cmd.index("-n") + 1 : pytest_cmd.index("-n") + 4] == ["2", "--dist", "loadfile"]


def test_a_prefix_already_chosen_is_kept():
    env = devstack.with_bytecode_cache({"PYTHONPYCACHEPREFIX": "/elsewhere", "PYTHONDONTWRITEBYTECODE": "1"})
    assert env == {"PYTHONPYCACHEPREFIX": "/elsewhere"}


def test_a_python_started_with_that_environment_writes_bytecode_there(tmp_path):
    module = tmp_path / "src" / "probe_module.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    env = devstack.with_bytecode_cache({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(module.parent)})
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "cache")  # as .data/pycache, in a directory of the test's own
    result = subprocess.run([sys.executable, "-c", "import probe_module"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "cache").rglob("probe_module.*.pyc"))
    assert not (module.parent / "__pycache__").exists()  # nothing written beside the source
