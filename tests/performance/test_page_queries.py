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


# Exactly what each page costs (the same at both sizes). The fixed part of a page (session, user, its
# groups, the access-log insert) is in every count; the rest is the page's own reads.
EXPECTED = {
    "triage queue": 7,
    "search results": 6,
    "family page": 17,
    "episode page": 15,
    "episode notes": 7,
    "my cases": 5,
    "my work": 8,
    "my work (duty worker)": 9,
    "pre-allocation list": 6,
    "supervision list": 6,
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
