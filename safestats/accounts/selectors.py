"""Reads of users and the Conditions of Use for the platform administrator's pages:
users across organisations by organisation, status and role; who is waiting for
authorisation; every published version of the Conditions of Use with its publisher."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from safestats.accounts.models import ConditionsOfUse, User, UserStatus


def users(
    *, organisation_id: int | None = None, status: str = "", role: str = ""
) -> QuerySet[User]:
    """Users in every organisation, by organisation then name, filtered by what is given."""
    queryset = User.objects.select_related("organisation").order_by(
        "organisation__name", "full_name", "email"
    )
    if organisation_id is not None:
        queryset = queryset.filter(organisation_id=organisation_id)
    if status:
        queryset = queryset.filter(status=status)
    if role:
        queryset = queryset.filter(role=role)
    return queryset


def waiting_users() -> QuerySet[User]:
    """Users in any organisation waiting for authorisation, longest waiting first."""
    return (
        User.objects.filter(status=UserStatus.PENDING)
        .select_related("organisation")
        .order_by("date_joined", "email")
    )


def user_by_id(user_id: int) -> User | None:
    return User.objects.select_related("organisation").filter(pk=user_id).first()


@dataclass(frozen=True)
class PublishedConditions:
    conditions: ConditionsOfUse
    published_by: str  # the publisher's email, or "" for the instance operator


def conditions_history() -> list[PublishedConditions]:
    """Every version of the Conditions of Use, newest first, with who published it."""
    versions = list(ConditionsOfUse.objects.order_by("-version"))
    ids = {c.published_by_id for c in versions if c.published_by_id is not None}
    emails = dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))
    return [
        PublishedConditions(c, emails.get(c.published_by_id, "") if c.published_by_id else "")
        for c in versions
    ]
