"""The key pages cost the same number of queries whatever the data size (two sizes, asserted).

Family page, episode page and its notes page, triage queue, search and my cases: each is counted with
a little data, then again after the data has grown (more contacts, episodes, people, notes and
families), and the two counts must be equal and within the council-scale budget. Scope is read from
the reach rows (ADR 43), so it is one subquery however many families the user's team has.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseNote, Contact
from tests.factories import ContactFactory, children_of, family_with_children
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es

pytestmark = pytest.mark.django_db
BUDGET = 25
H = timedelta(hours=1)


def count(client, path: str) -> int:
    client.get(path)  # the first request of a session also writes the session: not the page's cost
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


def grow(users, team, episode, *, families: int, notes: int, at) -> None:
    """More of everything the pages list: families with contacts waiting, episodes, and notes."""
    for i in range(families):
        family, children = family_with_children(2, team=team)
        ContactFactory(
            family=family,
            received_at=at - timedelta(days=1, hours=i),
            presenting_needs="Needs",
            subjects=children,
            created_by=users["mash"],
        )
    ContactFactory(
        family=episode.family,
        received_at=at - timedelta(days=2),
        presenting_needs="Again",
        subjects=children_of(episode.family),
        created_by=users["mash"],
    )
    for i in range(notes):
        es.episode_record_visit(
            episode=episode,
            kind="phone_call",
            happened_at=at + i * H,
            details=f"Called mum ({i}).",
            by=users["coach"],
            now=at + i * H,
        )


def test_key_pages_cost_the_same_queries_at_two_data_sizes(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    make_episode(users, team, state=S.ALLOCATED)
    pages = {
        "mash": [
            reverse("cases:triage_queue"),
            reverse("cases:search") + "?q=Testwood",
        ],
        "coach": [
            reverse("cases:family_detail", args=[episode.family_id]),
            reverse("episodes:episode_detail", args=[episode.pk]),
            reverse("episodes:episode_notes", args=[episode.pk]),
            reverse("episodes:my_cases"),
        ],
    }

    def counts() -> dict[str, int]:
        out = {}
        for role, paths in pages.items():
            client.force_login(users[role])
            out.update({path: count(client, path) for path in paths})
        return out

    grow(users, team, episode, families=1, notes=1, at=NOW + 100 * H)  # every list has a row
    few = counts()
    grow(users, team, episode, families=4, notes=3, at=NOW + 200 * H)
    make_episode(users, team, state=S.FIRST_VISIT, at=NOW + 300 * H)
    many = counts()
    assert Contact.objects.count() >= 7 and CaseNote.objects.filter(episode=episode).count() >= 5
    assert many == few
    assert max(many.values()) <= BUDGET, many
    # The family page and the episode pages, exactly (ADR 57): the session, the user (with their roles
    # and the header's unread-alert count), the scope check with the record, the access-log row, then
    # the page's own reads.
    exact = {path: many[path] for path in pages["coach"][:3]}
    assert exact == dict(zip(pages["coach"][:3], EXACT.values(), strict=True)), EXACT


# Family page: memberships, contacts, episodes, agencies (partner agencies among them), consents, the
# chronology with its authors, history, partner updates. Episode page: clocks with their count, latest
# notes, the plan's outcomes and their actions (the assessment and plan come with the episode),
# closure requests, step-ups, escalations. Notes page: the notes, and their count for the pages.
EXACT = {"family page": 12, "episode page": 11, "episode notes": 6}


def test_the_board_and_the_dashboard_cost_the_same_queries_at_two_data_sizes(client, users, team, other_team):
    """The team board, its case lists (two pages each), the dashboard and its caseloads page (ADR 56):
    the same queries with 3 or 30 cases a lead professional, the board at most 15."""
    from oversight.models import ManagersDecision
    from tests.oversight import helpers as oh

    board = reverse("oversight:team_board")
    lists = reverse("oversight:team_board_list")
    pages = {
        "teamlead": [
            board,
            f"{board}?practitioner={users['coach'].pk}",
            *[f"{lists}?list={key}" for key in ("long-open", "no-oversight", "high-risk")],
            *[f"{lists}?list={key}&page=2" for key in ("long-open", "no-oversight", "high-risk")],
        ],
        "manager": [
            reverse("oversight:dashboard"),
            reverse("oversight:dashboard_caseloads"),
            f"{board}?team={team.pk}",
        ],
    }

    def cases(n: int, *, offset: int) -> None:
        for i in range(offset, offset + n):
            for t in (team, other_team):
                e = oh.make_episode(t, lead=users["coach"], opened_at=oh.NOW - timedelta(days=100 + 20 * i))
                oh.make_contact(e.family, received_at=e.opened_at + timedelta(days=1), risks={"health": 2 + i % 2})
                if i % 3 == 0:
                    ManagersDecision.objects.create(
                        episode=e, family=e.family, oversees="monthly", decision="d", rationale="r",
                        recorded_by=users["manager"], recorded_at=oh.NOW - timedelta(days=40 + i),
                    )  # fmt: skip

    def counts() -> dict[str, int]:
        out = {}
        for role, paths in pages.items():
            client.force_login(users[role])
            out.update({path: count(client, path) for path in paths})
        return out

    cases(21, offset=0)  # every list has a second page
    few = counts()
    cases(40, offset=21)
    many = counts()
    assert many == few, {path: (few[path], many[path]) for path in many if few[path] != many[path]}
    assert many[board] <= 15 and many[f"{board}?team={team.pk}"] <= 15, many
