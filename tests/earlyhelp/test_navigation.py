"""The header holds at most eight pages for any role, so it stays on one line at 1280 px and a role's
first screen holds its work; every page a role may reach is on its home page."""

from __future__ import annotations

import pytest

from accounts import roles
from earlyhelp.navigation import items_for

HEADER_LIMIT = 8


@pytest.mark.django_db
@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_each_role_header_fits_one_line_and_home_lists_every_page(role):
    from tests.conftest import make_user

    user = make_user(f"nav-{role.lower().replace(' ', '-')}", role)
    header = items_for(user, "/")
    everything = items_for(user, "/", header=False)
    assert len(header) <= HEADER_LIMIT, [i["label"] for i in header]
    assert {i["url"] for i in header} <= {i["url"] for i in everything}
