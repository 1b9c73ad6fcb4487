"""The clocks of imported open work, made by the deadline engine's own functions in memory, a batch at a time.

`deadlines.services.deadline_record_event` reads and writes the clock rows of one event at a time (about
six queries an event). An imported case has no clocks yet, so its events can be replayed in memory with
`deadlines.engine.Replay` (as the data generator does) and its clocks written in one INSERT for the batch:
the same functions decide the same clocks (tests/imports/test_imports.py compares them with a case
recorded through the services). Only a worker's own clocks (their supervision cycle, started when they
joined a team) live outside the case: the allocation's part of the event that concerns the worker goes
through `deadline_record_event` with the worker alone, so it sees the worker's open clocks.
"""

from __future__ import annotations

from datetime import datetime

from deadlines import engine
from deadlines.calendar_source import current_calendar
from deadlines.models import Deadline
from deadlines.procedures import rulebooks_for
from deadlines.services import active_rulebooks, deadline_record_event


class BatchClocks:
    """Replays the events of a batch's open contacts and episodes; `write()` inserts their clocks."""

    def __init__(self, *, now: datetime, by):
        self.by = by
        self.calendar = current_calendar()
        books = active_rulebooks(now)
        self.index = engine.RuleIndex(books)
        self.books = books
        self.limits = engine.Limits(self.calendar)
        self.rows: list[Deadline] = []
        self._starting: dict[tuple, frozenset[str]] = {}

    def starting(self, *, contact=None, episode=None) -> frozenset[str]:
        """The rulebooks that may start clocks on these records: their service's procedure and the shared ones."""
        key = (
            episode.team_id if episode is not None else None,
            getattr(contact, "allocated_team_id", None),
            getattr(contact, "created_by_id", None),
        )
        found = self._starting.get(key)
        if found is None:
            chosen = rulebooks_for(self.books, contact=contact, episode=episode)
            found = self._starting[key] = frozenset(b.slug for b in chosen)
        return found

    def _keep(self, replay: engine.Replay, *, contact, episode) -> None:
        for clock in replay.clocks:
            rule = clock.rule
            subject = episode if rule.applies_to == "episode" else contact
            book = self.index.book_of[clock.rulebook]
            self.rows.append(
                Deadline(
                    rulebook=clock.rulebook,
                    rule_id=rule.id,
                    title=rule.title,
                    cycle=clock.cycle,
                    key=clock.key,
                    started_at=clock.started_at,
                    expected_at=clock.expected_at,
                    due_at=clock.due_at,
                    flag_only=rule.flag_only,
                    contact=contact if rule.applies_to == "contact" else None,
                    episode=episode if rule.applies_to == "episode" else None,
                    family_id=subject.family_id,
                    assignee_id=clock.assignee_id,
                    team_id=clock.team_id,
                    stopped_at=clock.stopped_at,
                    stop_reason=clock.stop_reason,
                    stops_seen=clock.stops_seen,
                    start_event=clock.start_event,
                    started_by_id=getattr(self.by, "pk", None),
                    rulebook_version=book.version,
                )
            )

    def contact_team(self, contact, creator_team_id: int | None) -> int | None:
        return contact.allocated_team_id or creator_team_id

    def contact_events(self, contact, events: list[tuple[str, datetime]], *, creator_team_id: int | None) -> None:
        """A contact still at the front door: its receipt and any decision."""
        replay = engine.Replay(self.index, starting=self.starting(contact=contact), limits=self.limits)
        owners = engine.Owners(contact_team=self.contact_team(contact, creator_team_id))
        for event, at in events:
            replay.record(event, at, present=frozenset({"contact"}), owners=owners, route=contact.route)
        self._keep(replay, contact=contact, episode=None)

    def episode_events(
        self, episode, events: list[tuple[str, datetime, str, object]], *, contact, creator_team_id: int | None
    ) -> None:
        """An open episode: (event, when, record key, worker allocated) in the order the services send them."""
        present = frozenset({"episode", "contact"} if contact is not None else {"episode"})
        route = contact.route if contact is not None else None
        replay = engine.Replay(self.index, starting=self.starting(contact=contact, episode=episode), limits=self.limits)
        contact_team = self.contact_team(contact, creator_team_id) if contact is not None else None
        lead = None
        for event, at, key, worker in events:
            if worker is not None:
                lead = worker
            owners = engine.Owners(
                contact_team=contact_team,
                episode_lead=getattr(lead, "pk", None),
                episode_team=episode.team_id,
            )
            replay.record(event, at, present=present, owners=owners, route=route, key=key)
            if worker is not None:
                # The worker's own clocks (supervision) are rows already: the service moves them.
                deadline_record_event(
                    event=event, now=at, worker=worker, actor=self.by, calendar=self.calendar, key=key
                )
        self._keep(replay, contact=contact, episode=episode)

    def write(self) -> int:
        Deadline.objects.bulk_create(self.rows, batch_size=2000)
        written, self.rows = len(self.rows), []
        return written
