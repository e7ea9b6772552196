"""The month's invoices as CSV for accountants (interfaces.md), streamed row by row.

UTF-8 with BOM by default (Excel in Japan opens it), CP932 on request; CRLF line ends.
Text cells that a spreadsheet would read as a formula are neutralised (OWASP CSV
injection guidance: prefix a single quote); numeric columns are never touched.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F

from contracts import periods

from .models import Invoice, InvoiceLine

ENCODINGS = ("utf-8-sig", "cp932")
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

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell never starts a spreadsheet formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def yen(amount: Decimal) -> str:
    return str(int(amount))


def decimal_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    normal = value.normalize()
    return f"{normal:f}" if normal != normal.to_integral_value() else str(int(normal))


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def _invoice_cells(invoice: Invoice) -> list[str]:
    return [
        invoice.number or "",
        invoice.status,
        neutralise(invoice.customer_code),
        neutralise(invoice.billing_name),
        periods.format_month(invoice.billing_month),
        _date(invoice.issue_date),
        _date(invoice.due_date),
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
            decimal_text(line.quantity) if line.line_type != "account_fee" else f"{line.quantity:.3f}",
            decimal_text(line.unit_price.amount if line.unit_price is not None else None),
            yen(line.amount.amount),
            f"{line.tax_rate:.2f}",
            yen(invoice.subtotal.amount),
            yen(invoice.tax.amount),
            yen(invoice.total.amount),
        ]


def invoice_rows(month: dt.date) -> Iterator[list[str]]:
    invoices = (
        Invoice.objects.filter(billing_month=month).annotate(line_count=Count("lines")).order_by(*_ordering())
    )
    for invoice in invoices.iterator(chunk_size=2000):
        yield [
            *_invoice_cells(invoice),
            yen(invoice.subtotal.amount),
            f"{invoice.tax_rate:.2f}",
            yen(invoice.tax.amount),
            yen(invoice.total.amount),
            str(invoice.line_count),
        ]


@dataclass
class EncodingReport:
    replaced: list[str] = field(default_factory=list)


def encoded_csv(
    rows: Iterable[list[str]], header: tuple[str, ...] | None, encoding: str, report: EncodingReport
) -> Iterator[bytes]:
    """CSV bytes, a chunk per row, CRLF line ends. Characters CP932 cannot hold are
    written as '?' and listed in ``report``. ``header`` None: no header row (formats
    such as 弥生インポート形式 have none)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def chunk(row) -> bytes:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if encoding == "cp932":
            data = text.encode("cp932", errors="replace")
            if data.count(b"?") != text.count("?"):  # CP932 trail bytes are never 0x3F
                report.replaced.append(text.strip()[:80])
            return data
        return text.encode("utf-8")

    yield (codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"") + (
        chunk(header) if header is not None else b""
    )
    for row in rows:
        yield chunk(row)


def export(
    month: dt.date, layout: str = "lines", encoding: str = "utf-8-sig", report: EncodingReport | None = None
) -> Iterator[bytes]:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    rows = line_rows(month) if layout == "lines" else invoice_rows(month)
    header = LINES_HEADER if layout == "lines" else INVOICES_HEADER
    return encoded_csv(rows, header, encoding, report or EncodingReport())
