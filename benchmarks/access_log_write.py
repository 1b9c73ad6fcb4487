"""What writing the access log costs in Python: `access_log_record` (one row, a record page) and
`access_log_record_many` (a list page's families), CPU per call, this tree's `cases.services` against
another tree's (ADR 83), alternately in one process.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<a test or scratch database> EARLYHELP_TESTING=true \\
        .venv/bin/python benchmarks/access_log_write.py --other /work/main/cases/services.py [--families 90]

Everything it writes (a user and the rows) is in one transaction, rolled back at the end: run it against a
database made for tests, never against a dataset that must stay as it is.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--other", required=True, help="another tree's cases/services.py to compare with")
    parser.add_argument("--families", type=int, default=90, help="families a list page logs")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django

    django.setup()
    from django.db import transaction

    from accounts.models import User
    from cases import services as this

    spec = importlib.util.spec_from_file_location("other_services", args.other)
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    transaction.set_autocommit(False)
    try:
        user = User.objects.create(username="access-log-write-benchmark", email="bench@example.org")
        at = datetime.now(UTC)
        subjects = [(n, None) for n in range(1000, 1000 + args.families)]

        def one(module):
            module.access_log_record(user=user, action="view", what="family", at=at, ip_address="127.0.0.1")

        def many(module):
            module.access_log_record_many(
                user=user, action="view", what="list", at=at, subjects=subjects, ip_address="127.0.0.1"
            )

        for write in (one, many):
            write(other), write(this)  # warm: compiled text, prepared statement
            times: dict[str, list[float]] = {"other": [], "this": []}
            for _ in range(args.runs):
                for name, module in (("other", other), ("this", this)):
                    started = time.process_time()
                    write(module)
                    times[name].append((time.process_time() - started) * 1e6)
            medians = ", ".join(f"{name} {statistics.median(v):.0f} µs" for name, v in times.items())
            print(f"{write.__name__} ({1 if write is one else args.families} rows): {medians}")
    finally:
        transaction.rollback()


if __name__ == "__main__":
    main()
