"""Django's admin (when enabled): a service's procedure is chosen among the loaded rulebooks.

Registered here, not in accounts, because the choices come from deadlines (accounts imports no
other app of the project). The admin site itself is set up in accounts/admin.py.
"""

from django import forms
from django.contrib import admin

from accounts.models import Service
from deadlines.procedures import procedure_choices
from kit.forms import SafeTextMixin


class ServiceAdminForm(SafeTextMixin, forms.ModelForm):
    """The procedure is one of the loaded rulebooks (or blank: the deployment default), as on the Procedures page."""

    rulebook = forms.ChoiceField(label="Procedure", required=False)

    class Meta:
        model = Service
        fields = ["name", "rulebook"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rulebook"].choices = [("", "The deployment default"), *procedure_choices()]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceAdminForm
    list_display = ["name", "rulebook"]
