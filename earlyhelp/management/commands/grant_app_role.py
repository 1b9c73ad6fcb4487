from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from earlyhelp.dbroles import RoleError, grant_app_role


class Command(BaseCommand):
    help = (
        "Give the application's database role its privileges (run as the owner role, after migrate): "
        "read and write on ordinary tables, only add and read on the access log, nothing owned."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", nargs="?", help="the application's role (default: DATABASE_APP_ROLE)")

    def handle(self, *args, **options):
        role = options["role"] or settings.DATABASE_APP_ROLE
        if not role:
            raise CommandError("name the application's database role: grant_app_role ROLE, or set DATABASE_APP_ROLE.")
        try:
            with transaction.atomic():
                grant_app_role(role)
        except RoleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"granted the application's privileges to {role}")
