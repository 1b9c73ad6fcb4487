"""Thin Celery tasks of the workflows app: capture `now` and call the plain function that does the work.

`send_message` is `acks_late` with `reject_on_worker_lost`, like every task of the product: a worker
killed mid-send leaves the task unacknowledged and it runs again. `correspondence_services.deliver`
sends only a message still waiting to be sent, under its row lock, so running the task twice sends
once.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from workflows.correspondence_services import deliver, messages_requeue

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="workflows.tasks.send_message", **TASK_OPTIONS)
def send_message(message_id: int) -> str:
    message = deliver(message_id, now=timezone.now())
    return message.status if message is not None else "missing"


@shared_task(name="workflows.tasks.requeue_messages", **TASK_OPTIONS)
def requeue_messages() -> int:
    """For Celery beat (every few minutes): e-mails left "sending" are queued again, and sent once."""
    return messages_requeue(now=timezone.now())
