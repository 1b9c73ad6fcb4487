"""The URL-by-role world made once for a test module, as Django's `setUpTestData` makes a class's records.

A module whose tests each build the world of tests/security/world.py (`make_world`: one of every kind of
record, the users of every role, a practitioner of another team) and then read it, or change it and look
at the pages, can make it once: the records are made when the module's first test needs them and rolled
back after its last (tests/module_data.py, ADR 0070); each test runs in its own savepoint, so what one
test writes (a saved form, an episode moved to another state, a user made for it) is rolled back before
the next, and each test gets its own deep copy of the Python objects, so a cached relation or a field
changed in memory is not the next test's either. The test sees the records the function-scoped fixtures
of tests/conftest.py and tests/security/conftest.py made for it before, with the same names and values.

A module opts in with one line at its top level, which defines the fixtures it then uses by their usual
names (`service`, `team`, `other_team`, `front_door_team`, `users`, `world`), and the two they share (a
fixture is found by pytest among the module's names):

    module_world_records, world_records, service, team, other_team, front_door_team, users, world = (
        world_made_once()
    )
"""

from __future__ import annotations

import pytest

from tests.module_data import fresh, made_once

NAMES = ("service", "team", "other_team", "front_door_team", "users", "world")


def make_records() -> dict:
    """The records of the fixtures of NAMES, made as those fixtures make them (tests/conftest.py, then
    `make_world`, which adds `othercoach` to the users)."""
    from tests.conftest import make_users
    from tests.factories import ServiceFactory, TeamFactory
    from tests.security.world import make_world

    service = ServiceFactory(name="Early Help")
    team = TeamFactory(name="Northfield Family Hub", service=service)
    other_team = TeamFactory(name="Southbank Family Hub", service=service)
    front_door_team = TeamFactory(name="Front Door", service=service, kind="front_door")
    users = make_users(team, front_door_team, service)
    world = make_world(users, team, other_team)
    return {
        "service": service,
        "team": team,
        "other_team": other_team,
        "front_door_team": front_door_team,
        "users": users,
        "world": world,
    }


def world_made_once() -> tuple:
    """For the module that assigns them: the module-scoped records, each test's copy of them, and the
    fixtures of NAMES, in that order."""

    @pytest.fixture(scope="module", name="module_world_records")
    def module_records(django_db_setup, django_db_blocker):
        with made_once(django_db_blocker, make_records) as records:
            yield records

    @pytest.fixture(name="world_records")
    def records(module_world_records, db):
        return fresh(module_world_records)  # one copy: users["coach"] is the world's lead, as before

    def one(name: str):
        @pytest.fixture(name=name)
        def fixture(world_records):
            return world_records[name]

        return fixture

    return (module_records, records, *(one(name) for name in NAMES))
