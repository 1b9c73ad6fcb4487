"""Models some of whose columns are written in SQL, not by their own saves (ADR 56, ADR 86)."""

from __future__ import annotations

from django.db import models


class KeptFieldsModel(models.Model):
    """`BOARD_FIELDS` are kept in SQL (`cases.board.refresh`, the clocks' triggers): a save of an instance
    read before they changed must not put the old values back, so an update names every loaded field but
    those. Inserts, `force_insert` and explicit `update_fields` are left as asked."""

    BOARD_FIELDS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.BOARD_FIELDS and f.attname not in deferred
            ]
        super().save(*args, **kwargs)
