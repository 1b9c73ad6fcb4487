"""Forms for escalations on a contact and the duty manager's review of a re-referral (ADR 0038)."""

from __future__ import annotations

from django import forms

from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin


class ContactEscalationForm(SafeTextMixin, GdsForm):
    disagreement = forms.CharField(
        label="What the disagreement about the contact's routing is",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    escalated_to_user = forms.ChoiceField(
        label="Operational lead",
        required=False,
        help_text="Leave as it is to send it to all the operational leads (the service's Early Help managers)",
    )

    def __init__(self, *args, leads: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.leads = {str(u.pk): u for u in leads}
        self.fields["escalated_to_user"].choices = [("", "All the operational leads")] + [
            (pk, str(u)) for pk, u in self.leads.items()
        ]

    def clean_escalated_to_user(self):
        return self.leads.get(self.cleaned_data.get("escalated_to_user") or "")


class EscalationResolveForm(SafeTextMixin, GdsForm):
    outcome = forms.CharField(
        label="Outcome agreed by the operational leads", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReReferralReviewForm(SafeTextMixin, GdsForm):
    outcome = forms.CharField(
        label="Your decision: is a Child and Family Assessment triggered, and why",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
