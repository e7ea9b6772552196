"""Credit notes (適格返還請求書, R16) for accountants: issued from an issued invoice's page
(an amount up to what the invoice leaves, and a reason), then only ever viewed, as the
document (HTML and PDF) with the invoice's look."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.documents import credit_note_document, credit_note_filename
from billing.documents.store import pdf_bytes
from billing.formatting import yen_text
from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceStatus
from billing.runs import DOCUMENT_LANGUAGE, credit_note_issue
from billing.runs.credit_notes import creditable
from contracts.admin_history import HistoryAdmin

from .common import download, rate_display


class CreditNoteLineInline(admin.TabularInline):
    model = CreditNoteLine
    extra = 0
    can_delete = False
    fields = (
        "position",
        "contract",
        "line_type",
        "description",
        "amount",
        "billed_month",
        "billed_line_type",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contract")


class CreditNoteForm(forms.Form):
    amount = forms.IntegerField(
        label=_("amount to return (yen, tax excluded)"),
        min_value=1,
        help_text=_("Consumption tax is added once, truncated to the yen (R16)."),
    )
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


@admin.register(CreditNote)
class CreditNoteAdmin(HistoryAdmin):
    list_display = (
        "number",
        "invoice_link",
        "customer_code",
        "billing_name",
        "issue_date",
        "subtotal",
        "tax",
        "total",
        "origin",
    )
    list_filter = ("origin",)
    search_fields = ("number", "invoice__number", "customer_code")
    list_select_related = ("invoice",)
    show_full_result_count = False
    inlines = (CreditNoteLineInline,)
    fieldsets = (
        (None, {"fields": ("number", "invoice", "origin", "billing_month", "issue_date", "reason")}),
        (
            _("Recipient (宛名)"),
            {"fields": ("customer_code", "customer_name", "billing_name", "postal_code", "address")},
        ),
        (_("Amounts"), {"fields": ("subtotal", "tax_rate_percent", "tax", "total")}),
        (_("Issuer"), {"fields": ("issuer_name", "issuer_address", "issuer_registration_number")}),
        (_("History"), {"fields": ("issued_at", "issued_by")}),
    )
    change_form_template = "admin/billing/creditnote/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # super(): the names shown for the staff who acted (contracts.admin_history)
        return [
            *super().get_readonly_fields(request, obj),
            *(f.name for f in self.model._meta.fields),
            "tax_rate_percent",
        ]

    @admin.display(description=_("tax rate"))
    def tax_rate_percent(self, obj):
        return rate_display(obj.tax_rate)

    def has_add_permission(self, request):
        return False  # issued from the invoice's page (``issue_view``)

    def has_change_permission(self, request, obj=None):
        return False  # R16: never changed once issued

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "issue/<int:invoice_pk>/",
                self.admin_site.admin_view(self.issue_view),
                name="billing_creditnote_issue",
            ),
            path(
                "<int:pk>/document/",
                self.admin_site.admin_view(self.document_view),
                name="billing_creditnote_document",
            ),
            path(
                "<int:pk>/document.pdf",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_creditnote_pdf",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("credited invoice"), ordering="invoice__number")
    def invoice_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_invoice_change", args=[obj.invoice_id]),
            obj.invoice.number,
        )

    def issue_view(self, request, invoice_pk):
        """R16: return part of an issued, live invoice."""
        if not request.user.has_perm("billing.issue_creditnote"):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=invoice_pk)
        back = HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        if invoice.status != InvoiceStatus.ISSUED:
            messages.error(request, _("R16: only an issued invoice is credited."))
            return back
        form = CreditNoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                note = credit_note_issue(
                    invoice=invoice,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request,
                    _(
                        "Credit note %(number)s issued against %(invoice)s: %(total)s yen returned (tax included)."
                    )
                    % {
                        "number": note.number,
                        "invoice": invoice.number,
                        "total": yen_text(note.total.amount),
                    },
                )
                return HttpResponseRedirect(reverse("admin:billing_creditnote_change", args=[note.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issue a credit note against %(number)s") % {"number": invoice.number},
            "form": form,
            "invoice": invoice,
            "left": yen_text(creditable(invoice)),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/creditnote/issue.html", context)

    def _note_to_show(self, request, pk) -> CreditNote:
        note = get_object_or_404(CreditNote.objects.select_related("invoice"), pk=pk)
        if not self.has_view_permission(request, note):
            raise PermissionDenied
        return note

    def document_view(self, request, pk):
        """The credit note as a printable page (適格返還請求書), the invoice's look."""
        note = self._note_to_show(request, pk)
        with translation.override(DOCUMENT_LANGUAGE):
            return render(
                request,
                "billing/invoice_document.html",
                {
                    "doc": credit_note_document(note),
                    "pdf_url": reverse("admin:billing_creditnote_pdf", args=[note.pk]),
                    "admin_url": reverse("admin:billing_creditnote_change", args=[note.pk]),
                },
            )

    def pdf_view(self, request, pk):
        note = self._note_to_show(request, pk)
        return download(
            pdf_bytes(note),  # R19: the bytes kept when it was issued
            filename=credit_note_filename(note, "pdf"),
            content_type="application/pdf",
        )
