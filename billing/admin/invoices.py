"""Invoices for accountants (R12): read only, voided and replaced from their page, shown
as the qualified invoice document (HTML and PDF); the list shows each issued invoice's
balance and payment status (R17), with filters for overdue and partly paid."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing import runs
from billing.documents import document_filename, invoice_document
from billing.documents.store import pdf_bytes
from billing.formatting import yen_text
from billing.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus, PaymentStatus
from billing.runs import DOCUMENT_LANGUAGE
from contracts import periods
from contracts.admin_history import HistoryAdmin
from contracts.admin_lists import EstimatedCountAdmin, IndexedSearchAdmin

from .common import RecordAdmin, download, price_display, rate_display, report


class MonthFilter(admin.SimpleListFilter):
    title = _("billing month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = BillingRun.objects.order_by("-month").values_list("month", flat=True)[:36]
        return [(periods.format_month(m), periods.japanese_month(m)) for m in months]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(billing_month=periods.parse_month(self.value()))
            except ValueError:
                return queryset.none()
        return queryset


class PaymentStatusFilter(admin.SimpleListFilter):
    """R17: 未入金, 一部入金, 入金済, 過入金 of issued invoices, from the database."""

    title = _("payment")
    parameter_name = "payment"

    def lookups(self, request, model_admin):
        return PaymentStatus.choices

    def queryset(self, request, queryset):
        if self.value() in PaymentStatus.values:
            return queryset.filter(status=InvoiceStatus.ISSUED, payment_status=self.value())
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """R17: issued invoices with a balance left after their due date, as of today in Japan."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=InvoiceStatus.ISSUED, is_overdue=True)
        return queryset


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fk_name = "invoice"
    extra = 0
    can_delete = False
    fields = ("contract", "line_type", "item", "description", "quantity", "unit_price_text", "amount")
    readonly_fields = fields
    ordering = ("contract__code", "position")

    @admin.display(description=_("unit price"))
    def unit_price_text(self, obj):
        return price_display(obj.unit_price)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contract")


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for voiding"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )


