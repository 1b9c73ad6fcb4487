from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import Team, User
from accounts.roles import ALL_ROLES
from accounts.services import REASON_MIN_LENGTH
from kit.forms import SafeTextMixin, gds_helper, name_empty_choices


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. Both are case-sensitive.",
        "inactive": "This account has been deactivated. Ask an administrator if you need access.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"
        self.helper = gds_helper()


class UserForm(SafeTextMixin, forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=[(name, name) for name in ALL_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="A member of staff may hold more than one role.",
    )
    new_password = forms.CharField(
        label="Password",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="At least 12 characters. Leave blank to keep the current password.",
    )
    # The account's version when the page was opened (ADR 0004): a concurrent save is not overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "job_title",
            "team",
            "service",
            "working_pattern",
            "caseload_capacity_override",
            "is_active",
        ]
        labels = {
            "caseload_capacity_override": "Agreed caseload capacity (families)",
            "is_active": "Account is active (clear this when someone leaves)",
        }
        help_texts = {"caseload_capacity_override": "Leave blank for the default: 20 full-time, 10 part-time."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        if self.instance.pk:
            self.fields["roles"].initial = sorted(self.instance.role_names)
            self.fields["version"].initial = self.instance.version
        else:
            self.fields["new_password"].required = True
            self.fields["new_password"].help_text = "At least 12 characters."
        self.helper = gds_helper()
        name_empty_choices(self)

    def clean_new_password(self):
        password = self.cleaned_data.get("new_password")
        if password:
            password_validation.validate_password(password, self.instance)
        return password


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        help_text="The 6-digit code, for example 123456",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}),
        error_messages={"required": "Enter the 6-digit code from your authenticator app"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not token.isdigit() or len(token) != 6:
            raise forms.ValidationError("Enter the 6 digits of the code, with no letters")
        return token


class TwoFactorResetForm(SafeTextMixin, forms.Form):
    reason = forms.CharField(
        label="Why are you resetting this person's two-factor sign-in?",
        min_length=REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, a lost or replaced phone and how they asked. Your reason is recorded and "
        "emailed to the account's owner.",
        error_messages={
            "required": "Give a reason",
            "min_length": f"Give a fuller reason (at least {REASON_MIN_LENGTH} characters)",
            "max_length": "The reason must be 2000 characters or fewer",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label="Enrolment code",
        max_length=40,
        help_text="From the email or link an administrator sent you, for example ABCD-EFGH-JKLM-NPQR",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": "Enter your enrolment code",
            "max_length": "Enter the enrolment code exactly as you were given it",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = gds_helper()
