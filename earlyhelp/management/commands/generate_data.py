"""python manage.py generate_data --families N [--seed S] [--today YYYY-MM-DD] [--skip-access-log] [--append]"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tooling.generator import DEFAULT_RULEBOOKS, GeneratorError, generate


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today must be a date like 2026-11-30, not {value!r}") from None


class Command(BaseCommand):
    help = (
        "Fill an empty database with a realistic, deterministic dataset of N families and five years of "
        "Early Help work (fictional people, ZZ postcodes), through PostgreSQL COPY. See BENCHMARKS.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--families", type=int, required=True, help="how many families (200000 for council scale)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same data (default 1)")
        parser.add_argument("--today", type=_day, help="the generated 'now' (noon that day); default: the real now")
        parser.add_argument("--skip-access-log", action="store_true", help="no access-log rows (quicker)")
        parser.add_argument("--append", action="store_true", help="add to a database that already has families")
        parser.add_argument(
            "--rulebooks",
            default=",".join(DEFAULT_RULEBOOKS),
            help="rulebooks whose clocks to generate: one procedure plus the shared step-up "
            f"(default {','.join(DEFAULT_RULEBOOKS)})",
        )
        parser.add_argument(
            "--staff-of",
            type=int,
            metavar="FAMILIES",
            help="teams and staff as for this many families (default --families): e.g. 5,000 families "
            "served by the 200,000-family council's 25 teams, to compare pages at two sizes like with like",
        )
        parser.add_argument("--report", type=Path, help="also write the figures as JSON to this file")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="keep secondary indexes and foreign keys during the load (slower; for comparison)",
        )

    def handle(self, *args, **options):
        try:
            result = generate(
                families=options["families"],
                seed=options["seed"],
                today=options["today"],
                access_log=not options["skip_access_log"],
                append=options["append"],
                rulebooks=tuple(s.strip() for s in options["rulebooks"].split(",") if s.strip()),
                fast_indexes=not options["keep_indexes"],
                stream=self.stderr._out,
                staff_of=options["staff_of"],
            )
        except GeneratorError as error:
            raise CommandError(str(error)) from None
        if options["report"]:
            report = {
                **asdict(result),
                "seed": options["seed"],
                "today": str(options["today"] or ""),
                "access_log": not options["skip_access_log"],
                "staff_of": options["staff_of"],
                "fast_indexes": not options["keep_indexes"],
            }
            options["report"].parent.mkdir(parents=True, exist_ok=True)
            options["report"].write_text(json.dumps(report, indent=2))
