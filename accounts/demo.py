"""Demo teams and one account per role: clearly fictional, created once (idempotent)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from accounts import roles
from accounts.audit import role_changes
from accounts.models import PartnerOrganisation, RoleChange, Service, Team, User

DEMO_PASSWORD = "demo-password-not-for-production"  # noqa: S105 - printed for demo sign-in

# username, first name, last name, role, team name
DEMO_ACCOUNTS = [
    ("mash", "Morgan", "Ashdown", roles.MASH_OFFICER, "Front Door"),
    ("mashlead", "Lee", "Marsh", roles.EH_MASH_LEAD, "Front Door"),
    ("duty", "Dana", "Tully", roles.DUTY_WORKER, "Northfield Family Hub"),
    ("coach", "Casey", "Holm", roles.PRACTITIONER, "Northfield Family Hub"),
    ("teamlead", "Terry", "Lund", roles.TEAM_LEADER, "Northfield Family Hub"),
    ("manager", "Mina", "Grove", roles.MANAGER, None),
    ("dutymanager", "Drew", "Manning", roles.DUTY_MANAGER, "Duty and Assessment"),
    ("admin", "Alex", "Mint", roles.ADMINISTRATOR, None),
]

# A partner agency with one member of staff (ADR 44, ADR 52). Partner users always sign in with two-factor:
# the demo account's authenticator key is published here (demo only) so anyone can add it to an app.
DEMO_PARTNER_AGENCY = ("Oakhurst Primary School", PartnerOrganisation.Kind.SCHOOL, "2A")
DEMO_PARTNER = ("school", "Pat", "Reeve", "Designated safeguarding lead")
DEMO_PARTNER_TOTP_KEY = b"earlyhelp-demo-totp!".hex()  # base32 MVQXE3DZNBSWY4BNMRSW23ZNORXXI4BB

# The procedure the demo service follows (deadlines/procedures.py): Family Solutions' clocks, and
# step-up's alongside, never two councils' clocks on one episode.
DEMO_PROCEDURE = "family-solutions"

DEMO_TEAMS = [
    ("Front Door", Team.Kind.FRONT_DOOR),
    ("Northfield Family Hub", Team.Kind.HUB),
    ("Southbank Family Hub", Team.Kind.HUB),
    ("Eastmoor Locality Team", Team.Kind.LOCALITY),
    ("Duty and Assessment", Team.Kind.DUTY),
]


@transaction.atomic
def ensure_demo_accounts() -> list[User]:
    with role_changes(by=None, source=RoleChange.Source.COMMAND):
        return _ensure_demo_accounts()


def _ensure_demo_accounts() -> list[User]:
    service, created = Service.objects.get_or_create(name="Early Help", defaults={"rulebook": DEMO_PROCEDURE})
    if not created and not service.rulebook:
        # One council's procedure for the demo (ADR 0019): its clocks only, plus step-up.
        service.rulebook = DEMO_PROCEDURE
        service.save(update_fields=["rulebook"])
    teams = {
        name: Team.objects.get_or_create(name=name, defaults={"kind": kind, "service": service})[0]
        for name, kind in DEMO_TEAMS
    }
    users = []
    for username, first, last, role, team_name in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.invalid",
                "team": teams.get(team_name) if team_name else None,
                "service": service,
                "job_title": role,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        users.append(user)
    users.append(_ensure_demo_partner())
    return users


def _ensure_demo_partner() -> User:
    """The demo school and its designated safeguarding lead, with the published demo authenticator."""
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    name, kind, source = DEMO_PARTNER_AGENCY
    organisation, _ = PartnerOrganisation.objects.get_or_create(
        name=name,
        defaults={
            "kind": kind,
            "contact_source": source,
            "email": "office@oakhurst.example.invalid",
            "registered_at": timezone.now(),
        },
    )
    username, first, last, job_title = DEMO_PARTNER
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@example.invalid",
            "job_title": job_title,
            "partner_organisation": organisation,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=roles.PARTNER)[0])
        TOTPDevice.objects.create(user=user, name="Demo authenticator", key=DEMO_PARTNER_TOTP_KEY, confirmed=True)
    return user
