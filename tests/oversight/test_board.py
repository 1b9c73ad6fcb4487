"""The team board: the right figures, the team's data only, a bounded number of queries."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from cases import board as board_fields
from cases.models import AccessLog, Episode, PlannedVisit
from oversight.models import ManagersDecision
from tests.conftest import make_user
from tests.factories import family_with_children
from tests.oversight.helpers import (
    NOW,
    duty_note,
    london,
    make_assessment,
    make_contact,
    make_deadline,
    make_episode,
)

pytestmark = pytest.mark.django_db
S = Episode.State
BOARD = reverse("oversight:team_board")
LIST = reverse("oversight:team_board_list")


def listed(client, name: str, **params) -> list:
    """The rows of one of the board's lists (its first page)."""
    response = client.get(LIST, {"list": name, **params})
    assert response.status_code == 200
    return list(response.context["page"].object_list)


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def board(users, team, other_team, coach2, other_coach, pinned):
    """Clocks in every bucket for two practitioners, plus things that must not show."""
    coach = users["coach"]
    e1 = make_episode(team, lead=coach)
    e2 = make_episode(team, lead=coach2)
    e_other = make_episode(other_team, lead=other_coach)
    make_deadline("B8", team=team, episode=e1, started_at=NOW - timedelta(days=3), due_at=NOW - timedelta(hours=1))
    make_deadline(
        "B9",
        team=team,
        episode=e1,
        started_at=NOW - timedelta(days=3),
        expected_at=NOW - timedelta(hours=2),
        due_at=NOW + timedelta(days=2),
    )
    make_deadline("B10", team=team, episode=e2, started_at=NOW - timedelta(days=20), due_at=NOW + timedelta(hours=5))
    make_deadline("B11", team=team, episode=e2, started_at=NOW - timedelta(days=20), due_at=london(2026, 11, 26, 12))
    make_deadline("B12", team=team, episode=e2, started_at=NOW - timedelta(days=20), due_at=london(2026, 12, 2, 12))
    make_deadline(
        "B13",
        team=team,
        episode=e1,
        started_at=NOW - timedelta(days=9),
        due_at=NOW - timedelta(days=6),
        stopped_at=NOW - timedelta(days=8),
    )
    make_deadline(
        "B8", team=other_team, episode=e_other, started_at=NOW - timedelta(days=5), due_at=NOW - timedelta(days=1)
    )
    make_deadline("B20", team=team, worker=coach2, started_at=NOW - timedelta(days=30), due_at=NOW - timedelta(days=1))
    make_deadline(
        "A11",
        rulebook="families-first",
        team=team,
        episode=e2,
        started_at=NOW - timedelta(days=200),
        expected_at=NOW - timedelta(days=1),
        due_at=None,
        flag_only=True,
    )
    return {"e1": e1, "e2": e2, "e_other": e_other}


