"""Planned visits (ADR 17): planned from the episode page, shown on the episode page, on
"My work" and on the team board, recorded through the visit page; scoped and query-bounded."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AccessLog, PlannedVisit
from deadlines.models import Deadline
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=1)  # Tuesday 24 November 2026, 10:00


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


@pytest.fixture
def family_solutions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]


def plan_visit(users, episode, at):
    return es.planned_visit_schedule(
        episode=episode,
        planned_at=at,
        kind="home_visit",
        visitor=users["coach"],
        seeing="Mum",
        by=users["coach"],
        now=NOW + 2 * timedelta(hours=1),
    )


class TestPlanAVisitPage:
    def test_plans_a_visit_and_shows_it_with_its_clock(self, client, users, team, pinned, family_solutions):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        coach = users["coach"]
        client.force_login(coach)
        page = client.get(reverse("episodes:planned_visit_new", args=[episode.pk]))
        assert page.status_code == 200
        response = client.post(
            reverse("episodes:planned_visit_new", args=[episode.pk]),
            {
                "when_date_0": "26",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "14:30",
                "kind": "home_visit",
                "visitor": str(coach.pk),
                "seeing": "Mum and Sam",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        visit = PlannedVisit.objects.get(episode=episode)
        assert (visit.visitor, visit.seeing, visit.created_by) == (coach, "Mum and Sam", coach)
        assert Deadline.objects.filter(episode=episode, rule_id="B18", key=visit.clock_key, stopped_at=None).exists()
        body = client.get(reverse("episodes:episode_detail", args=[episode.pk])).content.decode()
        assert "Planned visits" in body and "Mum and Sam" in body
        assert visit.history.count() == 1

    def test_bad_input_re_renders_with_what_was_typed(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        client.force_login(users["coach"])
        response = client.post(
            reverse("episodes:planned_visit_new", args=[episode.pk]),
            {
                "when_date_0": "1",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "25:99",
                "kind": "home_visit",
                "visitor": str(users["coach"].pk),
                "seeing": "Grandad",
            },
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "Grandad" in body
        assert not PlannedVisit.objects.exists()

    def test_outsider_gets_404_and_views_are_logged(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        client.force_login(users["outsider"])
        assert client.get(reverse("episodes:planned_visit_new", args=[episode.pk])).status_code == 404
        client.force_login(users["coach"])
        before = AccessLog.objects.count()
        client.get(reverse("episodes:planned_visit_new", args=[episode.pk]))
        assert AccessLog.objects.count() == before + 1

    def test_recording_through_the_visit_page_stops_the_clock(self, client, users, team, pinned, family_solutions):
        episode, children = make_episode(users, team, state=S.FIRST_VISIT)
        visit = plan_visit(users, episode, NOW + 20 * timedelta(hours=1))  # Tuesday 06:00, passed
        client.force_login(users["coach"])
        url = reverse("episodes:note_new", args=[episode.pk])
        page = client.get(url, {"planned": visit.pk})
        assert page.context["form"]["planned_visit"].value() == str(visit.pk)
        response = client.post(
            url,
            {
                "planned_visit": str(visit.pk),
                "kind": "home_visit",
                "when_date_0": "24",
                "when_date_1": "11",
                "when_date_2": "2026",
                "when_time": "06:00",
                "details": "Visited as planned.",
                "purpose": "Planned home visit",
                "present": "Mum and the children",
                "actions": "Mum to ring the school",
                "analysis": "Things are calmer at home",
                **{f"child_{c.pk}_views": "It is better now." for c in children},
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        visit.refresh_from_db()
        assert visit.note is not None
        b18 = Deadline.objects.get(episode=episode, rule_id="B18", key=visit.clock_key)
        assert (b18.stop_reason, b18.stopped_at) == ("met", LATER)

    def test_cancel_page(self, client, users, team, pinned, family_solutions):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        visit = plan_visit(users, episode, LATER + timedelta(days=2))
        client.force_login(users["coach"])
        url = reverse("episodes:planned_visit_cancel", args=[episode.pk, visit.pk])
        assert client.post(url, {"reason": ""}).status_code == 400
        assert client.post(url, {"reason": "Family away."}).status_code == 302
        visit.refresh_from_db()
        assert visit.cancelled_by == users["coach"]
        assert Deadline.objects.get(rule_id="B18", key=visit.clock_key).stop_reason == "withdrawn"


class TestMyWorkAndBoard:
    def test_an_unrecorded_planned_visit_shows_on_my_work_and_the_team_board(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        past = plan_visit(users, episode, NOW + 20 * timedelta(hours=1))
        coming = plan_visit(users, episode, LATER + timedelta(days=3))
        far = plan_visit(users, episode, LATER + timedelta(days=30))
        client.force_login(users["coach"])
        shown = client.get(reverse("oversight:my_work")).context["planned_visits"]
        assert [v.pk for v in shown] == [past.pk, coming.pk]
        assert far.pk not in [v.pk for v in shown]
        client.force_login(users["teamlead"])
        board = client.get(reverse("oversight:team_board"))
        assert board.context["list_counts"]["unrecorded_visits"] == 1
        assert "Planned visits not yet recorded" in board.content.decode()
        listed = client.get(reverse("oversight:team_board_list"), {"list": "unrecorded-visits"})
        assert [v.pk for v in listed.context["page"].object_list] == [past.pk]

    def test_my_work_costs_the_same_whatever_the_number_of_visits(self, client, users, team, pinned):
        client.force_login(users["coach"])
        client.get(reverse("oversight:my_work"))

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("oversight:my_work")).status_code == 200
            return len(ctx.captured_queries)

        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        plan_visit(users, episode, NOW + 20 * timedelta(hours=1))
        small = count()
        for i in range(6):
            other, _ = make_episode(users, team, state=S.FIRST_VISIT)
            plan_visit(users, other, LATER + timedelta(hours=i + 1))
        large = count()
        assert small == large
        assert large <= 20
