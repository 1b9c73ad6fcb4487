"""The API's beat entries (intervals, like deadlines.schedule): expired access tokens are deleted.

Access tokens last an hour (ADR 54); a client asking every hour leaves 24 rows a day. Every half hour
`purge_access_tokens` deletes those that expired more than a day ago (api.services.access_tokens_purge).
"""

from datetime import timedelta

from celery.schedules import schedule

PURGE_ACCESS_TOKENS = "api.tasks.purge_access_tokens"
PURGE_INTERVAL = timedelta(minutes=30)


def beat_schedule() -> dict[str, dict]:
    return {
        "api: delete access tokens expired more than a day ago": {
            "task": PURGE_ACCESS_TOKENS,
            "schedule": schedule(run_every=PURGE_INTERVAL),
            "options": {"expire_seconds": int(PURGE_INTERVAL.total_seconds())},
        }
    }
