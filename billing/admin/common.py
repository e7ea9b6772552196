"""What the billing admin's pages share: the admin of records kept as written, the "N done,
M refused" report of an action, and files sent as downloads."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from billing.exports.csvfile import ENCODINGS
from billing.formatting import percent, price_text, safe_filename


class RecordAdmin(admin.ModelAdmin):
    """A record kept as it was written (a document, a file handed out, a reminder sent):
    viewed in the admin, never added, changed or deleted there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def report(request, done: int, refused: list[str]) -> None:
    """ "N done, M refused" with the reasons."""
    level = messages.SUCCESS if not refused else messages.WARNING
    messages.add_message(
        request, level, _("%(done)d done, %(refused)d refused.") % {"done": done, "refused": len(refused)}
    )
    for reason in refused:
        messages.error(request, reason)


def price_display(money) -> str:
    """A unit price as its card set it, fractions of a yen kept: ¥0.35, ¥250.5, ¥1,200
    (django-money would round it to the yen as JPY has no decimals, and lines would not
    add up)."""
    return "-" if money is None else f"¥{price_text(money.amount)}"


def rate_display(rate) -> str:
    """A tax rate as people say it: 0.10 → 10%."""
    return "-" if rate is None else f"{percent(rate)}%"


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
