"""Per-account breakdown of an Enterprise contract-month (R10): each registered ID with
its days of use and 日割係数, so that an accountant can answer "why this amount".

The days come from ``selectors.account_days``, the same SQL that billing uses, in
one query whatever the number of accounts; the coefficients and the amount from the
pure functions of ``calculation``. The CSV follows the export conventions (UTF-8 with
BOM or CP932, CRLF, text cells neutralised).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing import calculation
from billing.formatting import decimal_cell, neutralise
from billing.models import InvoiceLine, LineType, RateCard
from billing.models.invoices import LIVE_STATUSES
from billing.selectors import account_days
from contracts import periods
from contracts.models import Contract, Item


class AccountRow(NamedTuple):
    """An account's days of use (capped as billed) and coefficient. A tuple: one is made
    per account, and a frozen dataclass's ``__init__`` was most of the loop over 7,881
    accounts (issue 16)."""

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

    @functools.cached_property
    def fee(self) -> calculation.AccountFee:
        """R10 as billing computes it, from the same days (``calculation.account_fee``)."""
        histogram = Counter(row.days for row in self.rows)
        return calculation.account_fee(histogram, self.days_in_month, self.unit_price or Decimal(0))

    @property
    def coefficient_sum(self) -> Decimal:
        return self.fee.coefficient_sum

    @property
    def amount(self) -> Decimal | None:
        """R10: Σ(coefficient × unit price), truncated to the yen once."""
        return None if self.unit_price is None else self.fee.amount


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
            % {"contract": contract.code, "month": periods.japanese_month(month)}
        )
    days_in_month = periods.days_in_month(month)
    service_days = contract.service_days_in_month(month)
    rows, capped = [], 0
    # a month has at most 31 days of use: R10 is applied once per days of use (at most
    # 32 coefficients), not once per account
    of_days: dict[int, tuple[int, Decimal]] = {}
    for account_id, days in account_days(month, contract.pk):
        used_and_coefficient = of_days.get(days)
        if used_and_coefficient is None:
            used = calculation.capped_days(days, service_days)  # as billing caps them
            used_and_coefficient = of_days[days] = (
                used,
                calculation.account_coefficient(used, days_in_month),
            )
        if used_and_coefficient[0] < days:
            capped += 1
        rows.append(AccountRow(account_id, *used_and_coefficient))
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
    return decimal_cell(value) if value is not None else ""


def csv_rows(breakdown: AccountBreakdown) -> Iterator[list[str]]:
    """One row per account (its coefficient × unit price, before truncation), then the
    total (Σ coefficients, amount truncated once), then the invoice line for comparison."""
    code = neutralise(breakdown.contract.code)
    month = periods.format_month(breakdown.month)
    price = breakdown.unit_price
    days_in_month, price_cell = str(breakdown.days_in_month), _number(price)
    # the cells after the account's own depend on its days alone: written once per days
    # of use (at most 32), not once per account
    cells_of: dict[int, list[str]] = {}
    for row in breakdown.rows:
        cells = cells_of.get(row.days)
        if cells is None:
            cells = cells_of[row.days] = [
                str(row.days),
                days_in_month,
                f"{row.coefficient:.3f}",
                price_cell,
                _number(row.coefficient * price if price is not None else None),
            ]
        yield [code, month, neutralise(row.account_id), *cells]
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
