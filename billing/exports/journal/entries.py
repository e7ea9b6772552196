"""The sales journal's entries of a billing month, whatever the accounting software: one
per document that moves the receivable (interfaces.md, "Invoice export, additions").

- an issued invoice (voided since or not): receivable / sales, its total tax included,
  dated on the last day of its billing month (sales are recognised in the month of
  service), whatever day it was issued;
- the void of an invoice: the reversing entry (sales / receivable, the same amounts),
  dated on the day it was voided;
- a credit note against one of the month's invoices (R16): sales / receivable for its
  total and tax, dated on its own date.

Amounts are never negative: a correction is the entry reversed, debit and credit
swapped, as 弥生 requires and as freee and マネーフォワード read it too. So each entry ties
to one document, and the entries of every file ever written add up, to the yen, to the
documents live today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone

from billing.models import CreditNote, Invoice, InvoiceStatus
from contracts import periods


class EntryType(StrEnum):
    INVOICE = "invoice"
    VOID = "void"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class Entry:
    type: EntryType
    #: the invoice's or credit note's id (the record of ``--since-last`` keeps it)
    document_id: int
    #: the document the entry books (an invoice or credit note number)
    number: str
    date: dt.date
    customer_code: str
    #: the customer's name as it stood when the document was issued
    customer_name: str
    total: int
    tax: int
    #: the entry reverses a sale: sales / receivable
    reversing: bool
    summary: str
    memo: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.type.value, self.document_id)


def one_line(text: str) -> str:
    """A reason typed in a text area, on one line (a journal cell holds no line break)."""
    return " ".join(text.split())


def month_entries(month: dt.date) -> list[Entry]:
    """Every entry of the billing month, in the order they happened: the invoices by
    number, then voids and credit notes by date. Two queries."""
    month = periods.month_start(month)
    booked_on = periods.month_end(month)
    label = f"{month.year}年{month.month}月分"
    invoices = list(
        Invoice.objects.filter(billing_month=month)
        .filter(Q(status=InvoiceStatus.ISSUED) | Q(status=InvoiceStatus.VOID, number__isnull=False))
        .select_related("replaces", "customer")
        .only(
            "number",
            "status",
            "customer_code",
            "customer_name",
            "total",
            "total_currency",
            "tax",
            "tax_currency",
            "voided_at",
            "void_reason",
            "replaces__number",
            "customer__name",
        )
        .order_by("number")
    )
    credit_notes = list(
        CreditNote.objects.filter(invoice__billing_month=month)
        .select_related("invoice")
        .only(
            "number",
            "issue_date",
            "customer_code",
            "customer_name",
            "total",
            "total_currency",
            "tax",
            "tax_currency",
            "reason",
            "invoice__number",
        )
        .order_by("issue_date", "number")
    )
    entries = []
    corrections = []
    for invoice in invoices:
        # invoices made before the name was kept on them (billing 0008) show today's
        name = invoice.customer_name or invoice.customer.name
        memo = f"{invoice.number} {invoice.customer_code}"
        if invoice.replaces_id is not None:
            memo += f" {invoice.replaces.number}の訂正"
        entries.append(
            Entry(
                EntryType.INVOICE,
                invoice.pk,
                invoice.number,
                booked_on,
                invoice.customer_code,
                name,
                int(invoice.total.amount),
                int(invoice.tax.amount),
                reversing=False,
                summary=f"{invoice.number} {label} IIJ SmartKey {name}",
                memo=memo,
            )
        )
        if invoice.status == InvoiceStatus.VOID:
            corrections.append(
                Entry(
                    EntryType.VOID,
                    invoice.pk,
                    invoice.number,
                    timezone.localtime(invoice.voided_at).date(),
                    invoice.customer_code,
                    name,
                    int(invoice.total.amount),
                    int(invoice.tax.amount),
                    reversing=True,
                    summary=f"{invoice.number} 取消 {label} {name}",
                    memo=f"{invoice.number} {invoice.customer_code} 取消: {one_line(invoice.void_reason)}",
                )
            )
    for note in credit_notes:
        corrections.append(
            Entry(
                EntryType.CREDIT_NOTE,
                note.pk,
                note.number,
                note.issue_date,
                note.customer_code,
                note.customer_name,
                int(note.total.amount),
                int(note.tax.amount),
                reversing=True,
                summary=f"{note.number} 返還 {note.invoice.number} {label} {note.customer_name}",
                memo=f"{note.number} {note.customer_code} {note.invoice.number}の返還: {one_line(note.reason)}",
            )
        )
    corrections.sort(key=lambda entry: (entry.date, entry.number))
    # an invoice that billed nothing (adjustments that net to zero) moves nothing
    return [entry for entry in [*entries, *corrections] if entry.total]
