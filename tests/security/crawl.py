"""Every GET page of the app as every role, requested once per test worker and read by several tests (ADR 0055).

The permission matrix (the status of each page for each role) and the page conventions (the HTML of each page
a role may open) each built the same world and requested the same 198 URLs as the same roles: about 2,000
pages each. `crawl_every_get_page` builds that world once (the `users` fixture's users and teams, then
`make_world`), requests every URL of `all_url_names()` as anonymous and then as every role, in the order the
permission matrix always did, keeps what the tests read (status, content type, and the HTML of every 200 HTML
page), then rolls the world back, so no later test sees it. The tests assert what they asserted before, on
the same responses.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

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


def crawl_every_get_page() -> dict[str, dict[str, Got]]:
    """{url name: {column: Got}} for every URL and every column of the permission matrix."""
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
        crawl: dict[str, dict[str, Got]] = {}
        for role in COLUMNS:  # one sign-in per role, not per URL
            if role == "anonymous":
                client.logout()
            else:
                client.force_login(users[role])
            for name, url in urls:
                response = client.get(url)
                content_type = response.get("Content-Type", "")
                packed = None
                if response.status_code == 200 and "html" in content_type:
                    body = b"".join(response.streaming_content) if response.streaming else response.content
                    packed = zlib.compress(body, 1)
                crawl.setdefault(name, {})[role] = Got(url, response.status_code, content_type, packed)
        return crawl
    finally:
        TestCase._rollback_atomics(atomics)
