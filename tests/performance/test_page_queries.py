"""The key pages cost the same number of queries whatever the data size (two sizes, asserted).

Family page, episode page and its notes page, triage queue, search results, my cases, my work, the
pre-allocation list and the supervision list: each is counted with a little data, then again after the
data has grown (more contacts, episodes, people, notes, families and supervision tasks); the two counts
must be equal, equal to the exact figure in `EXPECTED`, and within the council-scale budget. Scope is
read from the reach rows (ADR 43), so it is one subquery however many families the user's team has. The
paginated lists are counted again with 3 rows and with 60 (a page and a half).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseNote, Contact
from oversight.models import Supervision, SupervisionAction
from tests.factories import ContactFactory, EpisodeFactory, children_of, family_with_children
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


def searched(client, typed: str) -> str:
    """The results page of a search (POSTed and kept in the session, ADR 36)."""
    response = client.post(reverse("cases:search"), {"q": typed})
    assert response.status_code == 302
    return response["Location"]


def supervision_task(users, episode, *, due_on) -> None:
    supervision = Supervision.objects.create(
        practitioner=users["coach"], supervisor=users["teamlead"], held_on=NOW.date(), notes="n", recorded_at=NOW
    )
    SupervisionAction.objects.create(
        supervision=supervision, episode=episode, text="Ring school", assignee=users["coach"], due_on=due_on
    )


# Exactly what each page costs (the same at both sizes). The fixed part of a page (session; the user with
# their groups and the header's unread-alert count, ADR 57; the access-log insert) is in every count; the
# rest is the page's own reads. Family page: memberships, contacts, episodes, agencies (partner agencies
# among them), consents, the chronology with its authors, history, partner updates. Episode page: clocks
# with their count, latest notes, the plan's outcomes and their actions (the assessment and plan come with
# the episode, ADR 57), the closure requests, step-ups and escalations together (one query, ADR 63).
EXPECTED = {
    "triage queue": 6,
    "search results": 5,
    "family page": 12,
    "episode page": 9,
    "episode notes": 6,
    "my cases": 4,
    "my work": 7,
    "my work (duty worker)": 8,
    "pre-allocation list": 5,
    "supervision list": 5,
}


def test_key_pages_cost_the_same_queries_at_two_data_sizes(client, users, team):
    episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
    make_episode(users, team, state=S.ALLOCATED)
    pages = {
        "mash": {
            "triage queue": lambda c: reverse("cases:triage_queue"),
            "search results": lambda c: searched(c, "Testwood"),
        },
        "coach": {
            "family page": lambda c: reverse("cases:family_detail", args=[episode.family_id]),
            "episode page": lambda c: reverse("episodes:episode_detail", args=[episode.pk]),
            "episode notes": lambda c: reverse("episodes:episode_notes", args=[episode.pk]),
            "my cases": lambda c: reverse("episodes:my_cases"),
            "my work": lambda c: reverse("oversight:my_work"),
        },
        "duty": {"my work (duty worker)": lambda c: reverse("oversight:my_work")},
        "teamlead": {
            "pre-allocation list": lambda c: reverse("episodes:pre_allocation"),
            "supervision list": lambda c: reverse("oversight:supervision_list"),
        },
    }

    def counts() -> dict[str, int]:
        out = {}
        for role, named in pages.items():
            client.force_login(users[role])
            out.update({name: count(client, path(client)) for name, path in named.items()})
        return out

    grow(users, team, episode, families=1, notes=1, at=NOW + 100 * H)  # every list has a row
    make_episode(users, team)  # waiting for allocation
    supervision_task(users, episode, due_on=NOW.date())
    few = counts()
    grow(users, team, episode, families=4, notes=3, at=NOW + 200 * H)
    make_episode(users, team, state=S.FIRST_VISIT, at=NOW + 300 * H)
    for _ in range(3):
        make_episode(users, team)
        supervision_task(users, None, due_on=NOW.date())
    many = counts()
    assert Contact.objects.count() >= 7 and CaseNote.objects.filter(episode=episode).count() >= 5
    assert many == few
    assert many == EXPECTED
    assert max(many.values()) <= BUDGET, many


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


def test_long_lists_cost_the_same_with_3_rows_and_60_a_page_and_a_half(client, users, team):
    """The triage queue and the pre-allocation list, 50 rows a page: with 3 rows, and with 60 (page 1
    full, page 2 with the rest), each page costs the same queries."""
    paths = {
        "mash": [reverse("cases:triage_queue"), reverse("cases:triage_queue") + "?page=2"],
        "teamlead": [reverse("episodes:pre_allocation"), reverse("episodes:pre_allocation") + "?page=2"],
    }

    def counts() -> dict[str, int]:
        out = {}
        for role, role_paths in paths.items():
            client.force_login(users[role])
            out.update({path: count(client, path) for path in role_paths})
        return out

    def add(n: int) -> None:
        for i in range(n):
            family, children = family_with_children(1, team=team)
            ContactFactory(family=family, subjects=children, received_at=NOW - i * H)
            EpisodeFactory(team=team, opened_at=NOW - i * H)

    add(3)
    few = counts()
    add(57)
    many = counts()
    assert few == many
    client.force_login(users["mash"])
    page_two = client.get(paths["mash"][1]).content.decode()
    assert "60 contacts awaiting a decision" in page_two and "Page 2 of 2" in page_two
    client.force_login(users["teamlead"])
    page_two = client.get(paths["teamlead"][1]).content.decode()
    assert "60 families awaiting allocation" in page_two and "Page 2 of 2" in page_two
