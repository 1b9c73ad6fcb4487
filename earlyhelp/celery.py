"""The Celery app. Each app declares its own beat entries (deadlines, oversight, workflows and api `schedule`)."""

import os

from celery import Celery

from api import schedule as api_schedule
from deadlines import schedule as deadlines_schedule
from oversight import schedule as oversight_schedule
from workflows import schedule as workflows_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")

app = Celery("earlyhelp")
app.config_from_object("django.conf:settings", namespace="CELERY")


def celery_defaults() -> dict:
    """For `app.add_defaults`: Celery calls it after loading the Django settings."""
    return {
        "beat_schedule": {
            **deadlines_schedule.beat_schedule(),
            **oversight_schedule.beat_schedule(),
            **workflows_schedule.beat_schedule(),
            **api_schedule.beat_schedule(),
        }
    }


app.add_defaults(celery_defaults)  # evaluated lazily, once the Django settings are loaded
app.autodiscover_tasks()
