"""Background jobs: start one, report its progress, finish it with a file or a result, or fail it.

Every long piece of work a user starts from a page (the Annex A workbook, a large CSV, an import, a
rulebook recompute) runs as a Celery task and keeps one `BackgroundJob` row up to date, so the job's
page can show a progress bar. Progress is written with a plain UPDATE in its own short transaction:
call `advance` *between* batches, not inside a long atomic block, or nobody sees it move.

Time is an argument (`now`), as everywhere in the product."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from kit.models import BackgroundJob


def private_root() -> Path:
    root = Path(settings.PRIVATE_FILES_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    return root


def job_create(*, kind: str, title: str, owner, now: datetime, params: dict | None = None) -> BackgroundJob:
    """A queued job; the caller then queues its task with `transaction.on_commit`."""
    return BackgroundJob.objects.create(kind=kind, title=title, owner=owner, params=params or {}, created_at=now)


def job_begin(job_id: int, *, total: int, now: datetime, message: str = "") -> None:
    """The worker has started: `total` steps to do (0 when it cannot tell yet). A job begun again after a
    worker died starts counting again: the work itself must be idempotent."""
    with transaction.atomic():
        BackgroundJob.objects.filter(pk=job_id).update(
            state=BackgroundJob.State.RUNNING, total=total, done=0, message=message, started_at=now, updated_at=now
        )


def job_advance(
    job_id: int,
    *,
    done: int,
    now: datetime,
    total: int | None = None,
    message: str | None = None,
    result: dict | None = None,
) -> None:
    """Record progress: `done` steps of the total (and a new total or message when they change).

    `result`: what the job has found so far (a checkpoint a rerun after an interruption reads back
    with `job_checkpoint` to carry on rather than start again)."""
    fields: dict = {"done": done, "updated_at": now}
    if total is not None:
        fields["total"] = total
    if message is not None:
        fields["message"] = message[:500]
    if result is not None:
        fields["result"] = result
    with transaction.atomic():
        BackgroundJob.objects.filter(pk=job_id).update(**fields)


def job_checkpoint(job_id: int) -> dict:
    """What the job recorded so far (`job_advance(result=...)`), {} for a new job or one that is gone."""
    return BackgroundJob.objects.filter(pk=job_id).values_list("result", flat=True).first() or {}


def job_file_path(job_id: int, suffix: str) -> tuple[str, Path]:
    """Where a job writes its file: (the path stored on the job, the absolute path to write to)."""
    relative = f"jobs/{job_id}{suffix}"
    absolute = private_root() / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return relative, absolute


def job_finish(
    job_id: int,
    *,
    now: datetime,
    result: dict | None = None,
    message: str = "",
    file_path: str = "",
    file_name: str = "",
) -> None:
    with transaction.atomic():
        job = BackgroundJob.objects.select_for_update().get(pk=job_id)
        job.state = BackgroundJob.State.DONE
        job.done = max(job.done, job.total)
        job.result = result or {}
        job.message = message[:500]
        job.file_path = file_path
        job.file_name = file_name
        job.finished_at = job.updated_at = now
        job.save()


def job_fail(job_id: int, *, now: datetime, message: str) -> None:
    """The job stopped with an error; `message` says what went wrong in words a user can act on."""
    with transaction.atomic():
        BackgroundJob.objects.filter(pk=job_id).update(
            state=BackgroundJob.State.FAILED, message=message[:500], finished_at=now, updated_at=now
        )


# --- Downloads --------------------------------------------------------------------------------

# What a higher layer does when a job's file is downloaded, by job kind: an export of families'
# records writes the access log (`cases.access`), which this layer cannot import. A kind with a
# hook is served only once its hook has run.
DOWNLOAD_HOOKS: dict[str, Callable] = {}


def on_download(kind: str):
    """Register `hook(request, job)`, run before a job of `kind` hands over its file."""

    def register(hook: Callable) -> Callable:
        DOWNLOAD_HOOKS[kind] = hook
        return hook

    return register


def jobs_of(user, *, limit: int = 50):
    """The user's own jobs, newest first."""
    return BackgroundJob.objects.filter(owner=user).order_by("-created_at")[:limit]


def job_for(user, job_id: int) -> BackgroundJob | None:
    """The job if this user may see it (the one who started it, or a superuser), else None."""
    jobs = BackgroundJob.objects.all() if user.is_superuser else BackgroundJob.objects.filter(owner=user)
    return jobs.filter(pk=job_id).first()


def job_file(job: BackgroundJob) -> Path | None:
    """The finished job's file, if it has one and it is still there."""
    if job.state != BackgroundJob.State.DONE or not job.file_path:
        return None
    path = (private_root() / job.file_path).resolve()
    if private_root().resolve() not in path.parents or not path.is_file():
        return None
    return path
