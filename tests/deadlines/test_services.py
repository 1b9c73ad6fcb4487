"""Every rule of rulebooks A, B and C starts and stops from the workflow's events.

Each walk fires events in the order a case meets them, on real Contact and Episode rows, at
pinned times, and asserts the deadline rows. Times are Europe/London.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deadlines import events as ev
from deadlines.models import Deadline
from deadlines.services import EventResult, deadline_record_event
from tests.deadlines.conftest import latest, london, open_rules

START = london(2026, 3, 2, 9, 0)  # Monday 2 March 2026, GMT


class Walk:
    """Fires events at a moving, pinned `now`; remembers which rules opened and stopped."""

    def __init__(self, books, cal, start: datetime = START):
        self.books, self.cal, self.now = books, cal, start
        self.opened: set[str] = set()
        self.stopped: set[str] = set()
        self.withdrawn: set[str] = set()

    def after(self, **delta) -> Walk:
        self.now += timedelta(**delta)
        return self

    def fire(self, event: str, **subjects) -> EventResult:
        result = deadline_record_event(event=event, now=self.now, rulebooks=self.books, calendar=self.cal, **subjects)
        self.opened |= set(result.opened_rules)
        self.stopped |= set(result.stopped_rules)
        self.withdrawn |= set(result.withdrawn_rules)
        return result


def end_of(y: int, m: int, d: int) -> datetime:
    return london(y, m, d, 23, 59, 59)


# --- Rulebook A: Families First --------------------------------------------------------------


@pytest.mark.django_db
def test_rulebook_a_walk(book_a, cal, make_contact, make_episode, users, team):
    w = Walk(book_a, cal)
    contact = make_contact(received_at=w.now, created_by=users["mash"])
    w.fire(ev.CONTACT_RECEIVED, contact=contact)
    a1 = latest("A1", contact=contact)
    assert (a1.started_at, a1.expected_at, a1.due_at) == (START, None, START + timedelta(hours=24))
    assert a1.assignee is None and a1.team == users["mash"].team  # the front door's clock
    assert a1.family_id == contact.family_id

    w.after(hours=3)
    w.fire(ev.DECISION_MADE, contact=contact)
    contact.allocated_team = team
    contact.save()
    w.fire(ev.CONTACT_DECIDED_ALLOCATE, contact=contact)
    a1.refresh_from_db()
    assert (a1.stopped_at, a1.stop_reason) == (w.now, "met")
    assert open_rules(contact=contact) == ["A3"]
    assert latest("A3", contact=contact).team == team

    w.after(hours=20)
    episode = make_episode(opened_at=w.now, contact=contact)
    w.fire(ev.REFERRAL_SENT_TO_TEAM, episode=episode)  # counts for the contact it came from
    assert open_rules(contact=contact) == []
    w.fire(ev.EPISODE_OPENED, episode=episode)
    opened_at = w.now
    assert open_rules(episode=episode) == ["A11", "A4", "A5", "A6", "A7b"]
    a4 = latest("A4", episode=episode)
    assert a4.assignee is None and a4.team == team  # awaiting allocation: the team leads
    assert latest("A5", episode=episode).due_at == end_of(2026, 3, 8)  # 5 calendar days
    assert latest("A6", episode=episode).due_at == end_of(2026, 3, 23)
    assert latest("A7b", episode=episode).due_at == end_of(2026, 4, 2)
    a11 = latest("A11", episode=episode)
    assert (a11.flag_only, a11.expected_at, a11.due_at) == (True, end_of(2026, 9, 3), None)

    w.after(hours=5)
    episode.lead_professional = users["coach"]
    episode.save()
    w.fire(ev.ALLOCATED, episode=episode)
    a4.refresh_from_db()
    assert a4.stop_reason == "met"
    # The open clocks now belong to the allocated coach.
    assert set(Deadline.objects.open().filter(episode=episode).values_list("assignee", flat=True)) == {
        users["coach"].pk
    }

    w.after(days=2)
    w.fire(ev.FAMILY_VISITED, episode=episode)  # A5: an introductory visit
    w.after(days=10)
    w.fire(ev.ASSESSMENT_COMPLETED, episode=episode)
    assert open_rules(episode=episode) == ["A11", "A7", "A7b"]
    a7 = latest("A7", episode=episode)
    assert a7.due_at == end_of(2026, 3, 25) and a7.assignee == users["coach"]

    w.after(days=5)  # Friday 20 March
    w.fire(ev.PLANNING_MEETING_HELD, episode=episode)
    assert open_rules(episode=episode) == ["A10", "A11", "A8", "A9"]
    assert latest("A7b", episode=episode).stop_reason == "met"
    a9 = latest("A9", episode=episode)
    # 10 working days from Friday 20 March 2026: 23-27 March (5), 30 March-2 April (4), then
    # Good Friday and Easter Monday do not count, so the 10th is Tuesday 7 April.
    assert a9.due_at == end_of(2026, 4, 7)
    a10 = latest("A10", episode=episode)
    assert (a10.expected_at, a10.due_at) == (end_of(2026, 5, 1), end_of(2026, 6, 20))

    w.after(days=2)
    w.fire(ev.PLAN_COPY_SENT, episode=episode)
    assert latest("A8", episode=episode).stop_reason == "met"

    w.after(days=5)
    visit_1 = w.now
    w.fire(ev.FAMILY_VISITED, episode=episode)  # A9: a visit, the family seen
    w.after(days=6)
    w.fire(ev.REVIEW_HELD, episode=episode)
    assert open_rules(episode=episode) == ["A10", "A11", "A9"]
    assert latest("A9", episode=episode).cycle == 2
    assert latest("A9", episode=episode).started_at == visit_1
    assert latest("A10", episode=episode).cycle == 2

    w.after(days=60)
    result = w.fire(ev.EPISODE_CLOSED, episode=episode)
    assert sorted(result.withdrawn_rules) == ["A10", "A9"]
    assert result.stopped_rules == ("A11",)
    assert result.opened == 0
    assert open_rules(episode=episode) == []
    assert latest("A11", episode=episode).started_at == opened_at

    # A2: a second contact routed to the Neighbourhood Action Meeting.
    other = make_contact(received_at=w.now, created_by=users["mash"])
    w.fire(ev.CONTACT_RECEIVED, contact=other)
    w.after(hours=1)
    w.fire(ev.DECISION_MADE, contact=other)
    w.fire(ev.CONTACT_DECIDED_MEETING, contact=other)
    w.fire(ev.CONTACT_DECIDED_NAM, contact=other)  # A2 is the NAM's clock, not any meeting's
    assert open_rules(contact=other) == ["A2"]
    w.after(days=7)
    w.fire(ev.MEETING_HELD, contact=other)
    w.fire(ev.NAM_HELD, contact=other)
    assert open_rules(contact=other) == []

    every = set(book_a[0].rules)
    assert w.opened == every
    assert w.stopped | w.withdrawn == every
    assert w.stopped == every  # every rule was met at least once, the recurring ones too


@pytest.mark.django_db
def test_recurrence_a9_visits_every_10_working_days_restart_from_each_visit(book_a, cal, make_episode, users):
    w = Walk(book_a, cal, start=london(2026, 6, 1, 10, 0))  # Monday
    episode = make_episode(opened_at=w.now, lead=users["coach"])
    w.fire(ev.PLANNING_MEETING_HELD, episode=episode)
    visits = [london(2026, 6, 9, 14, 0), london(2026, 6, 23, 11, 0), london(2026, 7, 8, 16, 0)]
    for when in visits:
        w.now = when
        result = w.fire(ev.FAMILY_VISITED, episode=episode)
        assert result.stopped_rules == ("A9",) and result.opened_rules == ("A9",)
    rows = list(Deadline.objects.filter(episode=episode, rule_id="A9").order_by("cycle"))
    assert [r.cycle for r in rows] == [1, 2, 3, 4]
    assert [r.stopped_at for r in rows] == [*visits, None]
    assert [r.started_at for r in rows[1:]] == visits
    # Each cycle is 10 working days from the visit that started it.
    assert rows[1].due_at == end_of(2026, 6, 23)
    assert rows[2].due_at == end_of(2026, 7, 7)
    assert rows[3].due_at == end_of(2026, 7, 22)
    # The second visit came on the last day (met); the third was a day late (met late).
    statuses = dict(
        Deadline.objects.with_status(w.now).filter(episode=episode, rule_id="A9").values_list("cycle", "status")
    )
    assert statuses == {1: "met", 2: "met", 3: "met_late", 4: "on_time"}


@pytest.mark.django_db
def test_a_late_recorded_earlier_event_does_not_stop_a_clock_started_after_it(book_a, cal, make_episode):
    w = Walk(book_a, cal)
    episode = make_episode(opened_at=w.now)
    w.fire(ev.PLANNING_MEETING_HELD, episode=episode)
    w.now = START - timedelta(days=1)  # a visit the day before the plan, recorded afterwards
    result = w.fire(ev.FAMILY_VISITED, episode=episode)
    assert result.stopped == 0
    assert latest("A9", episode=episode).stopped_at is None


# --- Rulebook B: Family Solutions ------------------------------------------------------------


@pytest.mark.django_db
def test_rulebook_b_walk(book_b, cal, make_contact, make_episode, users, team):
    w = Walk(book_b, cal)  # Monday 2 March 2026 09:00
    contact = make_contact(received_at=w.now, created_by=users["mash"])
    w.fire(ev.CONTACT_RECEIVED, contact=contact)
    assert open_rules(contact=contact) == ["B1", "B2"]
    b2 = latest("B2", contact=contact)
    assert (b2.expected_at, b2.due_at) == (end_of(2026, 3, 3), end_of(2026, 3, 5))
    assert latest("B1", contact=contact).due_at == end_of(2026, 3, 17)

    w.after(hours=4)
    w.fire(ev.ACKNOWLEDGEMENT_SENT, contact=contact)
    w.after(hours=20)
    w.fire(ev.SCREENING_HELD, contact=contact)
    assert open_rules(contact=contact) == ["B1", "B3"]
    w.after(hours=2)
    w.fire(ev.SCREENING_OUTCOME_SENT, contact=contact)
    w.fire(ev.DECISION_MADE, contact=contact)
    w.fire(ev.CONTACT_DECIDED_MEETING, contact=contact)
    assert open_rules(contact=contact) == ["B1"]  # a meeting decision keeps the MAAM clock

    w.after(days=6)
    w.fire(ev.MEETING_HELD, contact=contact)
    w.fire(ev.MAAM_HELD, contact=contact)  # B1 and B5 are the MAAM's clocks
    assert open_rules(contact=contact) == ["B5"]
    w.fire(ev.MEETING_DECIDED_ALLOCATE, contact=contact)
    w.fire(ev.MAAM_DECIDED_ALLOCATE, contact=contact)
    w.after(hours=3)
    w.fire(ev.MEETING_OUTCOME_SENT, contact=contact)
    assert open_rules(contact=contact) == ["B6"]

    episode = make_episode(opened_at=w.now, contact=contact)
    w.fire(ev.EPISODE_OPENED, episode=episode)
    assert open_rules(episode=episode) == ["B14", "B7"]
    w.after(days=1)
    w.fire(ev.DUTY_CONTACT_RECORDED, episode=episode)
    assert latest("B7", episode=episode).cycle == 2

    w.after(hours=4)
    episode.lead_professional = users["coach"]
    episode.save()
    result = w.fire(ev.ALLOCATED, episode=episode)
    assert result.stopped_rules == ("B6",)  # kept on the contact; the episode's event counts
    assert result.withdrawn_rules == ("B7",)  # off the pre-allocation list
    assert open_rules(episode=episode) == ["B10", "B11", "B14", "B8"]
    assert open_rules(contact=contact) == []

    w.after(days=1)
    w.fire(ev.INITIAL_CONTACT_MADE, episode=episode)
    w.fire(ev.VISIT_RECORDED, episode=episode, key="note:1")  # B18: one clock per visit
    assert open_rules(episode=episode) == ["B10", "B11", "B14", "B18", "B9"]
    w.after(hours=3)
    w.fire(ev.CASE_RECORDED, episode=episode, key="note:1")
    w.after(days=2)
    w.fire(ev.FIRST_VISIT_MADE, episode=episode)
    w.fire(ev.VISIT_RECORDED, episode=episode, key="note:2")
    w.after(days=1)
    w.fire(ev.VISIT_RECORDED, episode=episode, key="note:3")  # another visit: its own clock
    assert Deadline.objects.filter(episode=episode, rule_id="B18", stopped_at__isnull=True).count() == 2
    w.after(hours=1)
    w.fire(ev.CASE_RECORDED, episode=episode, key="note:2")
    w.fire(ev.CASE_RECORDED, episode=episode, key="note:3")

    w.after(days=10)
    w.fire(ev.ASSESSMENT_COMPLETED, episode=episode)
    # B10 needs the assessment *and* the plan commenced.
    assert open_rules(episode=episode) == ["B10", "B11", "B13", "B14"]
    w.fire(ev.PLAN_STARTED, episode=episode)
    assert open_rules(episode=episode) == ["B11", "B13", "B14"]
    w.after(days=1)
    result = w.fire(ev.OVERSIGHT_RECORDED, episode=episode)
    assert sorted(result.stopped_rules) == ["B13", "B14"] and result.opened_rules == ("B14",)

    w.after(days=5)
    w.fire(ev.PLAN_COMPLETED, episode=episode)
    assert open_rules(episode=episode) == ["B12", "B13", "B14"]
    w.after(days=30)
    w.fire(ev.REVIEW_HELD, episode=episode)  # B13 still open from the plan: not doubled
    assert latest("B12", episode=episode).cycle == 2
    w.after(days=1)
    w.fire(ev.CASE_DISCUSSION_HELD, episode=episode)
    w.after(hours=5)
    result = w.fire(ev.OVERSIGHT_RECORDED, episode=episode)
    assert sorted(result.stopped_rules) == ["B13", "B14", "B19"]

    w.after(days=10)
    w.fire(ev.CLOSURE_REQUESTED, episode=episode)
    assert open_rules(episode=episode) == ["B12", "B13", "B14", "B17"]
    w.after(days=1)
    w.fire(ev.CLOSURE_RETURNED, episode=episode)
    w.after(days=2)
    w.fire(ev.CLOSURE_REQUESTED, episode=episode)
    w.after(days=1)
    w.fire(ev.CLOSURE_SIGNED_OFF, episode=episode)
    w.fire(ev.OVERSIGHT_RECORDED, episode=episode)
    result = w.fire(ev.EPISODE_CLOSED, episode=episode)
    assert sorted(result.withdrawn_rules) == ["B12", "B14"]  # (B13 for the closure was met by the oversight)
    assert open_rules(episode=episode) == []
    assert Deadline.objects.filter(episode=episode, rule_id="B17").count() == 2

    # B4: screening steps a contact down to Early Help; allocation on its episode stops it.
    stepped = make_contact(received_at=w.now, created_by=users["mash"])
    w.fire(ev.CONTACT_RECEIVED, contact=stepped)
    w.fire(ev.ACKNOWLEDGEMENT_SENT, contact=stepped)
    w.after(hours=2)
    w.fire(ev.DECISION_MADE, contact=stepped)
    result = w.fire(ev.CONTACT_DECIDED_ALLOCATE, contact=stepped)
    assert result.withdrawn_rules == ("B1",) and result.opened_rules == ()
    result = w.fire(ev.SCREENING_DECIDED_ALLOCATE, contact=stepped)  # the front door's own decision
    assert result.opened_rules == ("B4",)
    assert latest("B4", contact=stepped).due_at == w.now + timedelta(hours=24)
    ep2 = make_episode(opened_at=w.now, contact=stepped, lead=users["coach"])
    w.after(hours=5)
    w.fire(ev.ALLOCATED, episode=ep2)
    assert latest("B4", contact=stepped).stop_reason == "met"

    # B15 and B16: step-down from social care and a wraparound request, each then allocated.
    for start_event, rule in ((ev.STEP_DOWN_RECEIVED, "B15"), (ev.WRAPAROUND_REQUESTED, "B16")):
        ep = make_episode(opened_at=w.now)
        w.fire(start_event, episode=ep)
        assert open_rules(episode=ep) == [rule]
        w.after(hours=30)
        ep.lead_professional = users["coach"]
        ep.save()
        w.fire(ev.ALLOCATED, episode=ep)
        assert latest(rule, episode=ep).stop_reason == "met"

    # B20: a worker's supervision every 4 calendar weeks, counted from the last one.
    coach = users["coach"]
    w.fire(ev.SUPERVISION_RECORDED, worker=coach)
    first = latest("B20", worker=coach)
    assert (first.cycle, first.assignee, first.team, first.family) == (1, coach, coach.team, None)
    w.after(days=27)
    result = w.fire(ev.SUPERVISION_RECORDED, worker=coach)
    assert result.stopped_rules == ("B20",) and result.opened_rules == ("B20",)
    assert latest("B20", worker=coach).cycle == 2
    assert open_rules(worker=coach) == ["B20"]

    every = set(book_b[0].rules)
    assert w.opened == every
    assert w.stopped | w.withdrawn == every
    assert every - w.stopped == set()  # every rule was also met at least once


@pytest.mark.django_db
def test_dart_contacts_get_no_acknowledgement_or_screening_outcome_clock(book_b, cal, make_contact):
    w = Walk(book_b, cal)
    dart = make_contact(received_at=w.now, route="dart")
    email = make_contact(received_at=w.now, route="email")
    for contact in (dart, email):
        w.fire(ev.CONTACT_RECEIVED, contact=contact)
        w.fire(ev.SCREENING_HELD, contact=contact)
    assert open_rules(contact=dart) == ["B1"]
    assert open_rules(contact=email) == ["B1", "B2", "B3"]


# --- Rulebook C: step-up ---------------------------------------------------------------------


@pytest.mark.django_db
def test_rulebook_c_walk_across_the_spring_clock_change(book_c, cal, make_episode, users):
    w = Walk(book_c, cal, start=london(2026, 3, 28, 12, 0))  # Saturday before the clocks go forward
    episode = make_episode(opened_at=w.now, lead=users["coach"])
    w.fire(ev.STEP_UP_REQUESTED, episode=episode)
    c1 = latest("C1", episode=episode)
    assert c1.due_at == london(2026, 3, 30, 13, 0)  # 48 elapsed hours: 13:00 BST
    w.after(hours=30)
    w.fire(ev.STEP_UP_SENT_TO_DUTY_MANAGER, episode=episode)
    assert open_rules(episode=episode) == ["C2"]
    c2 = latest("C2", episode=episode)
    assert c2.due_at == w.now + timedelta(hours=48)
    w.after(hours=50)
    w.fire(ev.STEP_UP_DECIDED, episode=episode)
    assert open_rules(episode=episode) == []
    statuses = dict(Deadline.objects.with_status(w.now).filter(episode=episode).values_list("rule_id", "status"))
    assert statuses == {"C1": "met", "C2": "met_late"}
    assert w.opened == w.stopped == {"C1", "C2"}


# --- The contract ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_rulebooks_from_settings_one_procedure_per_subject(settings, cal, make_contact):
    # All three loaded, but a contact runs one council's procedure (the default here), never two (ADR 0019).
    settings.EARLYHELP_RULEBOOKS = ["families-first", "family-solutions", "step-up"]
    settings.EARLYHELP_DEFAULT_RULEBOOK = "family-solutions"
    contact = make_contact(received_at=START)
    result = deadline_record_event(event=ev.CONTACT_RECEIVED, now=START, contact=contact, calendar=cal)
    assert sorted(result.opened_rules) == ["B1", "B2"]
    assert set(Deadline.objects.values_list("rulebook", flat=True)) == {"family-solutions"}
    settings.EARLYHELP_RULEBOOKS = ["step-up"]
    other = make_contact(received_at=START)
    assert deadline_record_event(event=ev.CONTACT_RECEIVED, now=START, contact=other, calendar=cal).opened == 0


@pytest.mark.django_db
def test_the_same_event_twice_does_not_open_a_second_clock(book_b, cal, make_contact):
    contact = make_contact(received_at=START)
    first = deadline_record_event(event=ev.CONTACT_RECEIVED, now=START, contact=contact, rulebooks=book_b, calendar=cal)
    again = deadline_record_event(
        event=ev.CONTACT_RECEIVED, now=START + timedelta(hours=1), contact=contact, rulebooks=book_b, calendar=cal
    )
    assert (first.opened, again.opened) == (2, 0)
    assert Deadline.objects.count() == 2


@pytest.mark.django_db
def test_unknown_event_naive_time_and_missing_subject_are_refused(book_b, make_contact):
    contact = make_contact(received_at=START)
    with pytest.raises(ValueError, match="unknown event 'contact_recieved'"):
        deadline_record_event(event="contact_recieved", now=START, contact=contact, rulebooks=book_b)
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline_record_event(event=ev.CONTACT_RECEIVED, now=datetime(2026, 3, 2, 9), contact=contact)  # noqa: DTZ001
    with pytest.raises(ValueError, match="needs a contact, an episode or a worker"):
        deadline_record_event(event=ev.CONTACT_RECEIVED, now=START, rulebooks=book_b)


@pytest.mark.django_db
def test_times_are_stored_in_utc_and_read_back_as_the_same_instant(book_b, cal, make_contact):
    summer = london(2026, 6, 1, 10, 0)
    contact = make_contact(received_at=summer)
    deadline_record_event(event=ev.CONTACT_RECEIVED, now=summer, contact=contact, rulebooks=book_b, calendar=cal)
    b2 = latest("B2", contact=contact)
    assert b2.expected_at == datetime(2026, 6, 2, 22, 59, 59, tzinfo=UTC)
    assert b2.due_at == end_of(2026, 6, 4)
