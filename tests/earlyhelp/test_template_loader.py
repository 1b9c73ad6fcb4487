"""Templates are compiled once per process: the cached loader is on, in production as everywhere.

Django (4.1 and later) wraps the filesystem and app-directories loaders in the cached loader whenever
TEMPLATES sets no `loaders`, whatever DEBUG says. Setting `loaders` by hand would turn that off, so
this test fails if anyone does without keeping the cached loader in front (ADR 43).
"""

from __future__ import annotations

from django.conf import settings
from django.template import engines
from django.template.loaders.cached import Loader as CachedLoader


def test_the_cached_template_loader_is_in_front():
    engine = engines["django"].engine
    loaders = engine.template_loaders
    assert len(loaders) == 1 and isinstance(loaders[0], CachedLoader)
    assert {type(inner).__module__ for inner in loaders[0].loaders} == {
        "django.template.loaders.filesystem",
        "django.template.loaders.app_directories",
    }
    assert "loaders" not in settings.TEMPLATES[0].get("OPTIONS", {})


def test_a_template_is_compiled_once():
    engine = engines["django"].engine
    first = engine.get_template("base.html")
    assert engine.get_template("base.html") is first
