"""A partner agency's request for support, from its first draft to the contact it became.

The answers are kept as the guided form's data (a draft may be incomplete); on submission the front
door's intake service records the family, the people and the contact (workflows.services), and the
request keeps only the link to that contact: what the partner sees of it afterwards is its status
and the outcome letter the council sent (partners.selectors).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class SupportRequest(models.Model):
    organisation = models.ForeignKey("accounts.PartnerOrganisation", on_delete=models.PROTECT, related_name="requests")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    contact = models.OneToOneField(
        "cases.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="partner_request"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "updated_at"], name="supportrequest_org")]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"R{self.pk:07d}"

    @property
    def family_name(self) -> str:
        return (self.answers.get("family_name") or "").strip() or "Family not named yet"
