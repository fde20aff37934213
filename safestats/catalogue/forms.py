"""The form a platform administrator adds a dataset with: the spec as YAML text."""

from __future__ import annotations

from django import forms

from safestats.catalogue.loading import MAX_SPEC_CHARACTERS


class SpecForm(forms.Form):
    spec = forms.CharField(
        label="Dataset specification (YAML)",
        help_text=(
            "Write the spec in the same format as the files in safestats/catalogue/specs. "
            "Every problem is listed when you submit it."
        ),
        widget=forms.Textarea(attrs={"spellcheck": "false"}),
        max_length=MAX_SPEC_CHARACTERS,
        strip=False,
        error_messages={"required": "Enter the dataset's specification"},
    )
