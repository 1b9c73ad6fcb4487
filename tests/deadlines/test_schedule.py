"""Celery's known traps: DST, a second beat, a killed worker, ETAs beyond the visibility timeout."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from celery.beat import ScheduleEntry
from celery.schedules import crontab, maybe_schedule, schedule
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.db import connection, connections
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from deadlines import tasks
from deadlines.alerts import alerts_raise
from deadlines.models import Alert, Deadline
from deadlines.schedule import beat_schedule
from earlyhelp.celery import app
from tests.conftest import ROOT

# The clocks go forward at 01:00 UTC on 29 March 2026 and back at 01:00 UTC on 25 October 2026.
CLOCK_CHANGES = [datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 0, tzinfo=UTC)]


def test_every_beat_entry_is_an_interval_not_a_crontab():
    entries = beat_schedule()
    assert set(entries) == {
        "deadlines: raise alerts",
        "deadlines: deliver alerts",
        "deadlines: send digests",
        "deadlines: reconcile clock counts",
    }
    for entry in entries.values():
        sched = maybe_schedule(entry["schedule"])
        assert isinstance(sched, schedule) and not isinstance(sched, crontab)
    raise_every = maybe_schedule(entries["deadlines: raise alerts"]["schedule"]).run_every
    assert raise_every == timedelta(seconds=django_settings.ALERT_SCAN_INTERVAL_SECONDS)


def test_the_celery_app_carries_the_schedule_from_deadlines_oversight_workflows_and_api():
    from api.schedule import beat_schedule as api_beat_schedule
    from oversight.schedule import beat_schedule as oversight_beat_schedule
    from workflows.schedule import beat_schedule as workflows_beat_schedule

    every_app = set(beat_schedule()) | set(oversight_beat_schedule()) | set(workflows_beat_schedule())
    assert set(app.conf.beat_schedule) == every_app | set(api_beat_schedule())
    assert "api.tasks.purge_access_tokens" in {e["task"] for e in app.conf.beat_schedule.values()}
    assert "workflows.tasks.requeue_messages" in {e["task"] for e in app.conf.beat_schedule.values()}
    for app_config in django_apps.get_app_configs():  # what a worker's autodiscovery imports
        if (Path(app_config.path) / "tasks.py").exists():
            importlib.import_module(f"{app_config.name}.tasks")
    assert {e["task"] for e in app.conf.beat_schedule.values()} <= set(app.tasks)


def test_no_task_is_queued_with_an_eta_beyond_the_visibility_timeout():
    visibility = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    from api.schedule import beat_schedule as api_beat_schedule
    from workflows.schedule import beat_schedule as workflows_beat_schedule

    for name, entry in {**beat_schedule(), **workflows_beat_schedule(), **api_beat_schedule()}.items():
        options = entry.get("options", {})
        assert "eta" not in options and "countdown" not in options, name
        assert options["expire_seconds"] <= visibility, name
        assert maybe_schedule(entry["schedule"]).run_every.total_seconds() < visibility, name


def test_every_task_acks_late_and_is_rejected_when_its_worker_is_lost():
    for task in (
        tasks.raise_alerts,
        tasks.deliver_alerts,
        tasks.send_digests,
        tasks.recompute_deadlines,
        tasks.reconcile_counts,
    ):
        assert task.acks_late is True, task.name
        assert task.reject_on_worker_lost is True, task.name
    from workflows.tasks import requeue_messages

    assert requeue_messages.acks_late is True and requeue_messages.reject_on_worker_lost is True
    from api.tasks import purge_access_tokens

    assert purge_access_tokens.acks_late is True and purge_access_tokens.reject_on_worker_lost is True
    assert django_settings.CELERY_TASK_ACKS_LATE and django_settings.CELERY_TASK_REJECT_ON_WORKER_LOST


def _simulate_beat(make_entry, start: datetime, hours: int = 3) -> list[datetime]:
    """Tick a beat entry every 20 seconds of real time; return the moments it ran (UTC)."""
    runs = []
    with time_machine.travel(start, tick=False) as traveller:
        entry = make_entry()
        for second in range(0, hours * 3600, 20):
            now = start + timedelta(seconds=second)
            traveller.move_to(now)
            due, _next = entry.is_due()
            if due:
                runs.append(now)
                entry = next(entry)
                if hasattr(entry, "save"):
                    entry.save()  # django-celery-beat writes last_run_at back to the database
    return runs


@pytest.mark.django_db
@pytest.mark.parametrize("start", CLOCK_CHANGES, ids=["spring-forward", "fall-back"])
def test_django_celery_beat_intervals_neither_skip_nor_double_across_a_clock_change(start):
    definition = beat_schedule(alert_scan_interval=timedelta(minutes=5))["deadlines: raise alerts"]

    def make_entry():
        ModelEntry.from_entry("dst-test", app=app, **definition)
        return ModelEntry(PeriodicTask.objects.get(name="dst-test"), app=app)

    runs = _simulate_beat(make_entry, start)
    gaps = {b - a for a, b in zip(runs, runs[1:], strict=False)}
    assert gaps == {timedelta(minutes=5)}, sorted(gaps)
    assert len(runs) == 35  # 3 hours / 5 minutes, the first after one interval


@pytest.mark.parametrize("start", CLOCK_CHANGES, ids=["spring-forward", "fall-back"])
def test_celery_default_beat_intervals_neither_skip_nor_double_across_a_clock_change(start):
    every = timedelta(minutes=5)

    def make_entry():
        return ScheduleEntry(name="dst-test", task=tasks.raise_alerts.name, schedule=schedule(every, app=app), app=app)

    runs = _simulate_beat(make_entry, start)
    gaps = {b - a for a, b in zip(runs, runs[1:], strict=False)}
    assert gaps == {every}, sorted(gaps)


def _url_for_current_test_database() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):  # the embedded server listens on a Unix socket directory
        return f"postgresql://{auth}@/{db['NAME']}?host={host}"
    return f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


KILLABLE_RUN = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    import django
    django.setup()
    from deadlines.alerts import alerts_raise
    from deadlines.models import Alert

    manager, real_bulk_create = Alert.objects, Alert.objects.bulk_create

    def slow_bulk_create(*args, **kwargs):
        created = real_bulk_create(*args, **kwargs)
        time.sleep(0.05)  # inside the batch's transaction: a kill here must roll the batch back
        return created

    manager.bulk_create = slow_bulk_create
    print("running", flush=True)
    alerts_raise(now=datetime.fromisoformat(sys.argv[1]), batch_size=5)
    print("finished", flush=True)
    """
)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_ends_with_exactly_one_alert_each(make_episode, users):
    """SIGKILL mid-task: the redelivered task (acks_late) reruns and finishes; nothing is doubled."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    episode = make_episode(opened_at=t0, lead=users["coach"])
    total = 200
    Deadline.objects.bulk_create(
        Deadline(
            rulebook="test",
            rule_id=f"R{i}",
            title="x",
            episode=episode,
            family_id=episode.family_id,
            team_id=episode.team_id,
            assignee=users["coach"],
            started_at=t0,
            due_at=t0 + timedelta(hours=1),
        )
        for i in range(total)
    )
    now = t0 + timedelta(hours=2)
    env = {
        **os.environ,
        "DATABASE_URL": _url_for_current_test_database(),
        "EARLYHELP_TESTING": "true",
        "DJANGO_SETTINGS_MODULE": "earlyhelp.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RUN, now.isoformat()], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout.readline().strip() == "running"
        deadline = time.monotonic() + 30
        while Alert.objects.count() < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    partial = Alert.objects.count()
    assert 0 < partial < total * 2  # it really died mid-run

    # The server ends the dead session: its open batch rolls back and its advisory lock goes.
    # The redelivered task then runs (retrying briefly while the server notices the death).
    for _ in range(100):
        raised = alerts_raise(now=now)
        if raised:
            break
        time.sleep(0.05)
    assert Alert.objects.count() == total * 2
    assert Alert.objects.values("deadline", "level", "recipient").distinct().count() == total * 2
    assert not Deadline.objects.filter(breach_alerted_at__isnull=True).exists()
    assert partial / 2 + raised == total  # every deadline alerted by exactly one of the two runs
    connections.close_all()
