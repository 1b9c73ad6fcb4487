"""Oversight's beat entries (intervals, like deadlines.schedule): housekeeping of built returns, and the
check of what the team board reads of each case (ADR 56)."""

from datetime import timedelta

from celery.schedules import schedule

EXPIRE_ANNEX_A = "oversight.tasks.expire_annex_a"
EXPIRE_INTERVAL = timedelta(hours=1)
RECONCILE_BOARD = "oversight.tasks.reconcile_board_fields"
RECONCILE_BOARD_INTERVAL = timedelta(hours=1)


def beat_schedule() -> dict[str, dict]:
    seconds = int(EXPIRE_INTERVAL.total_seconds())
    return {
        "oversight: expire Annex A workbooks": {
            "task": EXPIRE_ANNEX_A,
            "schedule": schedule(run_every=EXPIRE_INTERVAL),
            "options": {"expire_seconds": seconds},
        },
        "oversight: reconcile the board's case fields": {
            "task": RECONCILE_BOARD,
            "schedule": schedule(run_every=RECONCILE_BOARD_INTERVAL),
            "options": {"expire_seconds": int(RECONCILE_BOARD_INTERVAL.total_seconds())},
        },
    }
