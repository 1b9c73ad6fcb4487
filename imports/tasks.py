"""Thin Celery tasks for the import: load by id, call the function that does the work.

Both are safe to run twice (a worker lost mid-run): the check writes nothing, the import skips rows
already imported (imports.services)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from imports import jobs
from kit import jobs as kit_jobs

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="imports.tasks.check_import", **TASK_OPTIONS)
def check_import(job_id: int) -> None:
    try:
        jobs.dry_run(job_id, now=timezone.now())
    except Exception:
        kit_jobs.job_fail(job_id, now=timezone.now(), message="The check stopped with an error: tell your supplier.")
        raise


@shared_task(name="imports.tasks.run_import", **TASK_OPTIONS)
def run_import(job_id: int) -> None:
    try:
        jobs.real_run(job_id, now=timezone.now())
    except Exception:
        kit_jobs.job_fail(
            job_id, now=timezone.now(), message="The import stopped with an error; batches already imported are kept "
            "and running it again carries on.",
        )  # fmt: skip
        raise
