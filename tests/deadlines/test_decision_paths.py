"""Every path by which a contact is decided sends the same deadline events for the same outcome.

A contact is decided on the contact page (triage), at the daily screening, or by a NAM, MAAM or ICDM
(the meeting's outcome); an imported contact arrives decided. A MAAM's decision to allocate once sent
no `contact_decided_allocate`, so B1 (presented to the MAAM) never ended when a NAM or ICDM allocated,
and A3 never started. Here each path is driven to each outcome with time pinned, and both the events
and the clocks they leave are compared: only the path's own events (a meeting held, screening's or a
meeting's own decision to allocate) and the path's own rules may differ.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.models import Contact, Meeting
from deadlines import events
from deadlines.models import Deadline
from workflows import services

from .conftest import london
from .test_front_door_clocks import follow, receive

pytestmark = pytest.mark.django_db

MONDAY = london(2026, 11, 23, 9, 0, 0)
HELD = MONDAY + timedelta(days=1)
TYPED = HELD + timedelta(hours=2)

FINAL = ("allocate", "single_agency", "signpost", "no_further_action", "step_up")
PATHS = ("triage", "screening", "NAM", "MAAM", "ICDM")
# Events a path sends of its own, beside the outcome's: never compared between paths.
PATH_EVENTS = {
    events.SCREENING_HELD,
    events.CONTACT_DECIDED_MEETING,
    events.CONTACT_DECIDED_NAM,
    events.CONTACT_DECIDED_MAAM,
    events.CONTACT_DECIDED_ICDM,
    events.MEETING_HELD,
    events.NAM_HELD,
    events.MAAM_HELD,
    events.ICDM_HELD,
    events.MEETING_DECIDED_ALLOCATE,
    events.MAAM_DECIDED_ALLOCATE,
    events.SCREENING_DECIDED_ALLOCATE,
    events.EPISODE_OPENED,
}
# Rules of one path only, by the rulebooks' own reading: A2 (a NAM), B3 (screening), B4 (screening's
# decision to allocate), B5 and B6 (a MAAM), and the ones the decision to go to a meeting starts.
PATH_RULES = {"A2", "B3", "B4", "B5", "B6"}


@pytest.fixture
def fired(monkeypatch):
    """The events sent to the deadline engine, in order (the real engine still runs)."""
    seen: list[tuple[str, object]] = []
    real = services.deadline_record_event

    def record(**kwargs):
        seen.append((kwargs["event"], kwargs["now"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "deadline_record_event", record)
    return seen


def decide(path: str, outcome: str, *, users, team, fired) -> tuple[Contact, list[tuple[str, object]]]:
    """A contact received on Monday, decided by `path` to `outcome`; the events its decision sent."""
    contact = receive(users, at=MONDAY)
    lead = users["mashlead"]
    extra = {"team": team} if outcome == "allocate" else {}
    agency = {"agency": "School nurse"} if outcome == "single_agency" else {}
    if path in Meeting.Kind.values:
        services.contact_decide(
            contact=contact, decision="meeting", meeting_kind=path, rationale="Meeting.", by=lead, now=MONDAY
        )
        meeting = services.meeting_schedule(kind=path, scheduled_for=HELD, location="", attendees="", by=lead)
        contact.refresh_from_db()
        item = services.meeting_add_contact(meeting=meeting, contact=contact, by=lead)
        start = len(fired)
        services.meeting_record_outcome(
            item=item, outcome=outcome, reason="Agreed.", by=lead, now=TYPED, **extra, **agency
        )
    elif path == "screening":
        screening = services.screening_start(held_on=HELD.date(), started_at=HELD, attendees="Sam", by=lead, now=TYPED)
        start = len(fired)
        services.screening_record_outcome(
            screening=screening,
            contact=contact,
            outcome=outcome,
            reason="Agreed.",
            screened_at=HELD,
            by=lead,
            now=TYPED,
            **extra,
            **agency,
        )
    else:
        start = len(fired)
        services.contact_decide(
            contact=contact, decision=outcome, rationale="Agreed.", by=lead, now=HELD, **extra, **agency
        )
    contact.refresh_from_db()
    return contact, fired[start:]


def outcome_clocks(contact: Contact) -> dict[str, str]:
    """The contact's clocks but the path's own: rule -> open or stopped (B1 is met by a MAAM being held
    and withdrawn by any other path's decision: stopped either way)."""
    return {
        row.rule_id: "stopped" if row.stopped_at else "open"
        for row in Deadline.objects.filter(contact=contact).order_by("rule_id", "cycle")
        if row.rule_id not in PATH_RULES
    }


@pytest.mark.parametrize("procedure", ["family-solutions", "families-first"])
@pytest.mark.parametrize("outcome", FINAL)
def test_every_path_sends_the_same_events_and_leaves_the_same_clocks(users, team, fired, procedure, outcome):
    follow(team, procedure)
    sent, clocks = {}, {}
    for path in PATHS:
        contact, path_events = decide(path, outcome, users=users, team=team, fired=fired)
        decided = [event for event, _at in path_events if event not in PATH_EVENTS]
        # Every decision is timed when it was taken (the meeting or screening's time, not when typed).
        assert {at for event, at in path_events if event in decided} == {HELD}, path
        sent[path] = sorted(decided)
        clocks[path] = outcome_clocks(contact)
    assert sent["triage"] == sorted(e for e in events.decision_events(outcome) if e not in PATH_EVENTS), sent
    assert all(found == sent["triage"] for found in sent.values()), sent
    assert all(found == clocks["triage"] for found in clocks.values()), clocks


@pytest.mark.parametrize("path", PATHS)
def test_a_decision_to_allocate_ends_b1_on_every_path(users, team, fired, path):
    """The finding: a NAM's or ICDM's decision to allocate left B1 running (a MAAM's met it by being held)."""
    follow(team, "family-solutions")
    contact, _ = decide(path, "allocate", users=users, team=team, fired=fired)
    b1 = Deadline.objects.get(rule_id="B1", contact=contact)
    assert b1.stopped_at is not None
    assert b1.stop_reason == ("met" if path == "MAAM" else "withdrawn")
    # Each allocation is timed once, by its own rule: the front door's by B4, a MAAM's by B6, none both.
    rules = set(Deadline.objects.filter(contact=contact, rule_id__in=["B4", "B6"]).values_list("rule_id", flat=True))
    assert rules == {"triage": {"B4"}, "screening": {"B4"}, "MAAM": {"B6"}}.get(path, set())


@pytest.mark.parametrize("decision", [*FINAL, "meeting", "await_consent"])
def test_the_import_replays_a_decided_contact_with_the_front_door_s_events(users, decision):
    """imports.services replays a decided contact's clocks: the events triage would have sent, in order."""
    from imports.services import contact_events

    contact = receive(users, at=MONDAY)
    kind = "NAM" if decision == "meeting" else ""
    replayed = contact_events(contact, {"decision": decision, "decided_at": HELD, "meeting_kind": kind})
    assert replayed == [
        (events.CONTACT_RECEIVED, MONDAY),
        (events.SCREENING_HELD, HELD),
        *((event, HELD) for event in events.decision_events(decision, meeting_kind=kind)),
    ]
