"""The receivables export (interfaces.md, R17): one row per live issued invoice whose
balance is not zero as of a date (every live issued invoice with ``all_``), sorted by
customer code then due date, and each customer's unapplied credit (前受金) as a row of its
own with an empty invoice number and a negative balance.

``receivable_rows`` yields typed values (codes as ``str``, dates as ``datetime.date``,
amounts as ``int`` yen, days as ``int``) for any writer; ``receivables_csv`` is the CSV
writer on top. Two queries whatever the number of invoices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import astuple, dataclass

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.formatting import date_cell, neutralise
from billing.models import Application, Deposit, Invoice, InvoiceStatus, PaymentStatus
from billing.models.payments import days_overdue

from .csvfile import EncodingReport, encoded_csv

HEADER = (
    "customer_code",
    "billing_name",
    "invoice_number",
    "issue_date",
    "due_date",
    "total",
    "paid",
    "credited",
    "balance",
    "status",
    "days_overdue",
    "aging",
)

#: R17's aging buckets: (the most days overdue in the bucket, its name); not yet due: current
AGING = ((0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"))
OLDEST = "91+"

_YEN = DecimalField(max_digits=14, decimal_places=0)


def aging(days: int) -> str:
    """R17: 未到来 (current), 1–30, 31–60, 61–90, 91 days or more overdue."""
    for most, name in AGING:
        if days <= most:
            return name
    return OLDEST


@dataclass(frozen=True)
class ReceivableRow:
    customer_code: str
    billing_name: str
    invoice_number: str
    issue_date: dt.date | None
    due_date: dt.date | None
    total: int
    paid: int
    credited: int
    balance: int
    status: str
    days_overdue: int
    aging: str


def receivable_rows(as_of: dt.date, all_: bool = False) -> Iterator[ReceivableRow]:
    """R17's receivables as of ``as_of``: invoices issued by then, with the payments of
    deposits received and the credit notes issued by then."""
    invoices = (
        Invoice.objects.filter(status=InvoiceStatus.ISSUED, issue_date__lte=as_of)
        .with_balance(as_of)
        .order_by("customer_code", "due_date", "number")
        .values_list(
            "customer_code",
            "billing_name",
            "number",
            "issue_date",
            "due_date",
            "total",
            "paid",
            "credited",
            "balance",
            "payment_status",
        )
    )
    if not all_:
        invoices = invoices.exclude(balance=0)
    credits = {code: (name, credit) for code, name, credit in customer_credits(as_of)}
    current = None
    for code, name, number, issued, due, total, paid, credited, balance, status in invoices.iterator():
        if current is not None and code != current and current in credits:
            yield _credit_row(current, *credits.pop(current))
        current = code
        days = days_overdue(due, as_of) if balance > 0 else 0
        yield ReceivableRow(
            code, name, number, issued, due, int(total), int(paid), int(credited), int(balance), status, days,
            aging(days),
        )  # fmt: skip
    if current in credits:
        yield _credit_row(current, *credits.pop(current))
    for code in sorted(credits):  # customers with credit and no invoice listed
        yield _credit_row(code, *credits[code])


def _credit_row(code: str, name: str, credit: int) -> ReceivableRow:
    # total = paid + credited + balance: 0 = credit + 0 − credit
    return ReceivableRow(
        code, name, "", None, None, 0, credit, 0, -credit, PaymentStatus.OVERPAID, 0, "current"
    )


def customer_credits(as_of: dt.date) -> list[tuple[str, str, int]]:
    """(customer code, billing name, credit) of every customer whose deposits received by
    ``as_of`` leave money not applied to invoices (前受金), in one query."""
    applied = (
        Application.objects.filter(deposit=OuterRef("pk"), reversed_at__isnull=True)
        .order_by()
        .values("deposit")
        .annotate(s=Sum("amount", output_field=_YEN))
        .values("s")
    )
    rows = (
        Deposit.objects.filter(customer__isnull=False, received_on__lte=as_of)
        .annotate(
            left=F("amount") - Coalesce(Subquery(applied, output_field=_YEN), Value(0, output_field=_YEN))
        )
        .order_by()
        .values("customer__code", "customer__billing_name")
        .annotate(credit=Sum("left", output_field=_YEN))
        .filter(credit__gt=0)
        .values_list("customer__code", "customer__billing_name", "credit")
    )
    return [(code, name, int(credit)) for code, name, credit in rows]


def _cells(row: ReceivableRow) -> list[str]:
    cells = []
    for value in astuple(row):
        if isinstance(value, dt.date) or value is None:
            cells.append(date_cell(value))
        elif isinstance(value, str):
            cells.append(neutralise(value))
        else:
            cells.append(str(value))
    return cells


def receivables_csv(
    *, as_of: dt.date, all_: bool = False, encoding: str = "utf-8-sig", report: EncodingReport | None = None
) -> Iterator[bytes]:
    """The receivables as CSV bytes (UTF-8 with BOM or CP932, CRLF), a chunk per row."""
    rows = (_cells(row) for row in receivable_rows(as_of, all_))
    return encoded_csv(rows, HEADER, encoding, report or EncodingReport())


def receivables_xlsx(*, as_of: dt.date, all_: bool = False) -> Iterator[bytes]:
    """The same rows as an Excel workbook: codes as text, dates as dates, yen as numbers."""
    from .xlsx import workbook

    return workbook(f"{as_of:%Y-%m-%d}", HEADER, (astuple(row) for row in receivable_rows(as_of, all_)))


def aging_totals(as_of: dt.date) -> list[tuple[str, int]]:
    """The open balances as of ``as_of`` by R17's aging bucket, in one aggregate query:
    [(bucket, yen)] in the order current, 1-30, 31-60, 61-90, 91+ (the dashboard)."""
    from django.db.models import Q

    bounds, lower = [], None
    for most, name in (*AGING, (None, OLDEST)):
        # overdue by d days: due_date = as_of − d; the bucket holds lower < d <= most
        condition = Q()
        if most is not None:
            condition &= Q(due_date__gte=as_of - dt.timedelta(days=most))
        if lower is not None:
            condition &= Q(due_date__lt=as_of - dt.timedelta(days=lower))
        bounds.append((name, condition))
        lower = most
    totals = (
        Invoice.objects.open_items(as_of)
        .order_by()
        .aggregate(**{name: Sum("balance", filter=condition) for name, condition in bounds})
    )
    return [(name, int(totals[name] or 0)) for name, _condition in bounds]


def collection(due_from: dt.date, due_until: dt.date, as_of: dt.date) -> tuple[int, int]:
    """(billed, collected) of the issued invoices due between the two days: collected is
    what payments and credit notes settled by ``as_of``. One query."""
    totals = (
        Invoice.objects.filter(status=InvoiceStatus.ISSUED, due_date__gte=due_from, due_date__lte=due_until)
        .with_balance(as_of)
        .order_by()
        .aggregate(billed=Sum("total"), left=Sum("balance"))
    )
    billed = int(totals["billed"] or 0)
    return billed, billed - int(totals["left"] or 0)
