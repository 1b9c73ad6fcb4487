"""ADR 4 for every form that changes an existing record: two people load it, both save.

The first save wins; the second is refused with 409 and a message saying someone else saved
first, and the page still holds what the second person typed. Nothing of the first is lost.
Each case loads the real page as each user and posts back the hidden fields it drew (the
version the form carried), as a browser would. The records come from the URL-by-role test
world (tests/security/world.py), moved to the state each form needs; the world is made once for the
module, and what each case does to it is rolled back after it (tests/security/world_once.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases.models import Assessment, Contact, Episode, StepUp
from oversight.models import BreachAcknowledgement
from tests.conftest import make_user
from tests.security.world_once import world_made_once

pytestmark = pytest.mark.django_db

module_world_records, world_records, service, team, other_team, front_door_team, users, world = world_made_once()


class HiddenFields(HTMLParser):
    """The hidden inputs of a page's POST forms: what a browser sends back without the user typing."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_post_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_post_form = (attrs.get("method") or "").lower() == "post"
        elif tag == "input" and self._in_post_form and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_post_form = False


def load(user, page: str) -> tuple[Client, dict[str, str]]:
    browser = Client()
    browser.force_login(user)
    response = browser.get(page)
    assert response.status_code == 200, page
    parser = HiddenFields()
    parser.feed(response.content.decode())
    return browser, parser.values


@dataclass
class Edit:
    """One editable form: where it is, who edits it, what each types, and how to read the saved text."""

    page: str
    first: object
    second: object
    typed_first: dict
    typed_second: dict
    marker_second: str  # a piece of what the second person typed, which must still be on their page
    refused: str  # the message the second person reads
    saved: object = None  # () -> the text kept in the database, which must be the first person's
    marker_first: str = ""
    action: str = ""  # where the form posts, when not to the page itself


def assert_second_is_refused_and_keeps_input(edit: Edit) -> None:
    first, first_hidden = load(edit.first, edit.page)
    second, second_hidden = load(edit.second, edit.page)
    action = edit.action or edit.page
    response = first.post(action, {**first_hidden, **edit.typed_first})
    assert response.status_code == 302, response.content.decode()[:3000]
    response = second.post(action, {**second_hidden, **edit.typed_second})
    body = response.content.decode()
    assert response.status_code == 409, body[:3000]
    assert edit.refused in body
    assert edit.marker_second in body, "the second person's typing is gone from the page"
    assert edit.saved() == edit.marker_first, "the first person's save was overwritten"


def _date(prefix: str, days_from_today: int) -> dict:
    day = timezone.localdate() + timedelta(days=days_from_today)
    return {f"{prefix}_0": str(day.day), f"{prefix}_1": str(day.month), f"{prefix}_2": str(day.year)}


def url(name, *args):
    return reverse(f"episodes:{name}", args=args)


def _move(episode, state: str, **fields) -> None:
    """Put the world's episode where a form needs it (the state field only changes by transitions)."""
    Episode.objects.filter(pk=episode.pk).update(state=state, **fields)


def _reload(record, name: str):
    record.refresh_from_db()
    return getattr(record, name)


def test_plan_text(users, world):
    episode = world["episode"]
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("plan", episode.pk),
            first=users["coach"],
            second=users["teamlead"],
            typed_first={"if_not_working": "Coach text: meet again in a week"},
            typed_second={"if_not_working": "Leader text: call the school first"},
            marker_first="Coach text: meet again in a week",
            marker_second="Leader text: call the school first",
            refused="Someone else changed this plan while you were working on it",
            saved=lambda: _reload(episode.plan, "if_not_working"),
        )
    )


