from __future__ import annotations

import pytest
import time_machine

from accounts import roles
from tests.conftest import make_user
from tests.factories import ServiceFactory, TeamFactory
from tests.oversight.helpers import NOW


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def coach2(team):
    return make_user("coach2", roles.PRACTITIONER, team)


@pytest.fixture
def other_coach(other_team):
    return make_user("othercoach", roles.PRACTITIONER, other_team)


@pytest.fixture
def other_teamlead(other_team):
    return make_user("otherlead", roles.TEAM_LEADER, other_team)


@pytest.fixture
def far_service(db):
    """A second service of the council, whose managers must see nothing of ours."""
    service = ServiceFactory(name="Youth Service")
    return TeamFactory(name="Youth Team", service=service)


@pytest.fixture
def far_manager(far_service):
    return make_user("farmanager", roles.MANAGER, None, service=far_service.service)


@pytest.fixture(autouse=True)
def no_aggregate_cache(settings):
    """Each test computes its figures: a cached figure from another test (or run) would be wrong."""
    settings.OVERSIGHT_AGGREGATE_CACHE_SECONDS = 0
