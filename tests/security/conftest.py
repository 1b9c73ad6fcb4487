"""The test world of the URL-by-role tests: one of every kind of record, and a practitioner of another team."""

from __future__ import annotations

import contextlib

import pytest
import time_machine

from tests.security.crawl import crawl_every_get_page
from tests.security.world import make_world


@pytest.fixture
def world(users, team, other_team):
    return make_world(users, team, other_team)


@pytest.fixture(scope="session")
def get_crawl(request, django_db_setup, django_db_blocker):
    """Every URL's GET as every role of the permission matrix, once per worker (tests/security/crawl.py)."""
    pinned = request.config.getoption("--pin-time", None)  # the opt-in plugin tests/timeaudit/pin.py
    with django_db_blocker.unblock(), contextlib.ExitStack() as stack:
        if pinned:
            from tests.timeaudit.pin import parse_moment

            stack.enter_context(time_machine.travel(parse_moment(pinned), tick=False))
        return crawl_every_get_page()
