"""``safestats organisations``: register organisations, list and show them, move them
along their lifecycle and record a signed-off security audit checklist, for platform
teams scripting onboarding. Every change goes through the services, audited as the
operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from safestats.audit.services import Actor
from safestats.organisations import lifecycle, selectors, services
from safestats.organisations.forms import OrganisationForm, TransitionForm
from safestats.organisations.management import cli
from safestats.organisations.models import (
    Organisation,
    OrganisationStatus,
    OrganisationType,
    ReviewOutcome,
)

OPERATOR_EVIDENCE = "recorded by operator"


class Command(BaseCommand):
    help = "Register organisations, show them and change their status."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="register an organisation (status: applied)")
        create.add_argument("--name", required=True)
        create.add_argument("--type", required=True, choices=OrganisationType.values)
        create.add_argument(
            "--domain",
            action="append",
            required=True,
            dest="domains",
            metavar="DOMAIN",
            help="an email domain of its staff, like camden.gov.uk (repeat for more)",
        )
        create.add_argument("--contact-name", default="")
        create.add_argument("--contact-email", default="")
        create.add_argument("--contact-phone", default="")

        listing = actions.add_parser("list", help="list organisations")
        listing.add_argument("--status", choices=OrganisationStatus.values)

        show = actions.add_parser("show", help="show one organisation")
        show.add_argument("organisation", metavar="NAME_OR_ID")

        transition = actions.add_parser("transition", help="change an organisation's status")
        transition.add_argument("organisation", metavar="NAME_OR_ID")
        transition.add_argument("--to", required=True, choices=OrganisationStatus.values)
        transition.add_argument("--reason", default="", help="needed to suspend or withdraw")

        checklist = actions.add_parser("checklist", help="the security audit checklist")
        checklist_actions = checklist.add_subparsers(
            dest="checklist_action", required=True, metavar="ACTION"
        )
        sign_off = checklist_actions.add_parser(
            "sign-off",
            help="record the organisation's answers to the current checklist and sign them off",
        )
        sign_off.add_argument("organisation", metavar="NAME_OR_ID")
        sign_off.add_argument(
            "--answers-file",
            type=Path,
            help=(
                'JSON: {"question_id": "yes"} or {"question_id": {"answer": "yes", '
                '"evidence": "..."}} for every question; evidence defaults to '
                f'"{OPERATOR_EVIDENCE}"'
            ),
        )
        sign_off.add_argument("--note", default="", help="a note kept with the sign-off")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "checklist":
            action = options["checklist_action"]
        handler = {
            "create": self.create,
            "list": self.list_organisations,
            "show": self.show,
            "transition": self.transition,
            "sign-off": self.sign_off,
        }[action]
        with cli.domain_errors():
            handler(options)

    def create(self, options: dict[str, Any]) -> None:
        form = OrganisationForm(
            data={
                "name": options["name"],
                "type": options["type"],
                "domains": "\n".join(options["domains"]),
                "contact_name": options["contact_name"],
                "contact_email": options["contact_email"],
                "contact_phone": options["contact_phone"],
            }
        )
        if not form.is_valid():
            raise cli.form_error(
                form,
                {
                    "name": "--name",
                    "type": "--type",
                    "domains": "--domain",
                    "contact_name": "--contact-name",
                    "contact_email": "--contact-email",
                    "contact_phone": "--contact-phone",
                },
            )
        organisation = services.create_organisation(**form.cleaned_data, by=Actor.system())
        self.stdout.write(
            f"Created organisation {organisation.pk} {organisation.name!r} "
            f"({organisation.get_type_display()}), status {organisation.status}, "
            f"domains {', '.join(form.cleaned_data['domains'])}."
        )

    def list_organisations(self, options: dict[str, Any]) -> None:
        found = list(selectors.organisations(status=options["status"]))
        if not found:
            self.stdout.write("No organisations.")
            return
        rows = [["ID", "NAME", "TYPE", "STATUS", "DOMAINS"]]
        rows += [
            [
                str(o.pk),
                o.name,
                o.type,
                o.status,
                ", ".join(d.domain for d in o.domains.all()),
            ]
            for o in found
        ]
        self.stdout.write(cli.table(rows))

    def show(self, options: dict[str, Any]) -> None:
        organisation = cli.organisation(options["organisation"])
        version = selectors.current_checklist_version()
        signed_off = (
            selectors.signed_off_checklist_response(
                organisation_id=organisation.pk, version=version
            )
            if version
            else None
        )
        steps = selectors.allowed_transitions(organisation)
        lines = [
            f"Organisation {organisation.pk}: {organisation.name}",
            f"  Type:        {organisation.get_type_display()}",
            f"  Status:      {organisation.status} since {cli.when(organisation.status_changed_at)}"
            + (f" ({organisation.status_reason})" if organisation.status_reason else ""),
            f"  Domains:     {', '.join(d.domain for d in organisation.domains.all()) or '-'}",
            f"  Contact:     {_contact(organisation)}",
            "  Checklist:   "
            + (
                f"version {version.number} signed off {cli.when(signed_off.reviewed_at)}"
                if version and signed_off
                else "not signed off for the current version"
            ),
            "  Can move to: " + (", ".join(step.target for step in steps) or "-"),
            "  Agreements:",
        ]
        agreements = list(selectors.agreements(organisation_id=organisation.pk))
        for agreement in agreements:
            lines.append(
                f"    {agreement.reference}  {agreement.status}  "
                f"{cli.when(agreement.valid_from)} to {cli.when(agreement.valid_to)}  "
                f"{', '.join(g.dataset_id for g in agreement.grants.all()) or 'no datasets'}"
            )
        if not agreements:
            lines.append("    none")
        self.stdout.write("\n".join(lines))

    def transition(self, options: dict[str, Any]) -> None:
        organisation = cli.organisation(options["organisation"])
        before = organisation.status
        form = TransitionForm(
            data={"to": options["to"], "reason": options["reason"]}, organisation=organisation
        )
        if not form.is_valid():
            raise cli.form_error(form, {"to": "--to", "reason": "--reason"})
        done = services.transition_organisation(
            organisation=organisation,
            to=form.cleaned_data["to"],
            reason=form.cleaned_data["reason"],
            by=Actor.system(),
        )
        self.stdout.write(
            f"{done.name} is now {lifecycle.ORGANISATION.states[done.status]} "
            f"(was {lifecycle.ORGANISATION.states[before]})."
        )

    def sign_off(self, options: dict[str, Any]) -> None:
        organisation = cli.organisation(options["organisation"])
        version = selectors.current_checklist_version()
        if version is None:
            raise CommandError("There is no published security audit checklist to sign off.")
        path: Path | None = options["answers_file"]
        if path is None:
            raise CommandError(
                "Give the organisation's answers with --answers-file FILE.json: a sign-off "
                "records what the organisation answered, so it cannot be made without them. "
                f"Questions (version {version.number}): {', '.join(version.question_ids())}."
            )
        answers = _read_answers(path)
        by = Actor.system()
        with transaction.atomic():
            response = services.submit_checklist_response(
                organisation=organisation, answers=answers, by=by, version=version
            )
            services.review_checklist_response(
                response=response, outcome=ReviewOutcome.SIGNED_OFF, note=options["note"], by=by
            )
        self.stdout.write(
            f"Recorded {organisation.name}'s answers to the security audit checklist "
            f"(version {version.number}, {len(answers)} questions) and signed them off."
        )


def _contact(organisation: Organisation) -> str:
    parts = [organisation.contact_name, organisation.contact_email, organisation.contact_phone]
    return ", ".join(part for part in parts if part) or "-"


def _read_answers(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"There is no answers file at {path}.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"The answers file {path} is not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise CommandError(
            f"The answers file {path} must hold one JSON object, keyed by question id."
        )
    answers: dict[str, Any] = {}
    for question_id, given in raw.items():
        if isinstance(given, str):
            given = {"answer": given}
        if not isinstance(given, dict):
            raise CommandError(f'The answer to {question_id} must be "yes", "no" or an object.')
        answers[question_id] = {
            "answer": str(given.get("answer", "")).strip().lower(),
            "evidence": str(given.get("evidence") or OPERATOR_EVIDENCE),
        }
    return answers
