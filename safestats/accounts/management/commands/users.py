"""``safestats users``: create named users and change their authorisation and role, for
platform teams scripting onboarding. Every change goes through the same services as the
pages, audited as the instance operator."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from safestats.accounts import authorisation
from safestats.accounts.models import Role, User, UserStatus, normalise_email
from safestats.audit.services import Actor, record
from safestats.organisations.errors import OrganisationsError
from safestats.organisations.selectors import find_organisation

OPERATOR = Actor.system("operator")


class Command(BaseCommand):
    help = "Create users and change their authorisation, role and status."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="create an authorised user")
        create.add_argument("--email", required=True)
        create.add_argument("--name", required=True, help="the person's full name")
        create.add_argument("--organisation", required=True, metavar="NAME_OR_ID")
        create.add_argument("--role", required=True, choices=Role.values)
        create.add_argument("--purpose", required=True, help="what they need the data for")
        create.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="read the password from this environment variable (never from the command line)",
        )

        listing = actions.add_parser("list", help="list users")
        listing.add_argument("--organisation", metavar="NAME_OR_ID")
        listing.add_argument("--status", choices=UserStatus.values)

        for name, text in [
            ("authorise", "authorise a user waiting for authorisation"),
            ("reinstate", "reinstate a suspended user"),
            ("reconfirm", "extend a user's authorisation by 12 months"),
        ]:
            sub = actions.add_parser(name, help=text)
            sub.add_argument("email")
        for name, text in [("decline", "decline a user"), ("suspend", "suspend a user")]:
            sub = actions.add_parser(name, help=text)
            sub.add_argument("email")
            sub.add_argument("--reason", required=True)
        role = actions.add_parser("role", help="change a user's role")
        role.add_argument("email")
        role.add_argument("--to", required=True, choices=Role.values)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                self._create(options)
            elif action == "list":
                self._list(options)
            else:
                self._change(action, options)
        except (authorisation.AuthorisationError, OrganisationsError) as error:
            raise CommandError(str(error)) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error

    def _user(self, email: str) -> User:
        try:
            return User.objects.select_related("organisation").get(email=normalise_email(email))
        except User.DoesNotExist:
            raise CommandError(f"There is no user with the email address {email}.") from None

    def _create(self, options: dict[str, Any]) -> None:
        organisation = find_organisation(options["organisation"])
        if organisation is None:
            raise CommandError(f"There is no organisation called {options['organisation']!r}.")
        email = normalise_email(options["email"])
        if User.objects.filter(email=email).exists():
            raise CommandError(f"There is already a user with the email address {email}.")
        password = None
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
            if not password:
                raise CommandError(f"The variable {options['password_env']} is empty or not set.")
            authorisation.validate_password(password, User(email=email, full_name=options["name"]))
        if not options["purpose"].strip():
            raise CommandError("Give the purpose the user needs SafeStats data for.")
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                full_name=options["name"].strip(),
                organisation=organisation,
                role=options["role"],
                status=UserStatus.PENDING,
                purpose=options["purpose"].strip(),
            )
            record(
                "user.created",
                actor=OPERATOR,
                target=user,
                organisation=organisation,
                payload={"email": email, "role": user.role, "purpose": user.purpose},
            )
            authorisation.authorise(user, by=OPERATOR)
        user.refresh_from_db()
        self.stdout.write(
            f"Created {user.email} ({user.get_role_display()}, {organisation.name}), "
            f"authorised until {user.authorisation_expires_at:%d %B %Y}."
            + (
                ""
                if password
                else " No password yet: they set one with 'I have forgotten my password'."
            )
        )

    def _list(self, options: dict[str, Any]) -> None:
        users = User.objects.select_related("organisation").order_by("email")
        if options["organisation"]:
            organisation = find_organisation(options["organisation"])
            if organisation is None:
                raise CommandError(f"There is no organisation called {options['organisation']!r}.")
            users = users.filter(organisation=organisation)
        if options["status"]:
            users = users.filter(status=options["status"])
        for user in users:
            until = (
                f"{user.authorisation_expires_at:%Y-%m-%d}"
                if user.authorisation_expires_at
                else "-"
            )
            org = user.organisation.name if user.organisation else "-"
            self.stdout.write(f"{user.email}\t{user.role}\t{user.status}\t{until}\t{org}")

    def _change(self, action: str, options: dict[str, Any]) -> None:
        user = self._user(options["email"])
        if action == "authorise":
            authorisation.authorise(user, by=OPERATOR)
            self.stdout.write(
                f"Authorised {user.email} until {user.authorisation_expires_at:%d %B %Y}."
            )
        elif action == "reinstate":
            authorisation.reinstate(user, by=OPERATOR)
            self.stdout.write(
                f"Reinstated {user.email} until {user.authorisation_expires_at:%d %B %Y}."
            )
        elif action == "reconfirm":
            until = authorisation.reconfirm(user, by=OPERATOR)
            self.stdout.write(f"Reconfirmed {user.email} until {until:%d %B %Y}.")
        elif action == "decline":
            authorisation.decline(user, by=OPERATOR, reason=options["reason"])
            self.stdout.write(f"Declined {user.email}: {options['reason']}")
        elif action == "suspend":
            authorisation.suspend(user, by=OPERATOR, reason=options["reason"])
            self.stdout.write(
                f"Suspended {user.email} and ended their sessions: {options['reason']}"
            )
        elif action == "role":
            authorisation.change_role(user, by=OPERATOR, role=options["to"])
            self.stdout.write(f"{user.email} is now: {Role(options['to']).label}.")
