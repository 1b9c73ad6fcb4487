"""`manage.py reconcile_clock_counts`: recount every clock and repair the summary rows (deadlines.counts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from deadlines.counts import counts_reconcile


class Command(BaseCommand):
    help = "Recount every clock, compare with the summary rows the board and dashboard read, and repair any drift."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Only compare; repair nothing (exit 1 on drift).")

    def handle(self, *args: object, **options: object) -> None:
        result = counts_reconcile(now=timezone.now(), repair=not options["check"])
        for line in result.drift:
            self.stdout.write(line)
        verb = "found" if options["check"] else "repaired"
        self.stdout.write(
            f"{result.open_rows} open-clock rows and {result.timeliness_rows} timeliness rows recounted: "
            f"{len(result.drift)} {verb}."
        )
        if options["check"] and result.drift:
            raise SystemExit(1)
