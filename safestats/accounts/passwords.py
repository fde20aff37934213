"""Password rules beyond Django's: refuse the patterns that breach corpora are full of.

Django's validators already refuse short, common (20,000 most common), all-numeric and
too-user-like passwords. This one refuses what those miss: the service's own name,
keyboard runs, one character repeated, and a common word with digits and symbols
stuck on the end ("Password2024!", "Welcome123#").
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

KEYBOARD_RUNS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "abcdefghijklmnopqrstuvwxyz")
SERVICE_WORDS = ("safestats", "safe stats")


def _has_run(text: str, length: int = 5) -> bool:
    for row in KEYBOARD_RUNS:
        for start in range(len(row) - length + 1):
            run = row[start : start + length]
            if run in text or run[::-1] in text:
                return True
    return False


class PatternPasswordValidator:
    def __init__(self) -> None:
        self._common = CommonPasswordValidator().passwords

    def validate(self, password: str, user: Any = None) -> None:
        lowered = password.lower()
        if any(word in lowered for word in SERVICE_WORDS):
            raise ValidationError(
                "Your password must not contain the name of this service.",
                code="password_service_name",
            )
        if re.fullmatch(r"(.)\1*", password) or len(set(password)) < 4:
            raise ValidationError(
                "Your password must use more than a few different characters.",
                code="password_repetitive",
            )
        if _has_run(lowered):
            raise ValidationError(
                "Your password must not contain a run of keys or letters such as qwerty or 12345.",
                code="password_keyboard_run",
            )
        stem = re.sub(r"[\d\W_]+$", "", lowered)
        stem = re.sub(r"^[\d\W_]+", "", stem)
        if stem != lowered and (stem in self._common or len(stem) < 4):
            raise ValidationError(
                "Your password is a common word with numbers or symbols added, which is "
                "easy to guess. Try three or four random words instead.",
                code="password_common_pattern",
            )

    def get_help_text(self) -> str:
        return (
            "Your password must not contain this service's name, a run of keys such as "
            "qwerty, or a common word with numbers added."
        )
