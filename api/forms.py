from __future__ import annotations

from django import forms

from accounts.models import Service, Team
from api.models import ApiClient
from api.services import CLIENT_ROLES
from kit.forms import GdsForm, SafeTextMixin


class ClientForm(SafeTextMixin, GdsForm):
    name = forms.CharField(
        label="Name of the client",
        max_length=120,
        help_text="The system or team that will use it, for example Business intelligence team",
        error_messages={"required": "Enter a name for the client"},
    )
    role = forms.ChoiceField(
        label="Role it acts as",
        choices=[(name, name) for name in CLIENT_ROLES],
        widget=forms.RadioSelect,
        help_text="It sees exactly what a person in this role (in the team or service below) sees.",
        error_messages={"required": "Choose the role the client acts as"},
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="No team",
        help_text="Needed for a practitioner, team leader or duty worker.",
    )
    service = forms.ModelChoiceField(
        label="Service",
        queryset=Service.objects.order_by("name"),
        required=False,
        empty_label="No service",
        help_text="Needed for a manager or duty manager without a team.",
    )


class RevokeForm(GdsForm):
    client = forms.ModelChoiceField(
        queryset=ApiClient.objects.filter(revoked_at__isnull=True), widget=forms.HiddenInput
    )


class SecretForm(GdsForm):
    client = forms.ModelChoiceField(
        queryset=ApiClient.objects.filter(revoked_at__isnull=True), widget=forms.HiddenInput
    )


class TokenRotateForm(GdsForm):
    client = forms.ModelChoiceField(
        queryset=ApiClient.objects.filter(revoked_at__isnull=True), widget=forms.HiddenInput
    )
