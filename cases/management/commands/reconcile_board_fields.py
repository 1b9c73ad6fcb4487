"""`manage.py reconcile_board_fields`: recount what the team board reads of every episode and repair
the stored values (cases.board, ADR 56), and each lead professional's open caseload (cases.caseload,
ADR 62)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cases import board


class Command(BaseCommand):
    help = (
        "Recount every episode's risk level, high-risk indicators and latest Managers Decision, and every "
        "lead professional's open caseload, compare with the values the team board reads, and repair any drift."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Only compare; repair nothing (exit 1 on drift).")

    def handle(self, *args: object, **options: object) -> None:
        result = board.reconcile(repair=not options["check"])
        for line in result.drift:
            self.stdout.write(line)
        verb = "found" if options["check"] else "repaired"
        self.stdout.write(f"{result.checked} episodes recounted: {len(result.drift)} {verb}.")
        if options["check"] and result.drift:
            raise SystemExit(1)
