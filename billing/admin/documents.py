"""R19 for accountants: the issued documents kept as they were handed out, searchable as
the Electronic Bookkeeping Act asks (電子帳簿保存法: 取引年月日・取引金額の範囲指定,
取引先, combinable), each with its SHA-256 and its sending history; sent to customers by
email from here; the mail templates they are sent with. Nothing here changes or deletes
a kept document."""

from __future__ import annotations

import io

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing.documents import mail
from billing.documents.archive import write_archive
from billing.formatting import japanese_date, yen_text
from billing.models import DocumentSend, MailTemplate, StoredDocument
from contracts.admin_history import HistoryAdmin

from .common import RecordAdmin, download
from .filters import AmountRangeFilter, DateRangeFilter

#: who may email documents: sending one is recording a DocumentSend
SEND_PERMISSION = "billing.add_documentsend"


class SendStatusFilter(admin.SimpleListFilter):
    title = _("sending")
    parameter_name = "sent"

    def lookups(self, request, model_admin):
        return [("no", _("never sent")), ("sent", _("sent")), ("failed", _("last attempt failed"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(last_result__isnull=True)
        if self.value() in ("sent", "failed"):
            return queryset.filter(last_result=self.value())
        return queryset


class DocumentSendInline(admin.TabularInline):
    model = DocumentSend
    extra = 0
    can_delete = False
    fields = ("sent_at", "to", "cc", "result", "error", "message_id", "resend", "sent_by")
    readonly_fields = fields
    ordering = ("-sent_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sent_by")


@admin.register(StoredDocument)
class StoredDocumentAdmin(RecordAdmin):
    list_display = (
        "number",
        "kind",
        "date_label",
        "amount_label",
        "counterparty",
        "customer_code",
        "hash_label",
        "sending",
        "pdf_link",
    )
    list_filter = (
        ("issue_date", DateRangeFilter),
        ("amount", AmountRangeFilter),
        "kind",
        SendStatusFilter,
    )
    # 取引先: the counterparty's name or code; a document by its number
    search_fields = ("=number", "counterparty", "=customer_code")
    search_help_text = _("A document number, a customer code, or part of the counterparty's name.")
    show_full_result_count = False
    actions = ("send_selected", "resend_selected", "download_zip")
    inlines = (DocumentSendInline,)
    fields = (
        "number",
        "kind",
        "invoice",
        "credit_note",
        "issue_date",
        "amount",
        "customer",
        "counterparty",
        "sha256",
        "size",
        "fonts_embedded",
        "stored_at",
        "path",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        last = DocumentSend.objects.filter(document=OuterRef("pk")).order_by("-sent_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .defer("content")
            .annotate(
                last_result=Subquery(last.values("result")[:1]),
                last_sent_at=Subquery(last.values("sent_at")[:1]),
            )
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(SEND_PERMISSION):
            actions.pop("send_selected", None)
            actions.pop("resend_selected", None)
        if not request.user.has_perm("billing.export_invoices"):
            actions.pop("download_zip", None)
        return actions

    def get_urls(self):
        return [
            path(
                "<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="billing_storeddocument_pdf"
            ),
            *super().get_urls(),
        ]

    # --- columns

    @admin.display(description=_("date"), ordering="issue_date")
    def date_label(self, obj):
        return japanese_date(obj.issue_date)

    @admin.display(description=_("amount (tax included)"), ordering="amount")
    def amount_label(self, obj):
        return f"¥{yen_text(obj.amount.amount)}"

    @admin.display(description=_("SHA-256"))
    def hash_label(self, obj):
        return format_html('<code title="{}">{}…</code>', obj.sha256, obj.sha256[:12])

    @admin.display(description=_("sending"))
    def sending(self, obj):
        if obj.last_result is None:
            return _("never sent")
        label = dict(DocumentSend.Result.choices)[obj.last_result]
        return f"{label}（{japanese_date(obj.last_sent_at.astimezone().date())}）"

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj):
        return format_html('<a href="{}">PDF</a>', reverse("admin:billing_storeddocument_pdf", args=[obj.pk]))

    # --- views and actions

    def pdf_view(self, request, pk):
        """The kept bytes, checked against their hash."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(StoredDocument, pk=pk)
        return download(document.read(), filename=f"{document.number}.pdf", content_type="application/pdf")

    def _send(self, request, queryset, *, resend: bool):
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        # the PDFs are attached: read with the rows, not one query per document
        planned, skipped = mail.plan(
            queryset.defer(None).select_related("customer", "invoice", "credit_note__invoice"), again=resend
        )
        summary = mail.send(planned, by=request.user, resend=resend)
        level = messages.SUCCESS if not summary.failed else messages.WARNING
        self.message_user(
            request,
            _("Sent: %(sent)d, skipped (sent before): %(skipped)d, failed: %(failed)d")
            % {"sent": len(summary.sent), "skipped": len(skipped), "failed": len(summary.failed)},
            level,
        )
        for item, problem in summary.failed:
            messages.error(request, f"{item.document.number}: {problem}")
        if skipped:
            messages.info(
                request,
                ngettext(
                    "%(numbers)s was sent before; use “resend” to send it again.",
                    "%(numbers)s were sent before; use “resend” to send them again.",
                    len(skipped),
                )
                % {"numbers": "、".join(d.number for d in skipped)},
            )

    @admin.action(description=_("Send the selected documents by email (not sent before)"))
    def send_selected(self, request, queryset):
        self._send(request, queryset, resend=False)

    @admin.action(description=_("Send the selected documents by email again"))
    def resend_selected(self, request, queryset):
        self._send(request, queryset, resend=True)

    @admin.action(description=_("Download the selected documents as a zip (with manifest.csv)"))
    def download_zip(self, request, queryset):
        if not request.user.has_perm("billing.export_invoices"):
            raise PermissionDenied
        buffer = io.BytesIO()
        write_archive(queryset.defer(None).order_by("number"), buffer)  # the PDFs with their rows
        return download(buffer.getvalue(), filename="documents.zip", content_type="application/zip")


@admin.register(MailTemplate)
class MailTemplateAdmin(HistoryAdmin):
    """The subject and body each kind of document is sent with; accountants edit them."""

    list_display = ("kind", "subject", "updated_at")
    fields = ("kind", "subject", "body", "placeholders")
    readonly_fields = ("kind", "placeholders")

    @admin.display(description=_("placeholders"))
    def placeholders(self, obj):
        from billing.models.documents import MAIL_PLACEHOLDERS

        return "、".join(f"{{{name}}}" for name in MAIL_PLACEHOLDERS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
