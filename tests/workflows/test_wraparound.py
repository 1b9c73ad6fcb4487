"""B16 from a step-up: social care accept with Early Help continuing as wraparound (rulebook B 7).

The duty manager's decision is the request for wraparound support (B16 starts); the Early Help
side confirming its wraparound worker, a step of its own on its own page, stops it (ADR 0026).
Each test drives the real services or pages and fails on the code before this step existed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts import roles
from cases.models import AccessLog, StepUp
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
DECIDED = NOW + 20 * H


@pytest.fixture
def family_solutions(settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions", "step-up"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"  # the service's procedure (ADR 0019)


def b16(episode):
    return list(Deadline.objects.filter(rule_id="B16", episode=episode).order_by("started_at", "id"))


def stepped_up(users, team, *, wraparound=True, decision=StepUp.Decision.ACCEPTED):
    """An active episode stepped up to social care and decided at DECIDED."""
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    step_up = es.step_up_propose(
        episode=episode,
        concern="increasing_risk",
        reason="Two police call-outs in a week.",
        multi_agency_views="School worried.",
        family_views="A one-off.",
        by=users["coach"],
        now=NOW + 18 * H,
    )
    es.step_up_send_to_duty_manager(
        step_up=step_up,
        next_step="marf",
        parenting="partly",
        judgement="Rising.",
        by=users["manager"],
        now=NOW + 19 * H,
    )
    es.step_up_decide(
        step_up=step_up,
        decision=decision,
        wraparound=wraparound if decision == StepUp.Decision.ACCEPTED else None,
        focused_plan_note="" if decision == StepUp.Decision.ACCEPTED else "Family meeting on Friday.",
        notes="Allocated for a social care assessment.",
        by=users["dutymanager"],
        now=DECIDED,
    )
    episode.refresh_from_db()
    step_up.refresh_from_db()
    return episode, step_up


class TestTheStepUpDecisionStartsB16:
    def test_accepted_with_wraparound_starts_it_at_the_decision(self, users, team, family_solutions):
        episode, step_up = stepped_up(users, team)
        assert episode.state == S.WRAPAROUND and step_up.awaits_wraparound_worker
        (clock,) = b16(episode)
        assert (clock.started_at, clock.stopped_at, clock.start_event) == (DECIDED, None, "wraparound_requested")
        assert clock.started_by == users["dutymanager"]
        assert clock.due_at.date() == (DECIDED + timedelta(days=5)).date()  # 5 calendar days

    @pytest.mark.parametrize(
        ("decision", "wraparound"), [(StepUp.Decision.ACCEPTED, False), (StepUp.Decision.RETURNED, None)]
    )
    def test_no_wraparound_no_clock(self, users, team, family_solutions, decision, wraparound):
        episode, _ = stepped_up(users, team, decision=decision, wraparound=wraparound)
        assert b16(episode) == []


class TestConfirmingTheWraparoundWorker:
    def test_confirming_the_key_worker_as_wraparound_worker_stops_b16(self, users, team, family_solutions):
        episode, step_up = stepped_up(users, team)
        at = DECIDED + 26 * H
        es.wraparound_worker_confirm(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=at)
        (clock,) = b16(episode)
        assert (clock.stopped_at, clock.stop_reason) == (at, "met")
        step_up.refresh_from_db()
        episode.refresh_from_db()
        assert (step_up.wraparound_worker, step_up.wraparound_confirmed_at, step_up.wraparound_confirmed_by) == (
            users["coach"],
            at,
            users["teamlead"],
        )
        assert not step_up.awaits_wraparound_worker
        assert episode.state == S.WRAPAROUND and episode.lead_professional == users["coach"]
        assert episode.key_worker_role == "Wraparound worker"
        # Confirmed once: a second confirmation is refused with the reason.
        with pytest.raises(WorkflowError, match="already been confirmed"):
            es.wraparound_worker_confirm(episode=episode, practitioner=users["coach"], by=users["manager"], now=at)

    def test_another_practitioner_takes_the_case_and_its_clocks(self, users, team, family_solutions):
        episode, _ = stepped_up(users, team)
        other = make_user("second", roles.PRACTITIONER, team)
        es.wraparound_worker_confirm(episode=episode, practitioner=other, by=users["manager"], now=DECIDED + H)
        episode.refresh_from_db()
        assert episode.lead_professional == other and episode.allocated_by == users["manager"]
        open_clocks = Deadline.objects.filter(episode=episode, stopped_at__isnull=True)
        assert open_clocks.exists() and {d.assignee_id for d in open_clocks} == {other.pk}
        # The new worker holds a case: their supervision cycle (B20) starts.
        assert Deadline.objects.filter(rule_id="B20", worker=other, stopped_at__isnull=True).exists()

    def test_above_capacity_needs_a_reason(self, users, team, family_solutions):
        episode, _ = stepped_up(users, team)
        full = make_user("full", roles.PRACTITIONER, team, caseload_capacity_override=0)
        with pytest.raises(WorkflowError, match="give the reason for allocating above capacity"):
            es.wraparound_worker_confirm(episode=episode, practitioner=full, by=users["teamlead"], now=DECIDED + H)
        assert b16(episode)[0].stopped_at is None
        es.wraparound_worker_confirm(
            episode=episode, practitioner=full, reason="Knows the family.", by=users["teamlead"], now=DECIDED + H
        )
        assert b16(episode)[0].stop_reason == "met"

    @pytest.mark.parametrize("who", ["coach", "dutymanager", "duty"])
    def test_only_a_team_leader_or_manager_confirms(self, users, team, family_solutions, who):
        episode, _ = stepped_up(users, team)
        with pytest.raises(WorkflowError, match="Only a team leader"):
            es.wraparound_worker_confirm(episode=episode, practitioner=users["coach"], by=users[who], now=DECIDED + H)
        assert b16(episode)[0].stopped_at is None

    def test_an_episode_not_continuing_as_wraparound_has_nothing_to_confirm(self, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        with pytest.raises(WorkflowError, match="cannot have its wraparound worker confirmed now"):
            es.wraparound_worker_confirm(episode=episode, practitioner=users["coach"], by=users["teamlead"], now=NOW)


class TestThePage:
    def test_the_button_leads_to_the_page_which_confirms_and_stops_b16(self, client, users, team, family_solutions):
        episode, _ = stepped_up(users, team)
        detail = reverse("episodes:episode_detail", args=[episode.pk])
        url = reverse("episodes:wraparound_confirm", args=[episode.pk])
        client.force_login(users["coach"])  # the worker cannot allocate: no button
        assert url not in client.get(detail).content.decode()
        client.force_login(users["teamlead"])
        assert url in client.get(detail).content.decode()
        page = client.get(url)
        assert page.status_code == 200
        assert "Confirm the wraparound worker" in page.content.decode()
        assert AccessLog.objects.filter(
            user=users["teamlead"], family_id_logged=episode.family_id, what__contains="wraparound confirm"
        ).exists()
        response = client.post(url, {"practitioner": str(users["coach"].pk), "version": str(episode.version)})
        assert response.status_code == 302 and response["Location"] == detail
        assert b16(episode)[0].stop_reason == "met"
        # Done: the button goes, and the page says why there is nothing more to confirm.
        assert url not in client.get(detail).content.decode()
        again = client.post(url, {"practitioner": str(users["coach"].pk), "version": str(episode.version + 1)})
        assert again.status_code == 409
        assert "already been confirmed" in again.content.decode()

    def test_no_choice_re_renders_with_what_was_typed(self, client, users, team, family_solutions):
        episode, _ = stepped_up(users, team)
        client.force_login(users["manager"])
        url = reverse("episodes:wraparound_confirm", args=[episode.pk])
        response = client.post(url, {"reason": "Typed <b>reason</b>", "version": str(episode.version)})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Choose the wraparound worker" in body and "Typed &lt;b&gt;reason&lt;/b&gt;" in body
        assert b16(episode)[0].stopped_at is None

    def test_a_form_drawn_before_someone_else_changed_the_case_is_refused(self, client, users, team, family_solutions):
        episode, _ = stepped_up(users, team)
        client.force_login(users["teamlead"])
        url = reverse("episodes:wraparound_confirm", args=[episode.pk])
        response = client.post(url, {"practitioner": str(users["coach"].pk), "version": str(episode.version - 1)})
        assert response.status_code == 409
        assert "changed by someone else" in response.content.decode()
        assert f'value="{episode.version}"' in response.content.decode()  # the next submit is against the latest

    def test_a_case_not_continuing_as_wraparound_says_why(self, client, users, team, family_solutions):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["teamlead"])
        page = client.get(reverse("episodes:wraparound_confirm", args=[episode.pk]))
        assert page.status_code == 200
        assert "cannot have its wraparound worker confirmed now" in page.content.decode()
