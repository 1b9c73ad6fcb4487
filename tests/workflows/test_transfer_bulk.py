"""Bulk reallocation: a team leader moves chosen cases of one practitioner to new lead
professionals with one confirmation, in one transaction (ADR 0032)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import roles
from cases.models import AccessLog, Episode, Reallocation
from deadlines.models import Deadline
from tests.conftest import make_user
from tests.workflows.helpers import NOW, make_episode
from workflows import transfer_services as ts
from workflows.errors import WorkflowError

pytestmark = pytest.mark.django_db
S = Episode.State


@pytest.fixture
def colleagues(team):
    return {
        "ana": make_user("ana", roles.PRACTITIONER, team, caseload_capacity_override=10),
        "ben": make_user("ben", roles.PRACTITIONER, team, caseload_capacity_override=2),
    }


def _cases(users, team, n: int) -> list[Episode]:
    states = [S.ALLOCATED, S.FIRST_VISIT, S.ASSESSMENT, S.PLAN_ACTIVE, S.INITIAL_CONTACT]
    return [make_episode(users, team, state=states[i % len(states)])[0] for i in range(n)]


def _form(episodes, choices: dict, **extra) -> dict:
    data = {"reason": "Jordan is leaving the team", **extra}
    for episode in episodes:
        episode.refresh_from_db()
        data[f"version_{episode.pk}"] = str(episode.version)
        data[f"to_{episode.pk}"] = str(choices[episode.pk].pk) if episode.pk in choices else ""
    return data


class TestBulkService:
    def test_moves_all_chosen_cases_with_their_clocks(self, users, team, colleagues):
        cases = _cases(users, team, 5)
        moves = [
            ts.Move(episode_pk=e.pk, version=e.version, to=colleagues["ana"] if i < 4 else colleagues["ben"])
            for i, e in enumerate(cases)
        ]
        rows = ts.caseload_reallocate(
            from_practitioner=users["coach"], moves=moves, reason="Leaving", by=users["teamlead"], now=NOW
        )
        assert len(rows) == 5 and len({r.batch for r in rows}) == 1
        for move in moves:
            episode = Episode.objects.get(pk=move.episode_pk)
            assert episode.lead_professional == move.to
            open_clocks = Deadline.objects.filter(episode=episode, stopped_at__isnull=True)
            assert set(open_clocks.values_list("assignee_id", flat=True)) <= {move.to.pk}
        assert Episode.objects.filter(lead_professional=users["coach"]).count() == 0

    def test_a_case_changed_meanwhile_refuses_the_whole_batch(self, users, team, colleagues):
        cases = _cases(users, team, 3)
        moves = [ts.Move(episode_pk=e.pk, version=e.version, to=colleagues["ana"]) for e in cases]
        Episode.objects.filter(pk=cases[1].pk).update(version=cases[1].version + 1)  # someone saved it meanwhile
        with pytest.raises(WorkflowError, match=f"{cases[1].reference} was changed by someone else.*nothing has moved"):
            ts.caseload_reallocate(
                from_practitioner=users["coach"], moves=moves, reason="Leaving", by=users["teamlead"], now=NOW
            )
        assert Episode.objects.filter(lead_professional=users["coach"]).count() == 3
        assert not Reallocation.objects.exists()
        # A case that is no longer the practitioner's is refused the same way.
        Episode.objects.filter(pk=cases[2].pk).update(lead_professional=colleagues["ben"])
        fresh = [
            ts.Move(episode_pk=e.pk, version=Episode.objects.get(pk=e.pk).version, to=colleagues["ana"]) for e in cases
        ]
        with pytest.raises(WorkflowError, match=f"{cases[2].reference} is no longer"):
            ts.caseload_reallocate(
                from_practitioner=users["coach"], moves=fresh, reason="Leaving", by=users["teamlead"], now=NOW
            )
        assert Episode.objects.filter(lead_professional=colleagues["ana"]).count() == 0

    def test_capacity_counts_the_whole_batch(self, users, team, colleagues):
        cases = _cases(users, team, 3)
        moves = [ts.Move(episode_pk=e.pk, version=e.version, to=colleagues["ben"]) for e in cases]  # capacity 2
        with pytest.raises(WorkflowError, match="would have 3 families against a capacity of 2"):
            ts.caseload_reallocate(
                from_practitioner=users["coach"], moves=moves, reason="Leaving", by=users["teamlead"], now=NOW
            )
        ts.caseload_reallocate(
            from_practitioner=users["coach"],
            moves=moves,
            reason="Leaving",
            capacity_reason="Ben agreed a higher caseload for a month",
            by=users["teamlead"],
            now=NOW,
        )
        assert set(
            Episode.objects.filter(pk__in=[e.pk for e in cases]).values_list("allocation_reason", flat=True)
        ) == {"Ben agreed a higher caseload for a month"}

    def test_only_the_practitioners_team_leader_or_manager(self, users, team, colleagues, other_team):
        cases = _cases(users, team, 1)
        moves = [ts.Move(episode_pk=cases[0].pk, version=cases[0].version, to=colleagues["ana"])]
        stranger = make_user("southlead", roles.TEAM_LEADER, other_team)
        for who in (users["coach"], stranger, users["duty"]):
            with pytest.raises(WorkflowError, match="Only a team leader of the practitioner's team"):
                ts.caseload_reallocate(from_practitioner=users["coach"], moves=moves, reason="x", by=who, now=NOW)
        ts.caseload_reallocate(from_practitioner=users["coach"], moves=moves, reason="x", by=users["manager"], now=NOW)


class TestBulkPage:
    def test_five_cases_move_with_one_confirmation_and_a_summary(self, client, users, team, colleagues):
        cases = _cases(users, team, 6)
        url = reverse("episodes:caseload_reallocate", args=[users["coach"].pk])
        client.force_login(users["teamlead"])
        page = client.get(url)
        assert page.status_code == 200
        assert AccessLog.objects.filter(user=users["teamlead"], family_id_logged=cases[0].family_id).exists()
        chosen = {e.pk: colleagues["ana"] for e in cases[:5]}
        done = client.post(url, _form(cases, chosen))
        assert done.status_code == 302 and "?batch=" in done["Location"]
        summary = client.get(done["Location"]).content.decode()
        assert "5 cases moved" in summary
        for episode in cases[:5]:
            assert episode.reference in summary
        assert cases[5].reference not in summary
        assert Episode.objects.get(pk=cases[5].pk).lead_professional == users["coach"]

    def test_bad_input_and_refusals_keep_what_was_typed(self, client, users, team, colleagues):
        cases = _cases(users, team, 2)
        url = reverse("episodes:caseload_reallocate", args=[users["coach"].pk])
        client.force_login(users["teamlead"])
        nothing = client.post(url, _form(cases, {}, reason="Typed reason"))
        assert nothing.status_code == 400
        assert "Choose a new lead professional for at least one case" in nothing.content.decode()
        assert "Typed reason" in nothing.content.decode()
        data = _form(cases, {cases[0].pk: colleagues["ana"], cases[1].pk: colleagues["ben"]}, reason="Kept reason")
        Episode.objects.filter(pk=cases[1].pk).update(version=999)
        refused = client.post(url, data)
        body = refused.content.decode()
        assert refused.status_code == 409
        assert "changed by someone else" in body and "nothing has moved" in body and "Kept reason" in body
        assert f'value="{colleagues["ben"].pk}" selected' in body  # the choices stay as made
        assert Episode.objects.filter(lead_professional=users["coach"]).count() == 2

    def test_who_may_open_it(self, client, users, team, other_team):
        url = reverse("episodes:caseload_reallocate", args=[users["coach"].pk])
        for name in ("coach", "duty", "mash", "dutymanager"):
            client.force_login(users[name])
            assert client.get(url).status_code == 403, name
        client.force_login(make_user("southlead", roles.TEAM_LEADER, other_team))
        assert client.get(url).status_code == 403
        client.force_login(users["manager"])
        assert client.get(url).status_code == 200
        assert client.get(reverse("episodes:caseload_reallocate", args=[987654])).status_code == 404

    def test_constant_queries_whatever_the_caseload(self, client, users, team, colleagues):
        url = reverse("episodes:caseload_reallocate", args=[users["coach"].pk])
        client.force_login(users["teamlead"])

        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            return len(ctx)

        _cases(users, team, 2)
        count()
        two = count()
        _cases(users, team, 4)
        assert count() == two

    def test_moving_cases_page_lists_caseloads_and_links(self, client, users, team, colleagues):
        _cases(users, team, 1)
        client.force_login(users["teamlead"])
        body = client.get(reverse("episodes:transfers")).content.decode()
        assert reverse("episodes:caseload_reallocate", args=[users["coach"].pk]) in body
        client.force_login(users["coach"])
        assert client.get(reverse("episodes:transfers")).status_code == 403


def test_reallocated_summary_is_scoped_to_the_practitioner(client, users, team, colleagues):
    cases = _cases(users, team, 1)
    rows = ts.caseload_reallocate(
        from_practitioner=users["coach"],
        moves=[ts.Move(episode_pk=cases[0].pk, version=cases[0].version, to=colleagues["ana"])],
        reason="Leaving",
        by=users["teamlead"],
        now=NOW + timedelta(hours=1),
    )
    client.force_login(users["teamlead"])
    other = reverse("episodes:caseload_reallocate", args=[colleagues["ben"].pk]) + f"?batch={rows[0].batch}"
    assert "Nothing was moved" in client.get(other).content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_leaders_moving_the_same_cases_at_once_one_wins_and_nothing_moves_twice(users, team, colleagues):
    import threading

    from django.db import connections

    cases = _cases(users, team, 3)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(to, by) -> None:
        moves = [ts.Move(episode_pk=e.pk, version=e.version, to=to) for e in cases]
        barrier.wait()
        try:
            ts.caseload_reallocate(
                from_practitioner=users["coach"],
                moves=moves,
                reason="Leaving",
                capacity_reason="Agreed for a month",  # so only the race can refuse
                by=by,
                now=NOW,
            )
            outcomes.append("moved")
        except WorkflowError as exc:
            outcomes.append(str(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=move, args=(colleagues["ana"], users["teamlead"])),
        threading.Thread(target=move, args=(colleagues["ben"], users["manager"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[-1] == "moved" and len(outcomes) == 2
    refused = sorted(outcomes)[0]
    assert "nothing has moved" in refused and "capacity" not in refused, refused
    leads = set(Episode.objects.filter(pk__in=[e.pk for e in cases]).values_list("lead_professional", flat=True))
    assert len(leads) == 1 and leads <= {colleagues["ana"].pk, colleagues["ben"].pk}
    assert Reallocation.objects.count() == 3


def test_a_case_waiting_for_sign_off_moves_too_but_a_closed_one_refuses_the_batch(users, team, colleagues):
    waiting, _ = make_episode(users, team, state=S.CLOSURE_REQUESTED)
    closed, _ = make_episode(users, team, state=S.CLOSED)
    with pytest.raises(WorkflowError, match=f"{closed.reference} is closed.*Nothing has moved"):
        ts.caseload_reallocate(
            from_practitioner=users["coach"],
            moves=[
                ts.Move(episode_pk=waiting.pk, version=waiting.version, to=colleagues["ana"]),
                ts.Move(episode_pk=closed.pk, version=closed.version, to=colleagues["ana"]),
            ],
            reason="Leaving",
            by=users["teamlead"],
            now=NOW,
        )
    ts.caseload_reallocate(
        from_practitioner=users["coach"],
        moves=[ts.Move(episode_pk=waiting.pk, version=waiting.version, to=colleagues["ana"])],
        reason="Leaving",
        by=users["teamlead"],
        now=NOW,
    )
    waiting.refresh_from_db()
    assert (waiting.lead_professional, waiting.state) == (colleagues["ana"], S.CLOSURE_REQUESTED)
