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
from enum import StrEnum
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from billing.models import CreditNote, Invoice, InvoiceStatus
from contracts import periods


class EntryType(StrEnum):
    INVOICE = "invoice"
    VOID = "void"
    CREDIT_NOTE = "credit_note"
    # the receipts journal (R17), see ``receipt_entries``
    RECEIPT = "receipt"
    APPLIED = "receipt_applied"
    FEE = "receipt_fee"
    APPLIED_REVERSED = "receipt_reversed"
    FEE_REVERSED = "receipt_fee_reversed"


class Entry(NamedTuple):
    """One journal entry. A tuple: a month's thousands are made at once, and a frozen
    dataclass's ``__init__`` (a ``object.__setattr__`` per field) was most of the cost of
    making them (issue 16)."""

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
    #: the receipts journal's accounts (debit, credit), and whether each side carries the
    #: customer as its sub-account; empty: the sales journal's receivable / sales
    debit_account: str = ""
    credit_account: str = ""
    debit_sub: bool = False
    credit_sub: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.type.value, self.document_id)


def one_line(text: str) -> str:
    """A reason typed in a text area, on one line (a journal cell holds no line break)."""
    return " ".join(text.split())


def month_entry_values(month: dt.date) -> tuple:
    """The two queries of ``month_entries``: the month's invoices and the credit notes
    against them, as values of exactly the columns the entries use, not model instances
    (issue 16; ``benchmark_billing`` times ``COPY`` of both as the journal's bound)."""
    month = periods.month_start(month)
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
    return invoices, credit_notes


def month_entries(month: dt.date) -> list[Entry]:
    """Every entry of the billing month, in the order they happened: the invoices by
    number, then voids and credit notes by date. Two queries."""
    month = periods.month_start(month)
    booked_on = periods.month_end(month)
    label = f"{month.year}年{month.month}月分"
    invoices, credit_notes = month_entry_values(month)
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


def receipt_entries(month: dt.date) -> list[Entry]:
    """R17's receipts journal of the deposits received in ``month`` whose customer is known
    (an unmatched deposit is booked once a person settles it), as events that never change
    once booked, so that ``--since-last`` books each once:

    - the deposit received: 普通預金 / 前受金, its whole amount, on the day it arrived;
    - each application: 前受金 / 売掛金, on the deposit's day when matched on import, else
      on the day a person made it, and the transfer fee accepted: 支払手数料 / 売掛金;
    - each application undone: the same entries reversed, on the day it was undone.

    What stays on 前受金 is the customer's credit. Two queries."""
    from billing.models import Application, Deposit

    month = periods.month_start(month)
    bank, advance = settings.JOURNAL_BANK_ACCOUNT, settings.JOURNAL_ADVANCE_ACCOUNT
    receivable, fees = settings.JOURNAL_RECEIVABLE_ACCOUNT, settings.JOURNAL_FEE_ACCOUNT
    deposits = list(
        Deposit.objects.filter(
            received_on__gte=month, received_on__lte=periods.month_end(month), customer__isnull=False
        )
        .select_related("customer")
        .order_by("received_on", "source_id")
    )
    applications = list(
        Application.objects.filter(deposit__in=[d.pk for d in deposits])
        .select_related("invoice")
        .order_by("applied_at", "id")
    )
    entries = []
    for deposit in deposits:
        name = deposit.customer.name
        entries.append(
            Entry(
                EntryType.RECEIPT, deposit.pk, f"入金{deposit.pk}", deposit.received_on, deposit.customer.code, name,
                int(deposit.amount.amount), 0, reversing=False,
                summary=f"入金 {deposit.payer_name} {name}", memo=f"{deposit.source_id} {deposit.customer.code}",
                debit_account=bank, credit_account=advance, credit_sub=True,
            )
        )  # fmt: skip
    by_id = {d.pk: d for d in deposits}
    for application in applications:
        deposit = by_id[application.deposit_id]
        code, name, number = deposit.customer.code, deposit.customer.name, application.invoice.number
        # matched on import: booked on the deposit's day; by a person: on the day it was done
        day = deposit.received_on
        if application.applied_by_id is not None:
            day = max(day, timezone.localtime(application.applied_at).date())
        pairs = [
            (EntryType.APPLIED, application.amount.amount, advance, True, f"入金消込 {number} {name}"),
            (EntryType.FEE, application.fee.amount, fees, False, f"振込手数料 {number} {name}"),
        ]
        for entry_type, amount, debit, debit_sub, summary in pairs:
            if not amount:
                continue
            entries.append(
                Entry(
                    entry_type, application.pk, number, day, code, name, int(amount), 0, reversing=False,
                    summary=summary, memo=f"{number} {code}",
                    debit_account=debit, credit_account=receivable, debit_sub=debit_sub, credit_sub=True,
                )
            )  # fmt: skip
            if application.reversed_at is not None:
                entries.append(
                    Entry(
                        EntryType.APPLIED_REVERSED if entry_type == EntryType.APPLIED else EntryType.FEE_REVERSED,
                        application.pk, number, timezone.localtime(application.reversed_at).date(), code, name,
                        int(amount), 0, reversing=True, summary=f"取消 {summary}",
                        memo=f"{number} {code} 取消: {one_line(application.reversal_reason)}",
                        debit_account=receivable, credit_account=debit, debit_sub=True, credit_sub=debit_sub,
                    )
                )  # fmt: skip
    entries.sort(key=lambda entry: (entry.date, entry.type != EntryType.RECEIPT, entry.number))
    return entries
