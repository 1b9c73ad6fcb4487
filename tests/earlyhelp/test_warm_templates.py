"""Each web worker compiles the project's templates before its first request (`earlyhelp.startup.warm_templates`,
called by `earlyhelp.wsgi`; ADR 89): every template compiles on its own, and a page rendered afterwards reads no
template file."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.template.loaders.filesystem import Loader as FileSystemLoader
from django.urls import reverse

from earlyhelp.startup import freeze_what_was_loaded, warm_templates


def _reset_template_cache() -> None:
    for loader in engines["django"].engine.template_loaders:
        loader.reset()


def test_every_template_of_the_project_compiles_into_the_cache():
    _reset_template_cache()
    on_disk = list(Path(settings.BASE_DIR, "templates").rglob("*.html"))
    assert warm_templates() == len(on_disk) > 100
    cached = engines["django"].engine.template_loaders[0].get_template_cache
    assert {str(p.relative_to(Path(settings.BASE_DIR, "templates"))) for p in on_disk} <= set(cached)


@pytest.mark.django_db
def test_a_page_after_the_warm_up_reads_no_template_file(client, users, monkeypatch):
    _reset_template_cache()
    warm_templates()

    def refused(self, origin):
        raise AssertionError(f"{origin.template_name} read from disk after the warm-up")

    monkeypatch.setattr(FileSystemLoader, "get_contents", refused)
    client.force_login(users["coach"])
    response = client.get(reverse("home"))
    assert response.status_code == 200


def test_the_wsgi_entry_point_warms_and_freezes_unless_told_not_to(monkeypatch):
    calls = []
    monkeypatch.setattr("earlyhelp.startup.warm_templates", lambda: calls.append("warm") or 0)
    monkeypatch.setattr("earlyhelp.startup.freeze_what_was_loaded", lambda: calls.append("freeze") or 0)
    for warm, freeze, expected in (
        ("true", "true", ["warm", "freeze"]),
        ("false", "true", ["freeze"]),
        ("true", "off", ["warm"]),
    ):
        calls.clear()
        monkeypatch.setenv("EARLYHELP_WARM_TEMPLATES", warm)
        monkeypatch.setenv("EARLYHELP_GC_FREEZE", freeze)
        sys.modules.pop("earlyhelp.wsgi", None)
        importlib.import_module("earlyhelp.wsgi")
        assert calls == expected, (warm, freeze)


def _tracked(obj) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_what_was_loaded_and_what_survives_the_warm_up_is_out_of_the_collectors_sight():
    frozen_before, callbacks_before = gc.get_freeze_count(), list(gc.callbacks)
    try:
        loaded = [0]
        assert freeze_what_was_loaded(warm_up_collections=2) >= frozen_before + 1
        assert not _tracked(loaded)  # frozen: in no generation the collector walks
        kept = []
        for n in range(3):  # what a worker's first visits keep, each time followed by a full collection
            kept.append([n])
            gc.collect()
        assert not _tracked(kept[0]) and not _tracked(kept[1])  # the two warm-up collections froze what they kept
        assert _tracked(kept[2])  # after them, collections as Python's defaults have them
    finally:
        gc.callbacks[:] = callbacks_before
        gc.unfreeze()
        if frozen_before:
            gc.freeze()


def test_a_template_that_does_not_compile_is_logged_and_the_rest_are_warmed(tmp_path, settings, caplog):
    (tmp_path / "broken.html").write_text("{% if %}")
    (tmp_path / "fine.html").write_text("<p>{{ value }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path], "APP_DIRS": False}]
    assert warm_templates() == 1
    assert "broken.html does not compile" in caplog.text
