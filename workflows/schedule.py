"""Workflows' beat entries (intervals, like deadlines.schedule): e-mails whose task was lost are queued again.

An e-mail still "sending" STUCK_AFTER (15 minutes) after it was queued had its task lost (the broker
dropped it, or its worker died and the entry expired); every few minutes `requeue_messages` queues
such e-mails again, and `deliver` sends each one once, under its row lock, however often it is queued.
"""

from datetime import timedelta

from celery.schedules import schedule

REQUEUE_MESSAGES = "workflows.tasks.requeue_messages"
REQUEUE_INTERVAL = timedelta(minutes=5)


def beat_schedule() -> dict[str, dict]:
    seconds = int(REQUEUE_INTERVAL.total_seconds())
    return {
        "workflows: queue again e-mails whose task was lost": {
            "task": REQUEUE_MESSAGES,
            "schedule": schedule(run_every=REQUEUE_INTERVAL),
            "options": {"expire_seconds": seconds},
        }
    }