def test_plan_outcome(users, world):
    episode, outcome = world["episode"], world["outcome"]
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("outcome_edit", episode.pk, outcome.pk),
            first=users["coach"],
            second=users["teamlead"],
            typed_first={"area": "education", "description": "Coach: Sam attends", "how_measured": "Register"}
            | _date("by_when", 60),
            typed_second={"area": "health", "description": "Leader: Sam sleeps well", "how_measured": "Diary"}
            | _date("by_when", 90),
            marker_first="Coach: Sam attends",
            marker_second="Leader: Sam sleeps well",
            refused="Someone else saved this outcome while you were working on it",
            saved=lambda: _reload(outcome, "description"),
        )
    )


def test_plan_outcome_page_shows_what_the_other_person_saved(client, users, world):
    from workflows import episode_services as es

    episode, outcome = world["episode"], world["outcome"]
    seen = outcome.version
    es.plan_outcome_save(
        episode=episode,
        outcome=outcome,
        by=users["teamlead"],
        now=timezone.now(),
        description="Saved first by the leader",
        how_measured="Register",
        by_when=None,
        expected_version=seen,
    )
    client.force_login(users["coach"])
    response = client.post(
        url("outcome_edit", episode.pk, outcome.pk), {"version": seen, "description": "Typed second by the coach"}
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "Saved first by the leader" in body and "Typed second by the coach" in body
    outcome.refresh_from_db()
    assert f'name="version" value="{outcome.version}"' in body  # the next save is against the latest
    # A form that does not say which version it was drawn from is not trusted to overwrite.
    response = client.post(url("outcome_edit", episode.pk, outcome.pk), {"description": "No version at all"})
    assert response.status_code == 409
    assert _reload(outcome, "description") == "Saved first by the leader"


def test_plan_action(users, world):
    episode, outcome, action = world["episode"], world["outcome"], world["action"]
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("action_edit", episode.pk, outcome.pk, action.pk),
            first=users["coach"],
            second=users["teamlead"],
            typed_first={"what": "Coach: walk to school", "who": "Mum"} | _date("by_when", 20),
            typed_second={"what": "Leader: breakfast club", "who": "School"} | _date("by_when", 30),
            marker_first="Coach: walk to school",
            marker_second="Leader: breakfast club",
            refused="Someone else saved this action while you were working on it",
            saved=lambda: _reload(action, "what"),
        )
    )


def test_assessment(users, world):
    episode = world["episode"]
    _move(episode, Episode.State.ASSESSMENT)
    Assessment.objects.create(episode=episode, started_at=timezone.now(), started_by=users["coach"])
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("assessment", episode.pk),
            first=users["coach"],
            second=users["teamlead"],
            typed_first={"family_history": "Coach: moved here in 2024"},
            typed_second={"family_history": "Leader: grandparents nearby"},
            marker_first="Coach: moved here in 2024",
            marker_second="Leader: grandparents nearby",
            refused="Someone else saved this assessment while you were working on it",
            saved=lambda: Assessment.objects.get(episode=episode).family_history,
        )
    )


def test_reallocation(users, team, world):
    episode = world["episode"]
    coach2 = make_user("coach2", roles.PRACTITIONER, team)
    coach3 = make_user("coach3", roles.PRACTITIONER, team)
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("allocate", episode.pk),
            first=users["teamlead"],
            second=users["manager"],
            typed_first={"practitioner": coach2.pk, "reason": "Leader: coach2 knows them"},
            typed_second={"practitioner": coach3.pk, "reason": "Manager: coach3 has room"},
            marker_first="coach2",
            marker_second="Manager: coach3 has room",
            refused="was changed by someone else while you were working on it",
            saved=lambda: Episode.objects.get(pk=episode.pk).lead_professional.username,
        )
    )


def test_escalation_outcome(users, world):
    episode, escalation = world["episode"], world["escalation"]
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("escalation_outcome", episode.pk, escalation.pk),
            first=users["coach"],
            second=users["teamlead"],
            typed_first={"outcome": "Coach: agreed to step up"},
            typed_second={"outcome": "Leader: agreed to stay"},
            marker_first="Coach: agreed to step up",
            marker_second="Leader: agreed to stay",
            refused="already been recorded",
            saved=lambda: _reload(escalation, "outcome"),
        )
    )


