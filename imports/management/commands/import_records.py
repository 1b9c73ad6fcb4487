"""Import an export set from a folder: `manage.py import_records DIR [--dry-run] [--as USERNAME]`.

The dry run checks every row and prints the problems (file, row, column, what is wrong); nothing is
written. Without it, a set with no problems is imported batch by batch with a progress line, and a set
with problems is refused. Running the same set again changes nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import roles
from accounts.models import User
from imports.checks import check_set
from imports.jobs import write_report
from imports.services import BATCH_SIZE, import_set


class Command(BaseCommand):
    help = "Check (--dry-run) or import the export files in DIR (one file per kind, see the README)."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; write nothing")
        parser.add_argument("--report", help="Also write the problems to this CSV file")
        parser.add_argument("--as", dest="username", help="The administrator the import is recorded as")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, **options):
        directory = Path(options["directory"])
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder")
        started = time.monotonic()
        now = timezone.now()
        checked = check_set(directory, now=now)
        rows = sum(checked.read.values())
        for kind, counts in checked.summary().items():
            self.stdout.write(
                f"{kind}: {counts['read']} rows, {counts['new']} new, {counts['already']} already imported"
            )
        for p in checked.problems:
            self.stdout.write(f"{p.file} row {p.row or '-'} column {p.column or '-'}: {p.message}")
        if options["report"]:
            write_report(checked.problems, Path(options["report"]))
        self.stdout.write(
            f"{rows} rows checked in {time.monotonic() - started:.1f}s: {len(checked.problems)} problems."
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
            return
        if not checked.ok:
            raise CommandError("Nothing was imported: correct the problems and run again.")
        by = self._administrator(options["username"])

        def progress(done: int, total: int, message: str) -> None:
            elapsed = time.monotonic() - started
            sys.stdout.write(f"\r{done}/{total} families ({done * 100 // max(total, 1)}%), {elapsed:.0f}s")
            sys.stdout.flush()

        created = import_set(checked, by=by, now=now, batch_size=options["batch_size"], progress=progress)
        self.stdout.write("")
        made = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in created.items() if n) or "nothing new"
        self.stdout.write(f"Imported in {time.monotonic() - started:.1f}s: {made}.")

    def _administrator(self, username: str | None) -> User:
        admins = User.objects.filter(groups__name=roles.ADMINISTRATOR, is_active=True).order_by("pk")
        user = admins.filter(username=username).first() if username else admins.first()
        if user is None:
            raise CommandError("Name an active administrator with --as (the import is recorded as theirs).")
        return user
