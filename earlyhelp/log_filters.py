"""Logging filters (settings.LOGGING)."""

from __future__ import annotations

import logging


class RefusalsOnOneLine(logging.Filter):
    """A refused request (any 4xx: 400, 403, 404, 409...) is logged as one line, without a traceback.

    Django logs every refused request with the exception that refused it (`exc_info`), which prints
    a full traceback for an ordinary "you may not see this page". The exception is the expected
    answer, not a fault: drop it for status codes below 500 and keep the message line
    ("Forbidden (Permission denied): /cases/12/"). Server errors (5xx) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
