"""Managers Decisions, supervision and its tasks, my work and the outcomes report (Annex A: test_annex_a.py)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse

from cases.models import Episode, OutcomeArea
from deadlines import events
from deadlines.models import Deadline
from deadlines.services import deadline_record_event
from oversight import services
from oversight.models import ManagersDecision, Supervision, SupervisionAction
from tests.oversight.helpers import (
    NOW,
    london,
    make_assessment,
    make_episode,
    make_plan_outcome,
)

pytestmark = pytest.mark.django_db
S = Episode.State


def open_rules(**subject) -> set[str]:
    return set(Deadline.objects.filter(stopped_at__isnull=True, **subject).values_list("rule_id", flat=True))


class TestManagersDecision:
    @pytest.fixture
    def episode(self, users, team, pinned):
        episode = make_episode(team, lead=users["coach"], state=S.ASSESSMENT_COMPLETED)
        deadline_record_event(event=events.EPISODE_OPENED, now=NOW - timedelta(days=20), episode=episode)
        deadline_record_event(event=events.ASSESSMENT_COMPLETED, now=NOW - timedelta(days=1), episode=episode)
        make_assessment(
            episode, by=users["coach"], started_at=NOW - timedelta(days=5), completed_at=NOW - timedelta(days=1)
        )
        return episode

    def test_recording_stops_the_oversight_clocks_and_joins_the_chronology(self, client, users, episode):
        assert {"B13", "B14"} <= open_rules(episode=episode)
        client.force_login(users["manager"])
        url = reverse("oversight:decision_new", args=[episode.pk])
        page = client.get(url, {"oversees": "assessment"})
        assert page.status_code == 200
        record = next(
            value for value, _ in page.context["form"].fields["record"].choices if value.startswith("assessment:")
        )
        response = client.post(
            url,
            {
                "oversees": "assessment",
                "record": record,
                "decision": "Agree the plan focus.",
                "rationale": "Risks clear.",
            },
        )
        assert response.status_code == 302
        decision = ManagersDecision.objects.get()
        assert (decision.recorded_at, decision.recorded_by, decision.assessment) == (
            NOW,
            users["manager"],
            episode.assessment,
        )
        assert "B13" not in open_rules(episode=episode)
        b14 = Deadline.objects.filter(episode=episode, rule_id="B14").order_by("cycle")
        assert [(d.cycle, d.stopped_at) for d in b14] == [(1, NOW), (2, None)]  # monthly: the next one is running
        family_page = client.get(reverse("cases:family_detail", args=[episode.family_id]))
        assert "Managers Decision: Assessment" in family_page.content.decode()

    def test_bad_input_re_renders_with_a_message(self, client, users, team, episode):
        other = make_episode(team, lead=users["coach"])
        other_assessment = make_assessment(other, by=users["coach"], started_at=NOW - timedelta(days=3))
        client.force_login(users["manager"])
        url = reverse("oversight:decision_new", args=[episode.pk])
        response = client.post(url, {"oversees": "assessment", "decision": "", "rationale": ""})
        assert response.status_code == 200
        html = response.content.decode()
        assert "Enter the decision" in html and "Enter the rationale for the decision" in html
        response = client.post(
            url,
            {
                "oversees": "assessment",
                "record": f"assessment:{other_assessment.pk}",
                "decision": "d",
                "rationale": "r",
            },
        )
        assert response.status_code == 200 and "Choose a record of this case from the list" in response.content.decode()
        response = client.post(
            url,
            {"oversees": "plan", "record": f"assessment:{episode.assessment.pk}", "decision": "d", "rationale": "r"},
        )
        assert "not the kind of record this decision oversees" in response.content.decode()
        assert ManagersDecision.objects.count() == 0

    def test_only_a_manager_of_the_service(self, client, users, episode, far_manager):
        url = reverse("oversight:decision_new", args=[episode.pk])
        client.force_login(users["teamlead"])
        assert client.get(url).status_code == 403
        for user in (users["outsider"], far_manager):
            client.force_login(user)
            assert client.get(url).status_code == 404
        with pytest.raises(services.OversightError):
            services.managers_decision_record(
                episode=episode, oversees="monthly", decision="d", rationale="r", by=users["teamlead"], now=NOW
            )


class TestSupervision:
    def test_recording_creates_tasks_and_restarts_the_clocks(self, client, users, team, pinned):
        coach, lead = users["coach"], users["teamlead"]
        case = make_episode(team, lead=coach)
        client.force_login(lead)
        page = client.get(reverse("oversight:supervision_list"))
        assert [p.pk for p in page.context["people"]] == [coach.pk]
        url = reverse("oversight:supervision_new", args=[coach.pk])
        data = {
            "held_on_0": "23",
            "held_on_1": "11",
            "held_on_2": "2026",
            "cases_discussed": [str(case.pk)],
            "notes": "Caseload reviewed; wellbeing good.",
            "action-0-text": "Book the review meeting",
            "action-0-episode": str(case.pk),
            "action-0-assignee": str(coach.pk),
            "action-0-due_on_0": "30",
            "action-0-due_on_1": "11",
            "action-0-due_on_2": "2026",
            "action-1-assignee": str(coach.pk),
        }
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]
        supervision = Supervision.objects.get()
        assert list(supervision.cases_discussed.all()) == [case]
        task = SupervisionAction.objects.get()
        assert (task.assignee, task.episode, task.due_on) == (coach, case, date(2026, 11, 30))
        assert open_rules(worker=coach) == {"B20"}
        assert Deadline.objects.get(worker=coach).due_at.date() == date(2026, 12, 21)  # 4 calendar weeks
        assert "B19" in open_rules(episode=case)  # the discussion must be recorded as a Managers Decision
        services.managers_decision_record(
            episode=case, oversees="case_discussion", decision="d", rationale="r", by=users["manager"], now=NOW
        )
        assert "B19" not in open_rules(episode=case)

        # The practitioner sees the task among their cases, in due order, and marks it done.
        client.force_login(coach)
        items = client.get(reverse("oversight:my_work")).context["items"]
        assert [i.kind for i in items] == ["task", "case"]
        client.force_login(users["outsider"])
        assert client.post(reverse("oversight:task_done", args=[task.pk])).status_code == 404
        client.force_login(coach)
        assert client.post(reverse("oversight:task_done", args=[task.pk])).status_code == 302
        task.refresh_from_db()
        assert task.done_at == NOW and task.done_by == coach

    def test_bad_input_and_who_may_supervise(self, client, users, team, other_coach, pinned):
        client.force_login(users["teamlead"])
        url = reverse("oversight:supervision_new", args=[users["coach"].pk])
        response = client.post(
            url,
            {"held_on_0": "1", "held_on_1": "12", "held_on_2": "2026", "notes": "", "action-0-text": "Do this"},
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "must be today or in the past" in html
        assert "Enter the date the action is due by" in html
        assert Supervision.objects.count() == 0
        assert client.get(reverse("oversight:supervision_new", args=[other_coach.pk])).status_code == 404
        client.force_login(users["coach"])
        assert client.get(url).status_code == 403


class TestOutcomes:
    def test_families_by_need_at_assessment_and_at_closure(self, client, users, team, pinned):
        coach = users["coach"]
        A = OutcomeArea
        in_period = london(2026, 10, 15, 10)
        before = london(2026, 6, 1, 10)
        e1 = make_episode(team, lead=coach)
        make_assessment(e1, by=coach, started_at=in_period, completed_at=in_period,
                        needs={A.EDUCATION: 3, A.HEALTH: 2, A.HOUSING: 1})  # fmt: skip
        e2 = make_episode(team, lead=coach)
        make_assessment(e2, by=coach, started_at=in_period, completed_at=in_period, needs={A.EDUCATION: 2, A.HEALTH: 1})
        e3 = make_episode(team, lead=coach)
        make_assessment(e3, by=coach, started_at=before, completed_at=before, needs={A.EDUCATION: 3})
        c1 = make_episode(team, lead=coach, opened_at=london(2026, 3, 1, 9), closed_at=london(2026, 11, 2, 9),
                          closure_reason="goals_met")  # fmt: skip
        make_assessment(c1, by=coach, started_at=before, completed_at=before, needs={A.EDUCATION: 3})
        make_plan_outcome(c1, by=coach, area=A.EDUCATION, ratings=[2, 4])
        make_plan_outcome(c1, by=coach, area=A.HEALTH, number=2, ratings=[1])
        c2 = make_episode(team, lead=coach, opened_at=london(2026, 3, 1, 9), closed_at=london(2026, 10, 2, 9),
                          closure_reason="family_declined")  # fmt: skip
        make_assessment(c2, by=coach, started_at=before, completed_at=before, needs={A.EDUCATION: 2})
        make_plan_outcome(c2, by=coach, area=A.EDUCATION)
        make_episode(team, lead=coach, opened_at=london(2026, 1, 1, 9), closed_at=london(2026, 5, 1, 9),
                     closure_reason="goals_met")  # fmt: skip

        client.force_login(users["manager"])
        response = client.get(reverse("oversight:outcomes_report"), {"start": "2026-09-01", "end": "2026-11-23"})
        assert response.status_code == 200
        at_assessment = {r["area"]: (r["levels"], r["with_need"]) for r in response.context["at_assessment"]}
        assert at_assessment[A.EDUCATION] == ([0, 0, 1, 1], 2)
        assert at_assessment[A.HEALTH] == ([0, 1, 1, 0], 1)
        assert at_assessment[A.HOUSING] == ([0, 1, 0, 0], 0)
        closure = response.context["at_closure"]
        areas = {r["area"]: r for r in closure["areas"]}
        education = areas[A.EDUCATION]
        assert (education["need_at_assessment"], education["with_outcome"], education["achieved"]) == (2, 2, 1)
        assert (education["not_reviewed"], education["pct_achieved"]) == (1, 50.0)
        assert (areas[A.HEALTH]["with_outcome"], areas[A.HEALTH]["no_change"]) == (1, 1)
        assert closure["closed"] == 2
        assert {r["reason"]: r["count"] for r in closure["reasons"]}["goals_met"] == 1
        body = b"".join(
            client.get(
                reverse("oversight:export", args=["outcomes-at-closure"]), {"start": "2026-09-01"}
            ).streaming_content
        ).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[1][:4] == ["Getting a good education", "2", "2", "1"]
