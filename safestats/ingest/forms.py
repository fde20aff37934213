"""The forms of the ingestion pages: sending files to load into a dataset, and choosing the
organisations that provide a dataset. They check the shape of what was entered; the
services check the rules again when they act."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from safestats.ingest import services
from safestats.ingest.uploads import too_large_message

FILE_ACCEPT = ".csv,.tsv,.txt,.xlsx"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files from one ``<input type=file multiple>``."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


def tolerance_words(value: Decimal) -> str:
    return f"{value.normalize():f}%"


class UploadForm(forms.Form):
    dataset = forms.ChoiceField(
        label="Dataset",
        help_text="The dataset the file holds data for.",
        error_messages={
            "required": "Choose the dataset the file is for",
            "invalid_choice": "You cannot load data into that dataset: choose one your "
            "organisation provides",
        },
    )
    data_files = MultipleFileField(
        allow_empty_file=True,  # refused below, naming the file
        label="Files to load",
        widget=MultipleFileInput(attrs={"accept": FILE_ACCEPT}),
        error_messages={
            "required": "Choose at least one file to load",
            "invalid": "Choose a file to load",
        },
    )
    tolerance = forms.CharField(
        label="Error tolerance, as a percentage (optional)",
        required=False,
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(
        self,
        *args: Any,
        datasets: list[tuple[str, str]],
        too_large: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.default_tolerance = services.default_tolerance()
        kwargs.setdefault("initial", {"tolerance": f"{self.default_tolerance.normalize():f}"})
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        if too_large is not None:  # the files were dropped: say why, not that none came
            self.fields["data_files"].required = False
        cast(forms.ChoiceField, self.fields["dataset"]).choices = [
            ("", "Choose a dataset"),
            *datasets,
        ]
        self.fields["data_files"].help_text = (
            "CSV (any common encoding and separator) or Excel (.xlsx). You can choose up to "
            f"{services.MAX_FILES_PER_JOB} files for the same dataset; each may be up to "
            f"{settings.SAFESTATS_MAX_UPLOAD_MB:,} MB."
        )
        self.fields["tolerance"].help_text = (
            "If more than this share of the rows have problems, nothing is published. Rows "
            "with problems below it are set aside (quarantined) and the rest published. "
            f"The usual tolerance is {tolerance_words(self.default_tolerance)}."
        )

    def clean_data_files(self) -> list[UploadedFile]:
        if self.too_large is not None:
            raise forms.ValidationError(too_large_message(self.too_large))
        files: list[UploadedFile] = self.cleaned_data.get("data_files") or []
        if len(files) > services.MAX_FILES_PER_JOB:
            raise forms.ValidationError(
                f"Choose at most {services.MAX_FILES_PER_JOB} files at a time"
            )
        for upload in files:
            if not upload.size:
                raise forms.ValidationError(f"{upload.name} is empty: choose a file with data")
        return files

    def clean_tolerance(self) -> Decimal | None:
        text = (self.cleaned_data.get("tolerance") or "").strip().removesuffix("%").strip()
        if not text:
            return None
        message = "Enter the error tolerance as a number from 0 to 100, like 2.5"
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(message) from None
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
            raise forms.ValidationError(message)
        if value != value.quantize(Decimal("0.01")):
            raise forms.ValidationError("Enter the error tolerance with at most 2 decimal places")
        return value.quantize(Decimal("0.01"))


class ProvidersForm(forms.Form):
    organisations = forms.TypedMultipleChoiceField(
        label="Organisations whose data providers may load this dataset",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only organisations from the list"},
    )

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["organisations"]).choices = choices
