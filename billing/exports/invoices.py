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

from django.db import connection
from django.db.models import Case, CharField, Count, DateField, F, TextField, Value, When

from billing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineType

from . import sqlcells as sql
from .cells import CSV_CELLS, Cells
from .csvfile import EncodingReport, copied_csv, encoded_csv

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


def _month_lines(month: dt.date):
    return InvoiceLine.objects.filter(invoice__billing_month=month).order_by(
        *_ordering("invoice__"), "contract__code", "position"
    )


def line_values(month: dt.date):
    """The month's invoice lines as values of exactly the exported columns, in the file's
    order (``benchmark_billing`` times ``COPY`` of this same query as the export's bound)."""
    return _month_lines(month).values_list(
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


# --- the same rows, written by PostgreSQL (``sqlcells``) -------------------------------------

_NO_CELL = Value(None, output_field=TextField())


def _invoice_sql_cells(prefix: str = "") -> list:
    """The cells of ``_invoice_cells``, as SQL over an invoice's columns."""
    return [
        sql.Code(F(f"{prefix}number")),
        sql.Code(F(f"{prefix}status")),
        sql.Text(F(f"{prefix}customer_code")),
        sql.Text(F(f"{prefix}billing_name")),
        sql.Month(F(f"{prefix}billing_month")),
        sql.Date(F(f"{prefix}issue_date")),
        sql.Date(F(f"{prefix}due_date")),
    ]


def _credit_note_sql_cells(prefix: str = "") -> list:
    """``_credit_note_values`` as cells: the credit note in the places of an invoice."""
    return [
        sql.Code(F(f"{prefix}number")),
        Value("credit_note", output_field=TextField()),
        sql.Text(F(f"{prefix}customer_code")),
        sql.Text(F(f"{prefix}billing_name")),
        sql.Month(F(f"{prefix}invoice__billing_month")),
        sql.Date(F(f"{prefix}issue_date")),
        _NO_CELL,
    ]


def _as_cells(queryset, cells: list):
    """``queryset``, in its order, as one text column per cell (``cell0`` …)."""
    names = {f"cell{n}": cell for n, cell in enumerate(cells)}
    return queryset.annotate(**names).values_list(*names)


def line_cells(month: dt.date) -> list:
    """``line_rows`` as two queries whose columns are the CSV cells (PostgreSQL)."""
    lines = _as_cells(
        _month_lines(month),
        [
            *_invoice_sql_cells("invoice__"),
            sql.Text(F("contract__code")),
            sql.Code(F("item")),
            sql.Code(F("line_type")),
            sql.Text(F("description")),
            Case(
                When(line_type=LineType.ACCOUNT_FEE, then=sql.Coefficient(F("quantity"))),
                default=sql.PlainDecimal(F("quantity")),
                output_field=TextField(),
            ),
            sql.PlainDecimal(F("unit_price")),
            sql.Yen(F("amount")),
            sql.Rate(F("tax_rate")),
            sql.Yen(F("invoice__subtotal")),
            sql.Yen(F("invoice__tax")),
            sql.Yen(F("invoice__total")),
        ],
    )
    notes = _as_cells(
        CreditNoteLine.objects.filter(credit_note__invoice__billing_month=month).order_by(
            "credit_note__number", "position"
        ),
        [
            *_credit_note_sql_cells("credit_note__"),
            sql.Text(F("contract__code")),
            _NO_CELL,
            sql.Code(F("line_type")),
            sql.Text(F("description")),
            Value("1", output_field=TextField()),
            _NO_CELL,
            sql.NegativeYen(F("amount")),
            sql.Rate(F("credit_note__tax_rate")),
            sql.NegativeYen(F("credit_note__subtotal")),
            sql.NegativeYen(F("credit_note__tax")),
            sql.NegativeYen(F("credit_note__total")),
        ],
    )
    return [lines, notes]


def invoice_cells(month: dt.date) -> list:
    """``invoice_rows`` as two queries whose columns are the CSV cells (PostgreSQL)."""
    invoices = _as_cells(
        Invoice.objects.filter(billing_month=month).order_by(*_ordering()),
        [
            *_invoice_sql_cells(),
            sql.Yen(F("subtotal")),
            sql.Rate(F("tax_rate")),
            sql.Yen(F("tax")),
            sql.Yen(F("total")),
            sql.Integer(Count("lines")),
        ],
    )
    notes = _as_cells(
        CreditNote.objects.filter(invoice__billing_month=month).order_by("number"),
        [
            *_credit_note_sql_cells(),
            sql.NegativeYen(F("subtotal")),
            sql.Rate(F("tax_rate")),
            sql.NegativeYen(F("tax")),
            sql.NegativeYen(F("total")),
            sql.Integer(Count("lines")),
        ],
    )
    return [invoices, notes]


def _layout(month: dt.date, layout: str, c: Cells):
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    if layout == "lines":
        return LINES_HEADER, line_rows(month, c)
    return INVOICES_HEADER, invoice_rows(month, c)


def export(
    month: dt.date, layout: str = "lines", encoding: str = "utf-8-sig", report: EncodingReport | None = None
) -> Iterator[bytes]:
    """The CSV file's bytes, streamed. On PostgreSQL the database writes the cells and
    the rows (``COPY ... TO STDOUT (FORMAT csv)`` of ``line_cells`` or ``invoice_cells``),
    the same bytes as ``line_rows`` and ``invoice_rows`` through ``csv.writer``, at the
    speed of COPY (issue 16); elsewhere those rows are written here."""
    report = report or EncodingReport()
    if connection.vendor == "postgresql" and layout in LAYOUTS:
        if layout == "lines":
            return copied_csv(line_cells(month), LINES_HEADER, encoding, report)
        return copied_csv(invoice_cells(month), INVOICES_HEADER, encoding, report)
    header, rows = _layout(month, layout, CSV_CELLS)
    return encoded_csv(rows, header, encoding, report)


def export_xlsx(month: dt.date, layout: str = "lines") -> Iterator[bytes]:
    """The same rows as an Excel workbook, one sheet named after the month."""
    from .xlsx import XLSX_CELLS, workbook

    header, rows = _layout(month, layout, XLSX_CELLS)
    return workbook(f"{month:%Y-%m}", header, rows)
