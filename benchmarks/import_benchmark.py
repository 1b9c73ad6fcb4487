"""Benchmark the import (imports.checks + imports.services) on a generated sample export set.

    DATABASE_URL=postgresql://.../<an empty, migrated database> REDIS_URL=redis://... \\
        python benchmarks/import_benchmark.py --families 2000 [--batch-size 500] [--dir /tmp/import-bench]

1. Writes a sample set of `--families` families (imports.sample: about 3.4 people, 1.3 contacts,
   0.9 episodes of which about 0.6 open, 1.3 case notes per family).
2. Times the dry run (reading and checking every row), then the import, batch by batch.
   `--no-clocks` skips the deadline engine, to see what the rows alone cost.
3. Prints rows per second and the time for 200,000 families extrapolated linearly from the rate
   of the import (each batch costs the same: it writes only its own families' rows by COPY, and the
   clocks of its open work replayed by the deadline engine), and the time of the dry run likewise.

Use an empty database: the sample's source ids are the same for every run of the same seed, so a
second run in the same database finds every row already imported (that is the idempotence).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--dir", default="")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-clocks",
        action="store_true",
        help="Skip the open work's clocks, to measure the rows alone (not a product mode)",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts import roles
    from accounts.models import User
    from imports import services
    from imports.checks import check_set
    from imports.sample import write_sample
    from imports.services import import_set

    if args.no_clocks:
        services._Run.episode_clocks = lambda self, *a: None
        services._Run.contact_clocks = lambda self, *a: None

    now = timezone.now()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="import-bench-"))
    started = time.monotonic()
    write_sample(directory, families=args.families, now=now, seed=args.seed)
    print(f"sample of {args.families} families written to {directory} in {time.monotonic() - started:.1f}s")

    admin, _ = User.objects.get_or_create(username="import-benchmark-admin")
    admin.groups.add(Group.objects.get_or_create(name=roles.ADMINISTRATOR)[0])

    started = time.monotonic()
    checked = check_set(directory, now=now)
    check_seconds = time.monotonic() - started
    rows = sum(checked.read.values())
    print(f"dry run: {rows} rows in {check_seconds:.1f}s ({rows / check_seconds:.0f} rows/s), "
          f"{len(checked.problems)} problems")  # fmt: skip
    if not checked.ok:
        sys.exit("the sample has problems: is the database empty?")

    marks = []

    def progress(done: int, total: int, message: str) -> None:
        marks.append((time.monotonic(), done))
        print(f"\r{done}/{total} families, {time.monotonic() - started:.0f}s", end="", flush=True)

    started = time.monotonic()
    created = import_set(checked, by=admin, now=now, batch_size=args.batch_size, progress=progress)
    import_seconds = time.monotonic() - started
    print()
    print("created:", ", ".join(f"{n} {k}" for k, n in created.items()))
    per_family = import_seconds / args.families
    print(f"import: {import_seconds:.1f}s, {per_family * 1000:.1f} ms a family, "
          f"{sum(created.values()) / import_seconds:.0f} records/s")  # fmt: skip
    total = (check_seconds + import_seconds) / args.families * TARGET
    print(f"extrapolated to {TARGET:,} families: dry run {check_seconds / args.families * TARGET / 60:.0f} min, "
          f"import {per_family * TARGET / 60:.0f} min, together {total / 60:.0f} min")  # fmt: skip


if __name__ == "__main__":
    main()
