"""R16: credit notes (適格返還請求書) against issued invoices, numbered in their own gapless
series ``CN-YYYYMM-NNNN`` by month of issue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import calculation
from billing.documents.store import stored_credit_note
from billing.formatting import yen_text
from billing.models import CreditNote, CreditNoteLine, CreditNoteSeries, Invoice, InvoiceStatus, LineType
from billing.qualified_invoice import issuer
from contracts import periods


@dataclass(frozen=True)
class CreditLine:
    """What a credit note returns, line by line (positive: credited)."""

    description: str
    amount: Decimal
    line_type: str = LineType.CREDIT_NOTE
    contract_id: int | None = None
    #: a month that netted to a credit (R15): the month and component the line billed
    billed_month: dt.date | None = None
    billed_line_type: str = ""


def credit_note_number(issue_date: dt.date, sequence: int) -> str:
    return f"CN-{issue_date.year:04d}{issue_date.month:02d}-{sequence:04d}"


def creditable(invoice: Invoice) -> Decimal:
    """What an invoice leaves to credit (tax excluded): its subtotal less its credit notes'."""
    credited = invoice.credit_notes.aggregate(total=Sum("subtotal"))["total"] or Decimal(0)
    return invoice.subtotal.amount - credited


@transaction.atomic
def credit_note_issue(
    *, invoice: Invoice, amount: Decimal, reason: str, by, today: dt.date | None = None
) -> CreditNote:
    """R16: an accountant returns ``amount`` yen (tax excluded) of an issued, live invoice,
    for ``reason``; refused on drafts and voided invoices and beyond what the invoice and
    its earlier credit notes leave."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("R16: say why the credit note is issued."), code="reason_required")
    return issue_credit_note(
        invoice=invoice,
        lines=[CreditLine(reason, amount)],
        reason=reason,
        by=by,
        today=today,
        origin=CreditNote.Origin.MANUAL,
    )


def issue_credit_note(
    *, invoice: Invoice, lines: list[CreditLine], reason: str, by, today=None, origin, billing_month=None
) -> CreditNote:
    """The credit note of ``lines`` against ``invoice``, with the next number of its month's
    series; the invoice row and the series row are locked while it is made."""
    today = today or timezone.localdate()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise ValidationError(
            _("R16: only an issued invoice is credited; %(invoice)s is %(status)s.")
            % {"invoice": invoice, "status": invoice.get_status_display()},
            code="not_issued",
        )
    amount = sum((line.amount for line in lines), Decimal(0))
    if amount <= 0 or amount != amount.to_integral_value():
        raise ValidationError(
            _("R16: a credit note returns a whole number of yen, more than 0 (got %(amount)s).")
            % {"amount": amount},
            code="amount",
        )
    left = creditable(invoice)
    if amount > left:
        raise ValidationError(
            _(
                "R16: invoice %(number)s leaves %(left)s yen to credit (tax excluded, after its earlier "
                "credit notes); %(amount)s yen is more."
            )
            % {"number": invoice.number, "left": yen_text(left), "amount": yen_text(amount)},
            code="beyond_invoice",
        )
    series, _created = CreditNoteSeries.objects.get_or_create(month=periods.month_start(today))
    series = CreditNoteSeries.objects.select_for_update().get(pk=series.pk)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    tax = calculation.consumption_tax(amount)
    seller = issuer()
    credit_note = CreditNote(
        number=credit_note_number(today, series.last_number),
        invoice=invoice,
        customer_id=invoice.customer_id,
        origin=origin,
        billing_month=billing_month,
        issue_date=today,
        reason=reason,
        subtotal=amount,
        tax=tax,
        total=amount + tax,
        customer_code=invoice.customer_code,
        customer_name=invoice.customer_name or invoice.customer.name,
        billing_name=invoice.billing_name,
        postal_code=invoice.postal_code,
        address=invoice.address,
        issued_at=timezone.now(),
        issued_by=by,
        **seller,
    )
    credit_note.full_clean(exclude=["invoice", "customer", "issued_by"])
    credit_note._issuing = True
    credit_note._history_user = by
    credit_note.save()
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=credit_note,
            position=position,
            contract_id=line.contract_id,
            line_type=line.line_type,
            description=line.description[:300],
            amount=line.amount,
            billed_month=line.billed_month,
            billed_line_type=line.billed_line_type,
        )
        for position, line in enumerate(lines, start=1)
    )
    stored_credit_note(credit_note)  # R19: the document as issued, kept
    return credit_note
