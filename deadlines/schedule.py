"""Every Celery beat schedule of the project, declared in this one place.

Intervals, never crontabs: an interval is elapsed time, so the clock changes in March and
October neither skip nor double a run (Celery and django-celery-beat have open reports of
both with crontabs around DST). Work that belongs to a local time of day (the 07:00 digest)
runs on a short interval and decides for itself, idempotently, whether today's is due.

No entry carries an ETA or countdown: a message held back longer than the Redis broker's
visibility timeout would be delivered twice. Each run expires after one interval instead, so
a backlog queued while the workers were down collapses into the next run (the jobs catch up
by themselves: they select "before now", never "at").

Installed by `earlyhelp/celery.py` (`app.add_defaults(celery_defaults)`, evaluated lazily once
Django settings are loaded); django-celery-beat's DatabaseScheduler copies the entries into
its tables each time beat starts.
"""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import schedule

RAISE_ALERTS = "deadlines.tasks.raise_alerts"
DELIVER_ALERTS = "deadlines.tasks.deliver_alerts"
SEND_DIGESTS = "deadlines.tasks.send_digests"
RECONCILE_COUNTS = "deadlines.tasks.reconcile_counts"

DELIVERY_INTERVAL = timedelta(minutes=1)
DIGEST_INTERVAL = timedelta(minutes=15)
RECONCILE_INTERVAL = timedelta(minutes=30)


def _entry(task: str, every: timedelta) -> dict:
    seconds = int(every.total_seconds())
    return {
        "task": task,
        "schedule": schedule(run_every=every),
        # django-celery-beat's name for a relative expiry (it turns it into `expires`).
        "options": {"expire_seconds": seconds},
    }


def beat_schedule(*, alert_scan_interval: timedelta | None = None) -> dict[str, dict]:
    """The beat entries; the alert scan interval is settings.ALERT_SCAN_INTERVAL_SECONDS."""
    if alert_scan_interval is None:
        from django.conf import settings

        alert_scan_interval = timedelta(seconds=settings.ALERT_SCAN_INTERVAL_SECONDS)
    return {
        "deadlines: raise alerts": _entry(RAISE_ALERTS, alert_scan_interval),
        "deadlines: deliver alerts": _entry(DELIVER_ALERTS, DELIVERY_INTERVAL),
        "deadlines: send digests": _entry(SEND_DIGESTS, DIGEST_INTERVAL),
        "deadlines: reconcile clock counts": _entry(RECONCILE_COUNTS, RECONCILE_INTERVAL),
    }


def celery_defaults() -> dict:
    """For `app.add_defaults`: Celery calls it after loading the Django settings."""
    return {"beat_schedule": beat_schedule()}
