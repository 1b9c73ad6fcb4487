"""Front-door forms. Each re-renders with what was typed and says what is wrong."""

from __future__ import annotations

import re
from datetime import datetime

from crispy_forms_gds.layout import ConditionalQuestion, ConditionalRadios, Layout
from django import forms
from django.utils import timezone
from django.utils.html import format_html

from accounts.models import Team
from cases import codes, selectors
from cases.models import Communication, Consent, Contact, Family, Meeting, MeetingItem, Person, RiskIndicator
from cases.validators import (
    normalise_nhs_number,
    normalise_postcode,
    validate_nhs_number,
    validate_postcode,
    validate_upn,
)
from kit.forms import MAX_TEXT, GdsForm, GdsModelForm, SafeTextMixin, date_field, parse_time
from kit.time import LONDON, london_date


class MatchSearchForm(SafeTextMixin, GdsForm):
    """Who is the contact about? Search before creating, so nobody is recorded twice."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    date_of_birth = date_field("Date of birth", required=False)
    postcode = forms.CharField(max_length=10, required=False)
    nhs_number = forms.CharField(label="NHS number", max_length=14, required=False)

    def clean_nhs_number(self):
        value = self.cleaned_data.get("nhs_number", "")
        if value:
            validate_nhs_number(value)
        return normalise_nhs_number(value)

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(
            cleaned.get(k) for k in ("last_name", "date_of_birth", "postcode", "nhs_number")
        ):
            raise forms.ValidationError("Enter a last name, date of birth, postcode or NHS number to search")
        return cleaned


class PersonFieldsMixin(forms.Form):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    date_of_birth = date_field("Date of birth", required=False, help_text="Leave blank for an unborn child")
    expected_date_of_birth = date_field("Expected date of birth (unborn child)", required=False)
    sex = forms.ChoiceField(choices=codes.SEXES, initial="U")
    ethnicity = forms.ChoiceField(choices=codes.ETHNICITIES, initial="NOBT")
    language = forms.CharField(max_length=60, required=False)
    nhs_number = forms.CharField(label="NHS number", max_length=14, required=False)
    upn = forms.CharField(label="Unique Pupil Number", max_length=13, required=False)

    def clean_nhs_number(self):
        value = self.cleaned_data.get("nhs_number", "")
        if value:
            validate_nhs_number(value)
        return normalise_nhs_number(value)

    def clean_upn(self):
        value = (self.cleaned_data.get("upn") or "").strip().upper()
        if value:
            validate_upn(value)
        return value

    def __init__(self, *args, now: datetime, **kwargs):
        self.today = london_date(now)  # "today or in the past" is the day the view read the clock
        super().__init__(*args, **kwargs)

    def clean_person(self, cleaned):
        today = self.today
        dob = cleaned.get("date_of_birth")
        edd = cleaned.get("expected_date_of_birth")
        if dob and dob > today:
            self.add_error("date_of_birth", "Date of birth must be today or in the past")
        if dob and dob.year < 1900:
            self.add_error("date_of_birth", "Date of birth must be after 1900")
        if dob and edd:
            self.add_error("expected_date_of_birth", "Give a date of birth or an expected date of birth, not both")
        if edd and edd < today.replace(year=today.year - 1):
            self.add_error("expected_date_of_birth", "An expected date of birth cannot be more than a year ago")

    def person_fields(self) -> dict:
        keys = (
            "first_name",
            "last_name",
            "date_of_birth",
            "expected_date_of_birth",
            "sex",
            "ethnicity",
            "language",
            "nhs_number",
            "upn",
        )
        return {k: self.cleaned_data.get(k) or (None if "date" in k else "") for k in keys}


class NewFamilyForm(SafeTextMixin, PersonFieldsMixin, GdsForm):
    """A new household with the first child the contact is about."""

    family_name = forms.CharField(label="Household name", max_length=200, help_text="For example, the Okafor household")
    address_line_1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line_2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    town = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(max_length=10, required=False)
    address_confidential = forms.BooleanField(
        label="The address is confidential (for example, the family is fleeing domestic abuse)", required=False
    )
    family_language = forms.CharField(label="Family's main language", max_length=60, required=False, initial="English")
    duplicate_reason = forms.CharField(
        label="Why is none of the possible matches this family?",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].label = "Child's first name"
        self.fields["last_name"].label = "Child's last name"
        self.matches: list[dict] = []

    def clean_postcode(self):
        value = (self.cleaned_data.get("postcode") or "").strip()
        if value:
            validate_postcode(value)
        return value

    def clean(self):
        cleaned = super().clean()
        self.clean_person(cleaned)
        # Looked for again from what was submitted: whether the page showed matches is not taken on trust.
        self.matches = selectors.find_matches(
            first_name=cleaned.get("first_name") or "",
            last_name=cleaned.get("last_name") or "",
            date_of_birth=cleaned.get("date_of_birth"),
            postcode=cleaned.get("postcode") or "",
            nhs_number=cleaned.get("nhs_number") or "",
        )
        if self.matches and not (cleaned.get("duplicate_reason") or "").strip():
            self.add_error(
                "duplicate_reason",
                "Possible matches were found: say why none of them is this family, or record the contact against one",
            )
        return cleaned


class PersonForm(SafeTextMixin, PersonFieldsMixin, GdsForm):
    relationship = forms.ChoiceField(
        choices=[
            ("child", "Child"),
            ("parent", "Parent"),
            ("carer", "Carer"),
            ("sibling", "Sibling (adult)"),
            ("other", "Other household member"),
        ]
    )
    address_confidential = forms.BooleanField(label="This person's address is confidential", required=False)
    address_line_1 = forms.CharField(
        label="Their own address, line 1 (if it is not the family's)", max_length=200, required=False
    )
    address_line_2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    town = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(max_length=10, required=False)

    def clean_postcode(self):
        value = (self.cleaned_data.get("postcode") or "").strip()
        if value:
            validate_postcode(value)
        return normalise_postcode(value) if value else value

    def clean(self):
        cleaned = super().clean()
        self.clean_person(cleaned)
        return cleaned


class PersonAddressForm(SafeTextMixin, GdsForm):
    """A family member's own address, changed after they were added (blank: they live with the family)."""

    address_confidential = forms.BooleanField(label="This person's address is confidential", required=False)
    address_line_1 = forms.CharField(
        label="Their own address, line 1",
        help_text="Leave the address empty if they live with the family",
        max_length=200,
        required=False,
    )
    address_line_2 = forms.CharField(label="Address line 2 (optional)", max_length=200, required=False)
    town = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(max_length=10, required=False)

    def clean_postcode(self):
        value = (self.cleaned_data.get("postcode") or "").strip()
        if value:
            validate_postcode(value)
        return normalise_postcode(value) if value else value

    def clean(self):
        cleaned = super().clean()
        rest = any(cleaned.get(name) for name in ("address_line_2", "town", "postcode"))
        if rest and not cleaned.get("address_line_1") and "address_line_1" not in self.errors:
            self.add_error("address_line_1", "Enter the first line of their address, or empty the address")
        return cleaned


