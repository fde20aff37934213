"""Who may use SafeStats: registration, invitation, and the organisation administrator's
decisions (authorise, decline, suspend, reinstate, reconfirm), as a lifecycle held as data.

An authorisation lasts 12 months; the administrator reconfirms it or it lapses (the
access policy compares the expiry with the instant asked about; no job is needed).
An organisation administrator acts only on their own organisation's users; a platform
administrator on anyone's. Every step writes its audit event in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from safestats.accounts.models import Role, User, UserStatus, normalise_email
from safestats.audit.services import Actor, record
from safestats.organisations.lifecycle import Lifecycle, Transition
from safestats.organisations.models import Organisation
from safestats.organisations.selectors import organisation_for_email

AUTHORISATION_PERIOD = timedelta(days=365)
REMINDER_WINDOW = timedelta(days=30)

USER = Lifecycle(
    noun="account",
    states={
        UserStatus.INVITED: "invited",
        UserStatus.PENDING: "waiting for authorisation",
        UserStatus.AUTHORISED: "authorised",
        UserStatus.DECLINED: "declined",
        UserStatus.SUSPENDED: "suspended",
    },
    verbs={
        UserStatus.INVITED: "invited",
        UserStatus.PENDING: "returned to waiting",
        UserStatus.AUTHORISED: "authorised",
        UserStatus.DECLINED: "declined",
        UserStatus.SUSPENDED: "suspended",
    },
    transitions=(
        Transition(UserStatus.PENDING, UserStatus.AUTHORISED, "user.authorised"),
        Transition(UserStatus.PENDING, UserStatus.DECLINED, "user.declined", reason_required=True),
        Transition(UserStatus.INVITED, UserStatus.AUTHORISED, "user.invitation_accepted"),
        Transition(
            UserStatus.AUTHORISED, UserStatus.SUSPENDED, "user.suspended", reason_required=True
        ),
        Transition(UserStatus.SUSPENDED, UserStatus.AUTHORISED, "user.reinstated"),
    ),
)


class AuthorisationError(Exception):
    """A request the rules refuse; the message says why, in words."""


@dataclass(frozen=True)
class Registration:
    user: User
    organisation: Organisation


# --- Who may manage whom -------------------------------------------------------------------


def can_manage(by: User, user: User) -> bool:
    if by.pk == user.pk:  # nobody authorises, suspends or promotes themselves
        return False
    if by.role == Role.PLATFORM_ADMIN and by.status == UserStatus.AUTHORISED:
        return True
    return (
        by.role == Role.ORGANISATION_ADMIN
        and by.status == UserStatus.AUTHORISED
        and by.organisation_id is not None
        and by.organisation_id == user.organisation_id
    )


def _check_manager(by: User | Actor, user: User) -> None:
    if isinstance(by, Actor):
        if by.kind != "system":
            raise AuthorisationError("Only a signed-in administrator can do this.")
        return
    if by.pk == user.pk:
        raise AuthorisationError("You cannot change your own account's authorisation or role.")
    if not can_manage(by, user):
        raise AuthorisationError("You can only manage the accounts of your own organisation.")


def _move(
    user: User,
    target: str,
    *,
    by: User | Actor,
    reason: str = "",
    request: HttpRequest | None = None,
    payload: dict[str, Any] | None = None,
) -> Transition:
    step = USER.step(user.status, target)
    if step.reason_required and not reason.strip():
        raise AuthorisationError("Give a reason: the user will see it.")
    now = timezone.now()
    before = user.status
    user.status = target
    user.status_reason = reason.strip()
    user.status_changed_at = now
    fields = ["status", "status_reason", "status_changed_at"]
    if target == UserStatus.AUTHORISED:
        user.authorised_at = now
        if isinstance(by, User):  # an invitation keeps the inviter as the authoriser
            user.authorised_by_id = by.pk
        user.authorisation_expires_at = now + AUTHORISATION_PERIOD
        fields += ["authorised_at", "authorised_by_id", "authorisation_expires_at"]
    user.save(update_fields=fields)
    record(
        step.event,
        actor=by,
        target=user,
        organisation=user.organisation,
        payload={"from": before, "to": target, "reason": user.status_reason, **(payload or {})},
        request=request,
    )
    return step


# --- Registration and invitation -----------------------------------------------------------


def register(
    *, email: str, full_name: str, password: str, purpose: str, request: HttpRequest | None = None
) -> Registration:
    """A new account, waiting for the organisation administrator to authorise it."""
    address = normalise_email(email)
    organisation = organisation_for_email(address)
    if organisation is None:
        raise AuthorisationError(
            "Your email address is not on the domain of an organisation that uses SafeStats. "
            "Use your work email address, or ask your organisation to apply."
        )
    if organisation.status != "approved":
        raise AuthorisationError(
            f"{organisation.name} is not approved to use SafeStats yet, so you cannot register."
        )
    if not purpose.strip():
        raise AuthorisationError("Say what you need SafeStats data for.")
    if User.objects.filter(email=address).exists():
        raise AuthorisationError(
            "There is already an account for this email address. Sign in, or reset your password."
        )
    candidate = User(email=address, full_name=full_name.strip())
    validate_password(password, candidate)
    with transaction.atomic():
        user = User.objects.create_user(
            address,
            password,
            full_name=full_name.strip(),
            organisation=organisation,
            role=Role.ANALYST,
            status=UserStatus.PENDING,
            purpose=purpose.strip(),
        )
        record(
            "user.registered",
            actor=Actor.anonymous(address),
            target=user,
            organisation=organisation,
            payload={"email": address, "purpose": user.purpose},
            request=request,
        )
        transaction.on_commit(lambda: _tell_administrators(user))
    return Registration(user=user, organisation=organisation)


def _tell_administrators(user: User) -> None:
    if user.organisation_id is None:
        return
    admins = User.objects.filter(
        organisation_id=user.organisation_id,
        role=Role.ORGANISATION_ADMIN,
        status=UserStatus.AUTHORISED,
        is_active=True,
    ).values_list("email", flat=True)
    if admins:
        send_mail(
            "A SafeStats account is waiting for your authorisation",
            f"{user.full_name or user.email} ({user.email}) has asked to use SafeStats.\n\n"
            f"Purpose they gave:\n{user.purpose}\n\n"
            "Sign in to SafeStats and open 'Your organisation' to authorise or decline them.",
            None,
            list(admins),
        )


def invite(
    *,
    email: str,
    full_name: str,
    role: str,
    purpose: str,
    organisation: Organisation,
    by: User | Actor,
    base_url: str,
) -> User:
    """An account the administrator authorises in advance; the person sets a password
    through the link they are sent, then enrols their authenticator at first sign-in."""
    address = normalise_email(email)
    if role not in Role.values:
        raise AuthorisationError(f"There is no role called {role!r}.")
    if role == Role.PLATFORM_ADMIN and not (
        isinstance(by, Actor) or by.role == Role.PLATFORM_ADMIN
    ):
        raise AuthorisationError("Only a platform administrator can invite another one.")
    if isinstance(by, User) and not (
        by.role == Role.PLATFORM_ADMIN or by.organisation_id == organisation.pk
    ):
        raise AuthorisationError("You can only invite people to your own organisation.")
    if organisation_for_email(address) != organisation:
        raise AuthorisationError(f"{address} is not on one of {organisation.name}'s email domains.")
    if not purpose.strip():
        raise AuthorisationError("Say what they need SafeStats data for.")
    if User.objects.filter(email=address).exists():
        raise AuthorisationError("There is already an account for this email address.")
    with transaction.atomic():
        user = User.objects.create_user(
            address,
            None,
            full_name=full_name.strip(),
            organisation=organisation,
            role=role,
            status=UserStatus.INVITED,
            purpose=purpose.strip(),
            authorised_by_id=by.pk if isinstance(by, User) else None,
        )
        record(
            "user.invited",
            actor=by,
            target=user,
            organisation=organisation,
            payload={"email": address, "role": role, "purpose": user.purpose},
        )
        link = base_url.rstrip("/") + invitation_path(user)
        transaction.on_commit(
            lambda: send_mail(
                "You have been invited to use SafeStats",
                f"{organisation.name} has given you access to SafeStats, for this purpose:\n"
                f"{user.purpose}\n\nChoose your password within 3 days with this link:\n{link}\n\n"
                "Then sign in and set up an authenticator app for your security codes.",
                None,
                [address],
            )
        )
    return user


def invitation_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:password_reset_confirm", args=[uid, token])


def accept_invitation(user: User, *, request: HttpRequest | None = None) -> None:
    """Called once the invited person has chosen a password."""
    if user.status == UserStatus.INVITED:
        with transaction.atomic():
            _move(user, UserStatus.AUTHORISED, by=Actor.anonymous(user.email), request=request)


# --- The administrator's decisions ---------------------------------------------------------


def authorise(user: User, *, by: User | Actor, request: HttpRequest | None = None) -> None:
    _check_manager(by, user)
    with transaction.atomic():
        _move(user, UserStatus.AUTHORISED, by=by, request=request)


def decline(
    user: User, *, by: User | Actor, reason: str, request: HttpRequest | None = None
) -> None:
    _check_manager(by, user)
    with transaction.atomic():
        _move(user, UserStatus.DECLINED, by=by, reason=reason, request=request)


def suspend(
    user: User, *, by: User | Actor, reason: str, request: HttpRequest | None = None
) -> None:
    _check_manager(by, user)
    with transaction.atomic():
        _move(user, UserStatus.SUSPENDED, by=by, reason=reason, request=request)
        # A suspended user's sessions end now, not at their next sign-in.
        User.objects.filter(pk=user.pk).update(session_epoch=user.session_epoch + 1)


def reinstate(user: User, *, by: User | Actor, request: HttpRequest | None = None) -> None:
    _check_manager(by, user)
    with transaction.atomic():
        _move(user, UserStatus.AUTHORISED, by=by, request=request)


def reconfirm(user: User, *, by: User | Actor, request: HttpRequest | None = None) -> datetime:
    """Extend an authorised user's access by another 12 months from now."""
    _check_manager(by, user)
    if user.status != UserStatus.AUTHORISED:
        raise AuthorisationError(
            "Only an authorised account can be reconfirmed; "
            f"this one is {USER.states[user.status]}."
        )
    with transaction.atomic():
        before = user.authorisation_expires_at
        user.authorisation_expires_at = timezone.now() + AUTHORISATION_PERIOD
        user.save(update_fields=["authorisation_expires_at"])
        record(
            "user.reconfirmed",
            actor=by,
            target=user,
            organisation=user.organisation,
            payload={
                "previous_expiry": before.isoformat() if before else None,
                "until": user.authorisation_expires_at.isoformat(),
            },
            request=request,
        )
    return user.authorisation_expires_at


def change_role(
    user: User, *, by: User | Actor, role: str, request: HttpRequest | None = None
) -> None:
    _check_manager(by, user)
    if role not in Role.values:
        raise AuthorisationError(f"There is no role called {role!r}.")
    if role == Role.PLATFORM_ADMIN and isinstance(by, User) and by.role != Role.PLATFORM_ADMIN:
        raise AuthorisationError("Only a platform administrator can make someone one.")
    with transaction.atomic():
        before = user.role
        user.role = role
        user.save(update_fields=["role"])
        record(
            "user.role_changed",
            actor=by,
            target=user,
            organisation=user.organisation,
            payload={"from": before, "to": role},
            request=request,
        )


def due_for_reconfirmation(
    *, organisation_id: int | None, at: datetime | None = None
) -> list[User]:
    """Authorised users whose authorisation lapses within 30 days (or has lapsed)."""
    now = at or timezone.now()
    users = User.objects.filter(
        status=UserStatus.AUTHORISED, authorisation_expires_at__lt=now + REMINDER_WINDOW
    )
    if organisation_id is not None:
        users = users.filter(organisation_id=organisation_id)
    return list(users.order_by("authorisation_expires_at"))


def password_problems(password: str, user: User | None = None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return list(error.messages)
    return []
