"""The test world of the URL-by-role tests: one of every kind of record, and a practitioner of another team."""

from __future__ import annotations

import pytest

from tests.security.world import make_world


@pytest.fixture
def world(users, team, other_team):
    return make_world(users, team, other_team)
