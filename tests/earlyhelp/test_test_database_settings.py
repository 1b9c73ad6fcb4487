"""The test run's connections skip what no test tests, and only the test run's (ADR 0066)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def test_test_connections_commit_without_waiting_for_the_disk_and_without_jit(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def _options_outside_tests(**given: str) -> str:
    skipped = {"EARLYHELP_TESTING", "DATABASE_OPTIONS", "DATABASE_PREPARED_READS"}
    env = {k: v for k, v in os.environ.items() if k not in skipped}
    env.update(DEBUG="true", DJANGO_SETTINGS_MODULE="earlyhelp.settings", **given)
    code = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['options'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_outside_tests_commits_wait_for_the_disk():
    """And prepared reads are planned once (ADR 90), unless they are turned off; a deployment's own
    options keep that setting."""
    assert _options_outside_tests() == "-c jit=off -c plan_cache_mode=force_generic_plan"
    assert _options_outside_tests(DATABASE_PREPARED_READS="false") == "-c jit=off"
    assert _options_outside_tests(DATABASE_OPTIONS="-c work_mem=8MB") == (
        "-c work_mem=8MB -c plan_cache_mode=force_generic_plan"
    )
