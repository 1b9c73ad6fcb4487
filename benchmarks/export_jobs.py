"""Time the background exports as their Celery tasks run them, with peak memory.

    DEBUG=true DATABASE_URL=postgresql://... REDIS_URL=redis://... \\
        python benchmarks/export_jobs.py [--as-at 2026-12-06] [--runs 1]

On a generated dataset (`manage.py generate_data`): for the first manager of the largest service,
asks for the Annex A workbook (the request's work: rows only, timed), then builds it as the worker
does (`annex_a_export_build`, which writes the job's progress), then prepares the service's breaches
CSV and the busiest team's board timescales CSV the same way (`csv_export_build`); `--only` picks
some. Each build runs in a fresh child process so its peak RSS (`resource.getrusage(RUSAGE_SELF)
.ru_maxrss`) is its own; it prints the figures as Markdown, with the load average around each build.
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
    t0, c0 = time.perf_counter(), time.process_time()
    built = annex_a.annex_a_export_build(export_id=export.pk, now=timezone.now())
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    job = BackgroundJob.objects.get(pk=export.job_id)
    size = (Path(root) / built.file.name).stat().st_size
    out.put(
        (
            "Annex A workbook",
            manager.username,
            dict(built.row_counts),
            asked,
            (took, cpu),
            base,
            _peak_mb(),
            size,
            job.state,
        )
    )
    BackgroundJob.objects.filter(pk=job.pk).delete()
    built.delete()


def _csv(root: str, out, *, what: str, table: str, query: str, owner) -> None:
    from django.utils import timezone

    from kit import jobs
    from kit.models import BackgroundJob
    from oversight.exports import csv_export_build

    base = _peak_mb()
    job = jobs.job_create(
        kind="csv-export",
        title="benchmark",
        owner=owner,
        now=timezone.now(),
        params={"table": table, "query": query, "ip": ""},
    )
    t0, c0 = time.perf_counter(), time.process_time()
    csv_export_build(job_id=job.pk, now=timezone.now())
    took = (time.perf_counter() - t0, time.process_time() - c0)
    job = BackgroundJob.objects.get(pk=job.pk)
    size = jobs.job_file(job).stat().st_size if jobs.job_file(job) else 0
    out.put((what, owner.username, job.result.get("rows"), 0.0, took, base, _peak_mb(), size, job.state))
    job.delete()


def _breaches(root: str, as_at: str, out) -> None:
    _setup(root)
    _csv(root, out, what="Breaches CSV", table="breaches", query="acknowledged=all", owner=_manager())


def _board_timescales(root: str, as_at: str, out) -> None:
    """The team board's timescales CSV for the team leader of the team with the most families."""
    _setup(root)
    from django.db.models import Count

    from accounts import roles
    from accounts.models import User

    leaders = User.objects.filter(groups__name=roles.TEAM_LEADER, is_active=True, team__isnull=False)
    leader = leaders.annotate(n=Count("team__families")).order_by("-n").first()
    _csv(root, out, what="Board timescales CSV", table="board-timescales", query="", owner=leader)


PROBED = (("/healthz", "healthz"), ("/oversight/returns/annex-a/", "Annex A form"))


def _probe(root: str, stop, out, ready=None) -> None:
    """Request /healthz and the Annex A form page in turn (in-process, as the manager whose workbook is
    built) until `stop` is set: how long each takes, idle or while an export builds in another process."""
    _setup(root)
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(_manager())
    for url, _ in PROBED:  # warm: the first request imports and loads what later ones reuse
        client.get(url)
    if ready is not None:
        ready.set()
    timings: dict[str, list[float]] = {label: [] for _, label in PROBED}
    while not stop.is_set():
        for url, label in PROBED:
            t0 = time.perf_counter()
            response = client.get(url)
            timings[label].append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
        time.sleep(0.2)
    out.put(timings)


def _summary(ms: list[float]) -> str:
    ms = sorted(ms)
    if not ms:
        return "–"
    p50, p95 = ms[len(ms) // 2], ms[int(len(ms) * 0.95)]
    return f"{len(ms)} requests, p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms"


TARGETS = {"annex-a": _annex_a, "breaches": _breaches, "board-timescales": _board_timescales}


def _probed(context, root: str, *, seconds: float) -> dict[str, list[float]]:
    stop, timings, ready = context.Event(), context.Queue(), context.Event()
    prober = context.Process(target=_probe, args=(root, stop, timings, ready))
    prober.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    found = timings.get()
    prober.join()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-at", required=True, help="the return's date, e.g. the generator's today")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--probe",
        action="store_true",
        help="also time /healthz and the Annex A form page (as the manager) idle and during the Annex A build",
    )
    parser.add_argument("--only", choices=sorted(TARGETS), action="append", help="these exports only (repeatable)")
    args = parser.parse_args()
    context = get_context("spawn")
    header = "| export | manager | rows | request (s) | build (s) | build's CPU (s) | RSS at start (MB) "
    header += "| peak RSS (MB) | file (MB) | job | load average before, after |"
    with tempfile.TemporaryDirectory() as root:
        print(header)
        print("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
        for _ in range(args.runs):
            for target in [TARGETS[name] for name in args.only or TARGETS]:
                before = f"{os.getloadavg()[0]:.1f}"
                queue = context.Queue()
                child = context.Process(target=target, args=(root, args.as_at, queue))
                probing = args.probe and target is _annex_a
                if probing:
                    idle = _probed(context, root, seconds=20)
                    stop, timings, ready = context.Event(), context.Queue(), context.Event()
                    prober = context.Process(target=_probe, args=(root, stop, timings, ready))
                    prober.start()
                    ready.wait()
                child.start()
                child.join()
                if probing:
                    stop.set()
                    during = timings.get()
                    prober.join()
                    for _, label in PROBED:
                        print(f"- {label}: idle {_summary(idle[label])}; during the build {_summary(during[label])}")
                if child.exitcode != 0 or queue.empty():
                    print(f"| {target.__name__} failed (exit code {child.exitcode}) |", flush=True)
                    continue
                what, user, rows, asked, took, base, peak, size, state = queue.get()
                print(
                    f"| {what} | {user} | {rows} | {asked:.3f} | {took[0]:.1f} | {took[1]:.1f} | {base:.0f} | "
                    f"{peak:.0f} | {size / 1e6:.1f} | {state} | {before}, {os.getloadavg()[0]:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
