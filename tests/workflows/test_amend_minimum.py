"""Seed 003, 10.2: a visit is saved as final only with its minimum content; a draft may be partial."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from cases.models import CaseNote, ClosureRequest, Plan
from tests.workflows.helpers import NOW, S, make_episode, write_plan

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=1)


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


WHEN = {"when_date_0": "24", "when_date_1": "11", "when_date_2": "2026", "when_time": "09:30"}


def visit(children, **overrides):
    data = {
        "kind": "home_visit",
        **WHEN,
        "purpose": "Check on mornings",
        "present": "Mum and the children",
        "details": "Breakfast was calm.",
        "actions": "Mum to ring the school",
        "analysis": "The routine is working",
        **{f"child_{c.pk}_views": "Mornings are better." for c in children},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class TestVisitMinimumContent:
    def test_a_complete_visit_is_saved(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(reverse("episodes:note_new", args=[episode.pk]), visit(children))
        assert response.status_code == 302, response.content.decode()[:2000]
        assert CaseNote.objects.get(episode=episode).analysis == "The routine is working"

    def test_each_missing_part_is_named_and_what_was_typed_comes_back(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.ALLOCATED)
        assert children, "the journey factory's family has children"
        client.force_login(users["coach"])
        data = visit(children, purpose="", analysis="  ", **{f"child_{c.pk}_views": "" for c in children})
        response = client.post(reverse("episodes:note_new", args=[episode.pk]), data)
        assert response.status_code == 400
        body = response.content.decode()
        assert "This visit cannot be saved as final yet. Missing: the purpose of the visit; your analysis" in body
        assert "the views of the child or young person" in body
        assert "A visit record needs the purpose of the visit" in body
        assert "who was there" not in body.split("Missing:")[1].split(".")[0]
        assert "Breakfast was calm." in body and "Mum to ring the school" in body
        assert not CaseNote.objects.filter(episode=episode).exists()

    def test_a_phone_call_is_not_a_visit(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        data = {"kind": "phone_call", **WHEN, "details": "Rang mum."}
        response = client.post(reverse("episodes:note_new", args=[episode.pk]), data)
        assert response.status_code == 302
        assert CaseNote.objects.get(episode=episode).kind == "phone_call"

    def test_a_draft_may_be_partial(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.ALLOCATED)
        client.force_login(users["coach"])
        response = client.post(
            reverse("episodes:draft_save", args=["visit", episode.pk]), {"kind": "home_visit", "details": "Half"}
        )
        assert response.status_code == 200


class TestPlanAndClosureMinimumContent:
    def test_the_plan_is_made_active_only_with_the_childs_voice(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        write_plan(episode, users["coach"], LATER - timedelta(hours=1))
        Plan.objects.filter(episode=episode).update(child_voice="")
        client.force_login(users["coach"])
        response = client.post(reverse("episodes:plan_activate", args=[episode.pk]), follow=True)
        assert "Record the child&#x27;s voice in the plan" in response.content.decode()
        episode.refresh_from_db()
        assert episode.state == S.PLANNING

        plan = Plan.objects.get(episode=episode)
        data = {"version": plan.version, "if_not_working": plan.if_not_working, "child_voice": "Sam: less shouting."}
        assert client.post(reverse("episodes:plan", args=[episode.pk]), data).status_code == 302
        assert Plan.objects.get(episode=episode).child_voice == "Sam: less shouting."
        client.post(reverse("episodes:plan_activate", args=[episode.pk]))
        episode.refresh_from_db()
        assert episode.state == S.PLAN_ACTIVE

    def test_closure_names_the_missing_views_and_keeps_what_was_typed(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["coach"])
        data = {
            "version": episode.version,
            **dict.fromkeys(ClosureRequest.CHECKLIST, "on"),
            "summary": "Mornings are calm.",
            "proposed_reason": "goals_met",
        }
        response = client.post(reverse("episodes:closure_request", args=[episode.pk]), data)
        assert response.status_code == 400
        body = response.content.decode()
        assert "Record what the family thinks about the case closing" in body
        assert "Record the child&#x27;s voice at closure" in body
        assert "Mornings are calm." in body
        data.update(family_views="Mum is ready.", child_voice="Sam: it is better now.")
        response = client.post(reverse("episodes:closure_request", args=[episode.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert ClosureRequest.objects.get(episode=episode).family_views == "Mum is ready."
