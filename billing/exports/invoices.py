"""The month's invoices as CSV for accountants (interfaces.md), streamed row by row.

UTF-8 with BOM by default (Excel in Japan opens it), CP932 on request; CRLF line ends
(``csvfile``). Text cells that a spreadsheet would read as a formula are neutralised
(OWASP CSV injection guidance: prefix a single quote); numeric columns are never touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Count, F

from billing.formatting import date_cell, decimal_cell, neutralise, yen_cell
from billing.models import Invoice, InvoiceLine
from contracts import periods

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


def _invoice_cells(invoice: Invoice) -> list[str]:
    return [
        invoice.number or "",
        invoice.status,
        neutralise(invoice.customer_code),
        neutralise(invoice.billing_name),
        periods.format_month(invoice.billing_month),
        date_cell(invoice.issue_date),
        date_cell(invoice.due_date),
    ]


def _ordering(prefix: str = "") -> list:
    return [F(f"{prefix}number").asc(nulls_last=True), f"{prefix}customer_code", f"{prefix}pk"]


def line_rows(month: dt.date) -> Iterator[list[str]]:
    lines = (
        InvoiceLine.objects.filter(invoice__billing_month=month)
        .select_related("invoice", "contract")
        .order_by(*_ordering("invoice__"), "contract__code", "position")
    )
    for line in lines.iterator(chunk_size=2000):
        invoice = line.invoice
        yield [
            *_invoice_cells(invoice),
            neutralise(line.contract.code),
            line.item,
            line.line_type,
            neutralise(line.description),
            decimal_cell(line.quantity) if line.line_type != "account_fee" else f"{line.quantity:.3f}",
            decimal_cell(line.unit_price.amount if line.unit_price is not None else None),
            yen_cell(line.amount.amount),
            f"{line.tax_rate:.2f}",
            yen_cell(invoice.subtotal.amount),
            yen_cell(invoice.tax.amount),
            yen_cell(invoice.total.amount),
        ]


def invoice_rows(month: dt.date) -> Iterator[list[str]]:
    invoices = (
        Invoice.objects.filter(billing_month=month).annotate(line_count=Count("lines")).order_by(*_ordering())
    )
    for invoice in invoices.iterator(chunk_size=2000):
        yield [
            *_invoice_cells(invoice),
            yen_cell(invoice.subtotal.amount),
            f"{invoice.tax_rate:.2f}",
            yen_cell(invoice.tax.amount),
            yen_cell(invoice.total.amount),
            str(invoice.line_count),
        ]


def export(
    month: dt.date, layout: str = "lines", encoding: str = "utf-8-sig", report: EncodingReport | None = None
) -> Iterator[bytes]:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    rows = line_rows(month) if layout == "lines" else invoice_rows(month)
    header = LINES_HEADER if layout == "lines" else INVOICES_HEADER
    return encoded_csv(rows, header, encoding, report or EncodingReport())
