"""The organisation administrator's console: requests waiting for authorisation, the
organisation's members (last sign-in, authorisation due), invitations, and the
organisation's audit trail. An administrator sees and changes only their own
organisation's users: any other id is "not found"."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from safestats.accounts import authorisation, services
from safestats.accounts.decorators import role_required
from safestats.accounts.forms import InviteForm, ReasonForm
from safestats.accounts.models import Role, User, UserStatus
from safestats.audit.models import AuditEvent
from safestats.organisations.errors import TransitionNotAllowed
from safestats.organisations.selectors import grants_in_force

ADMIN = Role.ORGANISATION_ADMIN
REFUSALS = (authorisation.AuthorisationError, TransitionNotAllowed)


def _member(request: HttpRequest, user_id: int) -> User:
    admin = services.signed_in_user(request)
    if admin.organisation_id is None:
        raise Http404("You do not belong to an organisation")
    member = (
        User.objects.select_related("organisation")
        .filter(pk=user_id, organisation_id=admin.organisation_id)
        .first()
    )
    if member is None:
        raise Http404("No such member of your organisation")
    return member


@role_required(ADMIN)
@require_safe
def console(request: HttpRequest) -> HttpResponse:
    admin = services.signed_in_user(request)
    organisation = admin.organisation
    if organisation is None:
        raise Http404("You do not belong to an organisation")
    members = User.objects.filter(organisation=organisation).order_by("full_name", "email")
    due = {
        user.pk for user in authorisation.due_for_reconfirmation(organisation_id=organisation.pk)
    }
    return render(
        request,
        "accounts/console/console.html",
        {
            "organisation": organisation,
            "pending": members.filter(status=UserStatus.PENDING),
            "members": members.exclude(status=UserStatus.PENDING),
            "due": due,
            "grants": grants_in_force(organisation_id=organisation.pk, at=timezone.now()),
            "trail": AuditEvent.objects.filter(organisation_id=organisation.pk).order_by("-seq")[
                :50
            ],
        },
    )


@role_required(ADMIN)
@require_POST
def act(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    member = _member(request, user_id)
    admin = services.signed_in_user(request)
    steps = {
        "authorise": authorisation.authorise,
        "reinstate": authorisation.reinstate,
        "reconfirm": authorisation.reconfirm,
    }
    if action not in steps:
        raise Http404("No such action")
    try:
        steps[action](member, by=admin, request=request)
    except REFUSALS as error:
        return render(
            request,
            "accounts/console/refused.html",
            {"member": member, "message": str(error)},
            status=409,
        )
    return redirect("accounts:console")


@role_required(ADMIN)
def with_reason(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    member = _member(request, user_id)
    steps = {"decline": authorisation.decline, "suspend": authorisation.suspend}
    if action not in steps:
        raise Http404("No such action")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            steps[action](
                member,
                by=services.signed_in_user(request),
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except REFUSALS as error:
            form.add_error("reason", str(error))
        else:
            return redirect("accounts:console")
    return render(
        request,
        "accounts/console/reason.html",
        {"member": member, "form": form, "action": action},
    )


@role_required(ADMIN)
def invite(request: HttpRequest) -> HttpResponse:
    admin = services.signed_in_user(request)
    if admin.organisation is None:
        raise Http404("You do not belong to an organisation")
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            authorisation.invite(
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                purpose=data["purpose"],
                organisation=admin.organisation,
                by=admin,
                base_url=request.build_absolute_uri("/"),
            )
        except authorisation.AuthorisationError as error:
            form.add_error("email", str(error))
        else:
            return redirect("accounts:console")
    return render(
        request, "accounts/console/invite.html", {"form": form, "organisation": admin.organisation}
    )
