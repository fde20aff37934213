"""How pages show a request a service refused: the service's own message, as an error on
the form that asked (so the person can correct it), or, for a button with no form to
correct, a "That change was not made" page with status 409. Never a traceback."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def refused(request: HttpRequest, message: str, *, back_url: str, back_text: str) -> HttpResponse:
    return render(
        request,
        "web/platform/refused.html",
        {"message": message, "back_url": back_url, "back_text": back_text},
        status=409,
    )


def add_refusal(
    form: forms.BaseForm, message: str, *, field: str | None = None, default: str | None = None
) -> None:
    """Show ``message`` on ``field`` when the form has it, else on ``default`` (the field
    the refusal is most about), else above the form."""
    if field in form.fields:
        form.add_error(field, message)
    elif default in form.fields:
        form.add_error(default, message)
    else:
        form.add_error(None, message)
