"""Forms for signing in and managing your account, with GOV.UK-style error messages."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from safestats.accounts.models import Role, UserStatus


class SignInForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password"},
    )


class SecurityCodeForm(forms.Form):
    code = forms.CharField(
        label="Security code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
        error_messages={"required": "Enter the security code"},
    )


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label="Enter the 6-digit code your app shows",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"required": "Enter the 6-digit code from your authenticator app"},
    )


class AcceptConditionsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    accept = forms.BooleanField(
        label="I have read and accept the Conditions of Use",
        error_messages={"required": "Confirm that you accept the Conditions of Use to continue"},
    )


class RegistrationForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Enter your full name"},
    )
    email = forms.EmailField(
        label="Work email address",
        max_length=254,
        help_text="Your organisation's administrator will be asked to authorise this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your work email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )
    password = forms.CharField(
        label="Create a password",
        strip=False,
        max_length=1000,
        help_text="At least 12 characters. Three or four random words work well.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Create a password"},
    )
    purpose = forms.CharField(
        label="What do you need SafeStats data for?",
        max_length=2000,
        help_text="For example: the annual strategic assessment for the Camden community "
        "safety partnership.",
        widget=forms.Textarea,
        error_messages={"required": "Say what you need SafeStats data for"},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        help_text="The person will see this.",
        widget=forms.Textarea,
        error_messages={"required": "Give a reason"},
    )


class InviteForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=200, error_messages={"required": "Enter their full name"}
    )
    email = forms.EmailField(
        label="Work email address",
        max_length=254,
        error_messages={
            "required": "Enter their work email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        widget=forms.RadioSelect,
        choices=[
            ("analyst", "Analyst"),
            ("data_provider", "Data provider"),
            ("organisation_admin", "Organisation administrator"),
        ],
        error_messages={"required": "Choose a role"},
    )
    purpose = forms.CharField(
        label="What do they need SafeStats data for?",
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"required": "Say what they need SafeStats data for"},
    )


class UserFilterForm(forms.Form):
    """The platform administrator's filters of the users list; every one is optional."""

    organisation = forms.TypedChoiceField(
        label="Organisation", required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(label="Status", required=False)
    role = forms.ChoiceField(label="Role", required=False)

    def __init__(self, *args: Any, organisations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[Any, str]]] = {
            "organisation": [("", "Any organisation"), *organisations],
            "status": [("", "Any status"), *UserStatus.choices],
            "role": [("", "Any role"), *Role.choices],
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label="Role",
        widget=forms.RadioSelect,
        choices=Role.choices,
        error_messages={"required": "Choose a role", "invalid_choice": "Choose a role"},
    )


class ConditionsForm(forms.Form):
    """A new version of the Conditions of Use."""

    title = forms.CharField(
        label="Title",
        max_length=200,
        initial="SafeStats Conditions of Use",
        error_messages={"required": "Enter the title"},
    )
    body = forms.CharField(
        label="Conditions",
        max_length=50000,
        help_text="Plain text. Leave a blank line between paragraphs.",
        widget=forms.Textarea(attrs={"rows": 20}),
        error_messages={"required": "Enter the Conditions of Use"},
    )
