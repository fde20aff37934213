"""Values every page template needs: the service's name, phase and mode."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def service_values() -> dict[str, Any]:
    return {
        "service_name": settings.SAFESTATS_SERVICE_NAME,
        "service_phase": settings.SAFESTATS_PHASE,
        "service_contact_email": settings.SAFESTATS_CONTACT_EMAIL,
        "is_demo": settings.IS_DEMO,
    }


def service(request: HttpRequest) -> dict[str, Any]:
    return service_values()
