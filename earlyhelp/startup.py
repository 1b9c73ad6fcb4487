"""Turn bad configuration into one clear sentence instead of a traceback."""

from __future__ import annotations

import contextlib
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
    serves a request; the number of templates compiled is returned."""
    from django.template import engines
    from django.template.backends.django import DjangoTemplates

    compiled = 0
    for backend in engines.all():
        if not isinstance(backend, DjangoTemplates):
            continue
        engine = backend.engine
        for directory in engine.dirs:
            root = Path(directory)
            for path in sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt")):
                engine.get_template(path.relative_to(root).as_posix())
                compiled += 1
    return compiled
