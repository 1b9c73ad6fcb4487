"""Each web worker compiles the project's templates before its first request (`earlyhelp.startup.warm_templates`,
called by `earlyhelp.wsgi`; ADR 89): every template compiles on its own, and a page rendered afterwards reads no
template file."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.template import engines
from django.template.loaders.filesystem import Loader as FileSystemLoader
from django.urls import reverse

from earlyhelp.startup import warm_templates


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


def test_the_wsgi_entry_point_warms_unless_told_not_to(monkeypatch):
    calls = []
    monkeypatch.setattr("earlyhelp.startup.warm_templates", lambda: calls.append(1) or 0)
    for setting, expected in (("true", [1]), ("false", [])):
        calls.clear()
        monkeypatch.setenv("EARLYHELP_WARM_TEMPLATES", setting)
        sys.modules.pop("earlyhelp.wsgi", None)
        importlib.import_module("earlyhelp.wsgi")
        assert calls == expected, setting
