"""What the billing admin's pages share: the "N done, M refused" report of an action,
and files sent as downloads."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from billing.exports.csvfile import ENCODINGS
from billing.formatting import safe_filename


def report(request, done: int, refused: list[str]) -> None:
    """ "N done, M refused" with the reasons."""
    level = messages.SUCCESS if not refused else messages.WARNING
    messages.add_message(
        request, level, _("%(done)d done, %(refused)d refused.") % {"done": done, "refused": len(refused)}
    )
    for reason in refused:
        messages.error(request, reason)


def csv_encoding(request) -> str:
    """The encoding a CSV link asks for (``?encoding=cp932``), UTF-8 with BOM otherwise."""
    encoding = request.GET.get("encoding", "utf-8-sig")
    return encoding if encoding in ENCODINGS else "utf-8-sig"


def csv_content_type(encoding: str) -> str:
    return f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}"


def download(content: bytes | Iterable[bytes], *, filename: str, content_type: str) -> HttpResponse:
    """A file to save, not to show: bytes as they are, or chunks streamed as they come."""
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
    else:
        response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    return response
