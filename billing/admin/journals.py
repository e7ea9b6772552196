"""What was handed to the accounting software: every ``--since-last`` journal file, who
made it and when, with its bytes to download again (a file lost on the way is never
exported a second time: its entries are recorded as exported)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.exports.journal import filename
from billing.models import JournalExport
from contracts import periods
from contracts.admin_history import StaffNamesMixin

from .common import RecordAdmin, download


@admin.register(JournalExport)
class JournalExportAdmin(StaffNamesMixin, RecordAdmin):
    list_display = ("exported_at", "format", "month_label", "entries", "exported_by", "file_link")
    list_filter = ("format", "month")
    list_select_related = ("exported_by",)
    fields = ("format", "kind", "month", "exported_at", "exported_by", "entries")
    readonly_fields = fields

    def get_queryset(self, request):
        # the files' bytes only where one is downloaded
        return super().get_queryset(request).defer("content")

    def get_urls(self):
        return [
            path(
                "<int:pk>/file/",
                self.admin_site.admin_view(self.file_view),
                name="billing_journalexport_file",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return periods.japanese_month(obj.month)

    @admin.display(description=_("file"))
    def file_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_journalexport_file", args=[obj.pk]),
            _("Download again"),
        )

    def file_view(self, request, pk: int):
        if not (self.has_view_permission(request) and request.user.has_perm("billing.export_invoices")):
            raise PermissionDenied
        export = get_object_or_404(JournalExport, pk=pk)
        return download(
            bytes(export.content),
            filename=filename(export.month, export.format, export, export.kind),
            content_type="text/csv; charset=shift_jis",
        )
