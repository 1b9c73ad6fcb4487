"""Workflows' beat entries (intervals, like deadlines.schedule): e-mails whose task was lost are queued again.

An e-mail still "sending" STUCK_AFTER (15 minutes) after it was queued had its task lost (the broker
dropped it, or its worker died and the entry expired); every few minutes `requeue_messages` queues
such e-mails again, and `deliver` sends each one once, under its row lock, however often it is queued.
"""

from datetime import timedelta

from celery.schedules import schedule

REQUEUE_MESSAGES = "workflows.tasks.requeue_messages"
REQUEUE_INTERVAL = timedelta(minutes=5)
# Delivery receipts from GOV.UK Notify, for messages whose callback never came (ADR 39).
POLL_NOTIFY = "workflows.tasks.poll_notify"
POLL_INTERVAL = timedelta(minutes=10)


def beat_schedule() -> dict[str, dict]:
    seconds = int(REQUEUE_INTERVAL.total_seconds())
    return {
        "workflows: queue again e-mails whose task was lost": {
            "task": REQUEUE_MESSAGES,
            "schedule": schedule(run_every=REQUEUE_INTERVAL),
            "options": {"expire_seconds": seconds},
        },
        "workflows: ask GOV.UK Notify whether sent messages were delivered": {
            "task": POLL_NOTIFY,
            "schedule": schedule(run_every=POLL_INTERVAL),
            "options": {"expire_seconds": int(POLL_INTERVAL.total_seconds())},
        },
    }
