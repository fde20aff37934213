"""``safestats agreements``: draft Data Sharing Agreements, attach the signed PDF, grant
datasets, activate, revoke and list them, for platform teams scripting onboarding. Every
change goes through the services, audited as the operator."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.datastructures import MultiValueDict

from safestats.audit.services import Actor
from safestats.organisations import grants, selectors, services
from safestats.organisations.forms import AgreementForm, DocumentForm, GrantForm, ReasonForm
from safestats.organisations.management import cli
from safestats.organisations.models import DataSharingAgreement, LegalBasis


class Command(BaseCommand):
    help = "Create Data Sharing Agreements, grant datasets under them, activate and revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="draft an agreement with an organisation")
        create.add_argument("--organisation", required=True, metavar="NAME_OR_ID")
        create.add_argument("--reference", required=True)
        create.add_argument("--legal-basis", required=True, choices=LegalBasis.values)
        create.add_argument(
            "--legal-basis-text",
            default="",
            help="the legal basis in words, with --legal-basis other",
        )
        create.add_argument("--purpose", required=True)
        create.add_argument(
            "--from",
            dest="first_day",
            required=True,
            metavar="YYYY-MM-DD",
            help="first day in force",
        )
        create.add_argument(
            "--to",
            dest="last_day",
            required=True,
            metavar="YYYY-MM-DD",
            help="last day in force: the agreement ends at midnight after it, London time",
        )
        create.add_argument("--document", type=Path, metavar="FILE.pdf", help="the signed PDF")

        attach = actions.add_parser("attach", help="attach the signed PDF to a draft agreement")
        attach.add_argument("reference", metavar="REFERENCE")
        attach.add_argument("--document", type=Path, required=True, metavar="FILE.pdf")

        grant = actions.add_parser("grant", help="grant a dataset, or change what is granted")
        grant.add_argument("reference", metavar="REFERENCE")
        grant.add_argument("--dataset", required=True, metavar="ID")
        grant.add_argument("--level", required=True, choices=grants.LEVELS)
        grant.add_argument(
            "--withhold",
            action="append",
            default=[],
            metavar="FIELD",
            help="a field withheld from every output (repeat for more)",
        )
        grant.add_argument(
            "--precision",
            choices=grants.PRECISIONS,
            default=grants.BOROUGH,
            help="the finest spatial precision allowed (default: borough, the coarsest)",
        )

        activate = actions.add_parser("activate", help="activate a signed draft agreement")
        activate.add_argument("reference", metavar="REFERENCE")

        revoke = actions.add_parser("revoke", help="end an agreement now")
        revoke.add_argument("reference", metavar="REFERENCE")
        revoke.add_argument("--reason", required=True)

        listing = actions.add_parser("list", help="list agreements")
        listing.add_argument("--organisation", metavar="NAME_OR_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = {
            "create": self.create,
            "attach": self.attach,
            "grant": self.grant,
            "activate": self.activate,
            "revoke": self.revoke,
            "list": self.list_agreements,
        }[options["action"]]
        with cli.domain_errors():
            handler(options)

    def create(self, options: dict[str, Any]) -> None:
        organisation = cli.organisation(options["organisation"])
        with ExitStack() as stack:
            files: MultiValueDict[str, UploadedFile] = MultiValueDict()
            if options["document"] is not None:
                files["document"] = _open_pdf(options["document"], stack)
            form = AgreementForm(
                data={
                    "reference": options["reference"],
                    "legal_basis": options["legal_basis"],
                    "legal_basis_other": options["legal_basis_text"],
                    "purpose": options["purpose"],
                    "first_day": options["first_day"],
                    "last_day": options["last_day"],
                },
                files=files,
            )
            if not form.is_valid():
                raise cli.form_error(
                    form,
                    {
                        "reference": "--reference",
                        "legal_basis": "--legal-basis",
                        "legal_basis_other": "--legal-basis-text",
                        "purpose": "--purpose",
                        "first_day": "--from",
                        "last_day": "--to",
                        "document": "--document",
                    },
                )
            data = form.cleaned_data
            agreement = services.create_agreement(
                organisation=organisation,
                reference=data["reference"],
                legal_basis=data["legal_basis"],
                legal_basis_other=data["legal_basis_other"],
                purpose=data["purpose"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                document=data["document"],
                by=Actor.system(),
            )
        self.stdout.write(
            f"Created draft agreement {agreement.reference} with {organisation.name}, "
            f"in force once active from {cli.when(agreement.valid_from)} until "
            f"{cli.when(agreement.valid_to)} (London time)"
            + (
                f", signed document {agreement.document_sha256[:12]}."
                if agreement.document_sha256
                else ", no signed document yet."
            )
        )

    def attach(self, options: dict[str, Any]) -> None:
        agreement = cli.agreement(options["reference"])
        with ExitStack() as stack:
            form = DocumentForm(
                data={},
                files=MultiValueDict({"document": [_open_pdf(options["document"], stack)]}),
            )
            if not form.is_valid():
                raise cli.form_error(form, {"document": "--document"})
            agreement = services.attach_document(
                agreement=agreement, document=form.cleaned_data["document"], by=Actor.system()
            )
        self.stdout.write(
            f"Attached the signed document to {agreement.reference} "
            f"(sha256 {agreement.document_sha256}, {agreement.document_size} bytes)."
        )

    def grant(self, options: dict[str, Any]) -> None:
        agreement = cli.agreement(options["reference"])
        form = GrantForm(
            data={
                "dataset_id": options["dataset"],
                "access_level": options["level"],
                "precision": options["precision"],
                "withheld_fields": "\n".join(options["withhold"]),
            }
        )
        if not form.is_valid():
            raise cli.form_error(
                form,
                {
                    "dataset_id": "--dataset",
                    "access_level": "--level",
                    "precision": "--precision",
                    "withheld_fields": "--withhold",
                },
            )
        row = services.set_grant(agreement=agreement, **form.cleaned_data, by=Actor.system())
        withheld = ", ".join(row.withheld_fields) or "none"
        self.stdout.write(
            f"{agreement.reference} grants {row.dataset_id}: {row.access_level} level, "
            f"finest precision {row.precision}, fields withheld: {withheld}."
        )

    def activate(self, options: dict[str, Any]) -> None:
        agreement = services.activate_agreement(
            agreement=cli.agreement(options["reference"]), by=Actor.system()
        )
        self.stdout.write(
            f"Activated {agreement.reference}: in force from {cli.when(agreement.valid_from)} "
            f"until {cli.when(agreement.valid_to)} (London time)."
        )

    def revoke(self, options: dict[str, Any]) -> None:
        form = ReasonForm(data={"reason": options["reason"]})
        if not form.is_valid():
            raise cli.form_error(form, {"reason": "--reason"})
        agreement = services.revoke_agreement(
            agreement=cli.agreement(options["reference"]),
            reason=form.cleaned_data["reason"],
            by=Actor.system(),
        )
        self.stdout.write(f"Revoked {agreement.reference}: it no longer grants access.")

    def list_agreements(self, options: dict[str, Any]) -> None:
        organisation_id = None
        if options["organisation"]:
            organisation_id = cli.organisation(options["organisation"]).pk
        found = list(selectors.agreements(organisation_id=organisation_id))
        if not found:
            self.stdout.write("No agreements.")
            return
        rows = [["REFERENCE", "ORGANISATION", "STATUS", "FROM", "UNTIL", "DATASETS"]]
        rows += [_row(agreement) for agreement in found]
        self.stdout.write(cli.table(rows))


def _row(agreement: DataSharingAgreement) -> list[str]:
    datasets = ", ".join(
        f"{g.dataset_id} ({g.access_level}, {g.precision})" for g in agreement.grants.all()
    )
    return [
        agreement.reference,
        agreement.organisation.name,
        agreement.status,
        cli.when(agreement.valid_from),
        cli.when(agreement.valid_to),
        datasets or "-",
    ]


def _open_pdf(path: Path, stack: ExitStack) -> UploadedFile:
    """The file as an upload, so the form checks it exactly as it checks one from a page."""
    try:
        handle = stack.enter_context(path.open("rb"))
        size = path.stat().st_size
    except FileNotFoundError:
        raise CommandError(f"--document: there is no file at {path}.") from None
    except OSError as exc:
        raise CommandError(f"--document: cannot read {path}: {exc.strerror}.") from None
    return UploadedFile(handle, name=path.name, content_type="application/pdf", size=size)
