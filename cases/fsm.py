"""A protected django-fsm state field that is safe under a threaded server.

django-fsm refuses `obj.state = ...` on a protected field, so its `FSMModelMixin.refresh_from_db`
switches protection off *on the field*, reloads, and switches it back on. The field is one
object shared by every thread of the process: while one request reloads a contact, another
request's reload can find protection switched back on half-way and fail with
"Direct state modification is not allowed" (a 500 when two people decide one contact at once).

Here the permission to reload is a flag on the instance being reloaded, which only its own
thread sees; the field itself never changes. Migrations still see a plain `FSMField`.
"""

from __future__ import annotations

from django.db import models
from django_fsm import FSMField, FSMFieldDescriptor

_RELOADING = "_fsm_reloading"


class _StateDescriptor(FSMFieldDescriptor):
    def __set__(self, instance, value) -> None:
        if instance.__dict__.get(_RELOADING):
            # Reloading from the database is not a modification: store it as django-fsm would.
            self.field.set_proxy(instance, value)
            self.field.set_state(instance, value)
            return
        super().__set__(instance, value)


class StateField(FSMField):
    """`FSMField(protected=True)` whose protection is never switched off for the whole process."""

    descriptor_class = _StateDescriptor

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("protected", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # The column is an FSMField's: migrations need not know about the descriptor.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django_fsm.FSMField", args, kwargs


class StateMachineModel(models.Model):
    """Replaces django-fsm's `FSMModelMixin`: reloads protected state fields without a shared switch."""

    class Meta:
        abstract = True

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        self.__dict__[_RELOADING] = True
        try:
            super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        finally:
            self.__dict__.pop(_RELOADING, None)
