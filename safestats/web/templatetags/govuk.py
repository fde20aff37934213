"""Template tags that render Django forms in GOV.UK Design System markup."""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()

INPUT_TYPES = {
    forms.EmailInput: "email",
    forms.PasswordInput: "password",
    forms.NumberInput: "text",  # GOV.UK: numbers in text inputs with inputmode
    forms.TextInput: "text",
    forms.URLInput: "url",
}


@register.inclusion_tag("web/includes/field.html")
def govuk_field(field: forms.BoundField, **options: Any) -> dict[str, Any]:
    widget = field.field.widget
    kind = "input"
    if isinstance(widget, forms.Textarea):
        kind = "textarea"
    elif isinstance(widget, forms.CheckboxInput):
        kind = "checkbox"
    elif isinstance(widget, forms.RadioSelect):
        kind = "radios"
    elif isinstance(widget, forms.Select):
        kind = "select"
    elif isinstance(widget, forms.FileInput):
        kind = "file"
    input_type = next((t for cls, t in INPUT_TYPES.items() if isinstance(widget, cls)), "text")
    return {
        "field": field,
        "kind": kind,
        "input_type": input_type,
        "value": field.value() if input_type != "password" else "",
        "autocomplete": widget.attrs.get("autocomplete", ""),
        "inputmode": widget.attrs.get("inputmode", ""),
        "width": options.get("width", ""),
        "label_size": options.get("label_size", ""),
        "is_page_heading": options.get("heading", False),
    }


@register.inclusion_tag("web/includes/error_summary.html")
def govuk_error_summary(form: forms.BaseForm) -> dict[str, Any]:
    errors: list[tuple[str, str]] = []
    for error in form.non_field_errors():
        errors.append(("", str(error)))
    for field in form:
        # A group of radios has no element with the field's own id: link to the first.
        target = str(field.auto_id) + (
            "_0" if isinstance(field.field.widget, forms.RadioSelect) else ""
        )
        for error in field.errors:
            errors.append((target, str(error)))
    return {"errors": errors}
