"""`manage.py create_administrator USERNAME --email ...`: the first administrator of a deployment.

The account has the Administrator role and is not a superuser. The command prints a single-use
enrolment link: at first sign-in the administrator sets up two-factor with it (ADR 0012).
"""

from __future__ import annotations

import getpass
import os

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.utils import timezone

from accounts.models import User
from accounts.services import administrator_create
from kit.dates import long_datetime

PASSWORD_VARIABLE = "EARLYHELP_ADMINISTRATOR_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class Command(BaseCommand):
    help = "Create an account with the Administrator role and print its one-time two-factor enrolment link."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--no-input",
            action="store_true",
            help=f"Read the password from the {PASSWORD_VARIABLE} environment variable instead of asking.",
        )

    def handle(self, *args, username: str, email: str, first_name: str, last_name: str, no_input: bool, **options):
        username = username.strip()
        if not username:
            raise CommandError("Give a username.")
        if User.objects.filter(username=username).exists():
            raise CommandError(f"There is already an account called {username!r}.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        password = self._password(no_input)
        candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
        try:
            password_validation.validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user, issued = administrator_create(
            username=username,
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            now=timezone.now(),
        )
        expires = timezone.localtime(issued.expires_at)
        self.stdout.write(f"Created administrator {user.username} (Administrator role, not a superuser).")
        self.stdout.write("At first sign-in they set up two-factor with this single-use enrolment link:")
        self.stdout.write(f"  {issued.link}")
        self.stdout.write(f"or this code: {issued.code}   (valid until {long_datetime(expires)}).")
        if not issued.link.startswith("http"):
            self.stdout.write("(Set EARLYHELP_BASE_URL to print the full address.)")

    def _password(self, no_input: bool) -> str:
        if no_input:
            password = os.environ.get(PASSWORD_VARIABLE, "")
            if not password:
                raise CommandError(f"Set {PASSWORD_VARIABLE}, or run without --no-input to be asked.")
            return password
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords did not match.")
        return password
