"""Write a sample export set in the documented layout: `manage.py import_sample DIR [--families N] [--with-errors]`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imports.sample import write_sample


class Command(BaseCommand):
    help = "Write a sample export set (one CSV per kind) to DIR, optionally with deliberate errors."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--families", type=int, default=50)
        parser.add_argument("--seed", type=int, default=20)
        parser.add_argument("--with-errors", action="store_true")

    def handle(self, *args, **options):
        try:
            errors = write_sample(
                Path(options["directory"]), families=options["families"], now=timezone.now(), seed=options["seed"],
                with_errors=options["with_errors"],
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Wrote a sample of {options['families']} families to {options['directory']}.")
        for file, row, column in errors:
            self.stdout.write(f"  deliberate error: {file} row {row} column {column}")
