"""Transfer of an episode to another team: asked by one team leader, accepted or declined by the
receiving one, the case's clocks and planned visits following it (ADR 0032)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from cases.models import AccessLog, Episode, PlannedVisit, Transfer
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.workflows.helpers import NOW, make_episode
from workflows import transfer_services as ts
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
S = Episode.State


@pytest.fixture
def receiving(other_team):
    return {
        "lead": make_user("southlead", roles.TEAM_LEADER, other_team),
        "coach": make_user("southcoach", roles.PRACTITIONER, other_team, caseload_capacity_override=10),
    }


def _ask(users, episode, to_team, *, at=NOW + timedelta(days=1), reason="Family moved to Southbank"):
    episode.refresh_from_db()
    return ts.transfer_request(
        episode=episode, to_team=to_team, reason=reason, by=users["teamlead"], now=at, expected_version=episode.version
    )


def _open_clocks(episode):
    return list(
        Deadline.objects.filter(episode=episode, stopped_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "rule_id", "due_at", "assignee_id", "team_id")
    )


class TestTransferServices:
    def test_accepted_transfer_moves_the_case_its_clocks_and_planned_visits(self, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.FIRST_VISIT)
        visit = PlannedVisit.objects.create(
            episode=episode,
            family=episode.family,
            planned_at=NOW + timedelta(days=10),
            visitor=users["coach"],
            created_at=NOW,
            created_by=users["coach"],
        )
        before = _open_clocks(episode)
        assert before and {row[3] for row in before} == {users["coach"].pk}
        transfer = _ask(users, episode, other_team)
        episode.refresh_from_db()
        assert episode.team == team and episode.lead_professional == users["coach"]  # stays until accepted
        ts.transfer_accept(
            transfer=transfer, practitioner=receiving["coach"], by=receiving["lead"], now=NOW + timedelta(days=2)
        )
        episode.refresh_from_db()
        assert (episode.team, episode.lead_professional, episode.state) == (
            other_team,
            receiving["coach"],
            S.FIRST_VISIT,
        )
        after = _open_clocks(episode)
        # The same clocks, with the same due times, now the new team's and lead's.
        assert [(pk, rule, due) for pk, rule, due, _a, _t in after] == [
            (pk, rule, due) for pk, rule, due, _a, _t in before
        ]
        assert {(a, t) for *_x, a, t in after} == {(receiving["coach"].pk, other_team.pk)}
        visit.refresh_from_db()
        assert visit.visitor == receiving["coach"]
        transfer.refresh_from_db()
        assert transfer.status == Transfer.Status.ACCEPTED
        assert (transfer.previous_lead, transfer.new_lead, transfer.decided_by) == (
            users["coach"],
            receiving["coach"],
            receiving["lead"],
        )

    def test_a_waiting_family_is_allocated_by_the_receiving_team(self, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.AWAITING_ALLOCATION)
        transfer = _ask(users, episode, other_team)
        ts.transfer_accept(
            transfer=transfer, practitioner=receiving["coach"], by=receiving["lead"], now=NOW + timedelta(days=2)
        )
        episode.refresh_from_db()
        assert (episode.state, episode.team, episode.lead_professional) == (S.ALLOCATED, other_team, receiving["coach"])
        assert episode.allocated_at == NOW + timedelta(days=2)

    def test_declined_transfer_leaves_the_case_and_says_why(self, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        transfer = _ask(users, episode, other_team)
        with pytest.raises(WorkflowError, match="Say why your team cannot take the case"):
            ts.transfer_decline(transfer=transfer, reason="  ", by=receiving["lead"], now=NOW + timedelta(days=2))
        ts.transfer_decline(transfer=transfer, reason="No capacity until January", by=receiving["lead"], now=NOW)
        episode.refresh_from_db()
        assert (episode.team, episode.lead_professional) == (team, users["coach"])
        transfer.refresh_from_db()
        assert (transfer.status, transfer.decline_reason) == (Transfer.Status.DECLINED, "No capacity until January")
        # Declined: it can be asked again (the history keeps both).
        _ask(users, episode, other_team, reason="Asked again after the holidays")
        assert Transfer.objects.filter(episode=episode).count() == 2
        with pytest.raises(WorkflowError, match="already been declined"):
            ts.transfer_accept(transfer=transfer, practitioner=receiving["coach"], by=receiving["lead"], now=NOW)

    def test_refusals_say_why(self, users, team, other_team, receiving, front_door_team):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="Say why the case should move"):
            _ask(users, episode, other_team, reason="")
        with pytest.raises(WorkflowError, match="already with Northfield"):
            _ask(users, episode, team)
        with pytest.raises(WorkflowError, match="does not hold cases"):
            _ask(users, episode, front_door_team)
        with pytest.raises(WorkflowError, match="Only a team leader of the case's team"):
            ts.transfer_request(episode=episode, to_team=other_team, reason="x", by=users["coach"], now=NOW)
        transfer = _ask(users, episode, other_team)
        with pytest.raises(WorkflowError, match="already waiting for Southbank"):
            _ask(users, episode, other_team)
        # The sending team leader cannot decide their own request.
        with pytest.raises(WorkflowError, match="receiving team"):
            ts.transfer_accept(transfer=transfer, practitioner=receiving["coach"], by=users["teamlead"], now=NOW)
        # A practitioner of the sending team is not the receiving team's to allocate.
        with pytest.raises(WorkflowError, match="is not in Southbank"):
            ts.transfer_accept(transfer=transfer, practitioner=users["coach"], by=receiving["lead"], now=NOW)
        receiving["coach"].caseload_capacity_override = 0
        receiving["coach"].save()
        with pytest.raises(WorkflowError, match="give the reason for allocating above capacity"):
            ts.transfer_accept(transfer=transfer, practitioner=receiving["coach"], by=receiving["lead"], now=NOW)
        ts.transfer_accept(
            transfer=transfer,
            practitioner=receiving["coach"],
            allocation_reason="Short piece of work",
            by=receiving["lead"],
            now=NOW + timedelta(days=2),
        )
        episode.refresh_from_db()
        assert episode.allocation_reason == "Short piece of work"

    def test_a_case_that_changed_meanwhile_is_refused(self, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        transfer = _ask(users, episode, other_team)
        from workflows import episode_services as es

        es.family_declines(episode=episode, reason="Moved abroad", by=users["coach"], now=NOW + timedelta(days=2))
        with pytest.raises(WorkflowError, match="cannot be transferred now: it is closed"):
            ts.transfer_accept(
                transfer=transfer, practitioner=receiving["coach"], by=receiving["lead"], now=NOW + timedelta(days=3)
            )
        transfer.refresh_from_db()
        assert transfer.status == Transfer.Status.PENDING
        # A form drawn before the case changed is refused too.
        episode2, _ = make_episode(users, team, state=S.ALLOCATED)
        with pytest.raises(WorkflowError, match="changed by someone else"):
            ts.transfer_request(
                episode=episode2,
                to_team=other_team,
                reason="x",
                by=users["teamlead"],
                now=NOW,
                expected_version=episode2.version - 1,
            )


class TestTransferPages:
    def test_ask_accept_and_history(self, client, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        detail = reverse("episodes:episode_detail", args=[episode.pk])
        ask = reverse("episodes:transfer_request", args=[episode.pk])
        decide = reverse("episodes:transfer_decide", args=[episode.pk])
        client.force_login(users["coach"])
        assert ask not in client.get(detail).content.decode()  # the practitioner cannot ask
        assert client.get(ask).status_code == 403
        client.force_login(users["teamlead"])
        assert ask in client.get(detail).content.decode()
        assert client.get(ask).status_code == 200
        assert AccessLog.objects.filter(
            user=users["teamlead"], family_id_logged=episode.family_id, what__contains="transfer"
        ).exists()
        # Bad input: what was typed is kept.
        bad = client.post(ask, {"reason": "Family moved to the south of the city", "version": episode.version})
        assert bad.status_code == 400
        assert "Choose the team to take the case" in bad.content.decode()
        assert "Family moved to the south of the city" in bad.content.decode()
        done = client.post(ask, {"to_team": other_team.pk, "reason": "Family moved", "version": episode.version})
        assert done.status_code == 302 and done["Location"] == detail
        # Asked twice (a second tab): refused with the reason, what was typed kept.
        again = client.post(ask, {"to_team": other_team.pk, "reason": "Typed again", "version": episode.version})
        assert again.status_code == 409
        assert "already waiting for Southbank" in again.content.decode()
        assert "Typed again" in again.content.decode()
        # The receiving team leader sees it waiting, and the case to decide it (logged).
        client.force_login(receiving["lead"])
        assert decide in client.get(reverse("episodes:transfers")).content.decode()
        assert client.get(detail).status_code == 404  # not their case yet: only the decision page
        page = client.get(decide)
        assert page.status_code == 200 and "Family moved" in page.content.decode()
        assert AccessLog.objects.filter(user=receiving["lead"], family_id_logged=episode.family_id).exists()
        missing = client.post(decide, {"decision": "accept"})
        assert missing.status_code == 400 and "Choose the lead professional" in missing.content.decode()
        accepted = client.post(decide, {"decision": "accept", "practitioner": receiving["coach"].pk})
        assert accepted.status_code == 302
        assert client.get(detail).status_code == 200
        history = client.get(decide).content.decode()
        assert "No transfer of" in history and "Accepted" in history and str(receiving["coach"]) in history

    def test_decline_needs_a_reason_and_keeps_what_was_typed(self, client, users, team, other_team, receiving):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        _ask(users, episode, other_team)
        decide = reverse("episodes:transfer_decide", args=[episode.pk])
        client.force_login(receiving["lead"])
        bad = client.post(decide, {"decision": "decline", "allocation_reason": "kept text"})
        assert bad.status_code == 400 and "Say why your team cannot take the case" in bad.content.decode()
        assert "kept text" in bad.content.decode()
        assert client.post(decide, {"decision": "decline", "decline_reason": "Full"}).status_code == 302
        assert Transfer.objects.get(episode=episode).status == Transfer.Status.DECLINED

    def test_another_teams_leader_cannot_see_or_decide(self, client, users, team, other_team, receiving, service):
        from tests.factories import TeamFactory

        third = TeamFactory(name="Eastgate Family Hub", service=service)
        stranger = make_user("eastlead", roles.TEAM_LEADER, third)
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        _ask(users, episode, other_team)
        client.force_login(stranger)
        assert client.get(reverse("episodes:transfer_decide", args=[episode.pk])).status_code == 404
        assert client.post(reverse("episodes:transfer_decide", args=[episode.pk]), {}).status_code == 404
        assert str(episode.family) not in client.get(reverse("episodes:transfers")).content.decode()

    def test_the_list_keeps_a_constant_number_of_queries(self, client, users, team, other_team, receiving):
        client.force_login(receiving["lead"])

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse("episodes:transfers")).status_code == 200
            return len(ctx)

        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        _ask(users, episode, other_team)
        count()  # the first request of a session also loads the user's roles
        one = count()
        for _ in range(3):
            more, _ = make_episode(users, team, state=S.ALLOCATED)
            _ask(users, more, other_team)
        assert count() == one
