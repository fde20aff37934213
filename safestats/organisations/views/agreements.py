"""Data Sharing Agreements: the list, drafting one for an organisation, one agreement's
page, its signed PDF (upload and download), the datasets it grants, activation and
revocation."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST, require_safe

from safestats.organisations import selectors, services
from safestats.organisations.errors import OrganisationsError
from safestats.organisations.forms import AgreementForm, DocumentForm, GrantForm, ReasonForm
from safestats.organisations.models import (
    AgreementDataset,
    AgreementStatus,
    DataSharingAgreement,
    Organisation,
)
from safestats.organisations.views._common import acting, platform_admin, refusal
from safestats.web.refusals import add_refusal


def _agreement(agreement_id: int) -> DataSharingAgreement:
    return get_object_or_404(
        DataSharingAgreement.objects.select_related("organisation"), pk=agreement_id
    )


def _page(agreement: DataSharingAgreement) -> str:
    return reverse("organisations:agreement", args=[agreement.pk])


def _refused(
    request: HttpRequest, error: OrganisationsError, agreement: DataSharingAgreement
) -> HttpResponse:
    return refusal(
        request, error, back_url=_page(agreement), back_text=f"Back to {agreement.reference}"
    )


@platform_admin
@require_safe
def agreement_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "organisations/platform/agreement_list.html",
        {
            "agreements": selectors.agreements().order_by("organisation__name", "-valid_from"),
            "now": timezone.now(),
        },
    )


@platform_admin
def create(request: HttpRequest, organisation_id: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=organisation_id)
    posted = request.method == "POST"
    form = AgreementForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = services.create_agreement(
                organisation=organisation,
                reference=data["reference"],
                legal_basis=data["legal_basis"],
                legal_basis_other=data.get("legal_basis_other") or "",
                purpose=data["purpose"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                document=data.get("document") or None,
                by=acting(request),
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="reference")
        else:
            messages.success(request, f"{agreement.reference} is drafted.")
            return redirect(_page(agreement))
    return render(
        request,
        "organisations/platform/agreement_form.html",
        {"organisation": organisation, "form": form},
    )


@platform_admin
@require_safe
def agreement(request: HttpRequest, agreement_id: int) -> HttpResponse:
    found = _agreement(agreement_id)
    now = timezone.now()
    return render(
        request,
        "organisations/platform/agreement.html",
        {
            "agreement": found,
            "grants": found.grants.order_by("dataset_id"),
            "in_force": found.is_in_force(now),
            "changeable": found.status != AgreementStatus.REVOKED,
        },
    )


@platform_admin
def upload_document(request: HttpRequest, agreement_id: int) -> HttpResponse:
    found = _agreement(agreement_id)
    posted = request.method == "POST"
    form = DocumentForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            services.attach_document(
                agreement=found, document=form.cleaned_data["document"], by=acting(request)
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="document")
        else:
            messages.success(request, f"The signed agreement is kept with {found.reference}.")
            return redirect(_page(found))
    return render(
        request, "organisations/platform/document.html", {"agreement": found, "form": form}
    )


@platform_admin
@require_GET  # HEAD would be audited as a download without one
def download_document(request: HttpRequest, agreement_id: int) -> HttpResponseBase:
    found = _agreement(agreement_id)
    try:
        handle = services.open_agreement_document(agreement=found, by=acting(request))
    except OrganisationsError as error:
        return _refused(request, error, found)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.document_name or f"{found.reference}.pdf",
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@platform_admin
def grant(request: HttpRequest, agreement_id: int, dataset_id: str = "") -> HttpResponse:
    """Add a grant (no ``dataset_id``) or change the grant of ``dataset_id``."""
    found = _agreement(agreement_id)
    existing: AgreementDataset | None = None
    if dataset_id:
        existing = get_object_or_404(AgreementDataset, agreement=found, dataset_id=dataset_id)
    if request.method == "POST":
        posted = request.POST.copy()
        if existing is not None:  # the dataset of a grant is fixed; remove it instead
            posted["dataset_id"] = existing.dataset_id
        form = GrantForm(posted)
    elif existing is not None:
        form = GrantForm(
            initial={
                "dataset_id": existing.dataset_id,
                "access_level": existing.access_level,
                "precision": existing.precision,
                "withheld_fields": "\n".join(existing.withheld_fields),
            }
        )
    else:
        form = GrantForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.set_grant(
                agreement=found,
                dataset_id=data["dataset_id"],
                access_level=data["access_level"],
                precision=data["precision"],
                withheld_fields=data["withheld_fields"],
                by=acting(request),
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="dataset_id")
        else:
            messages.success(request, f"{found.reference} grants {data['dataset_id']}.")
            return redirect(_page(found))
    return render(
        request,
        "organisations/platform/grant.html",
        {"agreement": found, "form": form, "existing": existing},
    )


@platform_admin
@require_POST
def remove_grant(request: HttpRequest, agreement_id: int, dataset_id: str) -> HttpResponse:
    found = _agreement(agreement_id)
    try:
        services.remove_grant(agreement=found, dataset_id=dataset_id, by=acting(request))
    except OrganisationsError as error:
        return _refused(request, error, found)
    messages.success(request, f"{found.reference} no longer grants {dataset_id}.")
    return redirect(_page(found))


@platform_admin
@require_POST
def activate(request: HttpRequest, agreement_id: int) -> HttpResponse:
    found = _agreement(agreement_id)
    try:
        services.activate_agreement(agreement=found, by=acting(request))
    except OrganisationsError as error:
        return _refused(request, error, found)
    messages.success(request, f"{found.reference} is active.")
    return redirect(_page(found))


@platform_admin
def revoke(request: HttpRequest, agreement_id: int) -> HttpResponse:
    found = _agreement(agreement_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.revoke_agreement(
                agreement=found, reason=form.cleaned_data["reason"], by=acting(request)
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, default="reason")
        else:
            messages.success(request, f"{found.reference} is revoked.")
            return redirect(_page(found))
    return render(request, "organisations/platform/revoke.html", {"agreement": found, "form": form})
