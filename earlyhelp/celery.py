"""The Celery app. Beat schedules are declared in one place: deadlines.schedule."""

import os

from celery import Celery

from deadlines.schedule import celery_defaults

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earlyhelp.settings")

app = Celery("earlyhelp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.add_defaults(celery_defaults)  # evaluated lazily, once the Django settings are loaded
app.autodiscover_tasks()
