"""Thin Celery tasks for oversight: load by id, call the function that does the work.

`acks_late` with `reject_on_worker_lost`: a worker killed mid-build leaves the message to be
delivered again, and the build is safe to run twice (see `annex_a_export_build`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from cases import board
from oversight.annex_a import annex_a_export_build, annex_a_exports_expire
from oversight.exports import csv_export_build

logger = logging.getLogger(__name__)
TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="oversight.tasks.build_annex_a", **TASK_OPTIONS)
def build_annex_a(export_id: int) -> None:
    annex_a_export_build(export_id=export_id, now=timezone.now())


@shared_task(name="oversight.tasks.expire_annex_a", **TASK_OPTIONS)
def expire_annex_a() -> int:
    """Delete Annex A workbooks (and their reports) older than a day; for an hourly beat entry."""
    return annex_a_exports_expire(now=timezone.now())


@shared_task(name="oversight.tasks.reconcile_board_fields", **TASK_OPTIONS)
def reconcile_board_fields() -> int:
    """Recount every episode's risk level, high-risk names and latest decision, and every lead
    professional's open caseload; repair and log any drift (cases.board, ADR 56; cases.caseload,
    ADR 62); for an hourly beat entry. The number of differences repaired."""
    result = board.reconcile()
    for line in result.drift:
        logger.warning("board fields drift repaired: %s", line)
    return len(result.drift)


@shared_task(name="oversight.tasks.build_csv_export", **TASK_OPTIONS)
def build_csv_export(job_id: int) -> None:
    """A large table's CSV for the user who asked (oversight.exports.export_prepare)."""
    csv_export_build(job_id=job_id, now=timezone.now())
