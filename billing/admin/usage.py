"""Usage for everybody to read (R10, R11) and one-time charges for sales staff (Art. 7);
the per-account breakdown of an Enterprise contract-month (R10)."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _

from billing.exports import breakdown
from billing.exports.csvfile import EncodingReport, encoded_csv
from billing.models import AccountRegistration, AuthCount, OneTimeCharge
from contracts import periods
from contracts.admin_history import HistoryAdmin
from contracts.admin_import import CsvImportMixin
from contracts.forms import JapaneseDatesMixin
from contracts.models import Contract

from .common import csv_content_type, csv_encoding, download


class UsageAdmin(JapaneseDatesMixin, admin.ModelAdmin):
    list_select_related = ("contract",)
    search_fields = ("contract__code",)
    autocomplete_fields = ("contract",)
    show_full_result_count = False


@admin.register(AccountRegistration)
class AccountRegistrationAdmin(CsvImportMixin, UsageAdmin):
    import_kind = "accounts"
    list_display = ("contract", "account_id", "registered_on", "deregistered_on")
    search_fields = ("contract__code", "account_id")
    date_hierarchy = "registered_on"

    def get_urls(self):
        return [
            path(
                "breakdown/<int:contract_pk>/<str:month>/",
                self.admin_site.admin_view(self.breakdown_view),
                name="billing_accountregistration_breakdown",
            ),
            *super().get_urls(),
        ]

    def breakdown_view(self, request, contract_pk: int, month: str):
        """The accounts behind an Enterprise contract-month's account usage fee, as CSV,
        for staff who may view accounts; the invoice line (number, amounts) only for
        those who may also see invoices."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            month_date = periods.parse_month(month)
        except ValueError:
            raise Http404(_("Enter a month as YYYY-MM.")) from None
        contract = get_object_or_404(Contract.objects.with_billing_relations(), pk=contract_pk)
        try:
            accounts = breakdown.account_breakdown(
                contract=contract,
                month=month_date,
                with_invoice=request.user.has_perm("billing.view_invoice"),
            )
        except breakdown.NotEnterprise as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse("admin:contracts_contract_change", args=[contract.pk]))
        encoding = csv_encoding(request)
        # built here, while the request's language is active (one contract's accounts: small)
        rows = list(breakdown.csv_rows(accounts))
        data = b"".join(encoded_csv(rows, breakdown.header(), encoding, EncodingReport()))
        suffix = "-sjis" if encoding == "cp932" else ""
        return download(
            data,
            filename=f"accounts-{contract.code}-{month}{suffix}.csv",
            content_type=csv_content_type(encoding),
        )


def breakdown_url(contract_pk: int, month: dt.date) -> str:
    return reverse(
        "admin:billing_accountregistration_breakdown", args=[contract_pk, periods.format_month(month)]
    )


@admin.register(AuthCount)
class AuthCountAdmin(CsvImportMixin, UsageAdmin):
    import_kind = "auth_counts"
    list_display = ("contract", "date", "success_count")
    date_hierarchy = "date"


@admin.register(OneTimeCharge)
class OneTimeChargeAdmin(CsvImportMixin, HistoryAdmin, UsageAdmin):
    import_kind = "one_time_charges"
    list_display = ("contract", "due_on", "description", "amount")
    search_fields = ("contract__code", "description")
    date_hierarchy = "due_on"
