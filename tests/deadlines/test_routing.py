"""Alerts reach the person who must act, as each rulebook says.

Clocks are started through the real service (`deadline_record_event`, as the workflow pages
call it) with one rulebook at a time; then the alert job runs at pinned times. An overdue
alert goes to the rule's `acts` role, a breach to it and its `escalate_to` roles, and a breach
still open `ALERT_ESCALATE_AFTER_HOURS` after its maximum to the service's EH managers.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from cases.models import Communication
from deadlines import events
from deadlines.alerts import alerts_deliver, alerts_raise
from deadlines.models import Alert, Deadline
from deadlines.rulebook import DEFAULT_DIRECTORY, ROUTING_ROLES, RulebookError, available_rulebooks, load_rulebook
from deadlines.services import deadline_record_event
from deadlines.tasks import raise_alerts
from tests.deadlines.conftest import CAL, london
from tests.factories import EpisodeFactory, family_with_children

T0 = london(2026, 3, 2, 9, 0)  # Monday


def told(rule_id: str, level: str | None = None) -> set[str]:
    qs = Alert.objects.filter(deadline__rule_id=rule_id)
    if level:
        qs = qs.filter(level=level)
    return set(qs.values_list("recipient__username", flat=True))


def start(event: str, books, **subject) -> None:
    deadline_record_event(event=event, now=T0, calendar=CAL, rulebooks=books, **subject)


@pytest.fixture(autouse=True)
def _escalate_after_a_day(settings):
    settings.ALERT_ESCALATE_AFTER_HOURS = 24


# --- the rulebook fields ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", available_rulebooks())
def test_every_shipped_rule_says_who_acts_and_who_is_escalated_to(slug):
    with (DEFAULT_DIRECTORY / f"{slug}.toml").open("rb") as fh:
        raw = tomllib.load(fh)
    for table in raw["rule"]:
        assert table.get("acts") in ROUTING_ROLES, f"{slug} {table['id']} has no 'acts'"
        assert isinstance(table.get("escalate_to"), list) and table["escalate_to"], f"{slug} {table['id']}"


def test_the_issue_s_manager_rules_are_routed_to_managers(all_books):
    rules = {r.id: r for book in all_books for r in book.rules.values()}
    assert rules["C1"].acts == "eh_manager" and "duty_manager" in rules["C1"].escalate_to
    assert rules["C2"].acts == "duty_manager" and "eh_manager" in rules["C2"].escalate_to
    for rule_id in ("B13", "B14", "B17"):
        assert rules[rule_id].acts == "eh_manager"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('acts = "chief_executive"', "'acts' must be one of lead_professional, team_leader"),
        ('escalate_to = ["team_leader", "director"]', "unknown role 'director' in 'escalate_to'"),
        ('escalate_to = "team_leader"', "'escalate_to' must be a list of roles"),
        ('acts = "team_leader"\nescalate_to = ["team_leader"]', "repeats 'team_leader'"),
    ],
)
def test_a_bad_routing_is_refused_with_a_clear_message(tmp_path, lines, message):
    path = tmp_path / "bad.toml"
    path.write_text(
        'title = "Bad"\n[[rule]]\nid = "X1"\ntitle = "x"\nstarts_on = ["allocated"]\n'
        'stops_on = ["case_recorded"]\napplies_to = "episode"\n'
        f'maximum = {{ amount = 1, unit = "hours" }}\n{lines}\n'
    )
    with pytest.raises(RulebookError) as exc:
        load_rulebook(path)
    assert "rule X1" in str(exc.value) and message in str(exc.value)


# --- each rulebook's routing -----------------------------------------------------------------


@pytest.mark.django_db
def test_families_first_routing(book_a, make_episode, make_contact, users):
    waiting = make_episode(opened_at=T0)  # awaiting allocation: A4 is the team leader's
    start(events.EPISODE_OPENED, book_a, episode=waiting)
    contact = make_contact(received_at=T0, created_by=users["mash"])  # the front door's
    start(events.CONTACT_RECEIVED, book_a, contact=contact)
    led = make_episode(opened_at=T0, lead=users["coach"])
    start(events.EPISODE_OPENED, book_a, episode=led)
    alerts_raise(now=T0 + timedelta(hours=25), rulebooks=book_a)
    assert told("A4") == {"teamlead", "manager"}  # acts: team leader; escalated to the EH manager
    assert told("A1") == {"mashlead", "manager"}  # acts: EH MASH lead of the front door
    alerts_raise(now=T0 + timedelta(days=6), rulebooks=book_a)
    assert told("A5", "breached") == {"coach", "teamlead"}  # the family coach, then the team leader


@pytest.mark.django_db
def test_family_solutions_routing(book_b, make_episode, make_contact, users):
    contact = make_contact(received_at=T0, created_by=users["mash"])
    start(events.CONTACT_RECEIVED, book_b, contact=contact)
    episode = make_episode(opened_at=T0, lead=users["coach"])
    start(events.CLOSURE_REQUESTED, book_b, episode=episode)
    # B2 is overdue after 1 working day: the one who acts only.
    alerts_raise(now=T0 + timedelta(days=1, hours=16), rulebooks=book_b)
    assert told("B2", "overdue") == {"mashlead"}
    # Past 3 calendar days: B2 to the MASH lead and the EH manager; B17 (closure sign-off) to
    # the EH manager and the team leader; nothing to the coach, whose task it is not.
    alerts_raise(now=T0 + timedelta(days=4), rulebooks=book_b)
    assert told("B2", "breached") == {"mashlead", "manager"}
    assert told("B17", "breached") == {"manager", "teamlead"}
    assert told("B13", "breached") == {"manager", "teamlead"}


@pytest.mark.django_db
def test_step_up_routing(book_c, make_episode, users):
    episode = make_episode(opened_at=T0, lead=users["coach"])
    start(events.STEP_UP_REQUESTED, book_c, episode=episode)
    alerts_raise(now=T0 + timedelta(hours=49), rulebooks=book_c)
    assert told("C1") == {"manager", "dutymanager"}
    deadline_record_event(
        event=events.STEP_UP_SENT_TO_DUTY_MANAGER, now=T0 + timedelta(hours=50), episode=episode, rulebooks=book_c
    )
    alerts_raise(now=T0 + timedelta(hours=99), rulebooks=book_c)
    assert told("C2") == {"dutymanager", "manager"}


@pytest.mark.django_db
def test_a_breach_still_open_after_the_set_time_goes_to_the_service_s_manager(book_b, make_episode, users, settings):
    episode = make_episode(opened_at=T0, lead=users["coach"])
    deadline_record_event(event=events.ALLOCATED, now=T0, calendar=CAL, rulebooks=book_b, episode=episode)
    b8 = Deadline.objects.get(rule_id="B8", episode=episode)
    assert b8.due_at == london(2026, 3, 4, 23, 59, 59)
    settings.EARLYHELP_RULEBOOKS = ["family-solutions"]  # the task reads them from settings
    with time_machine.travel(b8.due_at + timedelta(minutes=5), tick=False) as traveller:
        raise_alerts()
        assert told("B8", "breached") == {"coach", "teamlead"}
        assert not told("B8", "escalated")
        traveller.move_to(b8.due_at + timedelta(hours=23))
        raise_alerts()
        assert not told("B8", "escalated")  # not yet: 24 hours after the maximum
        traveller.move_to(b8.due_at + timedelta(hours=24, minutes=1))
        raise_alerts()
        assert told("B8", "escalated") == {"manager"}
        traveller.move_to(b8.due_at + timedelta(days=5))
        raise_alerts()
        assert Alert.objects.filter(level="escalated").count() == 1  # once, ever
    users["manager"].email = "manager@example.org"
    users["manager"].save()
    alerts_deliver(now=b8.due_at + timedelta(days=5))
    escalated = [m for m in mail.outbox if m.subject.startswith("Breach escalated")]
    assert [m.to for m in escalated] == [["manager@example.org"]]
    assert "still breached 24 hours after its maximum" in escalated[0].body


@pytest.mark.django_db
def test_nobody_to_act_falls_back_to_the_escalation(book_b, make_episode, users):
    users["coach"].is_active = False  # a leaver holds the case
    users["coach"].save()
    episode = make_episode(opened_at=T0, lead=users["coach"])
    start(events.ALLOCATED, book_b, episode=episode)
    alerts_raise(now=T0 + timedelta(days=3), rulebooks=book_b)
    assert told("B8", "breached") == {"teamlead"}


# --- a new contact on a family with an open episode ------------------------------------------

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.django_db
def test_a_new_contact_alerts_the_lead_professional(client, users, team):
    from workflows import services

    family, children = family_with_children(1)
    EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=NOW)
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=NOW.replace(hour=9),
        route="email",
        source="2A",
        presenting_needs="Attendance has dropped.",
        by=users["mash"],
        now=NOW,
    )
    alert = Alert.objects.get(recipient=users["coach"])
    assert (alert.level, alert.contact_id, alert.deadline_id) == ("new_contact", contact.pk, None)
    assert contact.lead_professional_notified == users["coach"]
    assert Communication.objects.filter(contact=contact).exists()
    # The header count, My work and the alerts page show it; the delivery job e-mails it.
    client.force_login(users["coach"])
    page = client.get(reverse("oversight:my_work")).content.decode()
    assert "A new contact arrived on your family" in page
    assert reverse("cases:contact_detail", args=[contact.pk]) in page
    listing = client.get(reverse("deadlines:alerts"))
    assert listing.status_code == 200
    assert "A new contact arrived on a family whose case you lead" in listing.content.decode()
    assert listing.context["unread_alerts"] == 1
    users["coach"].email = users["coach"].email or "coach@example.org"
    users["coach"].save()
    assert alerts_deliver(now=NOW) == 1
    assert mail.outbox[-1].subject == f"New contact on your family (C{contact.pk:07d})"
    assert mail.outbox[-1].to == [users["coach"].email]


@pytest.mark.django_db
def test_a_lead_professional_who_has_left_is_not_said_to_be_told(users, team):
    from workflows import services

    users["coach"].is_active = False
    users["coach"].save()
    family, children = family_with_children(1)
    EpisodeFactory(plan_active=True, family=family, team=team, lead_professional=users["coach"], opened_at=NOW)
    contact = services.contact_receive(
        family=family,
        subjects=children,
        received_at=NOW.replace(hour=9),
        route="email",
        source="2A",
        presenting_needs="x",
        by=users["mash"],
        now=NOW,
    )
    assert contact.lead_professional_notified is None
    assert not Alert.objects.exists()


@pytest.mark.django_db
def test_routing_runs_a_constant_number_of_queries(book_b, make_episode, users):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run(n: int, at) -> int:
        for _ in range(n):
            episode = make_episode(opened_at=at, lead=users["coach"])
            deadline_record_event(
                event=events.CLOSURE_REQUESTED, now=at, calendar=CAL, rulebooks=book_b, episode=episode
            )
        with CaptureQueriesContext(connection) as queries:
            alerts_raise(now=at + timedelta(days=10), rulebooks=book_b)
        return len(queries)

    # The clock counts start from the alert job's first run: from then on each run moves the counts of the
    # clocks that crossed since the last, in the same few statements however many crossed.
    alerts_raise(now=T0, rulebooks=book_b)
    few = run(2, T0)
    many = run(20, T0 + timedelta(days=30))
    assert many == few <= 40
