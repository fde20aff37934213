"""Signed agreement documents: only PDFs, at most 20 MB, stored under their SHA-256
outside the web root whatever name they arrive with, kept once, never overwritten, and
opened only by platform administrators, with the read audited and a tampered file
refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from safestats.audit.models import AuditEvent
from safestats.audit.services import Actor
from safestats.organisations import documents, services
from safestats.organisations.errors import DocumentRefused, NotPermitted, TransitionNotAllowed
from safestats.organisations.forms import DocumentForm
from safestats.organisations.models import DataSharingAgreement
from tests.factories import (
    DataSharingAgreementFactory,
    PlatformAdminFactory,
    UserFactory,
    pdf_bytes,
)

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system()
LIMIT = documents.MAX_DOCUMENT_BYTES


@pytest.fixture(autouse=True)
def home(settings: Any, tmp_path: Path) -> Path:
    settings.SAFESTATS_HOME = tmp_path / "instance"
    return tmp_path / "instance"


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def attach(agreement: DataSharingAgreement, content: bytes, name: str = "dsa.pdf") -> Any:
    return services.attach_document(
        agreement=agreement, document=SimpleUploadedFile(name, content), by=OPERATOR
    )


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_kept(home: Path) -> None:
    agreement = DataSharingAgreementFactory.create()
    for content in (b"", b"%PDF", b"PK\x03\x04 a zip", b" %PDF-1.7 leading space"):
        with pytest.raises(DocumentRefused) as refused:
            attach(agreement, content)
        assert refused.value.message == (
            "The signed agreement must be a PDF file. This file is not a PDF."
        )
    agreement.refresh_from_db()
    assert agreement.document_sha256 == ""
    assert files_under(home) == []
    assert not AuditEvent.objects.filter(event="agreement.document_attached").exists()


def test_a_refused_document_leaves_no_draft_behind() -> None:
    organisation = DataSharingAgreementFactory.create().organisation
    with pytest.raises(DocumentRefused):
        services.create_agreement(
            organisation=organisation,
            reference="DSA-NOT-PDF",
            legal_basis="s17",
            purpose="p",
            valid_from=timezone.now(),
            valid_to=timezone.now() + timedelta(days=1),
            document=SimpleUploadedFile("dsa.pdf", b"<html>"),
            by=OPERATOR,
        )
    assert not DataSharingAgreement.objects.filter(reference="DSA-NOT-PDF").exists()
    assert not AuditEvent.objects.filter(
        target_type="organisations.datasharingagreement",
        event="agreement.created",
        payload_json__contains="DSA-NOT-PDF",
    ).exists()


def test_twenty_megabytes_is_the_limit(home: Path) -> None:
    agreement = DataSharingAgreementFactory.create()
    attach(agreement, pdf_bytes(size=LIMIT))
    agreement.refresh_from_db()
    assert agreement.document_size == LIMIT
    other = DataSharingAgreementFactory.create()
    with pytest.raises(DocumentRefused) as refused:
        attach(other, pdf_bytes(size=LIMIT + 1))
    assert refused.value.message == (
        "The signed agreement must be smaller than 20 MB. This file is 20.0 MB."
    )
    assert len(files_under(home)) == 1


class LyingUpload:
    """An upload whose declared size is small but whose content is not."""

    name = "dsa.pdf"
    size = 10

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        for _ in range(LIMIT // (1024 * 1024) + 1):
            yield b"0" * (1024 * 1024)


def test_the_size_is_counted_while_reading_not_taken_on_trust(home: Path) -> None:
    with pytest.raises(DocumentRefused, match="smaller than 20 MB"):
        documents.store(LyingUpload())
    assert files_under(home) == []


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.pdf",
        "..\\..\\windows\\evil.pdf",
        "/absolute/path/evil.pdf",
        "static/../../evil.pdf",
        "evil\x00.pdf",
    ],
)
def test_the_uploaded_name_never_reaches_the_file_system(name: str, tmp_path: Path) -> None:
    content = pdf_bytes(name)
    agreement = DataSharingAgreementFactory.create()
    attach(agreement, content, name=name)
    agreement.refresh_from_db()
    assert files_under(tmp_path) == [f"instance/agreements/{agreement.document_sha256}.pdf"]
    assert "/" not in agreement.document_name and "\\" not in agreement.document_name
    assert agreement.document_name.endswith(".pdf")


def test_the_same_document_twice_is_stored_once_and_not_rewritten(home: Path) -> None:
    content = pdf_bytes("one agreement, signed")
    first = attach(DataSharingAgreementFactory.create(), content)
    path = documents.path_for(first.document_sha256)
    before = os.stat(path)
    second = attach(DataSharingAgreementFactory.create(), content, name="copy.pdf")
    assert second.document_sha256 == first.document_sha256
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert files_under(home) == [f"agreements/{first.document_sha256}.pdf"]
    assert path.read_bytes() == content


def test_documents_are_kept_outside_the_web_root(home: Path) -> None:
    folder = documents.agreements_dir()
    assert folder == home / "agreements"
    assert not folder.is_relative_to(Path(django_settings.STATIC_ROOT))
    assert not folder.is_relative_to(Path(documents.__file__).parents[1] / "web" / "static")


def test_only_a_draft_takes_a_new_document() -> None:
    agreement = DataSharingAgreementFactory.create(active=True)
    with pytest.raises(
        TransitionNotAllowed, match="cannot be replaced because the agreement is active"
    ):
        attach(agreement, pdf_bytes())


def test_a_platform_administrator_opens_the_document_and_the_read_is_audited() -> None:
    content = pdf_bytes("the signed one")
    agreement = attach(DataSharingAgreementFactory.create(), content)
    admin = PlatformAdminFactory.create()
    with services.open_agreement_document(agreement=agreement, by=admin) as handle:
        assert handle.read() == content
    audit = AuditEvent.objects.order_by("-seq")[0]
    assert audit.event == "agreement.document_opened"
    assert (audit.actor_id, audit.target_id) == (admin.pk, str(agreement.pk))
    assert audit.payload == {"sha256": agreement.document_sha256}


def test_nobody_else_opens_it_and_nothing_is_logged_as_read() -> None:
    agreement = attach(DataSharingAgreementFactory.create(), pdf_bytes())
    for who in (UserFactory.create(), None, Actor.anonymous()):
        with pytest.raises(NotPermitted, match="Only a platform administrator can open"):
            services.open_agreement_document(agreement=agreement, by=who)
    assert not AuditEvent.objects.filter(event="agreement.document_opened").exists()


def test_an_altered_or_missing_file_is_refused_not_shown() -> None:
    agreement = attach(DataSharingAgreementFactory.create(), pdf_bytes("original"))
    path = documents.path_for(agreement.document_sha256)
    path.chmod(0o600)
    path.write_bytes(pdf_bytes("altered"))
    with pytest.raises(DocumentRefused, match="has been altered since it was stored"):
        services.open_agreement_document(agreement=agreement, by=OPERATOR)
    path.unlink()
    with pytest.raises(DocumentRefused, match="is missing"):
        services.open_agreement_document(agreement=agreement, by=OPERATOR)
    assert not AuditEvent.objects.filter(event="agreement.document_opened").exists()


@pytest.mark.parametrize("name", ["../secret", "A" * 64, "0" * 63, "0" * 64 + "/x"])
def test_only_a_sha256_names_a_stored_document(name: str) -> None:
    with pytest.raises(DocumentRefused):
        documents.path_for(name)


def test_the_form_refuses_with_the_same_words() -> None:
    form = DocumentForm(
        data={}, files=MultiValueDict({"document": [SimpleUploadedFile("a.pdf", b"GIF89a")]})
    )
    assert form.errors == {
        "document": ["The signed agreement must be a PDF file. This file is not a PDF."]
    }
    assert DocumentForm(data={}, files=MultiValueDict()).errors == {
        "document": ["Select the signed agreement"]
    }
