"""benchmarks/load.py end to end in its short mode, against a tiny generated dataset.

A live gunicorn on a free port serves the test database; locust drives it for 5 seconds. Every
response counted is the real page (status 200 and the page's marker), in-process, one request at a
time and under load; the Annex A export is started with the form's real fields and waited for.

Static files are collected with the manifest but without whitenoise's compressed copies
(tests/performance/manifest_static_settings.py, ADR 0065): the server reads the same manifest.
The processes it starts (collectstatic, gunicorn and its workers, locust, the Celery worker) keep
their bytecode in `.data/pycache` (tests/bytecode.py, ADR 0070) rather than compile every module.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date

import pytest
from django.db import connections

from benchmarks import load
from deadlines.models import Deadline
from tests.bytecode import PYCACHE, use_cached_bytecode
from tests.conftest import ROOT
from tooling.generator import generate

STATIC_SETTINGS = "tests.performance.manifest_static_settings"


def collectstatic_without_compressing(env: dict) -> None:
    """`load.collectstatic`, with the settings of the test's static files (the environment is the server's)."""
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0", "--settings", STATIC_SETTINGS],
        env=env,
        cwd=ROOT,
        check=True,
    )


@pytest.mark.django_db(transaction=True)
def test_load_benchmark_short_mode(tmp_path, capsys, monkeypatch):
    from django.conf import settings

    monkeypatch.setattr(load, "collectstatic", collectstatic_without_compressing)
    use_cached_bytecode(monkeypatch)
    generate(families=30, seed=3, today=date.today(), stream=io.StringIO())  # noqa: DTZ011 - "now" for the pages

    result = load.main(["--short", "--out", str(tmp_path), "--generate-report", str(tmp_path / "none.json")])

    pages = result["pages"]
    for name in ("healthz (trivial)", "triage queue", "family page", "search: name", "episode page", "my cases"):
        assert not pages[name].get("skipped"), name
        assert set(pages[name]["sql"]["statuses"]) == {200}, name
        assert pages[name]["sql"]["queries"], name
    assert pages["family page"]["sql"]["explain"].strip()
    for name, page in pages.items():
        if page.get("skipped"):
            continue
        assert page["sql"]["content_problems"] == [], name
        split = page["sql"]["split_ms"]
        assert split["total_ms"] > 0 and split["sql_ms"] >= 0 and split["template_ms"] >= 0, name
    sequential = result["sequential"]
    assert sequential["healthz_p50_ms"] > 0
    for name, timing in sequential["pages"].items():
        assert timing["problems"] == [], name
        assert timing["warm_p50_ms"] > 0 and timing["warm_ratio"], name
    assert result["annex_a"]["ok"], result["annex_a"]
    assert "One request at a time" in result["markdown"] and "Where a request's time goes" in result["markdown"]
    # The load ran (on a busy shared machine 4 users may finish only a handful of pages in 5 s);
    # every request it made was the real page (failures include a missing marker).
    assert result["totals"]["Aggregated"]["requests"] > 0
    assert result["failures"] == [], result["failures"]
    assert result["alerts"]["no_change_raised"] == 0
    assert result["alerts"]["crossed_raised"] == 200
    assert not Deadline.objects.filter(rulebook="benchmark").exists()
    written = json.loads(next(tmp_path.glob("2*.json")).read_text())
    assert written["markdown"] == result["markdown"]
    out = capsys.readouterr().out
    assert "| page | requests |" in out and "healthz (trivial)" in out
    # The server's pages named their static files through the manifest it was given.
    manifest = json.loads((settings.STATIC_ROOT / "staticfiles.json").read_text())["paths"]
    assert any(name.endswith("govuk-frontend.min.css") for name in manifest)
    # The server's processes kept their bytecode where they were told (Django's own, at least).
    assert next(PYCACHE.rglob("django/core/handlers/wsgi.*.pyc"), None)
    connections.close_all()
