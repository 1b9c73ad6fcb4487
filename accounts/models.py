from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_otp.models import Device
from simple_history.models import HistoricalRecords

from accounts import roles
from kit.dates import long_date, long_datetime


class Service(models.Model):
    """A council service (e.g. Early Help, MASH). Managers see their service's work."""

    name = models.CharField(max_length=120, unique=True)
    # The council procedure whose clocks this service's work runs (a rulebook slug, see
    # deadlines/procedures.py); blank: the deployment's EARLYHELP_DEFAULT_RULEBOOK. Chosen by an
    # administrator on the Procedures page; a change applies to clocks started after it.
    rulebook = models.CharField("procedure", max_length=60, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    class Kind(models.TextChoices):
        LOCALITY = "locality", "Locality team"
        NEIGHBOURHOOD = "neighbourhood", "Neighbourhood team"
        HUB = "hub", "Family hub"
        FRONT_DOOR = "front_door", "Front door / MASH"
        DUTY = "duty", "Duty and assessment"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LOCALITY)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="teams")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerOrganisation(models.Model):
    """A partner agency (school, GP practice, health visiting team...) whose staff use the partner portal."""

    class Kind(models.TextChoices):
        SCHOOL = "school", "School"
        GP = "gp", "GP practice"
        HEALTH_VISITING = "health_visiting", "Health visiting team"
        POLICE = "police", "Police unit"
        HOUSING = "housing", "Housing"
        VOLUNTARY = "voluntary", "Voluntary organisation"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The DfE contact-source code its requests are recorded with (cases.codes.CONTACT_SOURCES; the
    # choices are offered by the registration form, above this layer).
    contact_source = models.CharField("DfE contact source", max_length=3)
    email = models.EmailField("agency e-mail address", blank=True)
    registered_by = models.ForeignKey("User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    registered_at = models.DateTimeField()
    # An agency the council no longer works with keeps its records, but its staff lose every episode they
    # lead and no new one can be given to them (ADR 52).
    active = models.BooleanField("the council works with this agency", default=True, db_default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Roles are groups (accounts.roles); the team places them in the service."""

    class WorkingPattern(models.TextChoices):
        FULL_TIME = "full_time", "Full-time"
        PART_TIME = "part_time", "Part-time"

    DEFAULT_CAPACITY = {WorkingPattern.FULL_TIME: 20, WorkingPattern.PART_TIME: 10}

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # For staff above team level (managers): the service whose work they oversee.
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff")
    job_title = models.CharField(max_length=120, blank=True)
    # A partner user (with the Partner role): the agency they work for; they see only the partner portal.
    partner_organisation = models.ForeignKey(
        PartnerOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="partner_users"
    )
    working_pattern = models.CharField(max_length=10, choices=WorkingPattern.choices, default=WorkingPattern.FULL_TIME)
    # Blank means the default for the working pattern; a supervisor may agree otherwise.
    caseload_capacity_override = models.PositiveSmallIntegerField(null=True, blank=True)
    # Optimistic concurrency (ADR 0004): the users pages and the Django admin increment it.
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords(excluded_fields=["password", "last_login", "version"])

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def caseload_capacity(self) -> int:
        if self.caseload_capacity_override is not None:
            return self.caseload_capacity_override
        return self.DEFAULT_CAPACITY[self.working_pattern]

    @property
    def role_names(self) -> frozenset[str]:
        """Group names, cached for the request so navigation does not query per check."""
        cached = getattr(self, "_role_names", None)
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True)) if self.pk else frozenset()
            self._role_names = cached
        return cached

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names.intersection(names))

    @property
    def service_id_in_scope(self) -> int | None:
        if self.team_id is not None:
            return self.team.service_id
        return self.service_id

    @property
    def is_partner(self) -> bool:
        """A partner agency's user: kept to the partner portal (partners app), refused everywhere else."""
        return self.partner_organisation_id is not None or self.has_role(roles.PARTNER)

    @property
    def is_front_door(self) -> bool:
        return self.has_role(*roles.FRONT_DOOR_ROLES)


class RoleChange(models.Model):
    """Append-only: one change of an account's roles, team, service, administrator flags or password.

    Written for every path (the users pages, the Django admin, commands, the shell) by the
    signal receivers in `accounts.audit`; a PostgreSQL trigger refuses UPDATE and DELETE.
    """

    class What(models.TextChoices):
        ROLES = "roles", "Roles"
        TEAM = "team", "Team"
        SERVICE = "service", "Service"
        SUPERUSER = "superuser", "Superuser"
        STAFF = "staff", "Django admin access"
        PASSWORD = "password", "Password"

    class Source(models.TextChoices):
        USERS_PAGES = "users_pages", "Users pages"
        DJANGO_ADMIN = "django_admin", "Django admin"
        COMMAND = "command", "Management command"
        OTHER = "other", "Shell or script"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_changes")
    changed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    what = models.CharField(max_length=10, choices=What.choices)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    # Usernames of the managers told that the account was given a role that sees families.
    managers_alerted = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["user", "changed_at"], name="rolechange_user")]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_what_display()} {self.before or 'none'} to {self.after or 'none'}"


class TwoFactorReset(models.Model):
    """Append-only: an administrator removed an account's authenticators and issued an enrolment code."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="two_factor_resets")
    reset_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reset_at = models.DateTimeField()
    reason = models.TextField()
    devices_removed = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=20, choices=RoleChange.Source.choices)
    # The address the owner was told at (blank: the account has no email address).
    owner_notified_at_address = models.EmailField(blank=True)

    class Meta:
        ordering = ["-reset_at", "-id"]

    def __str__(self) -> str:
        return f"Two-factor reset for {self.user} on {long_date(self.reset_at)}"


class EnrolmentCode(models.Model):
    """A single-use, expiring code that lets its account set up an authenticator. Only a hash is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"Enrolment code for {self.user} issued {long_datetime(self.issued_at)}"


class PartnerInvitation(models.Model):
    """A single-use, expiring link e-mailed to a partner agency's member of staff. Only a hash is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="partner_invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-invited_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.user} sent {long_datetime(self.invited_at)}"


class SingleSignOnDevice(Device):
    """The council's identity provider, as django-otp's second factor (ADR 47).

    When the provider says it checked a second factor (its `amr` claim), the sign-in callback
    verifies the session with this device, so `user.is_verified()` holds as after a TOTP code. It
    never accepts a typed code: the only way to verify with it is a single sign-on that asserted MFA.
    """

    history = HistoricalRecords()

    class Meta:
        verbose_name = "single sign-on (identity provider's MFA)"

    def verify_token(self, token) -> bool:
        return False
