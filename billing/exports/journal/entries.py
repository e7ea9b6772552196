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
    # values of exactly the columns the entries use, not model instances (issue 16)
    invoices = (
        Invoice.objects.filter(billing_month=month)
        .filter(Q(status=InvoiceStatus.ISSUED) | Q(status=InvoiceStatus.VOID, number__isnull=False))
        .order_by("number")
        .values_list(
            "pk",
            "number",
            "status",
            "customer_code",
            "customer_name",
            "customer__name",
            "total",
            "tax",
            "voided_at",
            "void_reason",
            "replaces__number",
        )
    )
    credit_notes = (
        CreditNote.objects.filter(invoice__billing_month=month)
        .order_by("issue_date", "number")
        .values_list(
            "pk",
            "number",
            "issue_date",
            "customer_code",
            "customer_name",
            "total",
            "tax",
            "reason",
            "invoice__number",
        )
    )
    entries = []
    corrections = []
    for pk, number, status, code, kept_name, today_name, total, tax, voided_at, reason, replaced in invoices:
        # invoices made before the name was kept on them (billing 0008) show today's
        name = kept_name or today_name
        memo = f"{number} {code}"
        if replaced is not None:
            memo += f" {replaced}の訂正"
        entries.append(
            Entry(
                EntryType.INVOICE,
                pk,
                number,
                booked_on,
                code,
                name,
                int(total),
                int(tax),
                reversing=False,
                summary=f"{number} {label} IIJ SmartKey {name}",
                memo=memo,
            )
        )
        if status == InvoiceStatus.VOID:
            corrections.append(
                Entry(
                    EntryType.VOID,
                    pk,
                    number,
                    timezone.localtime(voided_at).date(),
                    code,
                    name,
                    int(total),
                    int(tax),
                    reversing=True,
                    summary=f"{number} 取消 {label} {name}",
                    memo=f"{number} {code} 取消: {one_line(reason)}",
                )
            )
    for pk, number, issued, code, name, total, tax, reason, invoice_number in credit_notes:
        corrections.append(
            Entry(
                EntryType.CREDIT_NOTE,
                pk,
                number,
                issued,
                code,
                name,
                int(total),
                int(tax),
                reversing=True,
                summary=f"{number} 返還 {invoice_number} {label} {name}",
                memo=f"{number} {code} {invoice_number}の返還: {one_line(reason)}",
            )
        )
    corrections.sort(key=lambda entry: (entry.date, entry.number))
    # an invoice that billed nothing (adjustments that net to zero) moves nothing
    return [entry for entry in [*entries, *corrections] if entry.total]
