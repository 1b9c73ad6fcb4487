"""Why is this due then?" explains every clock in plain words."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from cases.models import AccessLog
from deadlines import events
from deadlines.alerts import alerts_raise
from deadlines.calendar import build_calendar
from deadlines.events import EVENT_LABELS, EVENTS
from deadlines.models import ClosureDay, Deadline
from deadlines.selectors import skipped_days
from deadlines.services import deadline_record_event
from tests.deadlines.conftest import london

pytestmark = pytest.mark.django_db

XMAS = london(2026, 12, 24, 10, 0)  # Thursday before Christmas


def test_every_event_has_a_plain_words_label():
    assert set(EVENT_LABELS) == set(EVENTS)


def test_skipped_days_over_christmas_name_weekends_bank_holidays_and_closure_days():
    cal = build_calendar(closure_days=[date(2026, 12, 29)])
    # 2026: Fri 25 Christmas, Sat 26, Sun 27, Mon 28 Boxing Day (substitute), Tue 29 closure.
    skipped = skipped_days(cal, XMAS, london(2026, 12, 31, 23, 59, 59), {date(2026, 12, 29): "Christmas closure"})
    assert skipped["words"] == (
        "skips Sat 26 Dec, Sun 27 Dec, bank holidays Fri 25 Dec, Mon 28 Dec, closure day Tue 29 Dec (Christmas closure)"
    )


@pytest.fixture
def b9(make_episode, users, book_b):
    """B9 (5 working days) started over Christmas by the coach's initial contact."""
    ClosureDay.objects.create(date=date(2026, 12, 29), reason="Christmas closure")
    cal = build_calendar(closure_days=[date(2026, 12, 29)])
    episode = make_episode(opened_at=XMAS - timedelta(days=3), lead=users["coach"])
    deadline_record_event(
        event=events.INITIAL_CONTACT_MADE,
        now=XMAS,
        episode=episode,
        actor=users["coach"],
        calendar=cal,
        rulebooks=book_b,
    )
    return Deadline.objects.get(rule_id="B9", episode=episode)


def test_the_page_explains_the_rule_its_start_the_counting_and_what_stops_it(client, users, b9, settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    assert (b9.start_event, b9.started_by) == (events.INITIAL_CONTACT_MADE, users["coach"])
    client.force_login(users["teamlead"])
    response = client.get(reverse("deadlines:clock_explain", args=[b9.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The first visit to the family must be completed within 5 working days" in page  # the seed's words
    assert "The allocated worker made initial contact with the family" in page
    assert "recorded by" in page and (users["coach"].get_full_name() or "coach") in page
    assert "Wednesday 6 January 2027, 23:59" in page
    assert (
        "5 working days: skips Sat 26 Dec, Sun 27 Dec, Sat 2 Jan, Sun 3 Jan, "
        "bank holidays Fri 25 Dec, Mon 28 Dec, Fri 1 Jan, closure day Tue 29 Dec (Christmas closure)"
    ) in page
    assert "The first visit was made (child seen and spoken to)" in page  # what stops it
    assert "The episode was closed" in page  # what ends it
    assert "The lead professional acts on it" in page
    assert AccessLog.objects.filter(user=users["teamlead"], family_id_logged=b9.family_id).exists()


def test_the_history_shows_cycles_and_alerts_sent_to_whom(client, users, make_episode, book_b, settings):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    t0 = london(2026, 3, 2, 9, 0)
    episode = make_episode(opened_at=t0, lead=users["coach"])
    deadline_record_event(event=events.EPISODE_OPENED, now=t0, episode=episode, rulebooks=book_b)
    deadline_record_event(
        event=events.OVERSIGHT_RECORDED,
        now=t0 + timedelta(days=20),
        episode=episode,
        actor=users["manager"],
        rulebooks=book_b,
    )
    second = Deadline.objects.get(rule_id="B14", episode=episode, cycle=2)
    alerts_raise(now=second.due_at + timedelta(hours=1), rulebooks=book_b)
    client.force_login(users["manager"])
    page = client.get(reverse("deadlines:clock_explain", args=[second.pk])).content.decode()
    assert "Met in time; the next clock started at once" in page
    assert "Clock started (cycle 2)" in page
    assert "Breached alert sent to" in page


def test_a_clock_outside_the_user_s_scope_is_a_404(client, users, b9):
    client.force_login(users["outsider"])
    assert client.get(reverse("deadlines:clock_explain", args=[b9.pk])).status_code == 404
    client.force_login(users["coach"])
    assert client.get(reverse("deadlines:clock_explain", args=[999_999])).status_code == 404


def test_a_worker_s_supervision_clock_is_seen_by_them_and_their_managers_only(client, users, book_b):
    deadline_record_event(
        event=events.SUPERVISION_RECORDED, now=london(2026, 3, 2, 9, 0), worker=users["coach"], rulebooks=book_b
    )
    b20 = Deadline.objects.filter(rule_id="B20", worker=users["coach"]).first()
    url = reverse("deadlines:clock_explain", args=[b20.pk])
    for who, status in (("coach", 200), ("teamlead", 200), ("manager", 200), ("duty", 404), ("outsider", 404)):
        client.force_login(users[who])
        assert client.get(url).status_code == status, who


def test_the_page_runs_a_constant_number_of_queries(
    client, users, make_episode, book_b, settings, django_assert_max_num_queries
):
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]
    t0 = london(2026, 3, 2, 9, 0)
    episode = make_episode(opened_at=t0, lead=users["coach"])
    deadline_record_event(event=events.ALLOCATED, now=t0, episode=episode, rulebooks=book_b)
    for day in range(1, 12):  # eleven cycles of a recurring clock, each with alerts
        deadline_record_event(
            event=events.OVERSIGHT_RECORDED, now=t0 + timedelta(days=day * 2), episode=episode, rulebooks=book_b
        )
    deadline_record_event(event=events.EPISODE_OPENED, now=t0, episode=episode, rulebooks=book_b)
    alerts_raise(now=t0 + timedelta(days=200), rulebooks=book_b)
    client.force_login(users["teamlead"])
    for d in Deadline.objects.filter(episode=episode):
        with django_assert_max_num_queries(20):
            assert client.get(reverse("deadlines:clock_explain", args=[d.pk])).status_code == 200


def test_every_clock_on_the_episode_and_contact_pages_links_to_its_explanation(client, users, b9):
    client.force_login(users["coach"])
    page = client.get(reverse("episodes:episode_detail", args=[b9.episode_id])).content.decode()
    assert reverse("deadlines:clock_explain", args=[b9.pk]) in page
