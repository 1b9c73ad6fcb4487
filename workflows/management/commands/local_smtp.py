"""Development only: a local SMTP server that keeps every e-mail it receives under `.data/mail/`.

`make run` is meant to start it (`manage.py local_smtp`) and point the app at it with
`EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend EMAIL_HOST=127.0.0.1 EMAIL_PORT=1025`;
the development page `/dev/mail/` (DEBUG only) lists what it received. It needs the `aiosmtpd`
package of the development extras; production uses the council's own mail server.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflows.correspondence_services import local_mail_dir


class Command(BaseCommand):
    help = "Development only: an SMTP server on 127.0.0.1 that stores every message under .data/mail/ (a Maildir)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=1025)
        parser.add_argument("--dir", default="", help="the Maildir to store messages in (default .data/mail)")

    def handle(self, *args, **options):
        try:
            from aiosmtpd.controller import Controller
            from aiosmtpd.handlers import Mailbox
        except ImportError as exc:  # the production image has no development extras
            raise CommandError("aiosmtpd is not installed: pip install -e '.[dev]'") from exc
        directory = Path(options["dir"]) if options["dir"] else local_mail_dir()
        directory.parent.mkdir(parents=True, exist_ok=True)
        controller = Controller(Mailbox(directory), hostname=options["host"], port=options["port"])
        controller.start()
        self.stdout.write(
            f"Local SMTP server on {options['host']}:{options['port']}, storing messages in {directory} "
            f"(sending as {settings.DEFAULT_FROM_EMAIL}). Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
