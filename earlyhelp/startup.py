"""Turn bad configuration into one clear sentence instead of a traceback."""

from __future__ import annotations

import contextlib
import gc
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


@contextlib.contextmanager
def fail_clearly():
    try:
        yield
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"earlyhelp cannot start: {exc}\n")
        raise SystemExit(2) from None


def check_database_or_exit() -> None:
    """Connect once; on failure print which server could not be reached and exit."""
    from django.conf import settings
    from django.db import OperationalError, connection

    from earlyhelp.config import describe_database

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        sys.stderr.write(
            f"earlyhelp cannot start: the database at {describe_database(settings.DATABASE_URL)} "
            f"(DATABASE_URL) does not answer: {reason}\n"
        )
        raise SystemExit(2) from None


def warm_templates() -> int:
    """Compile every template of the project's template directories into the cached template loader, so a
    process's first visit of a page does not parse its templates (30-70 ms of a first visit of the family
    page or the team board, per web worker). The WSGI entry point calls this once per process, before it
    serves a request; the number of templates compiled is returned. A template that does not compile is
    logged and left for its page to report (the worker still starts); the test suite compiles every one."""
    import logging

    from django.template import TemplateSyntaxError, engines
    from django.template.backends.django import DjangoTemplates

    compiled = 0
    for backend in engines.all():
        if not isinstance(backend, DjangoTemplates):
            continue
        engine = backend.engine
        for directory in engine.dirs:
            root = Path(directory)
            for path in sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt")):
                name = path.relative_to(root).as_posix()
                try:
                    engine.get_template(name)
                except (TemplateSyntaxError, UnicodeDecodeError):
                    logging.getLogger(__name__).exception("template %s does not compile", name)
                    continue
                compiled += 1
    return compiled


def freeze_what_was_loaded(*, warm_up_collections: int = 5) -> int:
    """Move every object the process holds once it is ready to serve (Django, the URL resolvers, the compiled
    templates, the static files' table: about 270,000 objects) out of the cyclic garbage collector's sight,
    and return how many. They live as long as the process; left in view, each full collection walked them all
    (300-900 ms measured, every request in the worker paused) and every young collection cost more.

    A worker's first visits of each page build what it then keeps (each page's compiled SQL, the packages'
    templates: about 50,000 objects more), and the collector's full collections of that warm-up paused a
    worker for 30-160 ms each under load. So the first `warm_up_collections` full collections are each
    followed by a freeze too: what survived a full collection, which has just freed every cycle of garbage
    there was. After those, collections run as Python's defaults have them. Objects frozen are still freed when
    nothing refers to them; one that later becomes part of a cycle of garbage stays: the requests in flight at
    one of those five instants (a few threads' objects, once) may leave that much. Python's `gc.freeze()`."""
    gc.collect()
    gc.freeze()
    if warm_up_collections > 0:
        left = [warm_up_collections]

        def after_a_full_collection(phase: str, info: dict) -> None:
            # (Not removed from `gc.callbacks` when done: the collector is walking that list as it calls it.)
            if phase == "stop" and info["generation"] == 2 and left[0] > 0:
                left[0] -= 1
                gc.freeze()

        gc.callbacks.append(after_a_full_collection)
    return gc.get_freeze_count()
