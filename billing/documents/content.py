"""The invoice document (適格請求書, R12): a printable HTML page and the same content
as a PDF, for staff to hand to the customer.

Both render one ``InvoiceDocument``, built from the invoice's own snapshot (recipient
and issuer as they stood when it was made or issued), so the page and the PDF never
disagree and never read today's customer or settings for an issued invoice. A draft
has no issuer snapshot yet: it shows the issuer of the settings and is marked 下書き;
a voided invoice is marked 取消 with its reason and its replacement.

Qualified invoice items (R12, 消費税法第57条の4第1項): issuer name and registration
number, transaction date (period), description of the supply, amount per tax rate and
the rate, consumption tax per rate, recipient name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import calculation
from billing.formatting import decimal_cell, japanese_date, percent, price_text, safe_filename, yen_text
from billing.models import Invoice, InvoiceStatus, LineType
from billing.qualified_invoice import issuer
from billing.runs import DOCUMENT_LANGUAGE
from contracts import periods
from contracts.models import Item

# --- the document's content -------------------------------------------------------


@dataclass(frozen=True)
class DocumentLine:
    contract_code: str
    item: str
    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class RateSummary:
    """R12: the amount per tax rate, the rate, and the tax per rate."""

    rate: Decimal
    taxable: Decimal
    tax: Decimal

    @property
    def label(self) -> str:
        return _("%(rate)s%% taxable") % {"rate": percent(self.rate)}

    @property
    def tax_label(self) -> str:
        return _("Consumption tax (%(rate)s%%)") % {"rate": percent(self.rate)}

    @property
    def taxable_text(self) -> str:
        return f"¥{yen_text(self.taxable)}"

    @property
    def tax_text(self) -> str:
        return f"¥{yen_text(self.tax)}"


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    status: str
    #: 下書き / 取消 / "" : printed across the page
    stamp: str
    number: str
    issue_date: str
    due_date: str
    period: str
    billing_month: str
    issuer_name: str
    issuer_address: str
    issuer_registration_number: str
    billing_name: str
    postal_code: str
    address: str
    customer_code: str
    lines: list[DocumentLine]
    rates: list[RateSummary]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    notes: list[str] = field(default_factory=list)

    @property
    def is_void(self) -> bool:
        return self.status == InvoiceStatus.VOID

    @property
    def total_text(self) -> str:
        return f"¥{yen_text(self.total)}"


def _quantity(line) -> str:
    if line.line_type == LineType.ACCOUNT_FEE:
        return f"{line.quantity:.3f}"  # Σ of the accounts' 日割係数, 3 decimals (R10)
    if line.line_type == LineType.AUTH_API_FEE:
        return f"{int(line.quantity):,}"  # 認証成功回数 of the month (R11)
    return decimal_cell(line.quantity)


def _unit_price(line) -> str:
    if line.unit_price is None:
        return "—"  # graduated table: no single unit price (R11)
    return price_text(line.unit_price.amount)


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """The document of ``invoice``, in the document language (Japanese)."""
    with translation.override(DOCUMENT_LANGUAGE):
        return _build(invoice)


def _build(invoice: Invoice) -> InvoiceDocument:
    lines = list(invoice.lines.select_related("contract").order_by("contract__code", "position"))
    by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        by_rate[line.tax_rate] += line.amount.amount
    if not by_rate:
        by_rate[invoice.tax_rate] = Decimal("0")
    if len(by_rate) == 1:
        # one rate: its tax is the invoice's, computed once on the invoice (R12)
        ((rate, taxable),) = by_rate.items()
        rates = [RateSummary(rate, taxable, invoice.tax.amount)]
    else:
        # several rates (none in this service today): each rate's tax once on its own sum
        rates = [
            RateSummary(rate, taxable, calculation.truncate_yen(taxable * rate))
            for rate, taxable in sorted(by_rate.items(), reverse=True)
        ]

    if invoice.status == InvoiceStatus.DRAFT:
        seller = issuer()
        stamp = _("DRAFT")
    else:
        seller = {
            "issuer_name": invoice.issuer_name,
            "issuer_address": invoice.issuer_address,
            "issuer_registration_number": invoice.issuer_registration_number,
        }
        stamp = _("VOID") if invoice.status == InvoiceStatus.VOID else ""

    notes = []
    if invoice.status == InvoiceStatus.DRAFT:
        notes.append(
            _("This is a draft: it has no number yet and is not an invoice until the month is issued.")
        )
    if invoice.status == InvoiceStatus.VOID:
        notes.append(
            _("This invoice was voided on %(date)s: %(reason)s")
            % {"date": japanese_date(timezone.localdate(invoice.voided_at)), "reason": invoice.void_reason}
        )
        replacement = Invoice.objects.filter(replaces=invoice).values_list("number", flat=True).first()
        if replacement:
            notes.append(_("It is replaced by invoice %(number)s.") % {"number": replacement})
    if invoice.replaces_id is not None:
        notes.append(
            _("This invoice corrects and replaces invoice %(number)s, which is void.")
            % {"number": invoice.replaces.number}
        )
    notes.append(
        _("Consumption tax is computed once per invoice and tax rate, fractions of a yen truncated.")
    )

    first, last = invoice.period
    return InvoiceDocument(
        invoice=invoice,
        status=invoice.status,
        stamp=stamp,
        number=invoice.number or "",
        issue_date=japanese_date(invoice.issue_date),
        due_date=japanese_date(invoice.due_date),
        period=f"{japanese_date(first)}〜{japanese_date(last)}",
        billing_month=_("%(year)d-%(month)02d") % {"year": first.year, "month": first.month},
        issuer_name=seller["issuer_name"],
        issuer_address=seller["issuer_address"],
        issuer_registration_number=seller["issuer_registration_number"],
        billing_name=invoice.billing_name,
        postal_code=invoice.postal_code,
        address=invoice.address,
        customer_code=invoice.customer_code,
        lines=[
            DocumentLine(
                contract_code=line.contract.code,
                item=str(Item(line.item).label),
                description=line.description,
                quantity=_quantity(line),
                unit_price=_unit_price(line),
                amount=yen_text(line.amount.amount),
            )
            for line in lines
        ],
        rates=rates,
        subtotal=invoice.subtotal.amount,
        tax=invoice.tax.amount,
        total=invoice.total.amount,
        notes=notes,
    )


def document_filename(invoice: Invoice, extension: str) -> str:
    if invoice.number:
        name = f"invoice-{invoice.number}"
    else:
        name = f"invoice-draft-{invoice.customer_code}-{periods.format_month(invoice.billing_month)}"
    if invoice.status == InvoiceStatus.VOID:
        name += "-void"
    return safe_filename(f"{name}.{extension}")
