"""The month's invoices for accountants (interfaces.md), streamed row by row: as CSV or
as an Excel workbook (.xlsx), the same rows.

CSV: UTF-8 with BOM by default (Excel in Japan opens it), CP932 on request; CRLF line ends
(``csvfile``). Text cells that a spreadsheet would read as a formula are neutralised
(OWASP CSV injection guidance: prefix a single quote); numeric columns are never touched.
xlsx (``xlsx``): codes and names are text cells (leading zeros kept, never a formula),
dates are dates, amounts and quantities numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import CharField, Count, DateField, F, Value

from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine

from .cells import CSV_CELLS, Cells
from .csvfile import EncodingReport, encoded_csv

LAYOUTS = ("lines", "invoices")

LINES_HEADER = (
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "contract_code", "item", "line_type", "description", "quantity", "unit_price", "amount", "tax_rate",
    "invoice_subtotal", "invoice_tax", "invoice_total",
)  # fmt: skip
INVOICES_HEADER = (
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "subtotal", "tax_rate", "tax", "total", "line_count",
)  # fmt: skip


#: the invoice columns every row of either layout starts with, as read from the database
_INVOICE_VALUES = (
    "number",
    "status",
    "customer_code",
    "billing_name",
    "billing_month",
    "issue_date",
    "due_date",
)


def _invoice_cells(
    c: Cells, number, status, customer_code, billing_name, billing_month, issue_date, due_date
) -> list:
    return [
        c.code(number or ""),
        status,
        c.text(customer_code),
        c.text(billing_name),
        c.month(billing_month),
        c.date(issue_date),
        c.date(due_date),
    ]


def _ordering(prefix: str = "") -> list:
    return [F(f"{prefix}number").asc(nulls_last=True), f"{prefix}customer_code", f"{prefix}pk"]


def line_values(month: dt.date):
    """The month's invoice lines as values of exactly the exported columns, in the file's
    order (``benchmark_billing`` times ``COPY`` of this same query as the export's bound)."""
    return (
        InvoiceLine.objects.filter(invoice__billing_month=month)
        .order_by(*_ordering("invoice__"), "contract__code", "position")
        .values_list(
            *(f"invoice__{name}" for name in _INVOICE_VALUES),
            "contract__code",
            "item",
            "line_type",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "tax_rate",
            "invoice__subtotal",
            "invoice__tax",
            "invoice__total",
        )
    )


def line_rows(month: dt.date, c: Cells = CSV_CELLS) -> Iterator[list]:
    """The month's invoice lines, then the lines of the credit notes against its invoices
    (negative). Read as values of exactly the exported columns, not as model instances:
    a row costs a tuple, not three objects (issue 16)."""
    for row in line_values(month).iterator(chunk_size=2000):
        code, item, line_type, description, quantity, unit_price, amount, tax_rate, subtotal, tax, total = (
            row[7:]
        )
        yield [
            *_invoice_cells(c, *row[:7]),
            c.text(code),
            item,
            line_type,
            c.text(description),
            c.coefficient(quantity) if line_type == "account_fee" else c.decimal(quantity),
            c.decimal(unit_price),
            c.yen(amount),
            c.rate(tax_rate),
            c.yen(subtotal),
            c.yen(tax),
            c.yen(total),
        ]
    notes = (
        CreditNoteLine.objects.filter(credit_note__invoice__billing_month=month)
        .annotate(**_AS_CREDIT_NOTE)
        .order_by("credit_note__number", "position")
        .values_list(
            *_credit_note_values("credit_note__"),
            "contract__code",
            "line_type",
            "description",
            "amount",
            "credit_note__tax_rate",
            "credit_note__subtotal",
            "credit_note__tax",
            "credit_note__total",
        )
    )
    for row in notes.iterator(chunk_size=2000):
        code, line_type, description, amount, tax_rate, subtotal, tax, total = row[7:]
        yield [
            *_invoice_cells(c, *row[:7]),
            c.text(code or ""),
            "",
            line_type,
            c.text(description),
            c.integer(1),
            c.empty,
            c.yen(-amount),
            c.rate(tax_rate),
            c.yen(-subtotal),
            c.yen(-tax),
            c.yen(-total),
        ]


#: the status and due date a credit note's row shows
_AS_CREDIT_NOTE = {
    "credit_note_status": Value("credit_note", output_field=CharField()),
    "no_due_date": Value(None, output_field=DateField()),
}


def _credit_note_values(prefix: str = "") -> tuple[str, ...]:
    """A credit note's columns in the places of an invoice's: its own number, status
    ``credit_note``, the credited invoice's month, its own date, no due date."""
    return (
        f"{prefix}number",
        "credit_note_status",
        f"{prefix}customer_code",
        f"{prefix}billing_name",
        f"{prefix}invoice__billing_month",
        f"{prefix}issue_date",
        "no_due_date",
    )


def invoice_rows(month: dt.date, c: Cells = CSV_CELLS) -> Iterator[list]:
    """The month's invoices, then the credit notes against them (negative amounts)."""
    invoices = (
        Invoice.objects.filter(billing_month=month)
        .annotate(line_count=Count("lines"))
        .order_by(*_ordering())
        .values_list(*_INVOICE_VALUES, "subtotal", "tax_rate", "tax", "total", "line_count")
    )
    for row in invoices.iterator(chunk_size=2000):
        subtotal, tax_rate, tax, total, line_count = row[7:]
        yield [
            *_invoice_cells(c, *row[:7]),
            c.yen(subtotal),
            c.rate(tax_rate),
            c.yen(tax),
            c.yen(total),
            c.integer(line_count),
        ]
    notes = (
        CreditNote.objects.filter(invoice__billing_month=month)
        .annotate(line_count=Count("lines"), **_AS_CREDIT_NOTE)
        .order_by("number")
        .values_list(*_credit_note_values(), "subtotal", "tax_rate", "tax", "total", "line_count")
    )
    for row in notes.iterator(chunk_size=2000):
        subtotal, tax_rate, tax, total, line_count = row[7:]
        yield [
            *_invoice_cells(c, *row[:7]),
            c.yen(-subtotal),
            c.rate(tax_rate),
            c.yen(-tax),
            c.yen(-total),
            c.integer(line_count),
        ]


def _layout(month: dt.date, layout: str, c: Cells):
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    if layout == "lines":
        return LINES_HEADER, line_rows(month, c)
    return INVOICES_HEADER, invoice_rows(month, c)


def export(
    month: dt.date, layout: str = "lines", encoding: str = "utf-8-sig", report: EncodingReport | None = None
) -> Iterator[bytes]:
    header, rows = _layout(month, layout, CSV_CELLS)
    return encoded_csv(rows, header, encoding, report or EncodingReport())


def export_xlsx(month: dt.date, layout: str = "lines") -> Iterator[bytes]:
    """The same rows as an Excel workbook, one sheet named after the month."""
    from .xlsx import XLSX_CELLS, workbook

    header, rows = _layout(month, layout, XLSX_CELLS)
    return workbook(f"{month:%Y-%m}", header, rows)