class TestTimescales:
    def test_buckets_and_totals(self, client, users, board):
        client.force_login(users["teamlead"])
        response = client.get(BOARD)
        assert response.status_code == 200
        totals = response.context["summary"]["totals"]
        assert totals == {"breached": 2, "overdue": 2, "today": 1, "week": 1, "total": 6}
        # The board shows the five most urgent; the list has them all, in the same order.
        assert [d.pk for d in response.context["deadlines"]] == [d.pk for d in listed(client, "timescales")][:5]
        rules = [(d.rule_id, d.bucket) for d in listed(client, "timescales")]
        # Most urgent first: breaches, then overdue, today, this week; other teams' and stopped clocks absent.
        assert [b for _, b in rules] == ["breached", "breached", "overdue", "overdue", "today", "week"]
        assert sorted(r for r, _ in rules) == ["A11", "B10", "B11", "B20", "B8", "B9"]
        # Newest breach first: B8 breached an hour ago, the supervision clock B20 a day ago.
        assert [r for r, b in rules if b == "breached"] == ["B8", "B20"]
        html = response.content.decode()
        assert 'id="count-breached">2<' in html
        assert board["e_other"].family.name not in html

    def test_by_practitioner(self, client, users, board, coach2):
        client.force_login(users["teamlead"])
        rows = {r["name"]: r for r in client.get(BOARD).context["summary"]["by_practitioner"]}
        coach = rows[users["coach"].get_full_name()]
        assert (coach["breached"], coach["overdue"], coach["today"], coach["week"]) == (1, 1, 0, 0)
        other = rows[coach2.get_full_name()]
        assert (other["breached"], other["overdue"], other["today"], other["week"]) == (1, 1, 1, 1)

    def test_filters_by_practitioner_and_by_rule(self, client, users, board):
        client.force_login(users["teamlead"])
        response = client.get(BOARD, {"practitioner": users["coach"].pk})
        assert response.context["summary"]["totals"]["total"] == 2
        response = client.get(BOARD, {"rule": "B8"})
        assert [d.rule_id for d in response.context["deadlines"]] == ["B8"]
        assert [d.rule_id for d in listed(client, "timescales", rule="B8")] == ["B8"]

    def test_a_bad_filter_is_reported_not_a_500(self, client, users, board):
        client.force_login(users["teamlead"])
        response = client.get(BOARD, {"practitioner": "999999", "rule": "<script>"})
        assert response.status_code == 200
        assert "Choose a practitioner from the list" in response.content.decode()
        assert response.context["summary"]["totals"]["total"] == 6

    def test_csv_has_the_same_rows_and_is_logged(self, client, users, board):
        client.force_login(users["teamlead"])
        response = client.get(reverse("oversight:export", args=["board-timescales"]), {"rule": "B8"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = read_csv(response)
        assert rows[0][:3] == ["Status", "Rule", "Timescale"]
        assert [r[1] for r in rows[1:]] == ["B8"]
        assert rows[1][0] == "Breached"
        assert AccessLog.objects.filter(user=users["teamlead"], action="export", what__contains="team board").exists()
        rows = read_csv(client.get(reverse("oversight:export", args=["board-by-practitioner"])))
        assert rows[0] == ["Practitioner", "Breached", "Overdue", "Due today", "Due later this week", "Total"]
        assert sum(int(r[-1]) for r in rows[1:]) == 6


class TestCases:
    def test_open_over_months_no_oversight_and_risk(self, client, users, team, pinned):
        coach, lead = users["coach"], users["teamlead"]
        months = {}
        for label, opened in {
            "recent": NOW - timedelta(days=40),
            "m4": london(2026, 7, 20, 9),
            "m7": london(2026, 4, 20, 9),
            "m10": london(2026, 1, 20, 9),
            "m13": london(2025, 10, 20, 9),
            # The boundary is the local date: 23 August 23:00 BST is exactly 3 months; 24 August is not.
            "edge_in": london(2026, 8, 23, 23),
            "edge_out": london(2026, 8, 24, 0, 30),
        }.items():
            months[label] = make_episode(team, lead=coach, opened_at=opened)
        make_episode(team, lead=coach, opened_at=london(2025, 1, 1, 9), closed_at=london(2025, 9, 1, 9))
        # Oversight this month (from 1 November, local) for two; the day before does not count.
        ManagersDecision.objects.create(
            episode=months["m4"], family=months["m4"].family, oversees="monthly", decision="d", rationale="r",
            recorded_by=lead, recorded_at=london(2026, 11, 1, 0, 5),
        )  # fmt: skip
        ManagersDecision.objects.create(
            episode=months["m7"], family=months["m7"].family, oversees="monthly", decision="d", rationale="r",
            recorded_by=lead, recorded_at=london(2026, 10, 31, 23, 30),
        )  # fmt: skip
        # Risk: the episode's own contact at high; an assessment at medium; an old contact does not count.
        contact = make_contact(months["m13"].family, received_at=london(2025, 10, 19, 9), risks={"attendance": 3})
        Episode.objects.filter(pk=months["m13"].pk).update(contact=contact)
        board_fields.refresh(episode_ids=[months["m13"].pk])  # update() past the services (ADR 56)
        make_assessment(months["m10"], by=coach, started_at=london(2026, 2, 1, 9), risks={"substance": 2})
        make_contact(months["m7"].family, received_at=london(2026, 3, 1, 9), risks={"domestic_abuse": 3})
        make_contact(months["m7"].family, received_at=london(2026, 6, 1, 9), risks={"health": 1})

        client.force_login(lead)
        response = client.get(BOARD)
        counts = response.context["counts"]
        assert counts["open"] == 7
        assert (counts["band_3"], counts["band_6"], counts["band_9"], counts["band_12"]) == (2, 1, 1, 1)
        assert counts["no_oversight"] == 6
        assert response.context["list_counts"]["high_risk"] == 2
        no_oversight = {e.pk for e in listed(client, "no-oversight")}
        assert len(no_oversight) == 6
        assert months["m4"].pk not in no_oversight and months["m7"].pk in no_oversight
        long_open = [(e.pk, e.band) for e in listed(client, "long-open")]
        assert long_open[0] == (months["m13"].pk, 12)
        assert (months["edge_in"].pk, 3) in long_open
        assert months["edge_out"].pk not in dict(long_open)
        high = [(e.pk, e.risk_level, e.risk_names) for e in listed(client, "high-risk")]
        assert high == [(months["m13"].pk, 3, "School attendance"), (months["m10"].pk, 2, "")]

    def test_pre_allocation_with_last_weekly_contact(self, client, users, team, pinned):
        duty = users["duty"]
        overdue = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=NOW - timedelta(days=20))
        duty_note(overdue, at=NOW - timedelta(days=10), by=duty, details="Left a message.")
        fresh = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=NOW - timedelta(days=20))
        duty_note(fresh, at=NOW - timedelta(days=12), by=duty)
        duty_note(fresh, at=NOW - timedelta(days=2), by=duty, details="Mum says things are calmer.")
        new = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=NOW - timedelta(days=3))
        client.force_login(duty)
        rows = {e.pk: e for e in client.get(reverse("oversight:my_work")).context["pre_allocation"]}
        assert set(rows) == {overdue.pk, fresh.pk, new.pk}
        assert rows[overdue.pk].weekly_contact_due is True
        assert rows[fresh.pk].weekly_contact_due is False
        assert rows[fresh.pk].last_duty_contact_text == "Mum says things are calmer."
        assert rows[new.pk].weekly_contact_due is False and rows[new.pk].last_duty_contact_at is None
        # The team board counts the same list, and how many weekly contacts are due.
        client.force_login(users["teamlead"])
        list_counts = client.get(BOARD).context["list_counts"]
        assert (list_counts["pre_allocation"], list_counts["weekly_contact_due"]) == (3, 1)

    def test_caseloads_and_deactivated_staff(self, client, users, team, coach2, pinned):
        coach = users["coach"]
        coach.caseload_capacity_override = 2
        coach.save()
        for _ in range(3):
            make_episode(team, lead=coach)
        make_episode(team, lead=coach2)
        leaver = make_user("leaver", roles.PRACTITIONER, team, is_active=False)
        held = make_episode(team, lead=leaver)
        client.force_login(users["teamlead"])
        response = client.get(BOARD)
        caseloads = {p.username: (p.caseload, p.capacity, p.band) for p in response.context["practitioners"]}
        assert caseloads == {"coach": (3, 2, "over"), "coach2": (1, 20, "under_half")}
        assert response.context["list_counts"]["deactivated"] == 1
        assert [e.pk for e in listed(client, "deactivated")] == [held.pk]
        rows = read_csv(client.get(reverse("oversight:export", args=["board-caseloads"])))
        assert [coach.get_full_name(), team.name, "3", "2"] in [r[:4] for r in rows[1:]]