@admin.register(Invoice)
class InvoiceAdmin(RecordAdmin, HistoryAdmin, EstimatedCountAdmin, IndexedSearchAdmin):
    # R12: an invoice is only ever viewed; the run issues it and the void view corrects it
    list_display = (
        "number_or_draft",
        "status",
        "customer_code",
        "billing_name",
        "month_label",
        # subtotal and tax are on the invoice's page: with the balance and payment status
        # (R17) the list would not fit 1366 px
        "total",
        "issue_date",
        "due_date",
        "balance_label",
        "payment_label",
    )
    list_filter = (MonthFilter, "status", PaymentStatusFilter, OverdueFilter)
    search_fields = ("number", "customer_code", "billing_name", "customer_name")
    # numbers and codes by their start, names anywhere: each from an index (issue 16)
    search_prefix = ("number", "customer_code")
    search_contains = ("billing_name", "customer_name")
    search_help_text = _(
        "Search by the start of an invoice number or customer code, or by any part of a name."
    )
    list_select_related = ("customer",)
    inlines = (InvoiceLineInline,)
    fieldsets = (
        (None, {"fields": ("number", "status", "billing_month", "issue_date", "due_date")}),
        (
            _("Recipient (宛名)"),
            {"fields": ("customer", "customer_code", "billing_name", "postal_code", "address")},
        ),
        (
            _("Amounts"),
            {"fields": ("subtotal", "tax_rate_percent", "tax", "total")},
        ),
        (_("Issuer"), {"fields": ("issuer_name", "issuer_address", "issuer_registration_number")}),
        (
            _("History"),
            {
                "fields": (
                    "replaces",
                    "replaced_by_link",
                    "issued_at",
                    "issued_by",
                    "voided_at",
                    "voided_by",
                    "void_reason",
                )
            },
        ),
    )
    change_form_template = "admin/billing/invoice/change_form.html"
    actions = ("remind_selected",)

    def get_readonly_fields(self, request, obj=None):
        # super(): the names shown for the staff who acted (contracts.admin_history)
        fields = [f.name for f in self.model._meta.fields] + ["replaced_by_link", "tax_rate_percent"]
        return [*super().get_readonly_fields(request, obj), *fields]

    @admin.display(description=_("tax rate"))
    def tax_rate_percent(self, obj):
        return rate_display(obj.tax_rate)

    def get_queryset(self, request):
        # R17: balance and payment status computed in the same query as the list
        return super().get_queryset(request).with_balance()

    def get_urls(self):
        return [
            path("<int:pk>/void/", self.admin_site.admin_view(self.void_view), name="billing_invoice_void"),
            path(
                "<int:pk>/document/",
                self.admin_site.admin_view(self.document_view),
                name="billing_invoice_document",
            ),
            path(
                "<int:pk>/document.pdf", self.admin_site.admin_view(self.pdf_view), name="billing_invoice_pdf"
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("invoice number"), ordering="number")
    def number_or_draft(self, obj):
        return obj.number or _("(draft)")

    @admin.display(description=_("month"), ordering="billing_month")
    def month_label(self, obj):
        return periods.japanese_month(obj.billing_month)

    @admin.display(description=_("balance"), ordering="balance")
    def balance_label(self, obj):
        return yen_text(obj.balance) if obj.status == InvoiceStatus.ISSUED else "—"

    @admin.display(description=_("payment"), ordering="payment_status")
    def payment_label(self, obj):
        if obj.status != InvoiceStatus.ISSUED:
            return "—"
        label = PaymentStatus(obj.payment_status).label
        return format_html("{} <strong>{}</strong>", label, _("overdue")) if obj.is_overdue else label

    @admin.action(
        description=_("Send reminders (督促) to the customers of the selected invoices"),
        permissions=["remind"],
    )
    def remind_selected(self, request, queryset):
        """R17: each customer of the selected invoices with overdue invoices today is
        reminded of all of them, unless reminded of the same already."""
        from billing.payments.reminders import reminders_send

        customer_ids = set(queryset.values_list("customer_id", flat=True))
        summary = reminders_send(as_of=timezone.localdate(), customer_ids=customer_ids)
        report(
            request, len(summary.sent), [f"{item.customer.code}: {error}" for item, error in summary.failed]
        )
        if summary.skipped:
            messages.info(request, str(summary))

    def has_remind_permission(self, request):
        return request.user.has_perm("billing.send_reminder")

    @admin.display(description=_("replaced by"))
    def replaced_by_link(self, obj):
        replacement = Invoice.objects.filter(replaces=obj).first()
        if replacement is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_invoice_change", args=[replacement.pk]), replacement
        )

    def void_view(self, request, pk):
        """R12: void an issued invoice and issue its replacement from current data."""
        if not request.user.has_perm("billing.void_invoice"):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=pk)
        form = VoidForm(request.POST or None)
        if invoice.status != InvoiceStatus.ISSUED:
            messages.error(request, _("R12: only an issued invoice can be voided."))
            return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[pk]))
        if request.method == "POST" and form.is_valid():
            try:
                replacement = runs.invoice_void_and_replace(
                    invoice=invoice, by=request.user, reason=form.cleaned_data["reason"]
                )
            except (ValidationError, runs.BillingRefused) as error:
                messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            else:
                if replacement is None:
                    messages.warning(
                        request,
                        _("%(number)s voided; nothing is billable any more, so no replacement.")
                        % {"number": invoice.number},
                    )
                    return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[pk]))
                messages.success(
                    request,
                    _("%(old)s voided and replaced by %(new)s.")
                    % {"old": invoice.number, "new": replacement.number},
                )
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[replacement.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Void %(number)s and issue a replacement") % {"number": invoice.number},
            "form": form,
            "invoice": invoice,
            "opts": self.model._meta,
            "original": invoice,
        }
        return TemplateResponse(request, "admin/billing/invoice/void.html", context)

    def _invoice_to_show(self, request, pk) -> Invoice:
        invoice = get_object_or_404(Invoice.objects.select_related("replaces"), pk=pk)
        if not self.has_view_permission(request, invoice):
            raise PermissionDenied
        return invoice

    def document_view(self, request, pk):
        """The qualified invoice as a printable page, for staff who may view invoices."""
        invoice = self._invoice_to_show(request, pk)
        document = invoice_document(invoice)
        with translation.override(DOCUMENT_LANGUAGE):
            return render(
                request,
                "billing/invoice_document.html",
                {
                    "doc": document,
                    "pdf_url": reverse("admin:billing_invoice_pdf", args=[invoice.pk]),
                    "admin_url": reverse("admin:billing_invoice_change", args=[invoice.pk]),
                },
            )

    def pdf_view(self, request, pk):
        """The same document as a PDF: an issued invoice's as it was issued, the bytes kept
        (R19; a voided one too: the copy the customer received); a draft's rendered now."""
        invoice = self._invoice_to_show(request, pk)
        if invoice.number:
            data = pdf_bytes(invoice)
        else:
            from billing.documents.pdf import render_pdf  # reportlab is imported only when a PDF is asked for

            data = render_pdf(invoice_document(invoice))
        return download(data, filename=document_filename(invoice, "pdf"), content_type="application/pdf")
