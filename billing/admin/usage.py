"""Usage for everybody to read (R10, R11) and one-time charges for sales staff (Art. 7);
the per-account breakdown of an Enterprise contract-month (R10)."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.exports import breakdown
from billing.exports.csvfile import EncodingReport
from billing.models import AccountRegistration, AuthCount, OneTimeCharge
from contracts import periods
from contracts.admin_history import HistoryAdmin
from contracts.admin_import import CsvImportMixin
from contracts.admin_lists import EstimatedCountAdmin, IndexedSearchAdmin
from contracts.forms import JapaneseDatesMixin
from contracts.models import Contract

from .common import csv_content_type, csv_encoding, download


class UsageMonthFilter(admin.SimpleListFilter):
    """The month of the usage, among the last 13 (computed, not queried). It replaces the
    ``date_hierarchy`` these tables had, whose ``DISTINCT DATE_TRUNC`` and ``MIN``/``MAX``
    read the whole table on every page (issue 16)."""

    title = gettext_lazy("month")
    parameter_name = "month"
    #: the date field filtered by the month (``None``: ``month_condition`` is overridden)
    field: str | None = None

    def lookups(self, request, model_admin):
        month = periods.month_start(timezone.localdate())
        months = [periods.add_months(month, -n) for n in range(13)]
        return [(periods.format_month(m), periods.japanese_month(m)) for m in months]

    def month_condition(self, month: dt.date) -> Q:
        return Q(**{f"{self.field}__gte": month, f"{self.field}__lt": periods.next_month(month)})

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            month = periods.parse_month(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(self.month_condition(month))


class InUseMonthFilter(UsageMonthFilter):
    """The accounts registered on at least one day of the month (R10)."""

    title = gettext_lazy("registered in month")

    def month_condition(self, month: dt.date) -> Q:
        return Q(registered_on__lte=periods.month_end(month)) & (
            Q(deregistered_on__isnull=True) | Q(deregistered_on__gte=month)
        )


class AuthDateMonthFilter(UsageMonthFilter):
    field = "date"


class DueMonthFilter(UsageMonthFilter):
    field = "due_on"


class UsageAdmin(JapaneseDatesMixin, EstimatedCountAdmin, IndexedSearchAdmin):
    """Usage tables grow by millions of rows: counted from the statistics when unfiltered,
    searched by the contract code's prefix (contracts/admin_lists.py)."""

    list_select_related = ("contract",)
    search_fields = ("contract__code",)
    search_related = {"contract": (("code",), ())}
    search_help_text = gettext_lazy("Search by the start of a contract code (SK0001…).")
    autocomplete_fields = ("contract",)

    def get_ordering(self, request):
        """A searched page is ordered by the contract's id, not its code: its few rows then
        sort by themselves, where ordering by code let PostgreSQL walk every contract in code
        order and compare it with each found row (0.4 s at 2,000,000 rows; 0.01 s so). A
        contract's rows (the usual search) come in the same order either way."""
        ordering = super().get_ordering(request) or self.model._meta.ordering
        if request.GET.get(SEARCH_VAR):
            return [field.replace("contract__code", "contract_id") for field in ordering]
        return ordering


@admin.register(AccountRegistration)
class AccountRegistrationAdmin(CsvImportMixin, UsageAdmin):
    import_kind = "accounts"
    list_display = ("contract", "account_id", "registered_on", "deregistered_on")
    list_filter = (InUseMonthFilter,)
    search_fields = ("contract__code", "account_id")
    search_prefix = ("account_id",)
    search_help_text = gettext_lazy("Search by the start of a contract code or of a registered ID.")

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
        data = breakdown.csv_bytes(accounts, encoding, EncodingReport())
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
    list_filter = (AuthDateMonthFilter,)


@admin.register(OneTimeCharge)
class OneTimeChargeAdmin(CsvImportMixin, HistoryAdmin, UsageAdmin):
    import_kind = "one_time_charges"
    list_display = ("contract", "due_on", "description", "amount")
    list_filter = (DueMonthFilter,)
    search_fields = ("contract__code", "description")
    search_contains = ("description",)
    search_help_text = gettext_lazy(
        "Search by the start of a contract code, or by any part of the description."
    )