class AgencyForm(SafeTextMixin, GdsModelForm):
    class Meta:
        from cases.models import AgencyInvolvement

        model = AgencyInvolvement
        fields = ["agency", "contact_name", "role", "phone", "email"]


class ContactForm(SafeTextMixin, GdsForm):
    received_date = date_field("Date received")
    received_time = forms.CharField(label="Time received", max_length=5, help_text="24-hour clock, for example 09:30")
    route = forms.ChoiceField(label="How did it come in?", choices=Contact.Route.choices)
    source = forms.ChoiceField(label="Contact source (DfE code)", choices=codes.CONTACT_SOURCES)
    referrer_agency = forms.CharField(label="Referrer's agency", max_length=200, required=False)
    referrer_name = forms.CharField(label="Referrer's name", max_length=200, required=False)
    referrer_role = forms.CharField(label="Referrer's role", max_length=200, required=False)
    referrer_phone = forms.CharField(label="Referrer's phone", max_length=40, required=False)
    referrer_email = forms.EmailField(label="Referrer's email", required=False)
    subjects = forms.ModelMultipleChoiceField(
        label="Who is the contact about?", queryset=Person.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    presenting_needs = forms.CharField(
        label="Presenting needs",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the referrer is worried about, in their words",
    )
    consent_status = forms.ChoiceField(
        label="Consent to Early Help",
        choices=Consent.Status.choices,
        initial=Consent.Status.NOT_SOUGHT,
        widget=forms.RadioSelect,
    )
    consent_given_by = forms.CharField(label="Consent from whom", max_length=200, required=False)

    def __init__(self, *args, family: Family, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["subjects"].queryset = Person.objects.filter(memberships__family=family).order_by("date_of_birth")
        self.fields["subjects"].label_from_instance = lambda p: format_html(
            "{} {}{}", p.first_name, p.last_name, f", born {p.date_of_birth:%d/%m/%Y}" if p.date_of_birth else ""
        )
        for indicator, label in RiskIndicator.Indicator.choices:
            self.fields[f"risk_{indicator}"] = forms.TypedChoiceField(
                label=label, choices=RiskIndicator.Level.choices, coerce=int, initial=0, required=False
            )
            self.fields[f"risk_{indicator}_note"] = forms.CharField(
                label=f"{label}: note", required=False, max_length=2000
            )

    def clean_received_time(self):
        return parse_time(self.cleaned_data.get("received_time", ""))

    def clean(self):
        cleaned = super().clean()
        day, at = cleaned.get("received_date"), cleaned.get("received_time")
        if day and at:
            received = datetime.combine(day, at, tzinfo=LONDON)
            if received > self.now:
                self.add_error("received_date", "The date and time received must not be in the future")
            cleaned["received_at"] = received
        if cleaned.get("consent_status") == Consent.Status.GIVEN and not cleaned.get("consent_given_by", "").strip():
            self.add_error("consent_given_by", "Say who gave consent")
        return cleaned

    def risks(self) -> dict[str, tuple[int, str]]:
        return {
            indicator: (
                self.cleaned_data.get(f"risk_{indicator}") or 0,
                self.cleaned_data.get(f"risk_{indicator}_note", ""),
            )
            for indicator, _ in RiskIndicator.Indicator.choices
        }

    def referrer(self) -> dict:
        return {
            k: self.cleaned_data.get(k, "")
            for k in ("referrer_agency", "referrer_name", "referrer_role", "referrer_phone", "referrer_email")
        }


class DecisionForm(SafeTextMixin, GdsForm):
    decision = forms.ChoiceField(choices=Contact.Decision.choices, widget=forms.RadioSelect, label="Decision")
    rationale = forms.CharField(
        label="Reason for the decision",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_TEXT,
        error_messages={"required": "Give the reason for the decision"},
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Early Help team (if allocating)")
    meeting_kind = forms.ChoiceField(
        choices=[("", "Choose a meeting")] + list(Meeting.Kind.choices),
        required=False,
        label="Meeting (if taking to a meeting)",
    )
    agency = forms.CharField(label="Agency that agreed to support (single-agency)", max_length=200, required=False)
    # ADR 52: single-agency support led by a registered partner agency's member of staff.
    lead_partner = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Lead professional at a registered partner agency (optional)",
        empty_label="None: the agency named above leads outside this system",
        help_text="They hold the episode in the partner portal; the Early Help team below keeps oversight",
    )
    oversight_team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, label="Early Help team keeping oversight"
    )
    # Rulebook B 4.5: a step-down whose social care assessment is under 3 months old needs no EHA,
    # however the step-down reached Early Help (this page or the step-down page).
    social_care_assessment_date = date_field(
        "Date of the social care assessment (step-downs only)", required=False, help_text="For example, 27 3 2026"
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    # The fields each decision needs, revealed under its radio (GOV.UK conditional reveal).
    REVEALS = {
        Contact.Decision.ALLOCATE: ("team",),
        Contact.Decision.MEETING: ("meeting_kind",),
        Contact.Decision.SINGLE_AGENCY: ("agency", "lead_partner", "oversight_team"),
    }

    def __init__(self, *args, now: datetime, **kwargs):
        self.today = london_date(now)
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.exclude(kind__in=["front_door", "duty"]).order_by("name")
        self.fields["team"].empty_label = "Choose a team"
        self.fields["team"].label = "Early Help team"
        self.fields["oversight_team"].queryset = self.fields["team"].queryset
        self.fields["oversight_team"].empty_label = "Choose a team"
        self.fields["lead_partner"].queryset = selectors.partner_leads_available()
        self.fields["lead_partner"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username}, {u.job_title + ', ' if u.job_title else ''}{u.partner_organisation}"
        )
        self.fields["meeting_kind"].label = "Meeting"
        self.fields["agency"].label = "Agency that agreed to support"
        self.fields["decision"].error_messages["required"] = "Choose a decision"
        self.helper.layout = Layout(
            ConditionalRadios(
                "decision",
                *(
                    ConditionalQuestion(label, *self.REVEALS[value]) if value in self.REVEALS else label
                    for value, label in Contact.Decision.choices
                ),
            ),
            "rationale",
            "social_care_assessment_date",
            "version",
        )

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if decision == Contact.Decision.ALLOCATE and not cleaned.get("team"):
            self.add_error("team", "Choose the Early Help team to allocate to")
        if decision == Contact.Decision.MEETING and not cleaned.get("meeting_kind"):
            self.add_error("meeting_kind", "Choose the meeting: NAM, MAAM or ICDM")
        if decision == Contact.Decision.SINGLE_AGENCY:
            if cleaned.get("lead_partner"):
                if not cleaned.get("oversight_team"):
                    self.add_error("oversight_team", "Choose the Early Help team that keeps oversight")
            elif not (cleaned.get("agency") or "").strip():
                self.add_error(
                    "agency", "Name the agency that agreed to support the family, or choose its lead professional"
                )
        assessed = cleaned.get("social_care_assessment_date")
        if assessed and assessed > self.today:
            self.add_error("social_care_assessment_date", "The date must be today or in the past")
        return cleaned


class ReferralSentForm(SafeTextMixin, GdsForm):
    """A3: when the referral was actually sent to the team (defaults to now on the page)."""

    sent_date = date_field("Date sent")
    sent_time = forms.CharField(label="Time sent", max_length=5, help_text="24-hour clock, for example 16:05")

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_sent_time(self):
        return parse_time(self.cleaned_data.get("sent_time", ""))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sent_date") and cleaned.get("sent_time"):
            sent = datetime.combine(cleaned["sent_date"], cleaned["sent_time"], tzinfo=LONDON)
            if sent > self.now:
                self.add_error("sent_date", "The date and time sent must not be in the future")
            cleaned["sent_at"] = sent
        return cleaned


class CommunicationForm(SafeTextMixin, GdsForm):
    # The referral to the team is its own step on the contact page (A3), not a free choice here.
    kind = forms.ChoiceField(
        choices=[c for c in Communication.Kind.choices if c[0] != Communication.Kind.REFERRAL_TO_TEAM],
        label="What was sent",
    )
    recipient = forms.CharField(max_length=200, label="To whom")
    method = forms.ChoiceField(choices=Communication.Method.choices, label="How")
    sent_date = date_field("Date sent")
    sent_time = forms.CharField(label="Time sent", max_length=5, help_text="24-hour clock, for example 16:05")
    summary = forms.CharField(required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_sent_time(self):
        return parse_time(self.cleaned_data.get("sent_time", ""))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("sent_date") and cleaned.get("sent_time"):
            sent = datetime.combine(cleaned["sent_date"], cleaned["sent_time"], tzinfo=LONDON)
            if sent > self.now:
                self.add_error("sent_date", "The date and time sent must not be in the future")
            cleaned["sent_at"] = sent
        return cleaned


class ConsentForm(SafeTextMixin, GdsForm):
    purpose = forms.ChoiceField(choices=Consent.Purpose.choices, widget=forms.RadioSelect)
    agency = forms.CharField(label="Agency (when consent is to share)", max_length=200, required=False)
    status = forms.ChoiceField(choices=Consent.Status.choices, widget=forms.RadioSelect)
    given_by_name = forms.CharField(label="From whom", max_length=200)
    recorded_on = date_field("Date")

    def __init__(self, *args, now: datetime, **kwargs):
        self.today = london_date(now)
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("purpose") == Consent.Purpose.SHARE and not (cleaned.get("agency") or "").strip():
            self.add_error("agency", "Name the agency the family agreed to share with")
        if cleaned.get("recorded_on") and cleaned["recorded_on"] > self.today:
            self.add_error("recorded_on", "The date must be today or in the past")
        return cleaned


class MeetingForm(SafeTextMixin, GdsForm):
    kind = forms.ChoiceField(choices=Meeting.Kind.choices, widget=forms.RadioSelect, label="Type of meeting")
    date = date_field("Date")
    start_time = forms.CharField(label="Start time", max_length=5, help_text="24-hour clock, for example 10:00")
    location = forms.CharField(max_length=200, required=False)
    attendees = forms.CharField(
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line: name and agency",
    )
    invited_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Teams invited",
        help_text="Their team leaders and their service's managers will see the meeting and its agenda",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invited_teams"].queryset = Team.objects.exclude(kind="front_door").order_by("name")

    def clean_start_time(self):
        return parse_time(self.cleaned_data.get("start_time", ""))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("start_time"):
            cleaned["scheduled_for"] = datetime.combine(cleaned["date"], cleaned["start_time"], tzinfo=LONDON)
        return cleaned


class MeetingOutcomeForm(SafeTextMixin, GdsForm):
    outcome = forms.ChoiceField(choices=MeetingItem.Outcome.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give the reason for the outcome"},
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Early Help team (if allocating)")
    agency = forms.CharField(label="Agency (single-agency support)", max_length=200, required=False)
    # The meeting's clocks (B5, B6) run from when it was held, not from when this is typed.
    held_time = forms.CharField(
        label="Time the meeting was held",
        max_length=5,
        required=False,
        help_text="24-hour clock, for example 09:00. Leave blank if it started at its scheduled time",
    )

    def __init__(self, *args, teams=None, **kwargs):
        # `teams`: the teams this user may allocate to (cases.selectors.teams_allocatable_by).
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == MeetingItem.Outcome.ALLOCATE and not cleaned.get("team"):
            self.add_error("team", "Choose the Early Help team to allocate to")
        if cleaned.get("outcome") == MeetingItem.Outcome.SINGLE_AGENCY and not (cleaned.get("agency") or "").strip():
            self.add_error("agency", "Name the agency that agreed to support the family")
        return cleaned

    def clean_held_time(self):
        value = (self.cleaned_data.get("held_time") or "").strip()
        return parse_time(value) if value else None

    def held_at(self, meeting: Meeting) -> datetime | None:
        """The held time typed, on the meeting's own day; None to use the scheduled time."""
        held = self.cleaned_data.get("held_time")
        if held is None:
            return None
        day = timezone.localtime(meeting.scheduled_for).date()
        return datetime.combine(day, held, tzinfo=LONDON)


class SearchForm(SafeTextMixin, GdsForm):
    q = forms.CharField(
        label="Name, date of birth, postcode, NHS number or UPN",
        max_length=100,
        help_text="For example: Jordan Smith, 14/03/2015, AB1 2CD, 943 476 5919",
        error_messages={"required": "Enter a name, date of birth, postcode, NHS number or UPN"},
    )


class StepDownSearchForm(SearchForm):
    """The family a social care team steps down, found by a child's details."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Child's name, date of birth, postcode or NHS number"
        self.fields["q"].error_messages["required"] = "Enter a child's name, date of birth, postcode or NHS number"


class BreakGlassForm(SafeTextMixin, GdsForm):
    reference = forms.CharField(label="Family reference", max_length=20, help_text="For example, F0001234")
    reason = forms.CharField(
        label="Why do you need to see this record now?",
        min_length=20,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your reason is logged and shown to managers.",
        error_messages={"min_length": "Give a fuller reason (at least 20 characters)", "required": "Give a reason"},
    )

    def clean_reference(self):
        value = self.cleaned_data["reference"].strip().upper()
        match = re.fullmatch(r"F?0*(\d{1,12})", value)
        if not match:
            raise forms.ValidationError("Enter a family reference, like F0001234")
        self.cleaned_data["family_pk"] = int(match.group(1))
        return value

    def clean(self):
        cleaned = super().clean()
        if "family_pk" in self.cleaned_data:
            cleaned["family_pk"] = self.cleaned_data["family_pk"]
        return cleaned
