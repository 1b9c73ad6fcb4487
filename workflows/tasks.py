"""Thin Celery tasks of the workflows app: capture `now` and call the plain function that does the work.

`send_message` is `acks_late` with `reject_on_worker_lost`, like every task of the product: a worker
killed mid-send leaves the task unacknowledged and it runs again. `correspondence_services.deliver`
sends only a message still waiting to be sent, under its row lock, so running the task twice sends
once. When GOV.UK Notify is unavailable (a 429, a 5xx, no answer) the message stays waiting and the
task is retried a little later; after MAX_ATTEMPTS the message fails.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from workflows.correspondence_services import deliver, messages_poll, messages_requeue, waiting_to_retry

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}
RETRY_AFTER_SECONDS = 60
MAX_ATTEMPTS = 5  # while GOV.UK Notify is unavailable: then the message fails, and its sender is alerted


@shared_task(name="workflows.tasks.send_message", bind=True, max_retries=None, **TASK_OPTIONS)
def send_message(self, message_id: int) -> str:
    message = deliver(message_id, now=timezone.now(), last_try=self.request.retries + 1 >= MAX_ATTEMPTS)
    if waiting_to_retry(message):
        # 1 to 4 minutes: well inside the broker's visibility timeout.
        raise self.retry(countdown=RETRY_AFTER_SECONDS * (self.request.retries + 1))
    return message.status if message is not None else "missing"


@shared_task(name="workflows.tasks.requeue_messages", **TASK_OPTIONS)
def requeue_messages() -> int:
    """For Celery beat (every few minutes): messages left "sending" are queued again, and sent once."""
    return messages_requeue(now=timezone.now())


@shared_task(name="workflows.tasks.poll_notify", **TASK_OPTIONS)
def poll_notify() -> int:
    """For Celery beat: ask GOV.UK Notify about messages sent but not yet delivered or failed."""
    return messages_poll(now=timezone.now())
