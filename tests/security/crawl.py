"""Every GET page of the app as every role, requested once per test worker and read by several tests (ADR 0055).

The permission matrix (the status of each page for each role) and the page conventions (the HTML of each page
a role may open) each built the same world and requested the same 198 URLs as the same roles: about 2,000
pages each. `crawl_every_get_page` builds that world once (the `users` fixture's users and teams, then
`make_world`), requests every URL of `all_url_names()` as anonymous and then as every role, in the order the
permission matrix always did, keeps what the tests read (status, content type, and the HTML of every 200 HTML
page), then rolls the world back, so no later test sees it. The tests assert what they asserted before, on
the same responses.

The crawl also follows, as each role, every link of the home page and of the pages it links to (what the
links walk, tests/security/test_links.py, checks), requesting each address once: most are pages of the
table, already requested.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

ROLES = ["mash", "mashlead", "duty", "coach", "teamlead", "manager", "dutymanager", "admin", "outsider", "othercoach"]
COLUMNS = ["anonymous", *ROLES]


@dataclass(frozen=True)
class Got:
    """One GET: what the tests read of the response."""

    url: str
    status: int
    content_type: str
    packed_html: bytes | None  # zlib of the body, for a 200 HTML page (about 2,000 pages: kept small)

    @property
    def html(self) -> str:
        return zlib.decompress(self.packed_html).decode() if self.packed_html is not None else ""


@dataclass
class Crawl:
    pages: dict[str, dict[str, Got]] = field(default_factory=dict)  # {url name: {column: Got}}
    visited: dict[tuple[str, str], Got] = field(default_factory=dict)  # {(column, address): Got}: every GET

    def visit(self, role: str, address: str) -> Got:
        """What `address` gave `role` (KeyError: the crawl did not request it)."""
        return self.visited[(role, address)]


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
    from django.urls import resolve
    from django.urls.exceptions import Resolver404

    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


def _get(client, crawl: Crawl, role: str, address: str) -> Got:
    """GET `address` as the signed-in `role`, once: a second visit reads what the first kept."""
    if (role, address) in crawl.visited:
        return crawl.visited[(role, address)]
    response = client.get(address)
    content_type = response.get("Content-Type", "")
    packed = None
    if response.status_code == 200 and "html" in content_type:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        packed = zlib.compress(body, 1)
    got = crawl.visited[(role, address)] = Got(address, response.status_code, content_type, packed)
    return got


def _follow_links(client, crawl: Crawl, role: str) -> None:
    """Home, every page it links to, and every link on those (tests/security/test_links.py)."""
    from django.urls import reverse

    home = reverse("home")
    main = {home} | {link for link in links_of(_get(client, crawl, role, home).html) if url_name_of(link)}
    for page in sorted(main):
        got = _get(client, crawl, role, page)
        if got.status != 200 or "html" not in got.content_type:
            continue
        for link in links_of(got.html):
            if url_name_of(link) is not None:
                _get(client, crawl, role, link)


def crawl_every_get_page() -> Crawl:
    """Every URL as every column of the permission matrix, and the links walk of every role."""
    from django.test import Client, TestCase

    from tests.conftest import make_users
    from tests.factories import ServiceFactory, TeamFactory
    from tests.security.matrix import all_url_names, url_for
    from tests.security.world import make_world

    # The atomic blocks of a TestCase (savepoint-safe for the code under test), rolled back at the end.
    atomics = TestCase._enter_atomics()
    try:
        service = ServiceFactory(name="Early Help")
        team = TeamFactory(name="Northfield Family Hub", service=service)
        other_team = TeamFactory(name="Southbank Family Hub", service=service)
        front_door_team = TeamFactory(name="Front Door", service=service, kind="front_door")
        users = make_users(team, front_door_team, service)
        world = make_world(users, team, other_team)
        urls = [(name, url_for(name, kwarg_names, world)) for name, kwarg_names in all_url_names()]
        client = Client()
        crawl = Crawl()
        for role in COLUMNS:  # one sign-in per role, not per URL
            if role == "anonymous":
                client.logout()
            else:
                client.force_login(users[role])
            for name, url in urls:
                crawl.pages.setdefault(name, {})[role] = _get(client, crawl, role, url)
        for role in ROLES:  # after the table, so that its requests are made in the order they always were
            client.force_login(users[role])
            _follow_links(client, crawl, role)
        return crawl
    finally:
        TestCase._rollback_atomics(atomics)
