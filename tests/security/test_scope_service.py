"""Managers and duty managers see their service's families and the contacts routed to it, nothing more.

A manager with no service sees no family. The same scope holds on every page built on it: the
family and contact pages, the access log page, subject access, the dashboard, exports and Annex A.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from cases import selectors
from cases.models import Meeting, MeetingItem
from oversight import annex_a
from oversight import selectors as oversight_selectors
from tests.factories import ContactFactory, children_of, family_with_children
from tests.security.world import add_far_service

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))


def contact_for(family, **fields):
    return ContactFactory(
        family=family,
        received_at=NOW - timedelta(days=3),
        presenting_needs="Needs",
        subjects=children_of(family),
        **fields,
    )


@pytest.fixture
def families(users, team):
    far = add_far_service(users)
    received_here, _ = family_with_children(1)  # by our front door, not yet routed anywhere
    contact_for(received_here, created_by=users["mash"])
    allocated_far, _ = family_with_children(1)  # our front door allocated it to the far service's team (both see it)
    contact_for(allocated_far, created_by=users["mash"], allocated_team=far["team"])
    received_far, _ = family_with_children(1)  # the far front door received it
    contact_for(received_far, created_by=users["farmash"])
    anonymous, _ = family_with_children(1)  # a contact with no recorded route (an import, say)
    contact_for(anonymous)
    at_far_meeting, _ = family_with_children(1)  # waiting on a meeting the far team is invited to
    meeting = Meeting.objects.create(kind="NAM", scheduled_for=NOW)
    meeting.invited_teams.set([far["team"]])
    MeetingItem.objects.create(meeting=meeting, contact=contact_for(at_far_meeting))
    ours, _ = family_with_children(1, team=team)
    return {
        "received_here": received_here,
        "allocated_far": allocated_far,
        "received_far": received_far,
        "anonymous": anonymous,
        "at_far_meeting": at_far_meeting,
        "ours": ours,
    }


def visible(user, families) -> set[str]:
    ids = set(selectors.families_visible_to(user).values_list("pk", flat=True))
    return {key for key, family in families.items() if family.pk in ids}


def test_each_manager_sees_their_own_service(users, families):
    for name in ("manager", "dutymanager"):
        assert visible(users[name], families) == {"received_here", "allocated_far", "ours"}, name
    for name in ("farmanager", "fardutymanager"):
        assert visible(users[name], families) == {"allocated_far", "received_far", "at_far_meeting"}, name
    assert visible(users["nomanager"], families) == set()
    # The front door still sees every family that came through it (not a team's family with no contact).
    assert visible(users["mash"], families) == set(families) - {"ours"}


def test_pages_built_on_the_scope_refuse_the_other_service(client, users, families):
    child = families["received_here"].memberships.get(relationship="child").person
    pages = [
        reverse("cases:family_detail", args=[families["received_here"].pk]),
        reverse("cases:family_access_log", args=[families["received_here"].pk]),
        reverse("cases:contact_detail", args=[families["received_here"].contacts.get().pk]),
        reverse("oversight:subject_access", args=[child.pk]),
        reverse("oversight:retention_family", args=[families["received_here"].pk]),
    ]
    for name in ("farmanager", "fardutymanager", "nomanager"):
        client.force_login(users[name])
        for url in pages:
            response = client.get(url)
            assert response.status_code in (403, 404), (name, url)
            assert families["received_here"].name.encode() not in response.content
    client.force_login(users["manager"])
    for url in pages[:4]:
        assert client.get(url).status_code == 200, url


def test_a_manager_with_no_service_gets_no_dashboard_nor_data(client, users, families):
    client.force_login(users["nomanager"])
    assert client.get(reverse("oversight:dashboard")).status_code == 403
    assert client.get(reverse("cases:triage_queue")).content.count(b"/contacts/") == 0
    assert not oversight_selectors.service_deadlines(users["nomanager"]).exists()
    period = oversight_selectors.Period(date(2026, 4, 1), date(2026, 11, 30))
    assert list(annex_a.list_1_rows(users["nomanager"], period=period, mode="codes")) == []


def test_annex_a_and_weekly_contacts_count_only_the_service(users, families):
    period = oversight_selectors.Period(date(2026, 11, 1), date(2026, 11, 30))
    far_rows = list(annex_a.list_1_rows(users["farmanager"], period=period, mode="codes"))
    ours_rows = list(annex_a.list_1_rows(users["manager"], period=period, mode="codes"))
    assert len(far_rows) == 3 and len(ours_rows) == 2
    weeks = oversight_selectors._contacts_by_week(users["farmanager"], period=period)
    assert sum(w["received"] for w in weeks) == 3
