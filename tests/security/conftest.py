"""The test world of the URL-by-role tests: one of every kind of record, and a practitioner of another team."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts import roles
from tests.conftest import make_user
from tests.security.world import add_oversight_records, add_partner_records, build_world


@pytest.fixture
def world(users, team, other_team):
    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    return add_partner_records(add_oversight_records(build_world(users, team), users), users)
