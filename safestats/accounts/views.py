"""Sign-in, MFA, Conditions of Use and account pages. Thin: each calls one service."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST, require_safe

from safestats.access.services import datasets_for
from safestats.accounts import authorisation, services
from safestats.accounts.decorators import conditions_step, mfa_step, public
from safestats.accounts.forms import (
    AcceptConditionsForm,
    EnrolmentCodeForm,
    RegistrationForm,
    SecurityCodeForm,
    SignInForm,
)
from safestats.accounts.models import User
from safestats.audit.services import Actor, record

RECOVERY_CODES_TO_SHOW = "safestats.recovery_codes_to_show"


def _next(request: HttpRequest, default: str = "accounts:your_account") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _with_next(name: str, request: HttpRequest) -> str:
    """The URL of the next sign-in step, carrying on where the user was going (only to a
    path on this site)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    url = reverse(name)
    if target.startswith("/") and not target.startswith("//"):
        return f"{url}?{urlencode({'next': target})}"
    return url


@public
def sign_in(request: HttpRequest) -> HttpResponse:
    if services.mfa_verified(request.user):
        return HttpResponseRedirect(_next(request))
    form = SignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_in_with_password(
                request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except services.SignInError as error:
            form.add_error(None, str(error))
        else:
            step = (
                "accounts:mfa_challenge"
                if services.has_confirmed_mfa(user)
                else "accounts:mfa_setup"
            )
            return HttpResponseRedirect(_with_next(step, request))
    return render(
        request, "accounts/sign_in.html", {"form": form, "next": request.GET.get("next", "")}
    )


def locked_out(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """Shown instead of the sign-in page while an email or address is locked out."""
    email = ""
    if isinstance(credentials, dict):
        email = str(credentials.get("username") or credentials.get("email") or "")[:254]
    return render(request, "accounts/locked_out.html", {"email": email}, status=429)


@mfa_step
def mfa_challenge(request: HttpRequest) -> HttpResponse:
    user = services.signed_in_user(request)
    if services.mfa_verified(user):
        return HttpResponseRedirect(_next(request))
    if not services.has_confirmed_mfa(user):
        return HttpResponseRedirect(_with_next("accounts:mfa_setup", request))
    form = SecurityCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.verify_second_factor(request, user=user, code=form.cleaned_data["code"])
        except services.SignInError as error:
            form.add_error("code", str(error))
        else:
            return HttpResponseRedirect(_with_next("accounts:conditions", request))
    return render(
        request, "accounts/mfa_challenge.html", {"form": form, "next": request.GET.get("next", "")}
    )


@mfa_step
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = services.signed_in_user(request)
    if services.mfa_verified(user) or services.has_confirmed_mfa(user):
        # Changing an enrolled authenticator needs the old one first (from your account).
        return HttpResponseRedirect(_with_next("accounts:mfa_challenge", request))
    form = EnrolmentCodeForm(request.POST if request.method == "POST" else None)
    device = services.pending_enrolment(user)
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            codes = services.confirm_totp_enrolment(
                request, user=user, code=form.cleaned_data["code"]
            )
        except services.SignInError as error:
            form.add_error("code", str(error))
        else:
            request.session[RECOVERY_CODES_TO_SHOW] = codes
            return HttpResponseRedirect(_with_next("accounts:recovery_codes", request))
    enrolment = (
        services.enrolment_for(device)
        if device is not None and request.method == "POST"
        else services.start_totp_enrolment(user)
    )
    return render(
        request,
        "accounts/mfa_setup.html",
        {"form": form, "enrolment": enrolment, "next": request.GET.get("next", "")},
    )


@conditions_step
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = request.session.pop(RECOVERY_CODES_TO_SHOW, None)
    if not codes:
        return HttpResponseRedirect(_with_next("accounts:conditions", request))
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "continue_url": _with_next("accounts:conditions", request)},
    )


@conditions_step
def conditions(request: HttpRequest) -> HttpResponse:
    current = services.current_conditions()
    if current is None:
        return render(request, "accounts/conditions_missing.html", status=503)
    if request.method != "POST" and services.conditions_accepted_in_session(request):
        return render(
            request, "accounts/conditions.html", {"conditions": current, "accepted": True}
        )
    form = AcceptConditionsForm(
        request.POST if request.method == "POST" else None, initial={"version": current.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_conditions(
                request,
                user=services.signed_in_user(request),
                version=form.cleaned_data["version"],
            )
        except services.SignInError as error:
            form.add_error(None, str(error))
        else:
            return HttpResponseRedirect(_next(request))
    return render(
        request,
        "accounts/conditions.html",
        {"conditions": current, "form": form, "next": request.GET.get("next", "")},
    )


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    services.sign_out(request)
    return redirect("accounts:signed_out")


@public
@require_safe
def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signed_out.html")


@require_safe
def your_account(request: HttpRequest) -> HttpResponse:
    user = services.signed_in_user(request)
    return render(
        request,
        "accounts/your_account.html",
        {
            "account": user,
            "access": datasets_for(user),
            "lapses_soon": user.authorisation_expires_at is not None
            and user.authorisation_expires_at < timezone.now() + authorisation.REMINDER_WINDOW,
            "recovery_codes_left": services.recovery_codes_left(user),
            "idle_minutes": int(settings.SAFESTATS_IDLE_TIMEOUT.total_seconds() // 60),
        },
    )


@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    services.sign_out_everywhere(request, user=services.signed_in_user(request))
    messages.info(request, "You have been signed out on every device, including this one.")
    return redirect("accounts:sign_in")


@require_POST
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = services.regenerate_recovery_codes(request, user=services.signed_in_user(request))
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "continue_url": reverse("accounts:your_account")},
    )


# --- Password reset: Django's views, our templates, audited -----------------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_sent")

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        record(
            "password_reset.requested",
            actor=Actor.anonymous(email[:254]),
            payload={"email": email[:254]},
            request=self.request,
        )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        # A new password ends every existing session of the account.
        User.objects.filter(pk=user.pk).update(session_epoch=user.session_epoch + 1)
        record("user.password_reset", actor=user, target=user, request=self.request)
        authorisation.accept_invitation(user, request=self.request)
        return response


password_reset = public(PasswordResetView.as_view())
password_reset_sent = public(
    auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html")
)
password_reset_confirm = public(PasswordResetConfirmView.as_view())
password_reset_complete = public(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"
    )
)


# --- Registration --------------------------------------------------------------------------


@public
def register(request: HttpRequest) -> HttpResponse:
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            registration = authorisation.register(
                email=data["email"],
                full_name=data["full_name"],
                password=data["password"],
                purpose=data["purpose"],
                request=request,
            )
        except authorisation.AuthorisationError as error:
            form.add_error("email", str(error))
        except ValidationError as error:
            for message in error.messages:
                form.add_error("password", message)
        else:
            return render(
                request,
                "accounts/registered.html",
                {"organisation": registration.organisation, "email": registration.user.email},
            )
    return render(request, "accounts/register.html", {"form": form})
