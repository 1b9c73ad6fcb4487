"""Every page that shows a family's or a person's identifying data leaves exactly one access-log row.

The pages are found from the URL list (tests/security/matrix.py), not from a hand-kept list: each
URL is opened by the roles in turn, and a page is taken to show identifying data when the family's
or the child's name is in what it returned. Such a page must have written exactly one new row for
that family (by family id, or by the id of one of its people), by the user who opened it. List
pages write one row per family they show; searches one per person found (with the family); the
test world holds one family and its search parameters find one person, so "one" holds for all.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts import roles
from cases.models import AccessLog, Membership
from tests.conftest import make_user
from tests.partners.conftest import sign_in_partner
from tests.security.matrix import QUERY_STRINGS, all_url_names, url_for
from tests.security.world import add_oversight_records, add_partner_records, build_world

pytestmark = pytest.mark.django_db

# Who opens each page, most likely to be allowed first (the first role that sees the data is enough).
# `teacher` is a partner agency's user in the family's team (ADR 0044): the partner portal's pages.
ROLES = ["manager", "coach", "mash", "teamlead", "dutymanager", "duty", "mashlead", "teacher"]
LOGGED_ACTIONS = {"view", "search", "export", "download"}
# The user's own two-factor page draws a QR code (slow): one role is enough to see it names no family.
ONE_ROLE_ENOUGH = {"accounts:two_factor"}


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


@pytest.fixture
def world(users, team, other_team):
    Group.objects.get_or_create(name=roles.PRACTITIONER)
    users["othercoach"] = make_user("othercoach", roles.PRACTITIONER, other_team)
    return add_partner_records(add_oversight_records(build_world(users, team), users), users)


def test_every_page_showing_a_family_or_person_logs_exactly_one_row(users, world):
    clients = {role: Client() for role in ROLES}
    for role, client in clients.items():
        client.force_login(users[role])
    sign_in_partner(clients["teacher"], users["teacher"])
    family, child = world["family"], world["child"]
    names = (family.name, f"{child.first_name} {child.last_name}", child.first_name)
    people = set(Membership.objects.filter(family=family).values_list("person_id", flat=True))
    pages_with_data, wrong = [], []
    for name, kwarg_names in all_url_names():
        url = url_for(name, kwarg_names, world)
        query = QUERY_STRINGS[name](world) if name in QUERY_STRINGS else {}
        for role in ROLES[:1] if name in ONE_ROLE_ENOUGH else ROLES:
            last = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = clients[role].post(url, query, follow=True) if query else clients[role].get(url)
            if response.status_code == 405:
                break  # an action (POST only): nothing to see
            if response.status_code != 200 or not any(n in body_of(response) for n in names):
                continue
            pages_with_data.append(name)
            rows = list(AccessLog.objects.filter(pk__gt=last))
            mine = [r for r in rows if r.family_id_logged == family.pk or r.person_id_logged in people]
            if len(mine) != 1:
                wrong.append(f"{name} as {role}: {len(mine)} rows for the family ({[r.what for r in rows]})")
            elif mine[0].user_id != users[role].pk or mine[0].action not in LOGGED_ACTIONS:
                wrong.append(f"{name} as {role}: row by {mine[0].user} ({mine[0].action})")
            break
    assert not wrong, "\n".join(wrong)
    # The detection works: the pages everyone agrees show a family are among those found.
    for name in ("cases:family_detail", "cases:contact_record", "episodes:plan", "cases:meeting_detail"):
        assert name in pages_with_data, name
    assert "cases:search" in pages_with_data and "cases:contact_create" in pages_with_data
    assert {"partners:home", "partners:family_list", "partners:family_detail", "partners:update_new"} <= set(
        pages_with_data
    )
