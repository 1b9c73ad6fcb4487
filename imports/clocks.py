"""The clocks of imported open work, made by the deadline engine's own functions in memory, a batch at a time.

`deadlines.services.deadline_record_event` reads and writes the clock rows of one event at a time (about
six queries an event). An imported case has no clocks yet, so its events can be replayed in memory with
`deadlines.engine.Replay` (as the data generator does) and its clocks written in one COPY for the batch:
the same functions decide the same clocks (tests/imports/test_imports.py compares them with a case
recorded through the services). Only a worker's own clocks (their supervision cycle, started when they
joined a team) live outside the case: the allocation's part of the event that concerns the worker goes
through `deadline_record_event` with the worker alone, so it sees the worker's open clocks.
"""

from __future__ import annotations

from datetime import datetime

from deadlines import engine
from deadlines.calendar_source import current_calendar
from deadlines.counts import Tally
from deadlines.models import Deadline
from deadlines.procedures import rulebooks_for
from deadlines.services import active_rulebooks, deadline_record_event
from imports.writer import Writer


class BatchClocks:
    """Replays the events of a batch's open contacts and episodes; `write()` inserts their clocks."""

    def __init__(self, *, now: datetime, by, quiet: set[tuple[int, str]] | None = None):
        self.by = by
        # (worker, event) pairs that changed none of the worker's clocks and can stop none: the same
        # event again for that worker changes nothing either, so it is not sent again (kept for the run).
        self.quiet = set() if quiet is None else quiet
        self._stops_worker_clocks: dict[str, bool] = {}
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
                self.worker_event(event, at, worker, key)
        self._keep(replay, contact=contact, episode=episode)

    def stops_worker_clocks(self, event: str) -> bool:
        """Does `event` stop or end any rule kept on a member of staff?"""
        found = self._stops_worker_clocks.get(event)
        if found is None:
            found = self._stops_worker_clocks[event] = any(
                rule.applies_to == "worker" and event in (*rule.stops_on, *rule.stops_on_all, *rule.ends_on)
                for book in self.books
                for rule in book.rules.values()
            )
        return found

    def worker_event(self, event: str, at: datetime, worker, key: str) -> None:
        """The worker's own clocks (supervision) are rows already: the service moves them.

        An event that can only start a worker's clock (B20 on allocation), and started none the last
        time for this worker (one is open), starts none again: it is not sent again in this run. Any
        change to the worker's clocks forgets what was learnt about them.
        """
        if (worker.pk, event) in self.quiet:
            return
        result = deadline_record_event(
            event=event, now=at, worker=worker, actor=self.by, calendar=self.calendar, key=key
        )
        if result.opened or result.stopped or result.withdrawn:
            self.quiet -= {pair for pair in self.quiet if pair[0] == worker.pk}
        elif not self.stops_worker_clocks(event):
            self.quiet.add((worker.pk, event))

    def write(self, writer: Writer) -> int:
        """The batch's clocks by COPY (imports.writer; ids from the sequence), and counted as they go in.

        `DeadlineQuerySet.bulk_create` counts its rows with `Tally.created` after its INSERT; this is the
        same count after a COPY, in the same transaction (deadlines/counts.py; tests/deadlines/test_counts.py
        lists every writer of clocks and every caller of `Tally.created`).
        """
        rows, self.rows = self.rows, []
        if rows:
            writer.add(rows)
            writer.flush()
            Tally.created(rows)
        return len(rows)
