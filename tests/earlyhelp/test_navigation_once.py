"""The header's links are worked out once per set of roles, not reversed on every request (ADR 63),
and are the same links, with the current page marked, as reversing them each time gave."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts import roles
from earlyhelp import navigation

pytestmark = pytest.mark.django_db


def _reversed_each_time(user, current_path: str, *, header: bool = True) -> list[dict]:
    """The navigation as it was worked out before ADR 63: every item reversed on every call."""
    items = []
    for label, url in navigation._links(user.role_names, header=header):
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return items


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_the_links_are_reversed_once_per_role_set(role):
    from tests.conftest import make_user

    user = make_user(f"once-{role.lower().replace(' ', '-')}", role)
    cases = [(path, header) for path in ("/", reverse("cases:search"), "/nowhere/") for header in (True, False)]
    expected = {case: _reversed_each_time(user, case[0], header=case[1]) for case in cases}
    navigation.items_for(user, "/"), navigation.items_for(user, "/", header=False)  # the first request
    with mock.patch.object(navigation, "reverse", side_effect=AssertionError("reversed again")):
        for path, header in cases:
            assert navigation.items_for(user, path, header=header) == expected[path, header]


def test_another_script_prefix_gets_its_own_links(users):
    from django.urls import set_script_prefix

    before = navigation.items_for(users["coach"], "/")
    set_script_prefix("/earlyhelp/")
    try:
        under_prefix = navigation.items_for(users["coach"], "/earlyhelp/")
    finally:
        set_script_prefix("/")
    assert [i["url"] for i in under_prefix] == ["/earlyhelp" + i["url"] for i in before]
    assert navigation.items_for(users["coach"], "/") == before


@override_settings(ROOT_URLCONF="earlyhelp.urls")
def test_the_url_configuration_is_part_of_the_key(users):
    assert navigation.items_for(users["coach"], "/")[0]["url"] == "/"
