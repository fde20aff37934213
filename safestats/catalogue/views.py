"""The catalogue pages: every dataset with the user's access to it, one dataset's data
dictionary, and the page where platform administrators add a dataset from a spec."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from safestats.accounts.decorators import role_required
from safestats.accounts.models import Role
from safestats.accounts.services import signed_in_user
from safestats.catalogue import selectors, services
from safestats.catalogue.errors import CatalogueError, StepNotAllowed
from safestats.catalogue.forms import SpecForm
from safestats.catalogue.loading import SpecError
from safestats.catalogue.spec import Bands, Groups, describe_disclosure
from safestats.web.refusals import refused


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(
        request,
        "catalogue/index.html",
        {
            "entries": selectors.catalogue_for(user, request=request),
            "can_add": user.role == Role.PLATFORM_ADMIN,
        },
    )


@require_safe
def dataset(request: HttpRequest, dataset_id: str) -> HttpResponse:
    user = signed_in_user(request)
    found = selectors.dataset_by_id(dataset_id)
    if found is None:
        raise Http404("No such dataset")
    spec = found.parsed_spec()
    decision = selectors.access_to(user, found.pk, request=request)
    withheld = set(decision.withheld_fields) if decision.allowed else set()
    administers = user.role == Role.PLATFORM_ADMIN
    fields = []
    for field in spec.fields:
        bands = field.generalise.labels() if isinstance(field.generalise, Bands) else []
        groups = field.generalise.groups if isinstance(field.generalise, Groups) else {}
        codes = spec.code_values(field)
        reference = ""
        if codes is None and field.codes is not None:
            named = getattr(field.codes, "named", "")
            code_list = spec.code_lists.get(named)
            reference = code_list.reference or "" if code_list else ""
        fields.append(
            {
                "spec": field,
                "codes": codes or [],
                "reference": reference,
                "bands": bands,
                "groups": groups,
                "withheld": field.name in withheld,
                "role": field.role.replace("_", " ").capitalize(),
            }
        )
    return render(
        request,
        "catalogue/dataset.html",
        {
            "dataset": found,
            "spec": spec,
            "fields": fields,
            "decision": decision,
            "disclosure": describe_disclosure(spec.disclosure),
            "versions": selectors.data_versions(found),
            "spec_history": selectors.spec_history(found),
            "administers": administers,
            "providers": list(found.provider_organisations.order_by("name")) if administers else [],
            "rollback_targets": selectors.rollback_targets(found) if administers else set(),
        },
    )


@role_required(Role.PLATFORM_ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def add_dataset(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = SpecForm(request.POST if request.method == "POST" else None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            added = services.add_dataset(text=form.cleaned_data["spec"], by=user, request=request)
        except SpecError as error:
            problems = [
                (f"Line {p.line}: " if p.line else "")
                + (f"{p.path}: " if p.path else "")
                + p.message
                for p in error.problems
            ]
        except CatalogueError as error:
            problems = [error.message]
        else:
            return redirect("catalogue:dataset", dataset_id=added.pk)
        for problem in problems:
            form.add_error("spec", problem)
    return render(request, "catalogue/new.html", {"form": form})


@role_required(Role.PLATFORM_ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def rollback(request: HttpRequest, dataset_id: str, number: int) -> HttpResponse:
    """Confirm, then roll ``dataset_id`` back to its version ``number``. The dataset page's
    button posts here without ``confirm`` and is shown this page; its own button confirms."""
    found = selectors.dataset_by_id(dataset_id)
    version = found.versions.filter(number=number).first() if found else None
    if found is None or version is None:
        raise Http404("No such version")
    back = reverse("catalogue:dataset", args=[found.pk])
    back_text = f"Back to {found.title}"
    if number not in selectors.rollback_targets(found):
        current = found.current_version
        return refused(
            request,
            f"{found.title} cannot be rolled back to version {number}: only a published "
            "version older than the current one"
            + (f" (version {current.number})" if current else "")
            + " can be made current again.",
            back_url=back,
            back_text=back_text,
        )
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        leaving = found.current_version
        try:
            services.rollback_to(
                dataset=found, version=version, by=signed_in_user(request), request=request
            )
        except StepNotAllowed as error:
            return refused(request, error.message, back_url=back, back_text=back_text)
        messages.success(
            request,
            f"{found.title} is back at version {number}. Version "
            f"{leaving.number if leaving else '?'} is marked rolled back and cannot be made "
            "current again.",
        )
        return redirect(back)
    return render(
        request,
        "catalogue/rollback.html",
        {"dataset": found, "version": version, "current": found.current_version},
    )
