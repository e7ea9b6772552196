"""The customer's page with its open items (R17), for those who may see invoices: billing
extends the contracts app's customer admin (contracts never imports billing)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from billing.formatting import japanese_date, yen_text
from billing.models import Invoice
from billing.models.payments import days_overdue
from contracts.admin import CustomerAdmin
from contracts.models import Customer


class CustomerWithOpenItemsAdmin(CustomerAdmin):
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not request.user.has_perm("billing.view_invoice"):
            return fieldsets
        return (*fieldsets, (_("Open items (R17)"), {"fields": ("open_items",)}))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "open_items")

    @admin.display(description=_("open items"))
    def open_items(self, obj):
        from django.utils import timezone

        today = timezone.localdate()
        items = list(Invoice.objects.filter(customer=obj).open_items(today))  # one query
        if not items:
            return _("None: every issued invoice is settled.")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td class="amount">¥{}</td>'
            '<td class="amount">¥{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:billing_invoice_change", args=[i.pk]),
                    i.number,
                    japanese_date(i.due_date),
                    yen_text(i.total.amount),
                    yen_text(i.balance),
                    _("%(days)d days overdue") % {"days": days_overdue(i.due_date, today)}
                    if i.is_overdue
                    else _("not yet due"),
                )
                for i in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("invoice number"),
            _("due date"),
            _("total (tax included)"),
            _("balance"),
            rows,
        )


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerWithOpenItemsAdmin)
