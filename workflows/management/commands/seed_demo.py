from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, ensure_demo_accounts
from workflows.demo import ensure_demo_families


class Command(BaseCommand):
    help = "Create the demo teams, one account per role and demo families (once; running it again changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--families", type=int, default=300, help="demo families to create the first time")

    def handle(self, *args, **options):
        users = ensure_demo_accounts()
        created = ensure_demo_families(options["families"])
        if created:
            self.stdout.write(f"Created {created} demo families.")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for user in users:
            roles = ", ".join(sorted(user.role_names))
            self.stdout.write(f"  {user.username:<12} {roles}")
