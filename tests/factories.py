"""factory_boy factories, one per model. They write rows directly, without the services
and their audit events: use them to arrange a test, and the services to act."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from safestats.accounts.models import User
from safestats.organisations.models import (
    AgreementDataset,
    AgreementStatus,
    ChecklistResponse,
    ChecklistVersion,
    DataSharingAgreement,
    LegalBasis,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    OrganisationType,
    ReviewOutcome,
)


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    # An unusable password: hashing one with Argon2 for every user would slow the suite.
    password = factory.django.Password(None)


class PlatformAdminFactory(UserFactory):
    email = factory.Sequence(lambda n: f"platform.admin{n}@example.org")
    role = "platform_admin"
    status = "authorised"


class OrganisationFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Test Organisation {n}")
    type = OrganisationType.LOCAL_AUTHORITY
    contact_name = "Casey Contact"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.org")
    status = OrganisationStatus.APPLIED


class OrganisationDomainFactory(DjangoModelFactory[OrganisationDomain]):
    class Meta:
        model = OrganisationDomain

    organisation = factory.SubFactory(OrganisationFactory)
    domain = factory.Sequence(lambda n: f"org{n}.example.gov.uk")


class ChecklistVersionFactory(DjangoModelFactory[ChecklistVersion]):
    """Unpublished by default: publishing one changes the version approvals need."""

    class Meta:
        model = ChecklistVersion

    number = factory.Sequence(lambda n: 100 + n)
    published = False
    questions = factory.LazyFunction(
        lambda: [
            {"id": "named_officer", "text": "Is there a named officer?", "guidance": ""},
            {"id": "encrypted", "text": "Are devices encrypted?", "guidance": ""},
        ]
    )


def all_yes(version: ChecklistVersion) -> dict[str, dict[str, str]]:
    return {qid: {"answer": "yes", "evidence": "Seen by test"} for qid in version.question_ids()}


def current_version() -> ChecklistVersion:
    return ChecklistVersion.objects.filter(published=True).order_by("-number")[0]


class ChecklistResponseFactory(DjangoModelFactory[ChecklistResponse]):
    class Meta:
        model = ChecklistResponse

    organisation = factory.SubFactory(OrganisationFactory)
    version = factory.LazyFunction(current_version)
    answers = factory.LazyAttribute(lambda o: all_yes(o.version))
    submitted_by_label = "contact@example.org"

    class Params:
        signed_off = factory.Trait(
            outcome=ReviewOutcome.SIGNED_OFF,
            reviewed_by_label="operator",
            reviewed_at=factory.LazyFunction(timezone.now),
        )


class DataSharingAgreementFactory(DjangoModelFactory[DataSharingAgreement]):
    class Meta:
        model = DataSharingAgreement

    organisation = factory.SubFactory(OrganisationFactory, status=OrganisationStatus.APPROVED)
    reference = factory.Sequence(lambda n: f"DSA-TEST-{n:04d}")
    legal_basis = LegalBasis.S17
    purpose = "Analysis of violence for the community safety partnership's strategic assessment"
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    valid_to = factory.LazyFunction(lambda: timezone.now() + timedelta(days=365))
    status = AgreementStatus.DRAFT

    class Params:
        active = factory.Trait(
            status=AgreementStatus.ACTIVE,
            document_sha256="a" * 64,
            document_name="signed.pdf",
            document_size=1024,
            activated_at=factory.LazyFunction(timezone.now),
        )


class AgreementDatasetFactory(DjangoModelFactory[AgreementDataset]):
    class Meta:
        model = AgreementDataset

    agreement = factory.SubFactory(DataSharingAgreementFactory, active=True)
    dataset_id = factory.Sequence(lambda n: f"dataset-{n}")
    access_level = "aggregate"
    withheld_fields = factory.LazyFunction(list)
    precision = "lsoa"


def pdf_bytes(text: str = "signed", size: int = 0) -> bytes:
    """A small file that starts like a PDF (enough for the checks), padded to ``size``."""
    body = b"%PDF-1.7\n% " + text.encode() + b"\n"
    tail = b"%%EOF\n"
    padding = max(0, size - len(body) - len(tail))
    return body + b"0" * padding + tail
