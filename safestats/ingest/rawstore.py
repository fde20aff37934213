"""The raw store: every file received, kept exactly as it came, under its SHA-256.

Files are written to a temporary name while they are hashed, then moved into place in one
step and made read-only; the same bytes received twice are stored once. Nothing here ever
deletes or changes a stored file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePath

from django.conf import settings
from django.db import IntegrityError, transaction

from safestats.audit.services import Actor
from safestats.ingest.models import RawFile

CHUNK = 1 << 20


class UploadTooLarge(ValueError):
    """The file is larger than the instance accepts (SAFESTATS_MAX_UPLOAD_MB)."""


def raw_dir() -> Path:
    return Path(settings.SAFESTATS_RAW_DIR)


def max_upload_bytes() -> int:
    return int(settings.SAFESTATS_MAX_UPLOAD_MB) * 1024 * 1024


def safe_name(name: str) -> str:
    """The file's own name without any folder part, for display only (never a path)."""
    base = PurePath(name.replace("\\", "/")).name.strip() or "upload"
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return "upload" if cleaned.strip(".") == "" else cleaned


def path_of(raw: RawFile) -> Path:
    return raw_dir() / raw.stored_path


def store_chunks(chunks: Iterable[bytes], *, name: str, by: object) -> tuple[RawFile, bool]:
    """Store a file given as chunks of bytes. Returns the stored file and whether it was
    new (False: the same bytes were already stored, and nothing was written)."""
    root = raw_dir()
    staging = root / "incoming"
    staging.mkdir(parents=True, exist_ok=True)
    limit = max_upload_bytes()
    sha, size = hashlib.sha256(), 0
    handle = tempfile.NamedTemporaryFile(dir=staging, delete=False, suffix=".part")  # noqa: SIM115
    temp = Path(handle.name)
    try:
        with handle:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(
                        f"The file is larger than the {settings.SAFESTATS_MAX_UPLOAD_MB} MB "
                        "this service accepts: split it into smaller files."
                    )
                sha.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        digest = sha.hexdigest()
        existing = RawFile.objects.filter(sha256=digest).first()
        if existing is not None and path_of(existing).exists():
            return existing, False
        relative = f"{digest[:2]}/{digest}"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        target.chmod(0o444)
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                raw = RawFile.objects.create(
                    sha256=digest,
                    size=size,
                    stored_path=relative,
                    first_name=safe_name(name),
                    received_by=Actor.of(by).label,
                )
        except IntegrityError:  # stored at the same moment by another upload
            return RawFile.objects.get(sha256=digest), False
        return raw, True
    finally:
        temp.unlink(missing_ok=True)


def store_path(path: Path, *, name: str | None = None, by: object) -> tuple[RawFile, bool]:
    with path.open("rb") as handle:
        return store_chunks(iter(lambda: handle.read(CHUNK), b""), name=name or path.name, by=by)
