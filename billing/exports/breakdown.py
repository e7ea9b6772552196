"""Per-account breakdown of an Enterprise contract-month (R10): each registered ID with
its days of use and 日割係数, so that an accountant can answer "why this amount".

The days come from ``selectors.account_days``, the same SQL that billing uses, in
one query whatever the number of accounts; the coefficients and the amount from the
pure functions of ``calculation``. The CSV follows the export conventions (UTF-8 with
BOM or CP932, CRLF, text cells neutralised).
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from billing import calculation
from billing.exports.csvfile import EncodingReport, csv_lines, encoded_csv
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
    #: (account ID, days of use as registered, uncapped) of each account, by account ID
    #: (``selectors.account_days``); ``rows`` are made of them when asked for
    account_days: list[tuple[str, int]]
    #: {days of use as registered: (days billed, capped at the service days; coefficient)}
    #: of every days of use among ``account_days`` (at most 32)
    of_days: dict[int, tuple[int, Decimal]]
    unit_price: Decimal | None
    #: the live invoice line that billed this contract-month, if any
    invoice_line: InvoiceLine | None

    @functools.cached_property
    def rows(self) -> list[AccountRow]:
        of_days = self.of_days
        return [AccountRow(account_id, *of_days[days]) for account_id, days in self.account_days]

    @functools.cached_property
    def _histogram(self) -> Counter:
        """{days of use as registered: accounts}, counted in C, not per account in Python."""
        return Counter(map(itemgetter(1), self.account_days))

    @functools.cached_property
    def capped(self) -> int:
        """Accounts whose days exceeded the service days (overlapping registrations) and
        were capped, as billing caps them (R10 exception ``overlapping_registrations``)."""
        return sum(count for days, count in self._histogram.items() if self.of_days[days][0] < days)

    @functools.cached_property
    def fee(self) -> calculation.AccountFee:
        """R10 as billing computes it, from the same days (``calculation.account_fee``)."""
        histogram: Counter = Counter()
        for days, count in self._histogram.items():
            histogram[self.of_days[days][0]] += count
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
    days_of_accounts = account_days(month, contract.pk)
    # a month has at most 31 days of use: R10 is applied once per days of use (at most
    # 32 coefficients), not once per account; nothing is made per account here (a tuple
    # per account and the loop that made it were 9.7 ms of 7,881 accounts)
    of_days: dict[int, tuple[int, Decimal]] = {}
    for days in set(map(itemgetter(1), days_of_accounts)):
        used = calculation.capped_days(days, service_days)  # as billing caps them
        of_days[days] = (used, calculation.account_coefficient(used, days_in_month))
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
    return AccountBreakdown(
        contract, month, days_in_month, service_days, days_of_accounts, of_days, unit_price, line
    )


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


def _day_cells(breakdown: AccountBreakdown) -> dict[int, list[str]]:
    """The cells after an account's own, which depend on its days alone: written once per
    days of use (at most 32), not once per account."""
    price = breakdown.unit_price
    days_in_month, price_cell = str(breakdown.days_in_month), _number(price)
    return {
        days: [
            str(used),
            days_in_month,
            f"{coefficient:.3f}",
            price_cell,
            _number(coefficient * price if price is not None else None),
        ]
        for days, (used, coefficient) in breakdown.of_days.items()
    }


def csv_rows(breakdown: AccountBreakdown) -> Iterator[list[str]]:
    """One row per account (its coefficient × unit price, before truncation), then the
    total (Σ coefficients, amount truncated once), then the invoice line for comparison."""
    code = neutralise(breakdown.contract.code)
    month = periods.format_month(breakdown.month)
    cells_of = _day_cells(breakdown)
    for account_id, days in breakdown.account_days:
        yield [code, month, neutralise(account_id), *cells_of[days]]
    yield from _closing_rows(breakdown, code, month)


def _closing_rows(breakdown: AccountBreakdown, code: str, month: str) -> Iterator[list[str]]:
    price = breakdown.unit_price
    yield [
        code,
        month,
        _("total (%(count)d accounts)") % {"count": len(breakdown.account_days)},
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


#: a registered ID written as it is: nothing to neutralise (``FORMULA_PREFIXES`` at the
#: start of an ID, IDs joined by NUL) and nothing ``csv.writer`` would quote
_PLAIN_IDS = re.compile(r"(?:\A|\x00)[=+\-@\t\r]|[,\"\r\n]")


def csv_bytes(breakdown: AccountBreakdown, encoding: str, report: EncodingReport) -> bytes:
    """The whole file, the very bytes of ``encoded_csv(csv_rows(breakdown), header(),
    encoding, report)``: when no registered ID needs neutralising or quoting (they never
    do, as imported), each account's line is its ID between two texts written once (the
    contract and month before it, the cells of its days after it), and the file is
    encoded in one go: a list of cells per account, each neutralised, and ``csv.writer``
    were most of the time (issue 16; at 7,881 accounts 9.2 ms of CSV and 9.7 ms of rows,
    against 10 ms for ``COPY`` of the query). Otherwise, or if CP932 cannot hold a
    character (the rows that could not are reported), row by row."""
    account_days = breakdown.account_days
    if _PLAIN_IDS.search("\x00".join(map(itemgetter(0), account_days))) is None:
        lines = csv_lines()  # an unknown encoding is refused by encoded_csv below
        code = neutralise(breakdown.contract.code)
        month = periods.format_month(breakdown.month)
        before = lines([[code, month, ""]])[:-2]  # "code,month," (the ID's cell empty)
        after = {days: "," + lines([cells]) for days, cells in _day_cells(breakdown).items()}
        text = "".join(
            [
                lines([header()]),
                *[f"{before}{account_id}{after[days]}" for account_id, days in account_days],
                lines(list(_closing_rows(breakdown, code, month))),
            ]
        )
        if encoding == "utf-8-sig":
            return codecs.BOM_UTF8 + text.encode("utf-8")
        if encoding == "cp932":
            data = text.encode("cp932", errors="replace")
            if data.count(b"?") == text.count("?"):  # CP932 trail bytes are never 0x3F
                return data
    return b"".join(encoded_csv(csv_rows(breakdown), header(), encoding, report))
