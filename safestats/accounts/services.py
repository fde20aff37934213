"""Signing in and out, MFA enrolment and challenge, Conditions of Use acceptance.

Every outcome a user or an auditor cares about is recorded in the audit log in the same
transaction: sign-in success and failure (with the email tried), lockout, MFA enrolment
and failure, acceptance of the Conditions of Use, sign-out.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from safestats.accounts.models import ConditionsAcceptance, ConditionsOfUse, User
from safestats.audit.services import Actor, client_ip, record

# Session keys: when the sign-in started, when the user was last seen, the epoch the
# session belongs to, and which Conditions of Use version was accepted in it.
SIGNED_IN_AT = "safestats.signed_in_at"
LAST_SEEN = "safestats.last_seen"
EPOCH = "safestats.epoch"
CONDITIONS_ACCEPTED = "safestats.conditions_version"

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


BARRED = {
    "suspended": "Your account is suspended. Ask your organisation's administrator why.",
    "declined": "Your request for an account was declined. Ask your organisation's "
    "administrator why.",
}


class SignInError(Exception):
    """A sign-in step failed; the message is safe to show to the user."""


# --- Password step -----------------------------------------------------------------------


def email_tried(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The email a sign-in attempt used, as lockouts count it (trimmed, lower-case)."""
    raw = (credentials or {}).get("username") or request.POST.get("email") or ""
    return str(raw).strip().lower()[:254]


def sign_in_with_password(request: HttpRequest, *, email: str, password: str) -> User:
    """Check the email and password; on success the user is signed in *pending MFA*.

    Raises SignInError with a message that does not say which of the two was wrong.
    """
    tried = email.strip().lower()
    user = authenticate(request, username=tried, password=password)
    if user is None:
        locked = bool(getattr(request, "axes_locked_out", False))
        record(
            "user.sign_in_failed",
            actor=Actor.anonymous(tried[:254]),
            payload={"email": tried[:254], "reason": "locked out" if locked else "wrong"},
            request=request,
        )
        raise SignInError("Enter a correct email address and password.")
    if not isinstance(user, User):  # another backend answered: not one of our users
        raise SignInError("Enter a correct email address and password.")
    if user.status in BARRED:
        record(
            "user.sign_in_failed",
            actor=user,
            target=user,
            payload={"email": tried[:254], "reason": user.status},
            request=request,
        )
        raise SignInError(BARRED[user.status])
    login(request, user)
    now = timezone.now()
    request.session[SIGNED_IN_AT] = now.isoformat()
    request.session[LAST_SEEN] = now.isoformat()
    request.session[EPOCH] = user.session_epoch
    record("user.password_verified", actor=user, target=user, request=request)
    return user


def signed_in_user(request: HttpRequest) -> User:
    """The request's user, for views the sign-in gate has already let through."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied
    return user


def mfa_verified(user: object) -> bool:
    """Whether this session's user gave their second factor (set by django-otp)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def has_confirmed_mfa(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# --- MFA enrolment -----------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device_id: int
    secret_base32: str
    qr_data_uri: str


