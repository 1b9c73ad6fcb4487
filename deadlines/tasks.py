"""Thin Celery tasks: capture `now` once and call the plain functions that do the work.

Every task is `acks_late` with `reject_on_worker_lost`: a worker killed mid-run (even by
SIGKILL) leaves the message unacknowledged, so it is delivered again and the rerun finishes
the job. That is only safe because each job is idempotent (see deadlines.alerts). Nothing is
ever queued with an ETA or countdown (deadlines.schedule).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from deadlines.alerts import alerts_deliver, alerts_raise, digest_send
from deadlines.calendar_source import current_calendar
from deadlines.counts import counts_reconcile
from deadlines.services import deadlines_recompute_open, rulebook_recompute
from kit.jobs import job_fail

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="deadlines.tasks.raise_alerts", **TASK_OPTIONS)
def raise_alerts() -> int:
    return alerts_raise(now=timezone.now())


@shared_task(name="deadlines.tasks.deliver_alerts", **TASK_OPTIONS)
def deliver_alerts() -> int:
    return alerts_deliver(now=timezone.now())


@shared_task(name="deadlines.tasks.send_digests", **TASK_OPTIONS)
def send_digests() -> int:
    return digest_send(now=timezone.now())


@shared_task(name="deadlines.tasks.recompute_deadlines", **TASK_OPTIONS)
def recompute_deadlines() -> int:
    """Queued (on commit) when an administrator adds or removes a closure day."""
    return deadlines_recompute_open(now=timezone.now(), calendar=current_calendar())


@shared_task(name="deadlines.tasks.recompute_rulebook", **TASK_OPTIONS)
def recompute_rulebook(slug: str, job_id: int | None = None) -> int:
    """Queued (on commit) when a rulebook version is published with "recompute the open clocks".

    Idempotent: it sets each open clock of the rulebook to what the version in force says (and
    records that version on it), so a rerun after an interruption finishes the job and changes
    nothing already done. With a job (the publisher's progress bar), it reports per batch and
    carries on from the job's last batch when it is delivered again.
    """
    if job_id is None:
        return deadlines_recompute_open(now=timezone.now(), calendar=current_calendar(), slugs=[slug], adopt=True)
    try:
        report = rulebook_recompute(job_id=job_id, slug=slug, now=timezone.now(), calendar=current_calendar())
    except Exception:
        job_fail(
            job_id,
            now=timezone.now(),
            message="The recompute stopped with an error: the clocks it reached have moved, the others keep their "
            "times. Ask your system administrator to run it again: it carries on where it stopped.",
        )
        raise
    return report["moved"]


@shared_task(name="deadlines.tasks.reconcile_counts", **TASK_OPTIONS)
def reconcile_counts() -> int:
    """Recount every clock, prove the summary rows equal the recount, repair and log any drift."""
    return len(counts_reconcile(now=timezone.now()).drift)
