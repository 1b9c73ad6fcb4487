"""Every link a page shows can be followed by the user it is shown to (no 403 nor 404), and every page a role
may open without a record in its address is linked from the pages that role reaches (ADR 0036)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.urls.exceptions import Resolver404

from cases.selectors import families_visible_to
from tests.factories import family_with_children
from tests.security.matrix import all_url_names
from tests.security.test_permission_matrix import ROLES

pytestmark = pytest.mark.django_db

# Pages reached otherwise than by a link, and why.
NOT_LINKED = {
    "accounts:two_factor": "signing in sends a user there whenever two-factor has to be set up",
    "cases:break_glass": "offered on the page a user sees when a family is outside their scope",
    "sso_refused": "a single sign-on that matches no account ends there",
}


class Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links_of(html: str) -> set[str]:
    """The site's own pages a page links to (paths with their query, no fragment)."""
    parser = Links()
    parser.feed(html)
    found = set()
    for href in parser.hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
            continue
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def url_name_of(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


def test_a_mash_officer_adds_a_second_child_to_a_matched_family_before_recording_the_contact(client, users, other_team):
    family, children = family_with_children(1, team=other_team)
    mash = users["mash"]
    assert not families_visible_to(mash).filter(pk=family.pk).exists()  # reached only through the matches
    client.force_login(mash)
    found = client.post(reverse("cases:contact_create"), {"find-last_name": children[0].last_name}, follow=True)
    assert reverse("cases:contact_record", args=[family.pk]) in found.content.decode()
    contact_page = client.get(reverse("cases:contact_record", args=[family.pk]))
    assert contact_page.status_code == 200
    add = next(link for link in links_of(contact_page.content.decode()) if url_name_of(link) == "cases:person_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "relationship": "child",
            "first_name": "Wren",
            "last_name": children[0].last_name,
            "sex": "F",
            "ethnicity": "NOBT",
            "date_of_birth_0": "3",
            "date_of_birth_1": "4",
            "date_of_birth_2": "2019",
        },
    )
    assert response.status_code == 302 and response.url == reverse("cases:contact_record", args=[family.pk])
    assert "Wren" in client.get(response.url).content.decode()


def test_every_link_on_the_main_pages_opens_for_its_role_and_every_list_page_is_linked(client, users, world):
    # Pages without a record in the address: lists, reports, forms that start something.
    plain_pages = {name for name, kwargs in all_url_names() if not kwargs}
    broken, unlinked = [], []
    for role in ROLES:
        client.force_login(users[role])
        home = client.get(reverse("home"))
        main = {reverse("home")} | {link for link in links_of(home.content.decode()) if url_name_of(link)}
        linked: set[str] = set(main)
        for page in sorted(main):
            response = client.get(page)
            if response.status_code in (403, 404):
                broken.append(f"{role}: home links to {page}, which answers {response.status_code}")
                continue
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for link in links_of(response.content.decode()) - linked:
                linked.add(link)
                if url_name_of(link) is None:
                    continue
                status = client.get(link).status_code
                if status in (403, 404):
                    broken.append(f"{role}: {page} links to {link}, which answers {status}")
        linked_names = {url_name_of(link) for link in linked}
        for name in sorted(plain_pages - linked_names):
            if name in ("login", "logout", "healthz") or name in NOT_LINKED:
                continue
            if client.get(reverse(name)).status_code == 200:
                unlinked.append(f"{role} may open {name} but no page they reach links to it")
    assert not broken, "\n".join(broken)
    assert not unlinked, "\n".join(unlinked)
