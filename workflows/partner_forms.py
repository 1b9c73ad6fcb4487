from __future__ import annotations

from django import forms
from django.utils.html import format_html

from accounts.models import PartnerOrganisation, User
from kit.forms import GdsForm, SafeTextMixin


class PartnerAgencyForm(SafeTextMixin, GdsForm):
    organisation = forms.ModelChoiceField(
        label="Partner agency",
        queryset=PartnerOrganisation.objects.order_by("name"),
        empty_label="Choose an agency",
        error_messages={"required": "Choose the agency", "invalid_choice": "Choose one of the registered agencies"},
    )
    named_users = forms.ModelMultipleChoiceField(
        label="Who at the agency works with the family?",
        queryset=User.objects.filter(partner_organisation__isnull=False, is_active=True)
        .select_related("partner_organisation")
        .order_by("partner_organisation__name", "first_name", "last_name"),
        widget=forms.CheckboxSelectMultiple,
        help_text="They see the plan's outcomes, the actions they hold and the next review date, and can add updates",
        error_messages={"required": "Choose at least one person", "invalid_choice": "Choose from the list"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["named_users"].label_from_instance = lambda u: format_html(
            "{} ({})", u.get_full_name() or u.username, u.partner_organisation
        )
