"""Receiving files from the upload page without holding them in memory, and stopping as
soon as one is larger than the instance accepts (SAFESTATS_MAX_UPLOAD_MB).

Django reads a request's files when the view (or the CSRF check) first touches
``request.POST``; the handler must be installed before that, so the upload view is
exempted from the CSRF middleware and checks the token itself once the handler is in
place (see :func:`with_size_limit`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from safestats.ingest import rawstore


def too_large_message(name: str) -> str:
    return (
        f"{name} is larger than the {settings.SAFESTATS_MAX_UPLOAD_MB:,} MB this service "
        "accepts: split it into smaller files"
    )


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    """Writes each file to a temporary file on disk (never all in memory) and stops the
    whole upload once a file passes ``limit`` bytes: the part written is deleted, the rest
    of the request is read and thrown away, and :attr:`too_large` names the file."""

    def __init__(self, request: HttpRequest | None = None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large: str | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        content_length = args[1] if len(args) > 1 else kwargs.get("content_length")
        if content_length is not None and content_length > self.limit:
            self._stop()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self._stop()
        return super().receive_data_chunk(raw_data, start)

    def _stop(self) -> None:
        self.too_large = rawstore.safe_name(self.file_name or "upload")
        raise StopUpload(connection_reset=False)


UploadView = Callable[..., HttpResponseBase]


def with_size_limit(view: Callable[..., HttpResponseBase]) -> UploadView:
    """Run ``view(request, handler, ...)`` with a :class:`SizeLimitedUploadHandler` as the
    request's only upload handler (None for requests that carry no body to parse), and
    the CSRF token checked after it is installed."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        handler = None
        if request.method == "POST":
            handler = SizeLimitedUploadHandler(request, limit=rawstore.max_upload_bytes())
            request.upload_handlers = [handler]
        return protected(request, handler, *args, **kwargs)

    return limited
