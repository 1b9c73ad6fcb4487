"""Practitioners per band of caseload against capacity, kept by triggers (ADR 68).

Every change that can move a practitioner between bands (a case opened, closed or reallocated, a
capacity agreed, a working pattern, a team, the role given or taken, an account deactivated) moves the
counts in the same transaction; they equal what `caseload_distribution` works out from every
practitioner; the reconcile finds drift and repairs it. The caseloads page reads the counts (five rows)
and its page of practitioners, whatever the number of practitioners.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from cases import caseload
from cases.models import Caseload, CaseloadBand, Episode
from oversight import selectors
from tests.conftest import make_user
from tests.oversight.helpers import make_episode

pytestmark = pytest.mark.django_db


def _kept(service_id: int, team_id: int = 0) -> dict[str, int]:
    counts = selectors.caseload_band_counts(service_id=service_id, team_id=team_id)
    return {b["key"]: b["count"] for b in counts["bands"] if b["count"]}


def _worked_out(team_ids) -> dict[str, int]:
    found = selectors.caseload_distribution(list(selectors.caseloads(team_ids=team_ids)))
    return {b["key"]: b["count"] for b in found["bands"] if b["count"]}


def _assert_exact(service, teams) -> None:
    assert caseload.band_drift() == []
    assert _kept(service.pk) == _worked_out([t.pk for t in teams])
    for t in teams:
        assert _kept(service.pk, t.pk) == _worked_out([t.pk])


def test_every_change_moves_the_bands(users, team, other_team, service, coach2, other_coach):
    teams = [team, other_team]
    coach = users["coach"]
    _assert_exact(service, teams)
    assert _kept(service.pk) == {"under_half": 3}  # coach, coach2, othercoach: no cases, capacity 20

    coach2.caseload_capacity_override = 2
    coach2.save()
    episodes = [make_episode(team, lead=coach2) for _ in range(2)]
    _assert_exact(service, teams)
    assert _kept(service.pk, team.pk) == {"under_half": 1, "at": 1}

    Episode.objects.filter(pk=episodes[0].pk).update(lead_professional=other_coach)  # reallocated
    _assert_exact(service, teams)
    make_episode(team, lead=coach2)
    make_episode(team, lead=coach2)
    _assert_exact(service, teams)
    assert _kept(service.pk, team.pk) == {"under_half": 1, "over": 1}
    Episode.objects.filter(pk=episodes[1].pk).update(state=Episode.State.CLOSED)
    _assert_exact(service, teams)

    coach.working_pattern = coach.WorkingPattern.PART_TIME
    coach.save()
    other_coach.team = team  # moved team
    other_coach.save()
    _assert_exact(service, teams)
    coach2.is_active = False
    coach2.save()
    _assert_exact(service, teams)
    coach.groups.remove(Group.objects.get(name=roles.PRACTITIONER))
    _assert_exact(service, teams)
    assert _kept(service.pk) == {"under_half": 1}
    make_user("newcoach", roles.PRACTITIONER, other_team)
    _assert_exact(service, teams)
    assert _kept(service.pk) == {"under_half": 2}
    other_coach.team = None  # left the service's teams
    other_coach.save()
    _assert_exact(service, teams)


def test_the_reconcile_finds_and_repairs_drifted_bands(users, team, service, coach2):
    make_episode(team, lead=coach2)
    assert caseload.reconcile(repair=False).drift == []
    CaseloadBand.objects.filter(service_id=service.pk, team_id=0).update(practitioners=9)
    Caseload.objects.filter(lead_professional_id=coach2.pk).update(band="over")
    found = caseload.reconcile(repair=False)
    assert any("caseload band of user" in line for line in found.drift)
    assert any("practitioners in band under_half" in line and "stored 9" in line for line in found.drift)
    assert caseload.band_drift() != []  # a check repairs nothing
    repaired = caseload.reconcile()
    assert repaired.drift == found.drift and repaired.repaired >= len(found.drift)
    assert caseload.reconcile(repair=False).drift == []
    _assert_exact(service, [team])


def test_caseloads_page_reads_the_counts_and_its_page(client, users, team, other_team, service, coach2):
    client.force_login(users["manager"])
    make_episode(team, lead=coach2)
    url = reverse("oversight:dashboard_caseloads")

    def cost() -> tuple[int, list[str]]:
        client.get(url)  # warm: the session's first request reads more
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured.captured_queries), [p.username for p in response.context["page"].object_list]

    queries, first_page = cost()
    assert sorted(first_page) == ["coach", "coach2"]
    for n in range(30):
        make_user(f"zz{n:02}", roles.PRACTITIONER, other_team, first_name="Zed", last_name=f"Z{n:02}")
    more_queries, first_page = cost()
    assert more_queries == queries
    assert first_page[2:] == [f"zz{n:02}" for n in range(18)]  # "Southbank" after "Northfield", by name
    response = client.get(url)
    assert response.context["distribution"]["total"] == 32
    assert response.context["page"].paginator.count == 32
    page2 = client.get(url, {"page": 2}).context["page"].object_list
    assert [p.username for p in page2] == [f"zz{n:02}" for n in range(18, 30)]
    assert {b["key"]: b["count"] for b in response.context["distribution"]["bands"]}["under_half"] == 32
