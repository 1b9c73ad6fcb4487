"""The generator's clocks are the product's: its events, replayed through the real service, give the same rows.

The data generator makes its clocks in memory with the deadline engine's pure functions
(`deadlines.engine.Replay`); the product makes them one event at a time with
`deadline_record_event`. Here a small generated sample's events are replayed, in the order the
generator replayed them, through `deadline_record_event` on the generated records (their clocks
removed first, each record as it stood at the event), and every clock must come out the same.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import pytest

from accounts.models import User
from cases.models import Contact, Episode
from deadlines import events
from deadlines.models import Deadline
from deadlines.services import deadline_record_event
from tooling.generator import generate, generation_now

TODAY = date(2026, 11, 30)
FIELDS = (
    "rulebook", "rule_id", "title", "contact_id", "episode_id", "worker_id", "family_id", "key", "cycle",
    "started_at", "expected_at", "due_at", "stopped_at", "stop_reason", "stops_seen", "flag_only",
    "assignee_id", "team_id", "start_event", "status",
)  # fmt: skip


def _clocks() -> list[tuple]:
    rows = Deadline.objects.with_status(generation_now(TODAY)).values_list(*FIELDS)
    return sorted(rows, key=repr)


def _replay(log: list) -> int:
    """Each logged event through deadline_record_event, in the generator's order; returns how many."""
    contacts = Contact.objects.in_bulk({c for _, c, _, _, _ in log if c})
    episodes = Episode.objects.in_bulk({e for _, _, e, _, _ in log if e})
    workers = User.objects.in_bulk({w for _, _, _, w, _ in log if w})
    for episode in episodes.values():
        episode.contact = contacts[episode.contact_id]
    for event, contact_id, episode_id, worker_id, route in sorted(log, key=lambda r: (r[0].at, r[0].seq)):
        contact, episode, worker = contacts.get(contact_id), episodes.get(episode_id), workers.get(worker_id)
        # The records as they stood when it happened: whose team the contact was at, who led the case.
        if contact is not None:
            assert contact.route == route
            contact.allocated_team_id = event.owners.contact_team
        if episode is not None:
            episode.lead_professional_id = event.owners.episode_lead
            assert episode.team_id == event.owners.episode_team
        deadline_record_event(
            event=event.name,
            now=event.at,
            contact=contact if episode is None else None,
            episode=episode,
            worker=worker,
            key=event.key,
        )
    return len(log)


@pytest.mark.django_db
def test_generated_clocks_are_those_the_service_makes_from_the_same_events():
    log: list = []
    generate(families=10, seed=11, today=TODAY, access_log=False, stream=io.StringIO(), event_log=log)
    generated = _clocks()

    # The sample exercises what differs most between engines: one clock per record (B13, B18),
    # all-of stops (B10), recurring clocks (B12, B14, B20), exempt routes and withdrawals.
    rules = Counter(row[1] for row in generated)
    for rule in ("B1", "B2", "B3", "B7", "B8", "B10", "B11", "B12", "B13", "B14", "B18", "B20"):
        assert rules[rule], (rule, rules)
    assert any(row[1] == "B13" and row[7] for row in generated)
    assert len({row[7] for row in generated if row[1] == "B18"}) > 50
    assert any(row[1] == "B20" and row[8] > 1 for row in generated)
    assert {row[13] for row in generated} == {"met", "withdrawn", ""}

    Deadline.objects.all().delete()
    assert _replay(log) > 1000
    replayed = _clocks()

    assert len(replayed) == len(generated)
    different = [(g, r) for g, r in zip(generated, replayed, strict=True) if g != r]
    assert not different, different[:5]


@pytest.mark.django_db
def test_a_practitioners_supervision_clock_starts_when_they_join_their_team():
    """B20 runs from when a practitioner joins a team (or first holds a case), as the
    users page and allocation tell the engine, not from their first supervision."""
    log: list = []
    generate(families=5, seed=3, today=TODAY, access_log=False, stream=io.StringIO(), event_log=log)
    practitioners = {w for e, _, _, w, _ in log if w and e.name == events.TEAM_JOINED}
    assert practitioners
    for worker_id in practitioners:
        joined = min(e.at for e, _, _, w, _ in log if w == worker_id)
        first = Deadline.objects.filter(worker_id=worker_id, rule_id="B20").order_by("started_at").first()
        assert first.cycle == 1
        assert first.start_event == events.TEAM_JOINED
        assert first.started_at == joined
        supervised = [e.at for e, _, _, w, _ in log if w == worker_id and e.name == events.SUPERVISION_RECORDED]
        if supervised:
            assert first.started_at < min(supervised)
