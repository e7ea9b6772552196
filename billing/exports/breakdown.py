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
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing import calculation
from billing.formatting import decimal_cell, neutralise
from billing.models import InvoiceLine, LineType, RateCard
from billing.models.invoices import LIVE_STATUSES
from billing.selectors import account_days, account_days_sql
from contracts import periods
from contracts.models import Contract, Item

from . import sqlcells as sql
from .csvfile import EncodingReport, copied_lines, copy_rows, encoded_csv, file_start, row_writer


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
    context = _month_of(contract, month, with_invoice)
    rows, capped = [], 0
    # a month has at most 31 days of use, so at most 32 coefficients, whatever the accounts
    coefficients: dict[int, Decimal] = {}
    for account_id, days in account_days(context.month, contract.pk):
        used = calculation.capped_days(days, context.service_days)  # as billing caps them
        capped += used < days
        coefficient = coefficients.get(used)
        if coefficient is None:
            coefficient = coefficients[used] = calculation.account_coefficient(used, context.days_in_month)
        rows.append(AccountRow(account_id, used, coefficient))
    return replace(context, rows=rows, capped=capped)


def _month_of(contract: Contract, month: dt.date, with_invoice: bool) -> AccountBreakdown:
    """The breakdown without its accounts: the month's days, the service days, the unit
    price and the invoice line (one or two queries)."""
    month = periods.month_start(month)
    if contract.item_for_month(month) != Item.ENTERPRISE:
        raise NotEnterprise(
            _("%(contract)s is not Enterprise in %(month)s: it has no account usage fee.")
            % {"contract": contract.code, "month": periods.format_month(month)}
        )
    days_in_month = periods.days_in_month(month)
    service_days = contract.service_days_in_month(month)
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
    return AccountBreakdown(contract, month, days_in_month, service_days, [], 0, unit_price, line)


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
    yield from _closing_rows(breakdown, len(breakdown.rows), breakdown.fee, breakdown.capped)


def _closing_rows(
    breakdown: AccountBreakdown, accounts: int, fee: calculation.AccountFee, capped: int
) -> Iterator[list[str]]:
    """The rows after the accounts': the total of ``accounts`` (``fee``: R10 of their
    days), the invoice line, the ``capped`` accounts."""
    code = neutralise(breakdown.contract.code)
    month = periods.format_month(breakdown.month)
    price = breakdown.unit_price
    yield [
        code,
        month,
        _("total (%(count)d accounts)") % {"count": accounts},
        "",
        str(breakdown.days_in_month),
        f"{fee.coefficient_sum:.3f}",
        _number(price),
        _number(fee.amount if price is not None else None),
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
    if capped:
        yield [
            code,
            month,
            _(
                "%(count)d account(s) have overlapping registration periods; their days were capped at the %(days)d service days, as billed."
            )
            % {"count": capped, "days": breakdown.service_days},
            "",
            "",
            "",
            "",
            "",
        ]


def csv_file(
    *, contract: Contract, month: dt.date, with_invoice: bool = True, encoding: str = "utf-8-sig"
) -> bytes:
    """The breakdown as the CSV file the admin hands out (``header``, then ``csv_rows``),
    in ``encoding``. On PostgreSQL the database writes the accounts' rows (``COPY ... TO
    STDOUT (FORMAT csv)``, ``_account_cells_sql``), the same bytes as ``csv_rows`` through
    ``encoded_csv`` at the speed of the COPY (issue 16): the total and the rows after it
    are written here, from the histogram of days the same query gives first (R10 as
    billing computes it, ``calculation.account_fee``). Elsewhere every row is written
    here. ``NotEnterprise`` as ``account_breakdown``."""
    report = EncodingReport()  # the admin hands out a breakdown whatever it replaced
    if connection.vendor != "postgresql":
        accounts = account_breakdown(contract=contract, month=month, with_invoice=with_invoice)
        return b"".join(encoded_csv(csv_rows(accounts), header(), encoding, report))
    context = _month_of(contract, month, with_invoice)
    write = row_writer(encoding, report)
    parts = [file_start(encoding) + write([header()])]
    rows = copy_rows(_account_cells_sql(context))
    try:
        histogram, capped = _histogram(next(rows))
        parts.extend(copied_lines(rows, encoding, report))
    finally:
        rows.close()
    fee = calculation.account_fee(histogram, context.days_in_month, context.unit_price or Decimal(0))
    parts.append(write(list(_closing_rows(context, sum(histogram.values()), fee, capped))))
    return b"".join(parts)


def _account_cells_sql(breakdown: AccountBreakdown) -> tuple[str, list]:
    """``csv_rows``' account rows as one query whose columns are their cells (``sqlcells``),
    by account ID in code point order (Python's, whatever the database's collation); before
    them, one row whose first cell is the histogram of the days of use as billing counts
    them (capped at the service days, R10): "days:accounts:capped" for each, space
    separated (``_histogram``). The cells that depend on the days alone (the coefficient,
    the amount) are made once per days of use, as ``csv_rows`` makes them, and the
    accounts are numbered in order while their rows are narrow (a sort of the cells cost
    twice as much at 7,881 accounts)."""
    days_sql, params = account_days_sql(breakdown.month, breakdown.contract.pk)
    price = breakdown.unit_price
    coefficient = "TRUNC(used::numeric / %s, 3)"  # R10: truncated to 3 decimals
    amount = sql.PlainDecimal.template % {"expressions": f"{coefficient} * %s::numeric"}
    account = sql.Text.template % {"expressions": "a.account_id"}
    statement = f"""
        WITH accounts AS MATERIALIZED (
            SELECT d.account_id, LEAST(d.days, %s) AS used, d.days > %s AS capped,
                   ROW_NUMBER() OVER (ORDER BY d.account_id COLLATE "C") AS n
            FROM ({days_sql}) d
        ),
        by_days AS MATERIALIZED (
            SELECT used, COUNT(*) AS accounts, COUNT(*) FILTER (WHERE capped) AS capped,
                   ({coefficient})::text AS coefficient, {amount if price is not None else "NULL"} AS amount
            FROM accounts GROUP BY used
        )
        SELECT c0, c1, c2, c3, c4, c5, c6, c7 FROM (
            SELECT 0 AS part, 0 AS n,
                   STRING_AGG(used || ':' || accounts || ':' || capped, ' ') AS c0,
                   NULL AS c1, NULL AS c2, NULL AS c3, NULL AS c4, NULL AS c5, NULL AS c6,
                   NULL AS c7
            FROM by_days
            UNION ALL
            SELECT 1, a.n, %s::text, %s::text, {account}, a.used::text, %s::text,
                   d.coefficient, %s::text, d.amount
            FROM accounts a JOIN by_days d ON d.used = a.used
        ) cells
        ORDER BY part, n
    """
    days_in_month = breakdown.days_in_month
    per_days = [days_in_month] + ([days_in_month, price] if price is not None else [])
    cells = [
        neutralise(breakdown.contract.code),
        periods.format_month(breakdown.month),
        str(days_in_month),
        _number(price) or None,
    ]
    return statement, [breakdown.service_days, breakdown.service_days, *params, *per_days, *cells]


def _histogram(row: memoryview) -> tuple[dict[int, int], int]:
    """The first row of ``_account_cells_sql``: {days of use: accounts}, and the accounts
    capped."""
    histogram, capped = {}, 0
    for group in bytes(row).split(b",", 1)[0].split():
        days, accounts, capped_here = (int(n) for n in group.split(b":"))
        histogram[days] = accounts
        capped += capped_here
    return histogram, capped
