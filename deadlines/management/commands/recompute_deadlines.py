"""`manage.py recompute_deadlines`: recompute open deadlines after a calendar or rulebook change."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from deadlines.calendar_source import current_calendar
from deadlines.models import Deadline
from deadlines.services import deadlines_recompute_open


class Command(BaseCommand):
    help = "Recompute the expected and maximum times of open deadlines; closed ones keep their history."

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        open_count = Deadline.objects.open().count()
        changed = deadlines_recompute_open(now=now, calendar=current_calendar())
        self.stdout.write(f"Recomputed {open_count} open deadline(s): {changed} changed.")
