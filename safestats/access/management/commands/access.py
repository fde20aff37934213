"""``safestats access check``: the access decision for a user, dataset and level, with
its reason — for support staff answering "why can't I see X?"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from safestats.access.policy import Level
from safestats.access.services import decide
from safestats.accounts.models import User, normalise_email


class Command(BaseCommand):
    help = "Explain access decisions."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser("check", help="may this user see this dataset at this level?")
        check.add_argument("--user", required=True, metavar="EMAIL")
        check.add_argument("--dataset", required=True, metavar="ID")
        check.add_argument("--level", required=True, choices=[level.value for level in Level])
        check.add_argument(
            "--at",
            metavar="YYYY-MM-DDTHH:MM",
            help="the instant to decide for (default: now), e.g. to check an expiry",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        at = timezone.now()
        if options["at"]:
            try:
                at = datetime.fromisoformat(options["at"])
            except ValueError:
                raise CommandError(
                    f"--at must look like 2026-11-25T09:30; got {options['at']!r}."
                ) from None
            if timezone.is_naive(at):
                at = timezone.make_aware(at)
        email = normalise_email(options["user"])
        user = User.objects.select_related("organisation").filter(email=email).first()
        if user is None:
            raise CommandError(f"There is no user with the email address {email}.")
        decision = decide(user, options["dataset"], options["level"], at=at)
        self.stdout.write(f"{'ALLOWED' if decision.allowed else 'REFUSED'}: {decision.reason}")
        if decision.allowed:
            withheld = ", ".join(decision.withheld_fields) or "none"
            self.stdout.write(f"Level: {decision.level.value}")
            self.stdout.write(f"Withheld fields: {withheld}")
            self.stdout.write(f"Finest location: {decision.precision}")
            if decision.valid_until:
                self.stdout.write(
                    f"Until: {timezone.localtime(decision.valid_until):%d %B %Y %H:%M}"
                )
        self.stdout.write(
            "At sign-in the user must also enter a security code and accept the Conditions of Use."
        )
        if not decision.allowed:
            raise SystemExit(1)
