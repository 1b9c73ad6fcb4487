"""Time the background exports as their Celery tasks run them, with peak memory.

    DEBUG=true DATABASE_URL=postgresql://... REDIS_URL=redis://... \\
        python benchmarks/export_jobs.py [--as-at 2026-12-06] [--runs 1]

On a generated dataset (`manage.py generate_data`): for the first manager of the largest service,
asks for the Annex A workbook (the request's work: rows only, timed), then builds it as the worker
does (`annex_a_export_build`, which writes the job's progress), then prepares the service's breaches
CSV the same way (`csv_export_build`). Each build runs in a fresh child process so its peak RSS
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is its own; it prints the figures as Markdown.
Files go to a temporary folder, removed at the end; the jobs and the export rows are deleted.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date
from multiprocessing import get_context
from pathlib import Path


def _setup(root: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.MEDIA_ROOT = root
    settings.PRIVATE_FILES_ROOT = root


def _manager():
    from django.db.models import Count

    from accounts import roles
    from accounts.models import User

    managers = User.objects.filter(groups__name=roles.MANAGER, is_active=True, service__isnull=False)
    return managers.annotate(n=Count("service__teams__families")).order_by("-n").first()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _annex_a(root: str, as_at: str, out) -> None:
    _setup(root)
    from django.utils import timezone

    from kit.models import BackgroundJob
    from oversight import annex_a

    manager = _manager()
    base = _peak_mb()
    t0 = time.perf_counter()
    export = annex_a.annex_a_export_request(user=manager, as_at=date.fromisoformat(as_at), now=timezone.now())
    asked = time.perf_counter() - t0
    t0 = time.perf_counter()
    built = annex_a.annex_a_export_build(export_id=export.pk, now=timezone.now())
    took = time.perf_counter() - t0
    job = BackgroundJob.objects.get(pk=export.job_id)
    size = (Path(root) / built.file.name).stat().st_size
    out.put(
        ("Annex A workbook", manager.username, dict(built.row_counts), asked, took, base, _peak_mb(), size, job.state)
    )
    BackgroundJob.objects.filter(pk=job.pk).delete()
    built.delete()


def _breaches(root: str, as_at: str, out) -> None:
    _setup(root)
    from django.utils import timezone

    from kit import jobs
    from kit.models import BackgroundJob
    from oversight.exports import csv_export_build

    manager = _manager()
    base = _peak_mb()
    job = jobs.job_create(
        kind="csv-export",
        title="benchmark",
        owner=manager,
        now=timezone.now(),
        params={"table": "breaches", "query": "acknowledged=all", "ip": ""},
    )
    t0 = time.perf_counter()
    csv_export_build(job_id=job.pk, now=timezone.now())
    took = time.perf_counter() - t0
    job = BackgroundJob.objects.get(pk=job.pk)
    size = jobs.job_file(job).stat().st_size if jobs.job_file(job) else 0
    out.put(("Breaches CSV", manager.username, job.result.get("rows"), 0.0, took, base, _peak_mb(), size, job.state))
    job.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-at", required=True, help="the return's date, e.g. the generator's today")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    context = get_context("spawn")
    header = "| export | manager | rows | request (s) | build (s) | RSS at start (MB) | peak RSS (MB) | file (MB) "
    header += "| job |"
    with tempfile.TemporaryDirectory() as root:
        print(header)
        print("|---|---|---|---:|---:|---:|---:|---:|---|")
        for _ in range(args.runs):
            for target in (_annex_a, _breaches):
                queue = context.Queue()
                child = context.Process(target=target, args=(root, args.as_at, queue))
                child.start()
                child.join()
                if child.exitcode != 0 or queue.empty():
                    print(f"| {target.__name__} failed (exit code {child.exitcode}) |", flush=True)
                    continue
                what, user, rows, asked, took, base, peak, size, state = queue.get()
                print(
                    f"| {what} | {user} | {rows} | {asked:.3f} | {took:.1f} | {base:.0f} | {peak:.0f} | "
                    f"{size / 1e6:.1f} | {state} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
