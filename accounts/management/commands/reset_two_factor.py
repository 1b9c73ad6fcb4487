"""`manage.py reset_two_factor USERNAME --reason "..."`: when no administrator can do it in the app.

For example, the only administrator lost their phone. Recorded (no signed-in user, source
"management command") and emailed to the account's owner like a reset from the users pages.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import RoleChange, User
from accounts.services import AccountRefused, notify_owner_of_reset, two_factor_reset
from kit.dates import long_datetime


class Command(BaseCommand):
    help = "Remove an account's authenticators, record why, email the owner and print a new enrolment link."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, username: str, reason: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no account called {username!r}.")
        try:
            reset, issued = two_factor_reset(
                user=user, by=None, reason=reason, now=timezone.now(), source=RoleChange.Source.COMMAND
            )
        except AccountRefused as exc:
            raise CommandError(str(exc)) from None
        emailed = notify_owner_of_reset(reset=reset, issued=issued)
        self.stdout.write(f"Removed {reset.devices_removed} authenticator(s) of {user.username}; reason recorded.")
        self.stdout.write(f"Owner emailed at {user.email}." if emailed else "The account has no email address.")
        self.stdout.write(f"Enrolment link: {issued.link}")
        self.stdout.write(
            f"or code: {issued.code}   (valid until {long_datetime(timezone.localtime(issued.expires_at))})."
        )
