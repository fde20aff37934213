"""Forms for organisations, checklists and agreements, with GOV.UK-style error messages.

The ``safestats`` commands validate their arguments with these forms, and the pages will
too, so a value is refused with the same words wherever it is typed. Forms check the
shape of what was entered; the services check the rules again when they write (the form
may be stale by then) and raise a domain error whose ``field`` names the form field.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings

from safestats.organisations import documents, grants, lifecycle
from safestats.organisations.errors import OrganisationsError
from safestats.organisations.models import (
    AccessLevel,
    ChecklistVersion,
    DataSharingAgreement,
    LegalBasis,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    Precision,
    ReviewOutcome,
)
from safestats.organisations.validators import (
    normalise_dataset_id,
    normalise_domain,
    normalise_field_names,
    normalise_reference,
)

_SEPARATORS = re.compile(r"[\s,;]+")
PDF_ACCEPT = ".pdf,application/pdf"


def split_list(text: str) -> list[str]:
    """Items typed one per line or separated by commas, spaces or semicolons."""
    return [item for item in _SEPARATORS.split(text) if item]


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the service's time zone (Europe/London): the
    instant an agreement dated that day starts, or the instant after its last day."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _error(exc: OrganisationsError) -> forms.ValidationError:
    return forms.ValidationError(exc.message)


def _choice(message: str) -> dict[str, str]:
    return {"required": message, "invalid_choice": message}


class OrganisationForm(forms.Form):
    """An organisation's details. Without ``organisation`` it registers a new one and asks
    for its email domains; with one, it edits that organisation's details."""

    name = forms.CharField(
        label="Name of the organisation",
        max_length=200,
        error_messages={
            "required": "Enter the name of the organisation",
            "max_length": "Name of the organisation must be 200 characters or fewer",
        },
    )
    type = forms.ChoiceField(
        label="Type of organisation",
        choices=OrganisationType.choices,
        widget=forms.RadioSelect,
        error_messages=_choice("Select the type of organisation"),
    )
    domains = forms.CharField(
        label="Email domains",
        help_text=(
            "The part of your staff's email addresses after the @, like camden.gov.uk. "
            "One per line. Subdomains are not included unless you list them."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter at least one email domain your staff have addresses at"},
    )
    contact_name = forms.CharField(label="Contact name", max_length=200, required=False)
    contact_email = forms.EmailField(
        label="Contact email address",
        required=False,
        error_messages={
            "invalid": "Enter an email address in the correct format, like name@example.org"
        },
    )
    contact_phone = forms.CharField(
        label="Contact telephone number",
        max_length=40,
        required=False,
        error_messages={"max_length": "Contact telephone number must be 40 characters or fewer"},
    )

    def __init__(self, *args: Any, organisation: Organisation | None = None, **kwargs: Any):
        self.organisation = organisation
        if organisation is not None:
            kwargs.setdefault(
                "initial",
                {
                    field: getattr(organisation, field)
                    for field in ("name", "type", "contact_name", "contact_email", "contact_phone")
                },
            )
        super().__init__(*args, **kwargs)
        if organisation is not None:
            del self.fields["domains"]

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        others = Organisation.objects.filter(name__iexact=name)
        if self.organisation is not None:
            others = others.exclude(pk=self.organisation.pk)
        taken = others.first()
        if taken is not None:
            raise forms.ValidationError(f"There is already an organisation called {taken.name}")
        return name

    def clean_domains(self) -> list[str]:
        domains: list[str] = []
        for item in split_list(self.cleaned_data["domains"]):
            try:
                domain = normalise_domain(item)
            except OrganisationsError as exc:
                raise _error(exc) from exc
            if domain not in domains:
                domains.append(domain)
        if not domains:
            raise forms.ValidationError(
                "Enter at least one email domain your staff have addresses at"
            )
        taken = OrganisationDomain.objects.filter(domain__in=domains).select_related("organisation")
        for row in taken:
            raise forms.ValidationError(
                f"{row.domain} is already an email domain of {row.organisation.name}"
            )
        return domains


class DomainForm(forms.Form):
    """One more email domain for an organisation."""

    domain = forms.CharField(
        label="Email domain",
        max_length=253,
        help_text="The part of the email address after the @, like camden.gov.uk.",
        error_messages={"required": "Enter the email domain"},
    )

    def clean_domain(self) -> str:
        try:
            return normalise_domain(self.cleaned_data["domain"])
        except OrganisationsError as exc:
            raise _error(exc) from exc


class TransitionForm(forms.Form):
    """A change of an organisation's status. A page offers the steps in ``allowed``; any
    other status is refused in words ("An organisation that is withdrawn cannot be
    approved")."""

    to = forms.ChoiceField(
        label="New status",
        choices=OrganisationStatus.choices,
        widget=forms.RadioSelect,
        error_messages=_choice("Select the new status"),
    )
    reason = forms.CharField(label="Reason", widget=forms.Textarea, required=False)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.allowed = [t.target for t in lifecycle.ORGANISATION.targets_from(organisation.status)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        to = cleaned.get("to")
        if not to:
            return cleaned
        try:
            step = lifecycle.ORGANISATION.step(self.organisation.status, to)
        except OrganisationsError as exc:
            self.add_error("to", exc.message.rstrip("."))
            return cleaned
        if step.reason_required and not (cleaned.get("reason") or "").strip():
            self.add_error(
                "reason",
                f"Enter the reason the organisation is being {lifecycle.ORGANISATION.verb(step)}",
            )
        return cleaned


class ChecklistAnswersForm(forms.Form):
    """An organisation's answers to one version of the security audit checklist: yes or
    no to each question, and the evidence for each yes."""

    def __init__(self, *args: Any, version: ChecklistVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        for question in version.questions:
            self.fields[f"{question['id']}_answer"] = forms.ChoiceField(
                label=question["text"],
                help_text=question.get("guidance", ""),
                choices=[("yes", "Yes"), ("no", "No")],
                widget=forms.RadioSelect,
                error_messages=_choice(f'Select yes or no for "{question["text"]}"'),
            )
            self.fields[f"{question['id']}_evidence"] = forms.CharField(
                label="Evidence", widget=forms.Textarea(attrs={"rows": 3}), required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for question in self.version.questions:
            answer = cleaned.get(f"{question['id']}_answer")
            evidence = (cleaned.get(f"{question['id']}_evidence") or "").strip()
            if answer == "yes" and not evidence:
                self.add_error(
                    f"{question['id']}_evidence",
                    f'Enter the evidence for your answer to "{question["text"]}"',
                )
        return cleaned

    def answers(self) -> dict[str, dict[str, str]]:
        """The answers in the form :func:`services.submit_checklist_response` takes."""
        return {
            question["id"]: {
                "answer": self.cleaned_data[f"{question['id']}_answer"],
                "evidence": (self.cleaned_data.get(f"{question['id']}_evidence") or "").strip(),
            }
            for question in self.version.questions
        }


class ChecklistReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=ReviewOutcome.choices,
        widget=forms.RadioSelect,
        error_messages=_choice("Select whether to sign off the answers or return them"),
    )
    note = forms.CharField(label="Note", widget=forms.Textarea, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("outcome") == ReviewOutcome.RETURNED and not cleaned.get("note", "").strip():
            self.add_error("note", "Enter a note saying what the organisation needs to change")
        return cleaned


def _date_errors(what: str) -> dict[str, str]:
    return {
        "required": f"Enter the {what}",
        "invalid": f"The {what} must be a real date, like 2025-04-01",
    }


class AgreementForm(forms.Form):
    """A Data Sharing Agreement. Dates are whole days in London time: it is in force from
    the start of ``first_day`` to the end of ``last_day``; ``cleaned_data`` then holds
    the exact instants as ``valid_from`` and ``valid_to`` (the first instant after)."""

    reference = forms.CharField(
        label="Reference", max_length=64, error_messages={"required": "Enter the reference"}
    )
    legal_basis = forms.ChoiceField(
        label="Legal basis",
        choices=LegalBasis.choices,
        widget=forms.RadioSelect,
        error_messages=_choice("Select the legal basis for sharing"),
    )
    legal_basis_other = forms.CharField(label="Other legal basis", required=False)
    purpose = forms.CharField(
        label="Purpose",
        widget=forms.Textarea,
        error_messages={"required": "Enter the purpose the data is shared for"},
    )
    first_day = forms.DateField(
        label="First day in force",
        help_text="For example, 2025-04-01",
        error_messages=_date_errors("first day in force"),
    )
    last_day = forms.DateField(
        label="Last day in force",
        help_text="For example, 2026-03-31",
        error_messages=_date_errors("last day in force"),
    )
    document = forms.FileField(
        label="Signed agreement (PDF)",
        required=False,
        help_text=f"A PDF smaller than {documents.MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
        widget=forms.FileInput(attrs={"accept": PDF_ACCEPT}),
    )

    def clean_reference(self) -> str:
        try:
            reference = normalise_reference(self.cleaned_data["reference"])
        except OrganisationsError as exc:
            raise _error(exc) from exc
        taken = DataSharingAgreement.objects.filter(reference__iexact=reference).first()
        if taken is not None:
            raise forms.ValidationError(f"There is already an agreement {taken.reference}")
        return reference

    def clean_document(self) -> Any:
        upload = self.cleaned_data.get("document")
        if upload:
            try:
                documents.check_upload(upload)
            except OrganisationsError as exc:
                raise _error(exc) from exc
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("legal_basis") == LegalBasis.OTHER
            and not (cleaned.get("legal_basis_other") or "").strip()
        ):
            self.add_error("legal_basis_other", "Enter the legal basis for sharing")
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first and last:
            if last < first:
                self.add_error(
                    "last_day", "The last day in force must be the same as or after the first day"
                )
            else:
                cleaned["valid_from"] = start_of_day(first)
                cleaned["valid_to"] = start_of_day(date.fromordinal(last.toordinal() + 1))
        return cleaned


class DocumentForm(forms.Form):
    document = forms.FileField(
        label="Signed agreement (PDF)",
        help_text=f"A PDF smaller than {documents.MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
        widget=forms.FileInput(attrs={"accept": PDF_ACCEPT}),
        error_messages={"required": "Select the signed agreement"},
    )

    def clean_document(self) -> Any:
        upload = self.cleaned_data["document"]
        try:
            documents.check_upload(upload)
        except OrganisationsError as exc:
            raise _error(exc) from exc
        return upload


class GrantForm(forms.Form):
    """One dataset an agreement grants. The precision is the finest allowed; output may
    always be coarser."""

    dataset_id = forms.CharField(
        label="Dataset", max_length=64, error_messages={"required": "Enter the dataset id"}
    )
    access_level = forms.ChoiceField(
        label="Access level",
        choices=AccessLevel.choices,
        widget=forms.RadioSelect,
        error_messages=_choice("Select the access level: aggregate or record"),
    )
    precision = forms.ChoiceField(
        label="Finest spatial precision",
        choices=Precision.choices,
        initial=grants.BOROUGH,
        error_messages=_choice("Select the finest spatial precision allowed"),
    )
    withheld_fields = forms.CharField(
        label="Fields withheld",
        help_text="Field names, one per line, like date_of_birth.",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def clean_dataset_id(self) -> str:
        try:
            return normalise_dataset_id(self.cleaned_data["dataset_id"])
        except OrganisationsError as exc:
            raise _error(exc) from exc

    def clean_withheld_fields(self) -> list[str]:
        try:
            return normalise_field_names(split_list(self.cleaned_data.get("withheld_fields", "")))
        except OrganisationsError as exc:
            raise _error(exc) from exc


class ReasonForm(forms.Form):
    """The reason for revoking an agreement (or another step that needs one)."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea,
        error_messages={"required": "Enter the reason"},
    )
