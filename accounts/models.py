from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords

from accounts import roles


class Service(models.Model):
    """A council service (e.g. Early Help, MASH). Managers see their service's work."""

    name = models.CharField(max_length=120, unique=True)

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
    working_pattern = models.CharField(max_length=10, choices=WorkingPattern.choices, default=WorkingPattern.FULL_TIME)
    # Blank means the default for the working pattern; a supervisor may agree otherwise.
    caseload_capacity_override = models.PositiveSmallIntegerField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

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
    def is_front_door(self) -> bool:
        return self.has_role(*roles.FRONT_DOOR_ROLES)
