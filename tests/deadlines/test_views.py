"""The alerts page, the header count and closure days: each user sees only what is theirs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deadlines import tasks
from deadlines.context_processors import alerts as alerts_context
from deadlines.models import Alert, ClosureDay
from tests.deadlines.conftest import london
from tests.factories import DeadlineFactory

pytestmark = pytest.mark.urls("tests.deadlines.urls")

T0 = london(2026, 3, 2, 9, 0)


@pytest.fixture
def deadline(make_episode, users):
    episode = make_episode(opened_at=T0, lead=users["coach"])
    return DeadlineFactory(
        rule_id="B8",
        title="Initial contact with the family after allocation",
        episode=episode,
        assignee=users["coach"],
        started_at=T0,
        expected_at=None,
        due_at=T0 + timedelta(days=2),
    )


@pytest.fixture
def coach_alerts(deadline, users):
    made = {
        level: Alert.objects.create(deadline=deadline, level=level, recipient=users["coach"], created_at=T0)
        for level in ("overdue", "breached")
    }
    Alert.objects.create(deadline=deadline, level="breached", recipient=users["teamlead"], created_at=T0)
    return made


def signed_in(client, user):
    client.force_login(user)
    return client


# --- alerts ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alerts_page_lists_only_my_alerts_with_their_status_now(client, users, coach_alerts, deadline):
    response = signed_in(client, users["coach"]).get(reverse("deadlines:alerts"))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {r["alert"].pk for r in rows} == {a.pk for a in coach_alerts.values()}
    assert {r["status"] for r in rows} == {"breached"}
    html = response.content.decode()
    assert "Initial contact with the family after allocation" in html
    assert f"E{deadline.episode_id:07d}" in html
    assert html.count("Mark as read<span") == 2


@pytest.mark.django_db
def test_mark_as_read_and_mark_all(client, users, coach_alerts):
    client = signed_in(client, users["coach"])
    overdue = coach_alerts["overdue"]
    response = client.post(reverse("deadlines:alert_read", args=[overdue.pk]))
    assert response.status_code == 302 and response.url == reverse("deadlines:alerts")
    overdue.refresh_from_db()
    first_read = overdue.read_at
    assert first_read is not None
    client.post(reverse("deadlines:alert_read", args=[overdue.pk]))  # again: the first time is kept
    overdue.refresh_from_db()
    assert overdue.read_at == first_read
    client.post(reverse("deadlines:alerts_read_all"))
    assert not Alert.objects.filter(recipient=users["coach"], read_at__isnull=True).exists()
    assert Alert.objects.filter(recipient=users["teamlead"], read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_someone_elses_alert_is_404_and_reading_needs_post(client, users, coach_alerts):
    theirs = coach_alerts["breached"]
    for name in ("teamlead", "outsider"):
        client.logout()
        response = signed_in(client, users[name]).post(reverse("deadlines:alert_read", args=[theirs.pk]))
        assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.logout()
    response = signed_in(client, users["coach"]).get(reverse("deadlines:alert_read", args=[theirs.pk]))
    assert response.status_code == 405


@pytest.mark.django_db
def test_pages_need_sign_in(client):
    for name in ("deadlines:alerts", "deadlines:closure_days", "deadlines:closure_day_add"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/sign-in/" in response.url


@pytest.mark.django_db
def test_unread_count_for_the_header_in_one_query(users, coach_alerts, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = users["coach"]
    with django_assert_num_queries(1):
        assert alerts_context(request) == {"unread_alerts": 2}
    request.user = users["outsider"]
    assert alerts_context(request)["unread_alerts"] == 0
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert alerts_context(request) == {"unread_alerts": 0}


# --- closure days ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["coach", "teamlead", "manager", "outsider"])
def test_only_administrators_manage_closure_days(client, users, name):
    day = ClosureDay.objects.create(date=date(2026, 12, 29), reason="Christmas closure")
    client = signed_in(client, users[name])
    assert client.get(reverse("deadlines:closure_days")).status_code == 403
    assert client.post(reverse("deadlines:closure_day_add"), {"reason": "x"}).status_code == 403
    assert client.post(reverse("deadlines:closure_day_delete", args=[day.pk])).status_code == 403
    assert ClosureDay.objects.count() == 1


@pytest.mark.django_db
def test_administrator_adds_and_removes_a_closure_day_and_deadlines_are_recomputed(
    client, users, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.recompute_deadlines, "delay", lambda: queued.append("recompute"))
    client = signed_in(client, users["admin"])
    assert client.get(reverse("deadlines:closure_day_add")).status_code == 200
    form = {"date_0": "29", "date_1": "12", "date_2": "2026", "reason": "Christmas closure"}
    # First what it would move; nothing is added until the administrator confirms.
    preview = client.post(reverse("deadlines:closure_day_add"), form)
    assert preview.status_code == 200 and "What this would move" in preview.content.decode()
    assert not ClosureDay.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("deadlines:closure_day_add"), {**form, "confirm": "yes"})
    assert response.status_code == 302
    day = ClosureDay.objects.get()
    assert (day.date, day.reason, day.created_by) == (date(2026, 12, 29), "Christmas closure", users["admin"])
    assert queued == ["recompute"]
    assert day.history.count() == 1

    listing = client.get(reverse("deadlines:closure_days"), follow=True)
    assert "Tuesday 29 December 2026" in listing.content.decode()

    assert client.get(reverse("deadlines:closure_day_delete", args=[day.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("deadlines:closure_day_delete", args=[day.pk]))
    assert not ClosureDay.objects.exists()
    assert queued == ["recompute", "recompute"]
    assert ClosureDay.history.filter(history_type="-").get().history_user == users["admin"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"date_0": "29", "date_1": "12", "date_2": "2026", "reason": ""}, "Enter the reason the service is closed"),
        ({"date_0": "", "date_1": "", "date_2": "", "reason": "x"}, "Enter the day"),
        ({"date_0": "28", "date_1": "12", "date_2": "2026", "reason": "x"}, "28 December 2026 is already a closure"),
        ({"date_0": "1", "date_1": "1", "date_2": "2099", "reason": "x"}, "Enter a date between 2015 and 2040"),
    ],
)
def test_closure_day_form_says_what_is_wrong(client, users, form, message):
    ClosureDay.objects.create(date=date(2026, 12, 28), reason="Boxing Day (substitute)")
    response = signed_in(client, users["admin"]).post(reverse("deadlines:closure_day_add"), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "There is a problem" in response.content.decode()
    assert ClosureDay.objects.count() == 1


@pytest.mark.django_db
def test_the_header_counts_unread_alerts_up_to_a_hundred_and_shows_99_plus(client, users, make_episode):
    from deadlines.selectors import UNSEEN_ALERTS_SHOWN, unseen_alert_count

    coach = users["coach"]
    episode = make_episode(opened_at=T0, lead=coach)
    levels = [level for level, _ in Alert.Level.choices]
    wanted = UNSEEN_ALERTS_SHOWN + 5
    clocks = [
        DeadlineFactory(
            rule_id="B8", key=str(i), episode=episode, assignee=coach, started_at=T0, expected_at=None, due_at=T0
        )
        for i in range(-(-wanted // len(levels)))
    ]
    alerts = [Alert(deadline=d, level=level, recipient=coach, created_at=T0) for d in clocks for level in levels]
    Alert.objects.bulk_create(alerts[:99])
    request = RequestFactory().get("/")
    request.user = coach
    assert alerts_context(request) == {"unread_alerts": 99}
    html = signed_in(client, coach).get(reverse("deadlines:alerts")).content.decode()
    assert 'govuk-tag--red">99<span class="govuk-visually-hidden"> unread' in html
    Alert.objects.bulk_create(alerts[99:wanted])
    # Counted up to the cap, whatever the number unread (in no order: an ORDER BY under the LIMIT
    # would sort every unread alert); the home page's card asks for them all.
    with CaptureQueriesContext(connection) as queries:
        assert alerts_context(request) == {"unread_alerts": UNSEEN_ALERTS_SHOWN}
    assert len(queries) == 1 and "ORDER BY" not in queries[0]["sql"] and "LIMIT 100" in queries[0]["sql"]
    assert unseen_alert_count(coach, cap=None) == wanted
    html = client.get(reverse("deadlines:alerts")).content.decode()
    assert 'govuk-tag--red">99+<span class="govuk-visually-hidden"> unread' in html
    Alert.objects.filter(pk__in=[a.pk for a in alerts[:10]]).update(read_at=T0)
    assert alerts_context(request) == {"unread_alerts": 95}


@pytest.mark.django_db
def test_the_count_loaded_with_the_user_is_capped_like_the_header_s_own(client, users, make_episode):
    """The header's count may come with the user row (ADR 57) or from its own query (ADR 60): both stop at
    the cap, so neither reads every unread alert of a manager with hundreds of thousands."""
    from accounts.models import User
    from deadlines.selectors import UNSEEN_ALERTS_SHOWN, unseen_alert_count_expression

    coach = users["coach"]
    episode = make_episode(opened_at=T0, lead=coach)
    levels = [level for level, _ in Alert.Level.choices]
    clocks = [
        DeadlineFactory(
            rule_id="B8", key=str(i), episode=episode, assignee=coach, started_at=T0, expected_at=None, due_at=T0
        )
        for i in range(-(-(UNSEEN_ALERTS_SHOWN + 20) // len(levels)))
    ]
    Alert.objects.bulk_create(
        [Alert(deadline=d, level=level, recipient=coach, created_at=T0) for d in clocks for level in levels]
    )
    loaded = User.objects.annotate(n=unseen_alert_count_expression()).get(pk=coach.pk).n
    assert loaded == UNSEEN_ALERTS_SHOWN
    assert User.objects.annotate(n=unseen_alert_count_expression()).get(pk=users["manager"].pk).n == 0
    html = signed_in(client, coach).get(reverse("deadlines:alerts")).content.decode()
    assert 'govuk-tag--red">99+<span class="govuk-visually-hidden"> unread' in html
