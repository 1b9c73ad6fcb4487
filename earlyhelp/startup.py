"""Turn bad configuration into one clear sentence instead of a traceback."""

from __future__ import annotations

import contextlib
import sys

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
