"""Forms of correspondence: a council's template, and one message composed from a record."""

from __future__ import annotations

from django import forms

from cases.models import Message
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin
from workflows.correspondence_services import unknown_fields


class TemplateForm(SafeTextMixin, GdsForm):
    """The council's wording for one kind of letter or e-mail, with an optional record to preview it on."""

    subject = forms.CharField(label="Subject or heading", max_length=200)
    body = forms.CharField(
        label="Text",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Merge fields are written in curly brackets, for example {family_name}.",
    )
    preview_reference = forms.CharField(
        label="Preview on a record (optional)",
        max_length=12,
        required=False,
        help_text="A contact or episode reference you can see, for example C0000012 or E0000034",
    )

    def clean(self):
        data = super().clean()
        for name in ("subject", "body"):
            unknown = unknown_fields(data.get(name, ""))
            if unknown:
                self.add_error(
                    name, "Not a merge field: " + ", ".join("{" + n + "}" for n in unknown) + ". Check the spelling."
                )
        return data


class MessageForm(SafeTextMixin, GdsForm):
    """One message as the practitioner sends it: the template's text, edited for this recipient."""

    channel = forms.ChoiceField(label="How to send it", choices=Message.Channel.choices, widget=forms.RadioSelect)
    person = forms.ChoiceField(label="Who it is to", required=False)
    address_choice = forms.ChoiceField(
        label="Which address should the letter go to?",
        required=False,
        widget=forms.RadioSelect,
        help_text="They live at a different address from the family. A confidential address is never offered.",
    )
    recipient_name = forms.CharField(label="To", max_length=200)
    recipient_email = forms.EmailField(label="E-mail address", required=False, help_text="For e-mail only")
    subject = forms.CharField(label="Subject or heading", max_length=200)
    body = forms.CharField(label="Text", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 16}))

    def __init__(self, *args, people=(), addresses=(), **kwargs):
        """`people`: the family members it may be written to, [(pk, name)] (none: the person field goes);
        `addresses`: the addresses to choose from, [("member" | "family", lines)], shown only when
        there is more than one."""
        super().__init__(*args, **kwargs)
        if people:
            self.fields["person"].choices = [("", "The family")] + [(str(pk), name) for pk, name in people]
        else:
            del self.fields["person"]
        if len(addresses) > 1:
            words = {"member": "Their own address", "family": "The family's address"}
            self.fields["address_choice"].choices = [
                (key, f"{words[key]}: {', '.join(lines)}") for key, lines in addresses
            ]
        else:
            del self.fields["address_choice"]

    def clean(self):
        data = super().clean()
        if (
            "address_choice" in self.fields
            and data.get("channel") == Message.Channel.POST
            and not data.get("address_choice")
            and "address_choice" not in self.errors
        ):
            self.add_error("address_choice", "Choose which address the letter should go to")
        email_missing = data.get("channel") == Message.Channel.EMAIL and not data.get("recipient_email")
        if email_missing and "recipient_email" not in self.errors:
            self.add_error("recipient_email", "Enter the e-mail address to send it to, or choose post")
        return data


class LetterKindForm(SafeTextMixin, GdsForm):
    """Which letter or e-mail to write (the chooser lists them as links; a POST without one is refused)."""

    kind = forms.ChoiceField(
        label="What to send",
        error_messages={"required": "Choose what to send", "invalid_choice": "Choose what to send"},
    )

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
