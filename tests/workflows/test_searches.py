"""Searches by name are POSTed and kept on the server under a search id: no name reaches a URL (ADR 0036)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.factories import family_with_children
from workflows.searches import SEARCH_LIFETIME, recall_search, remember_search

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_a_search_is_recalled_only_by_its_id_its_kind_and_before_it_expires():
    session: dict = {}
    search_id = remember_search(session, "people", {"q": "Ava Smith", "other": "x"}, ["q"], now=NOW)
    assert "Ava" not in search_id
    assert recall_search(session, "people", search_id, now=NOW) == {"q": "Ava Smith"}
    assert recall_search(session, "intake", search_id, now=NOW) is None
    assert recall_search(session, "people", "made-up", now=NOW) is None
    assert recall_search(session, "people", search_id, now=NOW + SEARCH_LIFETIME) is None
    later = remember_search(session, "people", {"q": "B"}, ["q"], now=NOW + SEARCH_LIFETIME)
    assert list(session["searches"]) == [later]  # the expired search is dropped


@pytest.mark.parametrize(
    ("url_name", "role", "data"),
    [
        ("cases:search", "coach", lambda child: {"q": f"{child.first_name} {child.last_name}"}),
        ("episodes:step_down_find", "manager", lambda child: {"q": f"{child.first_name} {child.last_name}"}),
        (
            "cases:contact_create",
            "mash",
            lambda child: {"find-first_name": child.first_name, "find-last_name": child.last_name},
        ),
    ],
)
def test_a_name_search_redirects_to_a_search_id_that_only_its_user_can_open(client, users, team, url_name, role, data):
    family, children = family_with_children(1, team=team)
    child = children[0]
    client.force_login(users[role])
    response = client.post(reverse(url_name), data(child))
    assert response.status_code == 302
    assert child.last_name not in response.url and child.first_name not in response.url
    assert "?search=" in response.url
    shown = client.get(response.url)
    assert shown.status_code == 200 and family.name in shown.content.decode()

    other = {"mash": users["mashlead"], "coach": users["teamlead"], "manager": users["teamlead"]}[role]
    client.force_login(other)  # another user's session: the id means nothing there
    elsewhere = client.get(response.url)
    assert elsewhere.status_code == 200
    body = elsewhere.content.decode()
    assert family.name not in body and "That search has expired or is not yours" in body


def test_a_search_that_cannot_be_run_is_shown_again_with_what_was_typed(client, users):
    client.force_login(users["mash"])
    response = client.post(reverse("cases:contact_create"), {"find-first_name": "Ava"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter a last name, date of birth, postcode or NHS number to search" in body
    assert 'value="Ava"' in body


def test_an_expired_search_shows_nothing(client, users, team):
    family, children = family_with_children(1, team=team)
    client.force_login(users["coach"])
    with time_machine.travel(NOW, tick=False):
        url = client.post(reverse("cases:search"), {"q": children[0].last_name}).url
        assert family.name in client.get(url).content.decode()
    with time_machine.travel(NOW + SEARCH_LIFETIME + timedelta(minutes=1), tick=False):
        assert family.name not in client.get(url).content.decode()
