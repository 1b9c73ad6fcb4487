"""Families still awaiting allocation can be closed, stepped down or stepped up, with reasons and
their clocks (ADR 0032)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from cases.models import AccessLog, ClosureReason, Episode, StepUp
from deadlines.models import Deadline
from tests.workflows.helpers import NOW, make_episode
from workflows import episode_services as es
from workflows import transfer_services as ts
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
S = Episode.State
LATER = NOW + timedelta(days=2)


def _open(episode) -> int:
    return Deadline.objects.filter(episode=episode, stopped_at__isnull=True).count()


class TestServices:
    @pytest.mark.parametrize("reason", [ClosureReason.MOVED_AWAY, ClosureReason.NO_LONGER_NEEDED])
    def test_close_ends_the_episode_and_its_clocks(self, users, team, reason):
        episode, _ = make_episode(users, team)
        assert _open(episode) > 0
        ts.before_allocation_close(episode=episode, reason=reason, note="", by=users["teamlead"], now=LATER)
        episode.refresh_from_db()
        assert (episode.state, episode.closure_reason, episode.closed_at) == (S.CLOSED, reason, LATER)
        assert _open(episode) == 0

    def test_other_needs_words_and_a_waiting_family(self, users, team):
        episode, _ = make_episode(users, team)
        with pytest.raises(WorkflowError, match="Say what the other reason is"):
            ts.before_allocation_close(
                episode=episode, reason=ClosureReason.OTHER, note=" ", by=users["teamlead"], now=LATER
            )
        with pytest.raises(WorkflowError, match="Choose why"):
            ts.before_allocation_close(
                episode=episode, reason=ClosureReason.GOALS_MET, note="", by=users["teamlead"], now=LATER
            )
        with pytest.raises(WorkflowError, match="Only a team leader"):
            ts.before_allocation_close(
                episode=episode, reason=ClosureReason.MOVED_AWAY, note="", by=users["duty"], now=LATER
            )
        allocated, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="cannot be closed from the pre-allocation list now"):
            ts.before_allocation_close(
                episode=allocated, reason=ClosureReason.MOVED_AWAY, note="", by=users["teamlead"], now=LATER
            )
        with pytest.raises(WorkflowError, match="cannot be stepped down from the pre-allocation list now"):
            ts.before_allocation_step_down(episode=allocated, support="School nurse", by=users["teamlead"], now=LATER)

    def test_step_down_names_the_support(self, users, team):
        episode, _ = make_episode(users, team)
        with pytest.raises(WorkflowError, match="Say which universal or community support"):
            ts.before_allocation_step_down(episode=episode, support="", by=users["teamlead"], now=LATER)
        ts.before_allocation_step_down(
            episode=episode, support="Family hub parenting group", by=users["manager"], now=LATER
        )
        episode.refresh_from_db()
        assert (episode.state, episode.closure_reason, episode.closure_note) == (
            S.CLOSED,
            ClosureReason.STEPPED_DOWN,
            "Family hub parenting group",
        )
        assert _open(episode) == 0

    def test_step_up_from_the_list_starts_c1_and_a_return_puts_it_back(self, users, team):
        episode, _ = make_episode(users, team)
        step_up = es.step_up_propose(
            episode=episode,
            concern=StepUp.Concern.choices[0][0],
            reason="Disclosure at school",
            multi_agency_views="School very worried",
            family_views="Mum agrees",
            by=users["teamlead"],
            now=LATER,
        )
        episode.refresh_from_db()
        assert episode.state == S.STEP_UP_REQUESTED
        assert Deadline.objects.filter(episode=episode, rule_id="C1", stopped_at__isnull=True).exists()
        es.step_up_send_to_duty_manager(
            step_up=step_up,
            next_step=StepUp.NextStep.choices[0][0],
            parenting=StepUp.Parenting.choices[0][0],
            judgement="Threshold met?",
            by=users["manager"],
            now=LATER + timedelta(hours=1),
        )
        es.step_up_decide(
            step_up=step_up,
            decision=StepUp.Decision.RETURNED,
            notes="Below threshold",
            focused_plan_note="Family meeting on Monday",
            by=users["dutymanager"],
            now=LATER + timedelta(hours=2),
        )
        episode.refresh_from_db()
        assert episode.state == S.AWAITING_ALLOCATION


class TestPage:
    def test_close_from_the_episode_page(self, client, users, team):
        episode, _ = make_episode(users, team)
        detail = reverse("episodes:episode_detail", args=[episode.pk])
        url = reverse("episodes:before_allocation", args=[episode.pk])
        client.force_login(users["duty"])
        assert url not in client.get(detail).content.decode()
        assert client.get(url).status_code == 403
        client.force_login(users["teamlead"])
        body = client.get(detail).content.decode()
        assert url in body and reverse("episodes:step_up_new", args=[episode.pk]) in body
        assert client.get(url).status_code == 200
        assert AccessLog.objects.filter(user=users["teamlead"], family_id_logged=episode.family_id).exists()
        bad = client.post(
            url, {"outcome": "close", "reason": "other", "support": "typed words", "version": episode.version}
        )
        assert bad.status_code == 400 and "Say what the other reason is" in bad.content.decode()
        assert "typed words" in bad.content.decode()
        done = client.post(url, {"outcome": "close", "reason": "moved_away", "version": episode.version})
        assert done.status_code == 302 and done["Location"] == detail
        episode.refresh_from_db()
        assert episode.state == S.CLOSED
        again = client.post(url, {"outcome": "step_down", "support": "Typed support", "version": episode.version})
        assert again.status_code == 409
        assert "cannot be stepped down" in again.content.decode() and "Typed support" in again.content.decode()

    def test_a_stale_form_is_refused_and_kept(self, client, users, team):
        episode, _ = make_episode(users, team)
        client.force_login(users["teamlead"])
        url = reverse("episodes:before_allocation", args=[episode.pk])
        stale = client.post(url, {"outcome": "step_down", "support": "Youth club", "version": episode.version - 1})
        assert stale.status_code == 409
        assert "changed by someone else" in stale.content.decode() and "Youth club" in stale.content.decode()
        assert f'value="{episode.version}"' in stale.content.decode()  # the next submit is against the latest
