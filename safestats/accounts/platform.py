"""The platform administrator's pages for people and the Conditions of Use, under
``/platform``: users across every organisation (filtered by organisation, status and
role) and the decisions on each one (authorise, decline, suspend, reinstate, reconfirm,
change role) through :mod:`safestats.accounts.authorisation`; the Conditions of Use in
force, their history, and publishing a new version."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from safestats.accounts import authorisation, selectors, services
from safestats.accounts.decorators import role_required
from safestats.accounts.forms import ConditionsForm, ReasonForm, RoleForm, UserFilterForm
from safestats.accounts.models import Role, User
from safestats.organisations.errors import TransitionNotAllowed
from safestats.organisations.selectors import organisations
from safestats.web.refusals import add_refusal, refused

platform_admin = role_required(Role.PLATFORM_ADMIN)
REFUSALS = (authorisation.AuthorisationError, TransitionNotAllowed)
PER_PAGE = 50
# What each decision is called on its button and in the message after it.
DONE = {
    "authorise": "authorised",
    "reinstate": "reinstated",
    "reconfirm": "reconfirmed for another 12 months",
    "decline": "declined",
    "suspend": "suspended",
}


def _person(user_id: int) -> User:
    person = selectors.user_by_id(user_id)
    if person is None:
        raise Http404("No such user")
    return person


def _page(person: User) -> str:
    return reverse("accounts:platform_user", args=[person.pk])


@platform_admin
@require_safe
def user_list(request: HttpRequest) -> HttpResponse:
    choices = [(o.pk, o.name) for o in organisations()]
    form = UserFilterForm(request.GET or None, organisations=choices)
    filters = form.cleaned_data if form.is_valid() else {}
    people = selectors.users(
        organisation_id=filters.get("organisation"),
        status=filters.get("status") or "",
        role=filters.get("role") or "",
    )
    page = Paginator(people, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/platform/users.html",
        {"form": form, "page_obj": page, "query": query.urlencode()},
    )


@platform_admin
@require_safe
def user(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person(user_id)
    return render(
        request,
        "accounts/platform/user.html",
        {"person": person, "acting": services.signed_in_user(request)},
    )


@platform_admin
@require_POST
def act(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    person = _person(user_id)
    steps = {
        "authorise": authorisation.authorise,
        "reinstate": authorisation.reinstate,
        "reconfirm": authorisation.reconfirm,
    }
    if action not in steps:
        raise Http404("No such action")
    try:
        steps[action](person, by=services.signed_in_user(request), request=request)
    except REFUSALS as error:
        return refused(
            request, str(error), back_url=_page(person), back_text=f"Back to {person.email}"
        )
    messages.success(request, f"{person.email} is {DONE[action]}.")
    return redirect(_page(person))


@platform_admin
def with_reason(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    person = _person(user_id)
    steps = {"decline": authorisation.decline, "suspend": authorisation.suspend}
    if action not in steps:
        raise Http404("No such action")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            steps[action](
                person,
                by=services.signed_in_user(request),
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except REFUSALS as error:
            add_refusal(form, str(error), default="reason")
        else:
            messages.success(request, f"{person.email} is {DONE[action]}.")
            return redirect(_page(person))
    return render(
        request,
        "accounts/platform/reason.html",
        {"person": person, "form": form, "action": action},
    )


@platform_admin
def change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person(user_id)
    form = RoleForm(
        request.POST if request.method == "POST" else None, initial={"role": person.role}
    )
    if request.method == "POST" and form.is_valid():
        try:
            authorisation.change_role(
                person,
                by=services.signed_in_user(request),
                role=form.cleaned_data["role"],
                request=request,
            )
        except REFUSALS as error:
            add_refusal(form, str(error), default="role")
        else:
            messages.success(request, f"{person.email}'s role is now {person.get_role_display()}.")
            return redirect(_page(person))
    return render(request, "accounts/platform/role.html", {"person": person, "form": form})


@platform_admin
@require_safe
def conditions(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/platform/conditions.html",
        {"current": services.current_conditions(), "history": selectors.conditions_history()},
    )


@platform_admin
def publish_conditions(request: HttpRequest) -> HttpResponse:
    current = services.current_conditions()
    initial = {"title": current.title, "body": current.body} if current else None
    form = ConditionsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            published = services.publish_conditions(
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                by=services.signed_in_user(request),
            )
        except ValueError as error:
            add_refusal(form, str(error), default="body")
        else:
            messages.success(
                request,
                f"Version {published.version} is published. Everyone accepts it before "
                "their next page, you too.",
            )
            return redirect("accounts:platform_conditions")
    return render(
        request, "accounts/platform/publish_conditions.html", {"form": form, "current": current}
    )