def test_step_up_oversight(users, service, world):
    episode, step_up = world["episode"], world["step_up"]
    _move(episode, Episode.State.STEP_UP_REQUESTED, state_before_request=Episode.State.PLAN_ACTIVE)
    manager2 = make_user("manager2", roles.MANAGER, None, service=service)
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("step_up_send", episode.pk, step_up.pk),
            first=users["manager"],
            second=manager2,
            typed_first={"next_step": "consult_duty", "parenting": "yes", "judgement": "First: consult duty"},
            typed_second={"next_step": "marf", "parenting": "no", "judgement": "Second: send a MARF"},
            marker_first="First: consult duty",
            marker_second="Second: send a MARF",
            refused="already been sent",
            saved=lambda: _reload(step_up, "manager_judgement"),
        )
    )


def test_step_up_decision(users, service, world):
    episode, step_up = world["episode"], world["step_up"]
    _move(episode, Episode.State.STEP_UP_REQUESTED, state_before_request=Episode.State.PLAN_ACTIVE)
    StepUp.objects.filter(pk=step_up.pk).update(
        next_step="consult_duty", parenting="yes", manager_judgement="Send", sent_at=timezone.now()
    )
    duty2 = make_user("dutymanager2", roles.DUTY_MANAGER, None, service=service)
    returned = {"decision": "returned", "focused_plan_note": "Family meeting on Friday"}
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("step_up_decide", episode.pk, step_up.pk),
            first=users["dutymanager"],
            second=duty2,
            typed_first={**returned, "notes": "First duty manager: return"},
            typed_second={**returned, "notes": "Second duty manager: also return"},
            marker_first="First duty manager: return",
            marker_second="Second duty manager: also return",
            refused="already been decided",
            saved=lambda: _reload(step_up, "decision_notes"),
        )
    )


def test_closure_decision(users, service, world):
    episode, closure = world["episode"], world["closure"]
    _move(episode, Episode.State.CLOSURE_REQUESTED, state_before_request=Episode.State.PLAN_ACTIVE)
    manager2 = make_user("manager2", roles.MANAGER, None, service=service)
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=url("closure_decide", episode.pk, closure.pk),
            first=users["manager"],
            second=manager2,
            typed_first={"return": "1", "ret-return_reason": "First: the letter is missing"},
            typed_second={"return": "1", "ret-return_reason": "Second: no ending meeting"},
            marker_first="First: the letter is missing",
            marker_second="Second: no ending meeting",
            refused="already been returned",
            saved=lambda: _reload(closure, "return_reason"),
        )
    )


def test_breach_acknowledgement(users, service, world):
    deadline = world["deadline"]  # 18 days past its maximum
    manager2 = make_user("manager2", roles.MANAGER, None, service=service)
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=reverse("oversight:breach_acknowledge", args=[deadline.pk]),
            first=users["manager"],
            second=manager2,
            typed_first={"comment": "First: reallocated today"},
            typed_second={"comment": "Second: coach back on Monday"},
            marker_first="First: reallocated today",
            marker_second="Second: coach back on Monday",
            refused="already been acknowledged",
            saved=lambda: BreachAcknowledgement.objects.get(deadline=deadline).comment,
        )
    )


def test_contact_decision(users, world):
    contact = world["contact"]
    assert_second_is_refused_and_keeps_input(
        Edit(
            page=reverse("cases:contact_detail", args=[contact.pk]),
            action=reverse("cases:contact_decide", args=[contact.pk]),
            first=users["mash"],
            second=users["mashlead"],
            typed_first={"decision": "signpost", "rationale": "First: universal services"},
            typed_second={"decision": "no_further_action", "rationale": "Second: nothing needed"},
            marker_first="First: universal services",
            marker_second="Second: nothing needed",
            refused="was changed by someone else while you were working on it",
            saved=lambda: Contact.objects.get(pk=contact.pk).decision_rationale,
        )
    )
