"""The order the parallel run hands files out in (tests/conftest.py, ADR 0055 and 0066)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parent.parent


def _ordered(nodeids: list[str], *, worker: bool = True) -> list[str]:
    items = [SimpleNamespace(nodeid=nodeid) for nodeid in nodeids]
    config = SimpleNamespace(workerinput={"workerid": "gw0"}) if worker else SimpleNamespace()
    wrapper = conftest.pytest_collection_modifyitems(config, items)  # a hook wrapper: pytest-django's order first
    next(wrapper)
    with pytest.raises(StopIteration):
        wrapper.send(None)
    return [item.nodeid for item in items]


def test_every_listed_file_exists_once():
    listed = conftest.RUN_FIRST + list(conftest.RUN_TOGETHER) + list(conftest.RUN_TOGETHER.values())
    assert [path for path in listed if not (ROOT / path).is_file()] == []
    assert len(set(conftest.RUN_FIRST)) == len(conftest.RUN_FIRST)
    assert not set(conftest.RUN_TOGETHER) & set(conftest.RUN_FIRST)  # they go with the file they name


def test_listed_files_first_in_their_order_then_the_rest_by_size():
    first, second = conftest.RUN_FIRST[0], conftest.RUN_FIRST[1]
    together = next(iter(conftest.RUN_TOGETHER))
    nodeids = [
        "tests/a/test_small.py::test_1",
        "tests/a/test_big.py::test_1",
        "tests/a/test_big.py::test_2",
        f"{second}::test_1",
        f"{together}::test_1",
        f"{first}::test_1",
    ]
    assert _ordered(nodeids) == [
        f"{together}::test_1",  # runs with the first file, so counts as it
        f"{first}::test_1",
        f"{second}::test_1",
        "tests/a/test_big.py::test_1",
        "tests/a/test_big.py::test_2",
        "tests/a/test_small.py::test_1",
    ]
    assert conftest.RUN_TOGETHER[together] == first


def test_a_run_without_workers_keeps_pytest_django_order():
    nodeids = ["tests/a/test_small.py::test_1", f"{conftest.RUN_FIRST[0]}::test_1"]
    assert _ordered(nodeids, worker=False) == nodeids


def test_survivors_are_frozen_after_a_file_s_last_test_only(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(
        conftest, "gc", SimpleNamespace(collect=lambda: calls.append("collect"), freeze=lambda: calls.append("freeze"))
    )
    one, two = SimpleNamespace(), SimpleNamespace()
    first, second, last = (SimpleNamespace(module=m) for m in (one, one, two))
    assert conftest.freeze_survivors_between_files(first, second) is False
    assert calls == []
    assert conftest.freeze_survivors_between_files(second, last) is True
    assert calls == ["collect", "freeze"]  # what the file left is freed before the rest is frozen
    assert conftest.freeze_survivors_between_files(last, None) is True
    assert calls == ["collect", "freeze"] * 2
