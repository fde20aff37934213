"""Organisations: the list, one organisation's page, registering one, its email domains,
its status and the review of its answers to the security audit checklist."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from safestats.accounts import selectors as accounts
from safestats.organisations import lifecycle, selectors, services
from safestats.organisations.errors import OrganisationsError
from safestats.organisations.forms import (
    ChecklistReviewForm,
    DomainForm,
    OrganisationForm,
    TransitionForm,
)
from safestats.organisations.models import (
    ChecklistResponse,
    Organisation,
    OrganisationStatus,
    ReviewOutcome,
)
from safestats.organisations.views._common import acting, platform_admin, refusal
from safestats.web.refusals import add_refusal


def _page(organisation: Organisation) -> str:
    return reverse("organisations:organisation", args=[organisation.pk])


@platform_admin
@require_safe
def organisation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in OrganisationStatus.values:
        status = ""
    return render(
        request,
        "organisations/platform/organisation_list.html",
        {
            "organisations": selectors.organisations(status=status or None),
            "status": status,
            "statuses": OrganisationStatus.choices,
        },
    )


@platform_admin
def register(request: HttpRequest) -> HttpResponse:
    form = OrganisationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organisation = services.create_organisation(
                name=data["name"],
                type=data["type"],
                domains=data["domains"],
                contact_name=data["contact_name"],
                contact_email=data["contact_email"],
                contact_phone=data["contact_phone"],
                by=acting(request),
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="name")
        else:
            messages.success(request, f"{organisation.name} is registered.")
            return redirect(_page(organisation))
    return render(request, "organisations/platform/register.html", {"form": form})


@platform_admin
@require_safe
def organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    found = get_object_or_404(Organisation, pk=organisation_id)
    responses = [
        (response, selectors.answered_questions(response))
        for response in selectors.checklist_responses(organisation_id=found.pk)
    ]
    return render(
        request,
        "organisations/platform/organisation.html",
        {
            "organisation": found,
            "domains": found.domains.order_by("domain"),
            "members": accounts.users(organisation_id=found.pk),
            "checklist": selectors.checklist_state(found),
            "responses": responses,
            "agreements": selectors.agreements(organisation_id=found.pk).order_by("-valid_from"),
            "transitions": selectors.allowed_transitions(found),
        },
    )


@platform_admin
def add_domain(request: HttpRequest, organisation_id: int) -> HttpResponse:
    found = get_object_or_404(Organisation, pk=organisation_id)
    form = DomainForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.add_domain(
                organisation=found, domain=form.cleaned_data["domain"], by=acting(request)
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, default="domain")
        else:
            messages.success(request, f"{row.domain} is an email domain of {found.name}.")
            return redirect(_page(found))
    return render(
        request, "organisations/platform/domain.html", {"organisation": found, "form": form}
    )


@platform_admin
@require_POST
def remove_domain(request: HttpRequest, organisation_id: int) -> HttpResponse:
    found = get_object_or_404(Organisation, pk=organisation_id)
    domain = request.POST.get("domain", "")
    try:
        services.remove_domain(organisation=found, domain=domain, by=acting(request))
    except OrganisationsError as error:
        return refusal(request, error, back_url=_page(found), back_text=f"Back to {found.name}")
    messages.success(request, f"{domain.strip().lower()} is no longer a domain of {found.name}.")
    return redirect(_page(found))


@platform_admin
def change_status(request: HttpRequest, organisation_id: int) -> HttpResponse:
    found = get_object_or_404(Organisation, pk=organisation_id)
    form = TransitionForm(request.POST if request.method == "POST" else None, organisation=found)
    if request.method == "POST" and form.is_valid():
        try:
            services.transition_organisation(
                organisation=found,
                to=form.cleaned_data["to"],
                reason=form.cleaned_data.get("reason") or "",
                by=acting(request),
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="to")
        else:
            messages.success(
                request, f"{found.name} is now {lifecycle.ORGANISATION.states[found.status]}."
            )
            return redirect(_page(found))
    steps = [
        (t.target, OrganisationStatus(t.target).label, t.reason_required)
        for t in selectors.allowed_transitions(found)
    ]
    return render(
        request,
        "organisations/platform/status.html",
        {"organisation": found, "form": form, "steps": steps},
    )


@platform_admin
def review_checklist(request: HttpRequest, organisation_id: int, response_id: int) -> HttpResponse:
    found = get_object_or_404(Organisation, pk=organisation_id)
    response = get_object_or_404(
        ChecklistResponse.objects.select_related("version"), pk=response_id, organisation=found
    )
    form = ChecklistReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            reviewed = services.review_checklist_response(
                response=response,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data.get("note") or "",
                by=acting(request),
            )
        except OrganisationsError as error:
            add_refusal(form, error.message, field=error.field, default="outcome")
        else:
            outcome = ReviewOutcome(reviewed.outcome).label.lower()
            messages.success(request, f"{found.name}'s answers are {outcome}.")
            return redirect(_page(found))
    return render(
        request,
        "organisations/platform/review.html",
        {
            "organisation": found,
            "response": response,
            "answers": selectors.answered_questions(response),
            "form": form,
        },
    )
