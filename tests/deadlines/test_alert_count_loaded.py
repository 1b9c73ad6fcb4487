"""The header's count of unread alerts comes with the signed-in user, in the user's own query (ADR 57).

A page that only reads (GET, HEAD) shows the count loaded at the start of the request; any other
request counts again (it may have marked an alert read before rendering). Either way the number is
the one `unseen_alert_count` gives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deadlines.context_processors import alerts as alerts_context
from deadlines.models import Alert
from deadlines.selectors import UNSEEN_ALERTS_LOADED, unseen_alert_count
from tests.deadlines.conftest import london
from tests.factories import DeadlineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.deadlines.urls")]
T0 = london(2026, 3, 2, 9, 0)


@pytest.fixture
def alerts(make_episode, users):
    episode = make_episode(opened_at=T0, lead=users["coach"])
    clock = DeadlineFactory(episode=episode, assignee=users["coach"], started_at=T0, due_at=T0 + timedelta(days=2))
    made = [
        Alert.objects.create(deadline=clock, level=level, recipient=users["coach"], created_at=T0)
        for level in ("overdue", "breached", "escalated")
    ]
    Alert.objects.create(deadline=clock, level="breached", recipient=users["teamlead"], created_at=T0)
    return made


def alert_queries(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if '"deadlines_alert"' in q["sql"]]


def test_the_signed_in_user_is_loaded_with_the_count(client, users, alerts):
    client.force_login(users["coach"])
    request = RequestFactory().get("/")
    request.session = client.session
    assert request.session.get("_auth_user_id")  # the session itself is read here, before counting
    with CaptureQueriesContext(connection) as ctx:
        user = get_user(request)
    assert len(ctx.captured_queries) == 1
    assert getattr(user, UNSEEN_ALERTS_LOADED) == 3 == unseen_alert_count(users["coach"])
    assert user.role_names == users["coach"].role_names  # still the same query's roles


def test_a_page_shows_the_loaded_count_without_a_query_of_its_own(client, users, alerts):
    client.force_login(users["coach"])
    client.get(reverse("deadlines:alerts"))  # the session's first request writes it
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("deadlines:alerts"))
    assert response.context["unread_alerts"] == 3
    # The alerts page counts all the user's alerts for its pages; the header's COUNT of the unread ones
    # is only inside the user's query.
    unread_counts = [sql for sql in alert_queries(ctx) if "COUNT(" in sql and '"read_at" IS NULL' in sql]
    assert len(unread_counts) == 1 and '"accounts_user"' in unread_counts[0]
    client.post(reverse("deadlines:alert_read", args=[alerts[0].pk]))
    assert client.get(reverse("deadlines:alerts")).context["unread_alerts"] == 2
    client.post(reverse("deadlines:alerts_read_all"))
    page = client.get(reverse("deadlines:alerts"))
    assert page.context["unread_alerts"] == 0 and 'govuk-tag--red">0' not in page.content.decode()


def test_only_a_request_that_changes_nothing_trusts_the_loaded_count(users, alerts, django_assert_num_queries):
    coach = users["coach"]
    setattr(coach, UNSEEN_ALERTS_LOADED, 3)
    for method in ("get", "head"):
        request = getattr(RequestFactory(), method)("/")
        request.user = coach
        with django_assert_num_queries(0):
            assert alerts_context(request) == {"unread_alerts": 3}
    Alert.objects.filter(pk=alerts[0].pk).update(read_at=T0)  # marked read during a POST, before rendering
    request = RequestFactory().post("/")
    request.user = coach
    with django_assert_num_queries(1):
        assert alerts_context(request) == {"unread_alerts": 2}


def _unread(episode, recipient, n: int) -> None:
    levels = [level for level, _ in Alert.Level.choices]
    clocks = [
        DeadlineFactory(
            rule_id="B8", key=str(i), episode=episode, assignee=recipient, started_at=T0, expected_at=None, due_at=T0
        )
        for i in range(-(-n // len(levels)))
    ]
    made = [Alert(deadline=d, level=level, recipient=recipient, created_at=T0) for d in clocks for level in levels]
    Alert.objects.bulk_create(made[:n])


@pytest.mark.parametrize(
    ("unread", "loaded", "shown"),
    [(0, 0, None), (1, 1, "1"), (99, 99, "99"), (100, 100, "99+"), (150, 100, "99+")],
)
def test_the_loaded_count_and_the_header_at_the_cap_and_either_side(client, users, make_episode, unread, loaded, shown):
    coach = users["coach"]
    _unread(make_episode(opened_at=T0, lead=coach), coach, unread)
    Alert.objects.create(  # read, and someone else's: never counted
        deadline=DeadlineFactory(episode=make_episode(opened_at=T0, lead=coach), assignee=coach, started_at=T0),
        level="breached", recipient=coach, created_at=T0, read_at=T0,
    )  # fmt: skip
    _unread(make_episode(opened_at=T0, lead=users["teamlead"]), users["teamlead"], 3)
    client.force_login(coach)
    request = RequestFactory().get("/")
    request.session = client.session
    assert request.session.get("_auth_user_id")  # the session is read here, before counting
    with CaptureQueriesContext(connection) as ctx:
        user = get_user(request)
    assert len(ctx.captured_queries) == 1
    assert getattr(user, UNSEEN_ALERTS_LOADED) == loaded == unseen_alert_count(coach)
    assert unseen_alert_count(coach, cap=None) == unread
    html = client.get(reverse("deadlines:alerts")).content.decode()
    if shown is None:
        assert "govuk-tag--red" not in html.split("</header>")[0]
    else:
        assert f'govuk-tag--red">{shown}<span class="govuk-visually-hidden"> unread' in html


def test_the_loaded_count_reads_at_most_the_cap_from_the_unread_index(users):
    """The loaded count is the rows of the capped subquery counted: not `id IN (capped ids)` counted, which
    reads every counted alert again by primary key (and is planned as a bitmap over all the user's unread
    index entries: 249 buffers a page for a user with thousands unread, 17 this way; ADR 67). The
    subquery asks only for the recipient, so the partial index `alert_unread` answers it alone."""
    from accounts.backends import signed_in_user

    sql = str(signed_in_user(users["coach"].pk).query)
    loaded = sql[sql.index("(SELECT COUNT(") : sql.index(f'AS "{UNSEEN_ALERTS_LOADED}"')]
    assert loaded.startswith("(SELECT COUNT(*) FROM (SELECT "), loaded
    assert " IN (" not in loaded and '"id"' not in loaded.split("WHERE")[0], loaded
    assert "LIMIT 100" in loaded and "ORDER BY" not in loaded, loaded