def start_totp_enrolment(user: User) -> Enrolment:
    """A new, unconfirmed authenticator for ``user`` (replacing any unconfirmed one)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return enrolment_for(device)


def enrolment_for(device: TOTPDevice) -> Enrolment:
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string()
    data_uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    return Enrolment(device_id=device.pk, secret_base32=secret, qr_data_uri=data_uri)


def pending_enrolment(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def confirm_totp_enrolment(request: HttpRequest, *, user: User, code: str) -> list[str]:
    """Confirm the pending authenticator with a code from it; return new recovery codes.

    The session counts as MFA-verified from here on. Raises SignInError for a wrong code.
    """
    device = pending_enrolment(user)
    if device is None:
        raise SignInError("Start setting up your authenticator app again.")
    if not device.verify_token(_digits(code)):
        record(
            "mfa.failed", actor=user, target=user, payload={"step": "enrolment"}, request=request
        )
        raise SignInError("The code is not correct. Enter the 6-digit code your app shows now.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        record("mfa.enrolled", actor=user, target=user, payload={"method": "totp"}, request=request)
    otp_login(request, device)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = []
    for _ in range(settings.SAFESTATS_RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 10 hex characters, shown as two groups of five
        StaticToken.objects.create(device=device, token=raw)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def regenerate_recovery_codes(request: HttpRequest, *, user: User) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record("mfa.recovery_codes_regenerated", actor=user, target=user, request=request)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum()).lower()


# --- MFA challenge -----------------------------------------------------------------------


def verify_second_factor(request: HttpRequest, *, user: User, code: str) -> str:
    """Check a code from the authenticator app, or a single-use recovery code.

    Returns the method used. Completes the sign-in (audited as user.signed_in).
    """
    cleaned = _digits(code)
    method = ""
    device: TOTPDevice | StaticDevice | None = None
    if cleaned.isdigit() and len(cleaned) == 6:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None and device.verify_is_allowed()[0] and device.verify_token(cleaned):
            method = "totp"
    elif len(cleaned) == 10:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(cleaned):  # consumes the code
            method = "recovery_code"
    if not method:
        record("mfa.failed", actor=user, target=user, payload={"step": "sign_in"}, request=request)
        raise SignInError(
            "The code is not correct. Enter the 6-digit code from your authenticator app, "
            "or one of your recovery codes."
        )
    otp_login(request, device)
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    record(
        "user.signed_in",
        actor=user,
        target=user,
        payload={"method": method, "codes_left": recovery_codes_left(user)},
        request=request,
    )
    return method


# --- Conditions of Use -------------------------------------------------------------------


def current_conditions() -> ConditionsOfUse | None:
    return ConditionsOfUse.objects.filter(published_at__lte=timezone.now()).first()


def conditions_accepted_in_session(request: HttpRequest) -> bool:
    current = current_conditions()
    return current is not None and request.session.get(CONDITIONS_ACCEPTED) == current.version


def accept_conditions(request: HttpRequest, *, user: User, version: int) -> ConditionsAcceptance:
    current = current_conditions()
    if current is None or current.version != version:
        raise SignInError(
            "The Conditions of Use have changed while you were reading them. Read the "
            "current version and accept it."
        )
    with transaction.atomic():
        acceptance = ConditionsAcceptance.objects.create(
            user=user, conditions=current, ip=client_ip(request)
        )
        record(
            "conditions.accepted",
            actor=user,
            target=current,
            payload={"version": current.version},
            request=request,
        )
    request.session[CONDITIONS_ACCEPTED] = current.version
    return acceptance


def publish_conditions(*, title: str, body: str, by: User | Actor) -> ConditionsOfUse:
    """A new version of the Conditions of Use; every user accepts it at their next sign-in
    (and users signed in now, on their next page)."""
    if not body.strip():
        raise ValueError("The Conditions of Use cannot be empty.")
    with transaction.atomic():
        latest = ConditionsOfUse.objects.select_for_update().order_by("-version").first()
        version = (latest.version + 1) if latest else 1
        by_id = by.pk if isinstance(by, User) else None
        conditions = ConditionsOfUse.objects.create(
            version=version, title=title, body=body.strip(), published_by_id=by_id
        )
        record("conditions.published", actor=by, target=conditions, payload={"version": version})
    return conditions


# --- Signing out and session limits -------------------------------------------------------


def sign_out(request: HttpRequest, *, reason: str = "signed out") -> None:
    user = request.user
    if user.is_authenticated:
        record(
            "user.signed_out", actor=user, target=user, payload={"reason": reason}, request=request
        )
    logout(request)


def sign_out_everywhere(request: HttpRequest, *, user: User) -> None:
    """End every session of ``user``, on every device, including this one."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        record("user.signed_out_everywhere", actor=user, target=user, request=request)
    logout(request)


def session_expiry_reason(request: HttpRequest, user: User, now: datetime) -> str:
    """Why this signed-in session must end now, or "" if it may go on."""
    session = request.session
    if session.get(EPOCH) != user.session_epoch:
        return "signed out everywhere"
    try:
        signed_in_at = datetime.fromisoformat(session[SIGNED_IN_AT])
        last_seen = datetime.fromisoformat(session[LAST_SEEN])
    except (KeyError, TypeError, ValueError):
        return "session incomplete"
    if now - signed_in_at >= settings.SAFESTATS_ABSOLUTE_TIMEOUT:
        return "absolute timeout"
    if now - last_seen >= settings.SAFESTATS_IDLE_TIMEOUT:
        return "idle timeout"
    return ""
