"""`manage.py timescale RULEBOOK RULE START`: show when a rule's clock started at START runs out.

For checking a rulebook edit or answering "when is this due?" without touching any case.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deadlines.calendar import LONDON, compute_deadline
from deadlines.calendar_source import current_calendar
from deadlines.rulebook import (
    DEFAULT_DIRECTORY,
    RulebookError,
    available_rulebooks,
    load_rulebook,
)


def rulebook_directory() -> Path:
    configured = getattr(settings, "EARLYHELP_RULEBOOK_DIR", None)
    return Path(configured) if configured else DEFAULT_DIRECTORY


def _isoformat(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Command(BaseCommand):
    help = (
        "Print as JSON when a rule's clock started at START is expected and due "
        "(ISO 8601 times with UTC offset; a START without an offset is Europe/London time)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("rulebook", help="rulebook slug, e.g. family-solutions")
        parser.add_argument("rule", help="rule id, e.g. B2")
        parser.add_argument("start", help="ISO 8601 start time, e.g. 2026-12-24T15:00")

    def handle(self, *args: object, rulebook: str, rule: str, start: str, **options: object) -> None:
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
