"""Opt-in pytest plugin: run tests as if the wall clock said a given moment.

CI runs the suite at any time of day and week; a test that passes at 10:00 on a Tuesday may fail at 23:30 on
a Saturday, on a bank holiday, on the last day of a month or across the clock change. To check a test file:

    pytest -p tests.timeaudit.pin --pin-time=2026-12-05T23:30 tests/deadlines/test_editor.py

The moment is London wall-clock time (``Z`` or an offset may be given instead). Every test starts under
``time_machine.travel(moment, tick=False)``; a test that pins its own time still wins (the inner travel).
"""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine

from kit.time import LONDON


def pytest_addoption(parser):
    parser.addoption("--pin-time", default=None, help="run every test as if it were this London time (ISO 8601)")


def parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _pinned_wall_clock(request):
    text = request.config.getoption("--pin-time")
    if not text:
        yield
        return
    with time_machine.travel(parse_moment(text), tick=False):
        yield
