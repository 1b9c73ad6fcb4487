"""`manage.py timescale RULEBOOK RULE START`: show when a rule's clock started at START runs out.

For checking a rulebook edit or answering "when is this due?" without touching any case.

`manage.py timescale --coverage [RULEBOOK]`: for every rule of the rulebooks (all shipped ones
unless one is named), the user actions that start, stop and end its clock, read from the
code's own event map (deadlines.events.EMITTED_BY). Exits non-zero when a rule waits on an
event that no user action emits: such a clock could never start, or never stop.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deadlines.calendar import LONDON, compute_deadline
from deadlines.calendar_source import current_calendar
from deadlines.events import ACTIONS, actions_emitting
from deadlines.rulebook import (
    DEFAULT_DIRECTORY,
    RulebookError,
    available_rulebooks,
    load_rulebook,
)


def rulebook_directory() -> Path:
    configured = settings.EARLYHELP_RULEBOOK_DIR
    return Path(configured) if configured else DEFAULT_DIRECTORY


def _isoformat(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Command(BaseCommand):
    help = (
        "Print as JSON when a rule's clock started at START is expected and due "
        "(ISO 8601 times with UTC offset; a START without an offset is Europe/London time)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rulebook", nargs="?", help="rulebook slug, e.g. family-solutions")
        parser.add_argument("rule", nargs="?", help="rule id, e.g. B2")
        parser.add_argument("start", nargs="?", help="ISO 8601 start time, e.g. 2026-12-24T15:00")
        parser.add_argument(
            "--coverage",
            action="store_true",
            help="print, per rule, the user actions that start, stop and end it; fail if any event has none",
        )

    def handle(
        self,
        *args: object,
        rulebook: str | None,
        rule: str | None,
        start: str | None,
        coverage: bool = False,
        **options: object,
    ) -> None:
        if coverage:
            return self.coverage(rulebook)
        if not (rulebook and rule and start):
            raise CommandError("Give RULEBOOK RULE START (e.g. family-solutions B2 2026-12-24T15:00), or --coverage.")
        directory = rulebook_directory()
        slugs = available_rulebooks(directory)
        if rulebook not in slugs:
            known = ", ".join(slugs) or "none"
            raise CommandError(f"Unknown rulebook {rulebook!r}; rulebooks in {directory}: {known}.")
        try:
            book = load_rulebook(directory / f"{rulebook}.toml")
        except RulebookError as exc:
            raise CommandError(f"Invalid rulebook: {exc}.") from exc
        if rule not in book.rules:
            raise CommandError(
                f"Unknown rule {rule!r} in rulebook {rulebook!r}; its rules are {', '.join(book.rules)}."
            )
        try:
            started = datetime.fromisoformat(start)
        except ValueError:
            raise CommandError(
                f"Cannot read start {start!r}: give an ISO 8601 time such as 2026-12-24T15:00+00:00."
            ) from None
        if started.tzinfo is None:
            started = started.replace(tzinfo=LONDON)
        started = started.astimezone(LONDON)

        chosen = book.rules[rule]
        try:
            expected_at, due_at = compute_deadline(current_calendar(), started, chosen.expected, chosen.maximum)
        except ValueError as exc:  # e.g. a start beyond the years the calendar covers
            raise CommandError(f"Cannot compute the deadline: {exc}.") from exc
        self.stdout.write(
            json.dumps(
                {
                    "rulebook": book.slug,
                    "rule": chosen.id,
                    "start": started.isoformat(),
                    "expected_at": _isoformat(expected_at),
                    "due_at": _isoformat(due_at),
                }
            )
        )

    def coverage(self, only: str | None) -> None:
        directory = rulebook_directory()
        slugs = available_rulebooks(directory)
        if only is not None:
            if only not in slugs:
                raise CommandError(
                    f"Unknown rulebook {only!r}; rulebooks in {directory}: {', '.join(slugs) or 'none'}."
                )
            slugs = [only]
        unreachable: list[str] = []
        for slug in slugs:
            try:
                book = load_rulebook(directory / f"{slug}.toml")
            except RulebookError as exc:
                raise CommandError(f"Invalid rulebook: {exc}.") from exc
            self.stdout.write(f"{book.slug}: {book.title}")
            for rule in book.rules.values():
                self.stdout.write(f"  {rule.id} {rule.title} (on the {rule.applies_to})")
                for what, names in (("starts", rule.starts_on), ("stops", rule.stops_on), ("ends", rule.ends_on)):
                    for event in names:
                        actions = actions_emitting(event)
                        if actions:
                            done_by = "; ".join(f"{ACTIONS.get(a, a)} [{a}]" for a in actions)
                        else:
                            done_by = "NO USER ACTION EMITS THIS EVENT"
                            unreachable.append(f"{book.slug} {rule.id} {what} on {event}")
                        self.stdout.write(f"    {what} on {event}: {done_by}")
        if unreachable:
            raise CommandError("Rules wait on events no user action emits: " + ", ".join(unreachable) + ".")
        self.stdout.write(self.style.SUCCESS("Every start, stop and end event is emitted by a user action."))
