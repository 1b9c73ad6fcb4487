"""What the import keeps: which record of ours each row of the council's old system became.

Rows are keyed by the old system's id (`source_id`) per kind of file, so running the same files
again finds every row already imported and changes nothing. The records themselves are the
product's own (cases, accounts): nothing else marks them as imported.
"""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords


class SourceKey(models.Model):
    """One row of an export file (kind, the old system's id) and the primary key of what it became."""

    kind = models.CharField(max_length=20, help_text="The file it came from: families, people, episodes, ...")
    source_id = models.CharField(max_length=64, help_text="The id the old system gave the row")
    object_id = models.BigIntegerField(help_text="The primary key of the record made from it")
    imported_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "source_id"], name="one_record_per_source_row")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} -> {self.object_id}"
