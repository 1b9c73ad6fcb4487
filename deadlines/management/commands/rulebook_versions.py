"""`manage.py rulebook_versions`: list the stored rulebook versions, or store the shipped files as version 1.

The editor stores a rulebook's file as version 1 when its first draft is started; `--seed` does it
for every loaded rulebook at once (for example before a council starts editing, so the versions
page shows where the rules came from).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from deadlines import versions
from deadlines.models import RulebookVersion
from deadlines.services import file_rulebooks


class Command(BaseCommand):
    help = "List the stored rulebook versions; with --seed, store each loaded rulebook's file as its version 1."

    def add_arguments(self, parser):
        parser.add_argument("--seed", action="store_true", help="store the shipped files as version 1 where none is")

    def handle(self, *args: object, seed: bool = False, **options: object) -> None:
        if seed:
            stored = versions.versions_seed(file_rulebooks(), by=None, now=timezone.now())
            self.stdout.write(f"Stored as version 1: {', '.join(stored) or 'none (every rulebook has versions)'}")
        # Every process reads the versions again (useful after a database restore, too).
        versions.announce()
        for version in RulebookVersion.objects.order_by("slug", "number"):
            when = f" from {timezone.localtime(version.effective_at):%Y-%m-%d %H:%M}" if version.effective_at else ""
            self.stdout.write(f"{version.slug} version {version.number}: {version.get_state_display()}{when}")