class TestAccess:
    def test_who_may_see_a_board(self, client, users, board, other_team):
        for name in ("outsider", "coach", "mash", "admin"):
            client.force_login(users[name])
            assert client.get(BOARD).status_code == 403, name
        client.force_login(users["teamlead"])
        assert client.get(BOARD, {"team": other_team.pk}).status_code == 404
        assert client.get(BOARD, {"team": "x"}).status_code == 404
        assert (
            client.get(reverse("oversight:export", args=["board-timescales"]), {"team": other_team.pk}).status_code
            == 404
        )

    def test_a_manager_sees_any_team_of_the_service(self, client, users, board, other_team):
        client.force_login(users["manager"])
        response = client.get(BOARD, {"team": other_team.pk})
        assert response.status_code == 200
        assert [d.rule_id for d in response.context["deadlines"]] == ["B8"]
        assert board["e1"].family.name not in response.content.decode()

    def test_another_teams_leader_sees_none_of_our_data(self, client, other_teamlead, board):
        client.force_login(other_teamlead)
        html = client.get(BOARD).content.decode()
        assert board["e1"].family.name not in html and board["e2"].family.name not in html
        assert board["e_other"].family.name in html

    def test_unknown_export_is_404(self, client, users):
        client.force_login(users["teamlead"])
        assert client.get(reverse("oversight:export", args=["no-such-table"])).status_code == 404


def build_team_cases(team, users, n: int) -> None:
    coach = users["coach"]
    for i in range(n):
        e = make_episode(team, lead=coach, opened_at=NOW - timedelta(days=30 * (i % 14) + 1))
        make_deadline(
            "B8", team=team, episode=e, started_at=NOW - timedelta(days=3), due_at=NOW - timedelta(hours=i + 1)
        )
        make_deadline(
            "B10", team=team, episode=e, started_at=NOW - timedelta(days=3), due_at=NOW + timedelta(hours=i + 1)
        )
        make_contact(e.family, received_at=e.opened_at - timedelta(days=1), risks={"attendance": 3})
        # A planned visit past its time and not recorded: on the board's own list.
        PlannedVisit.objects.create(
            episode=e,
            family=e.family,
            planned_at=NOW - timedelta(hours=i + 2),
            visitor=coach,
            created_at=NOW - timedelta(days=2),
            created_by=coach,
        )
        w = make_episode(team, state=S.AWAITING_ALLOCATION, opened_at=NOW - timedelta(days=i + 8))
        duty_note(w, at=NOW - timedelta(days=i + 1), by=users["duty"])
        family, _ = family_with_children(1, team=team)


class TestQueryCount:
    def _count(self, client, path) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    def test_the_board_costs_the_same_whatever_the_number_of_cases(self, client, users, team, pinned):
        client.force_login(users["teamlead"])
        client.get(BOARD)  # the first request of a session also saves the session
        build_team_cases(team, users, 3)
        small = self._count(client, BOARD)
        build_team_cases(team, users, 12)
        large = self._count(client, BOARD)
        assert small == large
        assert large <= 15  # every key page at most 15 queries (ADR 0050)
