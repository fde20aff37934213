"""Where signed agreement documents are kept: ``SAFESTATS_HOME/agreements/<sha256>.pdf``.

The folder is outside the web root and nothing serves it directly; a platform
administrator opens a document through
:func:`safestats.organisations.services.open_agreement_document`, which audits the read.
Files are named by the SHA-256 of their content, so the uploaded name never reaches the
file system (a name like ``../../etc/passwd.pdf`` is only ever shown, never used), the same
document uploaded twice is kept once, and a stored file is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from django.conf import settings

from safestats.instance import InstancePaths
from safestats.organisations.errors import DocumentRefused

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
PDF_SIGNATURE = b"%PDF-"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 64 * 1024


class Upload(Protocol):
    """What Django's ``UploadedFile`` and ``File`` both offer."""

    @property
    def name(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


@dataclass(frozen=True)
class StoredDocument:
    sha256: str
    size: int
    name: str  # the uploaded name, cleaned, for display only


def agreements_dir() -> Path:
    return InstancePaths.under(Path(settings.SAFESTATS_HOME)).agreements


def path_for(sha256: str) -> Path:
    if not _SHA256.match(sha256):
        raise DocumentRefused("That is not the name of a stored agreement document.")
    return agreements_dir() / f"{sha256}.pdf"


def display_name(name: str | None) -> str:
    """The last part of an uploaded file's name, for showing to people; never a path."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:200] or "agreement.pdf"


def check_upload(upload: Upload) -> None:
    """Refuse, with a message, a file that is too large or does not start like a PDF.

    Forms call this for a field error before anything is stored; :func:`store` checks
    again while it reads, because a file's declared size can be wrong.
    """
    if upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(_too_large(upload.size), field="document")
    head = b""
    for chunk in upload.chunks():
        head += chunk
        if len(head) >= len(PDF_SIGNATURE):
            break
    if not head.startswith(PDF_SIGNATURE):
        raise DocumentRefused(
            "The signed agreement must be a PDF file. This file is not a PDF.", field="document"
        )


def _too_large(size: int) -> str:
    return (
        f"The signed agreement must be smaller than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB. "
        f"This file is {size / (1024 * 1024):.1f} MB."
    )


def store(upload: Upload) -> StoredDocument:
    """Keep a signed agreement PDF and return its SHA-256, size and display name.

    Written to a temporary file in the same folder, then linked into place under its
    hash: linking fails rather than replace an existing file, and an existing file with
    that name already has exactly this content.
    """
    folder = agreements_dir()
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    handle: IO[bytes]
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".incoming-", suffix=".pdf") as handle:
        for chunk in upload.chunks(_CHUNK):
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise DocumentRefused(_too_large(size), field="document")
            if len(head) < len(PDF_SIGNATURE):
                head += chunk[: len(PDF_SIGNATURE)]
            digest.update(chunk)
            handle.write(chunk)
        if not head.startswith(PDF_SIGNATURE):
            raise DocumentRefused(
                "The signed agreement must be a PDF file. This file is not a PDF.",
                field="document",
            )
        handle.flush()
        os.fsync(handle.fileno())
        final = folder / f"{digest.hexdigest()}.pdf"
        try:
            os.link(handle.name, final)
            final.chmod(0o440)
        except FileExistsError:
            pass  # the same document, stored before
    return StoredDocument(sha256=digest.hexdigest(), size=size, name=display_name(upload.name))


def open_verified(sha256: str) -> IO[bytes]:
    """Open a stored document for reading after checking its content still matches its
    name; a missing or altered file is refused rather than shown."""
    path = path_for(sha256)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DocumentRefused(
            f"The signed agreement document {sha256}.pdf is missing from the agreements folder."
        ) from None
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(_CHUNK), b""):
        digest.update(chunk)
    if digest.hexdigest() != sha256:
        handle.close()
        raise DocumentRefused(
            f"The signed agreement document {sha256}.pdf has been altered since it was stored."
        )
    handle.seek(0)
    return handle
