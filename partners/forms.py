"""The partner portal's forms, and the administrator's forms for partner agencies."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.contrib.auth.password_validation import validate_password

from accounts.models import PartnerOrganisation, User
from cases import codes
from cases.models import Consent, PartnerUpdate, RiskIndicator
from cases.validators import normalise_nhs_number, normalise_postcode, validate_nhs_number, validate_postcode
from kit.forms import MAX_TEXT, GdsForm, SafeTextMixin, date_field, parse_time
from kit.time import LONDON

CHILDREN = 3  # places for children on the request form
CARERS = 2  # places for parents or carers


class OrganisationForm(SafeTextMixin, GdsForm):
    name = forms.CharField(label="Name of the agency", max_length=200)
    kind = forms.ChoiceField(label="Kind of agency", choices=PartnerOrganisation.Kind.choices, widget=forms.RadioSelect)
    contact_source = forms.ChoiceField(
        label="Contact source (DfE code)",
        choices=codes.CONTACT_SOURCES,
        help_text="The code its requests for support are recorded with",
    )
    email = forms.EmailField(label="Agency e-mail address (optional)", required=False)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if PartnerOrganisation.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("An agency with this name is already registered")
        return name


class InvitationForm(SafeTextMixin, GdsForm):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150)
    job_title = forms.CharField(label="Job title", max_length=120, required=False)
    email = forms.EmailField(label="Work e-mail address", help_text="The invitation link is sent here")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(username__iexact=email).exists() or User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists")
        return email


class AcceptInvitationForm(SafeTextMixin, GdsForm):
    password = forms.CharField(label="Choose a password", widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(label="Type the password again", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password"), cleaned.get("password_again")
        if first and second and first != second:
            self.add_error("password_again", "The two passwords are not the same")
        elif first:
            try:
                validate_password(first, self.user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class RequestForm(SafeTextMixin, GdsForm):
    """The request for support, one page in sections. Everything is optional while it is a draft; the
    formats (dates, NHS numbers, postcode) are checked on every save, the answers needed to send it
    only when it is sent (`sending=True`)."""

    family_name = forms.CharField(
        label="Family's surname or household name", max_length=200, required=False, help_text="For example, Okafor"
    )
    address_line_1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    town = forms.CharField(label="Town", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=10, required=False)
    language = forms.CharField(label="Main language at home", max_length=60, required=False)
    concern = forms.CharField(
        label="What are you worried about?",
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="In your words: what you have seen or heard, and since when",
    )
    agency_actions = forms.CharField(
        label="What has your agency already done?",
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    consent_status = forms.ChoiceField(
        label="Has the family agreed to this request?",
        choices=[
            (Consent.Status.GIVEN, "Yes, they agreed"),
            (Consent.Status.REFUSED, "No, they refused"),
            (Consent.Status.NOT_SOUGHT, "Not asked yet"),
        ],
        required=False,
        widget=forms.RadioSelect,
    )
    consent_to = forms.MultipleChoiceField(
        label="What did they agree to?",
        choices=[("early_help", "Support from Early Help"), ("share", "Early Help sharing information with us")],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    consent_given_by = forms.CharField(label="Who gave consent?", max_length=200, required=False)
    consent_date = date_field("When did they agree?", required=False)

    SECTIONS = ("family", "children", "carers", "concern", "risks", "actions", "consent")

    def __init__(self, *args, today: date, sending: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.today, self.sending = today, sending
        for i in range(1, CHILDREN + 1):
            self.fields[f"child{i}_first_name"] = forms.CharField(label="First name", max_length=100, required=False)
            self.fields[f"child{i}_last_name"] = forms.CharField(label="Last name", max_length=100, required=False)
            self.fields[f"child{i}_date_of_birth"] = date_field("Date of birth", required=False)
            self.fields[f"child{i}_nhs_number"] = forms.CharField(
                label="NHS number (optional)", max_length=14, required=False, help_text="10 digits, like 943 476 5919"
            )
        for i in range(1, CARERS + 1):
            self.fields[f"carer{i}_first_name"] = forms.CharField(label="First name", max_length=100, required=False)
            self.fields[f"carer{i}_last_name"] = forms.CharField(label="Last name", max_length=100, required=False)
            self.fields[f"carer{i}_relationship"] = forms.ChoiceField(
                label="Relationship to the children",
                choices=[("parent", "Parent"), ("carer", "Carer")],
                initial="parent",
                required=False,
                widget=forms.RadioSelect,
            )
        for indicator, label in RiskIndicator.Indicator.choices:
            self.fields[f"risk_{indicator}"] = forms.TypedChoiceField(
                label=label, choices=RiskIndicator.Level.choices, coerce=int, initial=0, required=False
            )

    # --- groups of fields, for the template's sections ----------------------------------------------

    def children(self):
        return [
            [self[f"child{i}_{part}"] for part in ("first_name", "last_name", "date_of_birth", "nhs_number")]
            for i in range(1, CHILDREN + 1)
        ]

    def carers(self):
        return [
            [self[f"carer{i}_{part}"] for part in ("first_name", "last_name", "relationship")]
            for i in range(1, CARERS + 1)
        ]

    def risks(self):
        return [self[f"risk_{indicator}"] for indicator, _ in RiskIndicator.Indicator.choices]

    # --- checks -------------------------------------------------------------------------------------

    def clean_postcode(self):
        value = self.cleaned_data.get("postcode", "").strip()
        if value:
            validate_postcode(value)
            return normalise_postcode(value)
        return value

    def clean(self):
        cleaned = super().clean()
        for i in range(1, CHILDREN + 1):
            self._check_child(cleaned, i)
        for i in range(1, CARERS + 1):
            first, last = cleaned.get(f"carer{i}_first_name", ""), cleaned.get(f"carer{i}_last_name", "")
            if bool(first) != bool(last):
                self.add_error(f"carer{i}_{'last' if first else 'first'}_name", "Enter the parent or carer's full name")
        consent_day = cleaned.get("consent_date")
        if consent_day and consent_day > self.today:
            self.add_error("consent_date", "The date they agreed must be today or in the past")
        if self.sending:
            self._check_complete(cleaned)
        return cleaned

    def _check_child(self, cleaned: dict, i: int) -> None:
        first, last = cleaned.get(f"child{i}_first_name", ""), cleaned.get(f"child{i}_last_name", "")
        born, nhs = cleaned.get(f"child{i}_date_of_birth"), cleaned.get(f"child{i}_nhs_number", "")
        if (born or nhs) and not (first and last):
            self.add_error(f"child{i}_first_name", f"Enter child {i}'s first and last name")
        elif bool(first) != bool(last):
            self.add_error(f"child{i}_{'last' if first else 'first'}_name", f"Enter child {i}'s full name")
        if born and born > self.today:
            self.add_error(f"child{i}_date_of_birth", "The date of birth must be today or in the past")
        elif born and born.year < self.today.year - 25:
            self.add_error(f"child{i}_date_of_birth", "Check the date of birth: the child would be over 25")
        if nhs:
            try:
                validate_nhs_number(nhs)
            except forms.ValidationError as exc:
                self.add_error(f"child{i}_nhs_number", exc)
            else:
                cleaned[f"child{i}_nhs_number"] = normalise_nhs_number(nhs)

    def _check_complete(self, cleaned: dict) -> None:
        if not cleaned.get("family_name"):
            self.add_error("family_name", "Enter the family's surname or household name")
        if not any(cleaned.get(f"child{i}_first_name") for i in range(1, CHILDREN + 1)) and not self.has_error(
            "child1_first_name"
        ):
            self.add_error("child1_first_name", "Enter at least one child's name")
        if not cleaned.get("concern"):
            self.add_error("concern", "Say what you are worried about")
        status = cleaned.get("consent_status")
        if not status:
            self.add_error("consent_status", "Say whether the family has agreed to this request")
        elif status == Consent.Status.GIVEN:
            if not cleaned.get("consent_to"):
                self.add_error("consent_to", "Say what the family agreed to")
            if not cleaned.get("consent_given_by"):
                self.add_error("consent_given_by", "Say who gave consent")

    def answers(self) -> dict:
        """The cleaned answers as JSON (dates as ISO text): what a draft keeps."""
        return {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name, value in self.cleaned_data.items()
            if value not in (None, "", [])
        }


def request_form_data(answers: dict) -> dict:
    """A saved draft as POST-like data for the form (the date inputs split into day, month, year)."""
    data: dict = {}
    for name, value in answers.items():
        if isinstance(value, str) and (name.endswith("_date_of_birth") or name == "consent_date"):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                continue
            data[f"{name}_0"], data[f"{name}_1"], data[f"{name}_2"] = str(day.day), str(day.month), str(day.year)
        else:
            data[name] = value
    return data


class PartnerUpdateForm(SafeTextMixin, GdsForm):
    kind = forms.ChoiceField(label="What is it about?", choices=PartnerUpdate.Kind.choices, widget=forms.RadioSelect)
    details = forms.CharField(
        label="The update", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 5}), help_text="What changed"
    )


# --- Review invitations (ADR 52) ------------------------------------------------------------------


class ReviewInviteForm(SafeTextMixin, GdsForm):
    """Invite partners in the team around the family to a review: the date, time and place."""

    review_date = date_field("Date of the review")
    review_time = forms.CharField(label="Start time", max_length=5, help_text="24-hour clock, for example 14:30")
    place = forms.CharField(label="Where it will be held", max_length=200)
    invitees = forms.MultipleChoiceField(
        label="Who to invite",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one person to invite"},
    )

    def __init__(self, *args, people: list, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.people = {str(p.pk): p for p in people}
        self.fields["invitees"].choices = [
            (pk, f"{p.get_full_name() or p.username}, {p.partner_organisation}") for pk, p in self.people.items()
        ]

    def clean_review_time(self):
        return parse_time(self.cleaned_data.get("review_time", ""))

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("review_date"), cleaned.get("review_time")
        if day and at:
            when = datetime.combine(day, at, tzinfo=LONDON)
            if when <= self.now:
                self.add_error("review_date", "The review's date and time must be in the future")
            cleaned["review_at"] = when
        cleaned["people"] = [self.people[pk] for pk in cleaned.get("invitees") or [] if pk in self.people]
        return cleaned


class InvitationAnswerForm(SafeTextMixin, GdsForm):
    answer = forms.ChoiceField(
        label="Will you come to the review?",
        choices=[("accepted", "Yes, I will come"), ("declined", "No, I cannot come")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether you will come"},
    )
    note = forms.CharField(
        label="Note for the lead professional (optional)",
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, who will come instead, or what you will send",
    )


class OutcomeWithActionForm(SafeTextMixin, GdsForm):
    """An outcome of the plan with its first action, on one page of the portal."""

    area = forms.ChoiceField(label="Outcome area", required=False)
    description = forms.CharField(
        label="What will be different (specific)", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    how_measured = forms.CharField(
        label="How progress will be measured", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    by_when = date_field("By when")
    action_what = forms.CharField(
        label="First action: what will be done", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    action_who = forms.CharField(label="Who is responsible", max_length=200)
    action_by_when = date_field("Action by when")

    def __init__(self, *args, **kwargs):
        from cases.models import OutcomeArea

        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "Choose an area")] + list(OutcomeArea.choices)
