"""Every link a page shows can be followed by the user it is shown to (no 403 nor 404), and every page a role
may open without a record in its address is linked from the pages that role reaches (ADR 0036)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.selectors import families_visible_to
from tests.factories import family_with_children
from tests.security.crawl import links_of, url_name_of
from tests.security.matrix import all_url_names
from tests.security.test_permission_matrix import ROLES

pytestmark = pytest.mark.django_db

# Pages reached otherwise than by a link, and why.
NOT_LINKED = {
    "accounts:two_factor": "signing in sends a user there whenever two-factor has to be set up",
    "cases:break_glass": "offered on the page a user sees when a family is outside their scope",
    "sso_refused": "a single sign-on that matches no account ends there",
}


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


def test_every_link_on_the_main_pages_opens_for_its_role_and_every_list_page_is_linked(get_crawl):
    """On the pages of the shared crawl (tests/security/crawl.py), which followed these links as each role."""
    # Pages without a record in the address: lists, reports, forms that start something.
    plain_pages = {name for name, kwargs in all_url_names() if not kwargs}
    broken, unlinked = [], []
    for role in ROLES:
        home = get_crawl.visit(role, reverse("home"))
        main = {reverse("home")} | {link for link in links_of(home.html) if url_name_of(link)}
        linked: set[str] = set(main)
        for page in sorted(main):
            response = get_crawl.visit(role, page)
            if response.status in (403, 404):
                broken.append(f"{role}: home links to {page}, which answers {response.status}")
                continue
            if response.status != 200 or "html" not in response.content_type:
                continue
            for link in links_of(response.html) - linked:
                linked.add(link)
                if url_name_of(link) is None:
                    continue
                status = get_crawl.visit(role, link).status
                if status in (403, 404):
                    broken.append(f"{role}: {page} links to {link}, which answers {status}")
        linked_names = {url_name_of(link) for link in linked}
        for name in sorted(plain_pages - linked_names):
            if name in ("login", "logout", "healthz") or name in NOT_LINKED:
                continue
            if get_crawl.visit(role, reverse(name)).status == 200:
                unlinked.append(f"{role} may open {name} but no page they reach links to it")
    assert not broken, "\n".join(broken)
    assert not unlinked, "\n".join(unlinked)
