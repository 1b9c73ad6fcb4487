"""Thin Celery tasks of the API: read the clock once and call the function that does the work."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from api.services import access_tokens_purge

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="api.tasks.purge_access_tokens", **TASK_OPTIONS)
def purge_access_tokens() -> int:
    """For Celery beat: delete the access tokens that expired more than a day ago (safe to run twice)."""
    return access_tokens_purge(now=timezone.now())
