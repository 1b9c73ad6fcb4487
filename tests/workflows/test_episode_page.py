"""The episode page is a summary with a page per kind of record (ADR 35): each sub-page is scoped like the
episode, logged once, sorted by urgency where it lists clocks, filtered and paginated where it lists notes,
and costs the same number of queries with 1 record or 30."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AccessLog, CaseNote
from deadlines.models import Deadline, Status
from tests.factories import ContactFactory, DeadlineFactory
from tests.workflows.helpers import NOW, S, make_episode
from workflows import episode_services as es
from workflows import presenters

pytestmark = pytest.mark.django_db
LATER = NOW + timedelta(days=1)  # Tuesday 24 November 2026, 10:00
D = timedelta(days=1)
SUB_PAGES = ("episode_detail", "episode_notes", "episode_timescales", "episode_documents", "episode_history")


@pytest.fixture
def pinned():
    with time_machine.travel(LATER, tick=False):
        yield LATER


def url(name, *args):
    return reverse(f"episodes:{name}", args=args)


def add_notes(episode, users, children, n: int, *, start: int = 0, kind: str = "home_visit"):
    for i in range(start, start + n):
        at = NOW + timedelta(hours=5, minutes=i)
        es.episode_record_visit(
            episode=episode,
            kind=kind,
            happened_at=at,
            details=f"Visit number {i}",
            children=[es.ChildPart(child=c, seen=True, spoken_to=True, views="ok") for c in children],
            by=users["coach"],
            now=at,
        )


def add_clocks(episode, n: int, *, start: int = 0):
    """Clocks in every status, in no order of urgency."""
    traits = ["met", "withdrawn", None, "overdue", "breached"]
    for i in range(start, start + n):
        trait = traits[i % len(traits)]
        DeadlineFactory(episode=episode, rule_id=f"X{i}", at=LATER, **({trait: True} if trait else {}))


class TestSubPages:
    @pytest.mark.parametrize("name", SUB_PAGES)
    def test_each_is_one_access_log_row_and_scoped_like_the_episode(self, client, users, team, pinned, name):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["coach"])
        before = AccessLog.objects.count()
        response = client.get(url(name, episode.pk))
        assert response.status_code == 200
        assert AccessLog.objects.count() == before + 1
        row = AccessLog.objects.order_by("-pk").first()
        assert row.family_id_logged == episode.family_id and episode.reference in row.what
        # Every sub-page links to the others, the page shown marked as current.
        body = response.content.decode()
        for other in SUB_PAGES:
            assert f'href="{url(other, episode.pk)}"' in body
        assert re.search(rf'href="{re.escape(url(name, episode.pk))}" aria-current="page"', body)
        for outsider in ("outsider", "mash", "admin"):
            client.force_login(users[outsider])
            refused = client.get(url(name, episode.pk))
            assert refused.status_code == 404
            assert episode.family.name not in refused.content.decode()

    def test_summary_shows_the_latest_notes_not_all_of_them(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.PLAN_ACTIVE)
        add_notes(episode, users, children, 6)
        client.force_login(users["coach"])
        body = client.get(url("episode_detail", episode.pk)).content.decode()
        assert "Visit number 5" in body and "Visit number 3" in body
        assert "Visit number 2" not in body and "Visit number 0" not in body
        assert url("episode_notes", episode.pk) in body

    def test_notes_are_paginated_and_filtered_by_kind_and_date(self, client, users, team, pinned):
        episode, children = make_episode(users, team, state=S.PLAN_ACTIVE)
        add_notes(episode, users, children, 25)
        add_notes(episode, users, children, 1, start=90, kind="phone_call")
        client.force_login(users["coach"])
        first = client.get(url("episode_notes", episode.pk))
        assert first.context["page"].paginator.count == CaseNote.objects.filter(episode=episode).count()
        assert len(first.context["page"].object_list) == 20
        second = client.get(url("episode_notes", episode.pk) + "?page=2").content.decode()
        assert "Page 2 of 2" in second
        calls = client.get(url("episode_notes", episode.pk) + "?kind=phone_call").context["page"]
        assert {n.kind for n in calls} == {"phone_call"}
        assert calls.paginator.count == CaseNote.objects.filter(episode=episode, kind="phone_call").count()
        assert "Visit number 90" in [n.details for n in calls]
        day = (NOW + timedelta(hours=5)).date()
        on = f"{day.day}&{{0}}_1={day.month}&{{0}}_2={day.year}"
        query = f"?since_0={on.format('since')}&until_0={on.format('until')}"
        on_the_day = client.get(url("episode_notes", episode.pk) + query).context["page"]
        assert on_the_day.paginator.count == CaseNote.objects.filter(episode=episode, happened_at__date=day).count()
        assert on_the_day.paginator.count >= 26
        before = day - D
        query = f"?until_0={before.day}&until_1={before.month}&until_2={before.year}&kind=home_visit"
        earlier = client.get(url("episode_notes", episode.pk) + query).context["page"]
        assert all(n.happened_at.date() <= before for n in earlier)
        assert not any("Visit number" in n.details for n in earlier)

    def test_bad_filters_say_why_and_keep_what_was_typed(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["coach"])
        for query in ("?since_0=31&since_1=2&since_2=2026", "?since_0=99&since_1=99&since_2=99999999999", "?kind=x"):
            response = client.get(url("episode_notes", episode.pk) + query)
            assert response.status_code == 200, query
            assert "govuk-error-summary" in response.content.decode(), query
        response = client.get(
            url("episode_notes", episode.pk) + "?since_0=2&since_1=3&since_2=2026&until_0=1&until_1=3&until_2=2026"
        )
        body = response.content.decode()
        assert "must be the same as or after" in body
        assert 'value="2"' in body and 'value="2026"' in body
        assert client.get(url("episode_notes", episode.pk) + "?page=abc").status_code == 200

    def test_timescales_are_sorted_breached_overdue_due_soon_on_time_then_finished(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLAN_ACTIVE)
        Deadline.objects.filter(episode=episode).delete()
        made = {
            "met": DeadlineFactory(episode=episode, rule_id="M1", met=True, at=LATER),
            "withdrawn": DeadlineFactory(episode=episode, rule_id="W1", withdrawn=True, at=LATER),
            "on_time": DeadlineFactory(episode=episode, rule_id="T1", at=LATER),
            "due_soon": DeadlineFactory(
                episode=episode, rule_id="S1", started_at=LATER - D, expected_at=LATER + timedelta(hours=5)
            ),
            "overdue": DeadlineFactory(episode=episode, rule_id="O1", overdue=True, at=LATER),
            "old_breach": DeadlineFactory(episode=episode, rule_id="B1", breached=True, at=LATER - 30 * D),
            "new_breach": DeadlineFactory(episode=episode, rule_id="B2", breached=True, at=LATER),
        }
        client.force_login(users["coach"])
        response = client.get(url("episode_timescales", episode.pk))
        order = [d.rule_id for d in response.context["clocks"]]
        assert order == ["B2", "B1", "O1", "S1", "T1", "M1", "W1"]
        body = response.content.decode()
        # Each rule links to why it is due; the words are the presenter's, in sentence case.
        for clock in made.values():
            assert reverse("deadlines:clock_explain", args=[clock.pk]) in body
        assert "Overdue by 1 day" in body and "Due in 5 hours" in body and "Withdrawn" in body
        assert "withdrawn<" not in body
        # The summary shows the three most urgent, the breach newest first.
        summary = client.get(url("episode_detail", episode.pk))
        assert [d.rule_id for d in summary.context["urgent_clocks"]] == ["B2", "B1", "O1"]
        assert "All 7 timescales" in summary.content.decode()


class TestOneGreenButton:
    def test_the_first_next_step_is_green_the_others_grey(self, client, users, team, pinned):
        episode, _ = make_episode(users, team, state=S.PLANNING)
        client.force_login(users["coach"])
        body = client.get(url("episode_detail", episode.pk)).content.decode()
        assert "Make the plan active" in body and "Write the plan" in body
        assert len(primary_buttons(body)) == 1

    def test_one_primary(self):
        marked = presenters.one_primary([{"secondary": True}, {"secondary": False}, {"secondary": False}, {}])
        assert [b["primary"] for b in marked] == [False, True, False, False]
        assert presenters.one_primary([{"secondary": True}])[0]["primary"] is False


def primary_buttons(html: str) -> list[str]:
    """The class attributes of the green (primary) GOV.UK buttons: `govuk-button` with no modifier."""
    found = []
    for classes in re.findall(r'class="([^"]*)"', html):
        names = classes.split()
        if "govuk-button" in names and not any(n.startswith("govuk-button--") for n in names):
            found.append(classes)
    return found


class TestDeadlineWording:
    def test_words_for_each_status(self):
        now = LATER
        words = presenters.deadline_words
        assert words(Status.BREACHED, expected_at=now - 9 * D, due_at=now - 3 * D, now=now) == {
            "text": "Breached",
            "colour": "red",
        }
        assert words(Status.OVERDUE, expected_at=now - 3 * D, due_at=now + D, now=now)["text"] == "Overdue by 3 days"
        assert words(Status.OVERDUE, expected_at=now - timedelta(hours=2), due_at=None, now=now)["text"] == (
            "Overdue by 2 hours"
        )
        assert words(Status.DUE_SOON, expected_at=now + timedelta(minutes=20), due_at=None, now=now)["text"] == (
            "Due in less than an hour"
        )
        assert words(Status.ON_TIME, expected_at=now + D, due_at=now + 4 * D, now=now)["text"] == "Due in 1 day"
        assert words(Status.MET, now=now) == {"text": "Met", "colour": "green"}
        assert words(Status.MET_LATE, now=now)["text"] == "Met late"
        assert words(Status.WITHDRAWN, now=now)["text"] == "Withdrawn"
        assert words("paused_by_someone", now=now) == {"text": "Paused by someone", "colour": "grey"}

    def test_status_at_a_queues_next_due(self):
        assert presenters.status_at(due_at=LATER - D, now=LATER) == Status.BREACHED
        assert presenters.status_at(due_at=LATER - D, now=LATER, flag_only=True) == Status.OVERDUE
        assert presenters.status_at(due_at=LATER + timedelta(hours=3), now=LATER) == Status.DUE_SOON
        assert presenters.status_at(due_at=LATER + 3 * D, now=LATER) == Status.ON_TIME

    def test_a_breached_contact_reads_the_same_in_the_queue_and_on_its_page(self, client, users, pinned):
        contact = ContactFactory()
        DeadlineFactory(contact=contact, rule_id="A1", breached=True, at=LATER - 2 * D)
        client.force_login(users["mash"])
        queue = client.get(reverse("cases:triage_queue")).content.decode()
        page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
        tag = '<strong class="govuk-tag govuk-tag--red">Breached</strong>'
        assert tag in queue and tag in page
        assert "Overdue by" not in queue


class TestBoundedQueries:
    def _count(self, client, path) -> int:
        client.get(path)  # the first request of a session also writes the session: not the page's cost
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    def test_one_note_and_clock_or_thirty_cost_the_same(self, client, users, team, pinned, settings, tmp_path):
        """Every sub-page, on one episode with one note and clock, then thirty (one episode made, not five)."""
        settings.MEDIA_ROOT = tmp_path
        episode, children = make_episode(users, team, state=S.PLAN_ACTIVE)
        client.force_login(users["coach"])
        paths = {name: url(name, episode.pk) for name in SUB_PAGES}
        add_notes(episode, users, children, 1)
        add_clocks(episode, 1)
        few = {name: self._count(client, path) for name, path in paths.items()}
        add_notes(episode, users, children, 29, start=1)
        add_clocks(episode, 29, start=1)
        many = {name: self._count(client, path) for name, path in paths.items()}
        assert many == few
        assert max(many.values()) <= 20, many
