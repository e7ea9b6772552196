"""Per-account breakdown of an Enterprise contract-month (R10): each registered ID with
its days of use and 日割係数, so that an accountant can answer "why this amount".

The days come from ``selectors.account_days``, the same SQL that billing uses, in
one query whatever the number of accounts; the coefficients and the amount from the
pure functions of ``calculation``. The CSV follows the export conventions (UTF-8 with
BOM or CP932, CRLF, text cells neutralised).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contracts import periods
from contracts.models import Contract, Item

from . import calculation, exports
from .models import InvoiceLine, LineType, RateCard
from .models.invoices import LIVE_STATUSES
from .selectors import account_days


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    days: int
    coefficient: Decimal


@dataclass(frozen=True)
class AccountBreakdown:
    contract: Contract
    month: dt.date
    days_in_month: int
    service_days: int
    rows: list[AccountRow]
    #: accounts whose days exceeded the service days (overlapping registrations) and
    #: were capped, as billing caps them (R10 exception ``overlapping_registrations``)
    capped: int
    unit_price: Decimal | None
    #: the live invoice line that billed this contract-month, if any
    invoice_line: InvoiceLine | None

    @property
    def coefficient_sum(self) -> Decimal:
        return sum((row.coefficient for row in self.rows), Decimal("0.000"))

    @property
    def amount(self) -> Decimal | None:
        """R10: Σ(coefficient × unit price), truncated to the yen once."""
        if self.unit_price is None:
            return None
        return calculation.truncate_yen(self.coefficient_sum * self.unit_price)


class NotEnterprise(ValueError):
    """The contract is not billed under Enterprise in that month (no account fee)."""


def account_breakdown(*, contract: Contract, month: dt.date, with_invoice: bool = True) -> AccountBreakdown:
    """The accounts of ``contract`` in ``month`` as billing counts them (R7, R10).
    ``with_invoice``: compare with the live invoice line (its number, its amounts); staff
    who may not see invoices get the rate card's unit price and no invoice."""
    month = periods.month_start(month)
    if contract.item_for_month(month) != Item.ENTERPRISE:
        raise NotEnterprise(
            _("%(contract)s is not Enterprise in %(month)s: it has no account usage fee.")
            % {"contract": contract.code, "month": periods.format_month(month)}
        )
    days_in_month = periods.days_in_month(month)
    service_days = contract.service_days_in_month(month)
    rows, capped = [], 0
    for account_id, days in account_days(month, contract.pk):
        if days > service_days:
            capped += 1
            days = service_days
        rows.append(AccountRow(account_id, days, calculation.account_coefficient(days, days_in_month)))
    line = None
    if with_invoice:
        line = (
            InvoiceLine.objects.filter(
                contract=contract,
                line_type=LineType.ACCOUNT_FEE,
                invoice__billing_month=month,
                invoice__status__in=LIVE_STATUSES,
            )
            .select_related("invoice")
            .first()
        )
    if line is not None:
        unit_price = line.unit_price.amount if line.unit_price is not None else None
    else:
        card = RateCard.objects.covering(month).filter(contract=contract).first()
        unit_price = card.account_unit_price.amount if card and card.account_unit_price else None
    return AccountBreakdown(contract, month, days_in_month, service_days, rows, capped, unit_price, line)


HEADER_MSGIDS = (
    gettext_noop("contract code"),
    gettext_noop("billing month"),
    gettext_noop("registered ID"),
    gettext_noop("days of use"),
    gettext_noop("days in the month"),
    gettext_noop("daily proration coefficient"),
    gettext_noop("unit price"),
    gettext_noop("amount"),
)


def header() -> tuple[str, ...]:
    return tuple(_(msgid) for msgid in HEADER_MSGIDS)


def _number(value: Decimal | None) -> str:
    return exports.decimal_text(value) if value is not None else ""


def csv_rows(breakdown: AccountBreakdown) -> Iterator[list[str]]:
    """One row per account (its coefficient × unit price, before truncation), then the
    total (Σ coefficients, amount truncated once), then the invoice line for comparison."""
    code = exports.neutralise(breakdown.contract.code)
    month = periods.format_month(breakdown.month)
    price = breakdown.unit_price
    for row in breakdown.rows:
        yield [
            code,
            month,
            exports.neutralise(row.account_id),
            str(row.days),
            str(breakdown.days_in_month),
            f"{row.coefficient:.3f}",
            _number(price),
            _number(row.coefficient * price if price is not None else None),
        ]
    yield [
        code,
        month,
        _("total (%(count)d accounts)") % {"count": len(breakdown.rows)},
        "",
        str(breakdown.days_in_month),
        f"{breakdown.coefficient_sum:.3f}",
        _number(price),
        _number(breakdown.amount),
    ]
    line = breakdown.invoice_line
    if line is not None:
        invoice = line.invoice
        label = _("invoice %(number)s") % {"number": invoice.number} if invoice.number else _("draft invoice")
        yield [
            code,
            month,
            label,
            "",
            "",
            f"{line.quantity:.3f}",
            _number(line.unit_price.amount if line.unit_price is not None else None),
            _number(line.amount.amount),
        ]
    if breakdown.capped:
        yield [
            code,
            month,
            _(
                "%(count)d account(s) have overlapping registration periods; their days were capped at the %(days)d service days, as billed."
            )
            % {"count": breakdown.capped, "days": breakdown.service_days},
            "",
            "",
            "",
            "",
            "",
        ]


# --- admin view ---------------------------------------------------------------------


def admin_urls(model_admin) -> list:
    """URLs added to the account registrations' admin (who may view accounts may see this)."""

    def view(request, contract_pk, month):
        return breakdown_view(request, model_admin, contract_pk, month)

    return [
        path(
            "breakdown/<int:contract_pk>/<str:month>/",
            model_admin.admin_site.admin_view(view),
            name="billing_accountregistration_breakdown",
        ),
    ]


def breakdown_url(contract_pk: int, month: dt.date) -> str:
    return reverse(
        "admin:billing_accountregistration_breakdown", args=[contract_pk, periods.format_month(month)]
    )


def breakdown_view(request, model_admin, contract_pk: int, month: str):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        month_date = periods.parse_month(month)
    except ValueError:
        raise Http404(_("Enter a month as YYYY-MM.")) from None
    contract = get_object_or_404(Contract.objects.with_billing_relations(), pk=contract_pk)
    try:
        # the invoice line (number, amounts) only for staff who may see invoices (issue 10)
        breakdown = account_breakdown(
            contract=contract, month=month_date, with_invoice=request.user.has_perm("billing.view_invoice")
        )
    except NotEnterprise as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(reverse("admin:contracts_contract_change", args=[contract.pk]))
    encoding = request.GET.get("encoding", "utf-8-sig")
    if encoding not in exports.ENCODINGS:
        encoding = "utf-8-sig"
    # built here, while the request's language is active (one contract's accounts: small)
    rows = list(csv_rows(breakdown))
    data = b"".join(exports.encoded_csv(rows, header(), encoding, exports.EncodingReport()))
    response = HttpResponse(
        data, content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}"
    )
    suffix = "-sjis" if encoding == "cp932" else ""
    name = safe_filename(f"accounts-{contract.code}-{month}{suffix}.csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def safe_filename(name: str) -> str:
    """ASCII letters, digits, dot, dash and underscore only (codes may hold anything)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
