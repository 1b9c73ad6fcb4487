"""Templates are read and compiled once per process, in production as in tests (ADR 63): the
settings name no loaders, so Django wraps the file and app loaders in its cached loader."""

from django.conf import settings
from django.template import engines


def test_the_cached_template_loader_serves_every_page():
    assert "loaders" not in settings.TEMPLATES[0]["OPTIONS"]  # naming loaders would drop the cache
    engine = engines["django"].engine
    (loader,) = engine.template_loaders
    assert type(loader).__module__ == "django.template.loaders.cached"
    assert engine.get_template("base.html") is engine.get_template("base.html")
