"""Oversight records: what managers decide and sign, and what deletions they authorised."""

from __future__ import annotations

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL


class Tombstone(models.Model):
    """What is left of a family's records after retention deletion: no personal data, just the fact."""

    family_id_deleted = models.BigIntegerField(db_index=True)
    reference = models.CharField(max_length=20)
    deleted_at = models.DateTimeField()
    authorised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=100)
    counts = models.JSONField(default=dict, help_text="How many records of each kind were removed")

    class Meta:
        ordering = ["-deleted_at"]

    def __str__(self) -> str:
        return f"{self.reference} deleted {self.deleted_at:%d %B %Y}"
