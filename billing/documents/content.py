"""The documents handed to the customer, as a printable HTML page and the same content
as a PDF: the invoice (適格請求書, R12) and the credit note (適格返還請求書, R16), one shape
(``Document``) and one look for both.

Both render one ``InvoiceDocument``, built from the invoice's own snapshot (recipient
and issuer as they stood when it was made or issued), so the page and the PDF never
disagree and never read today's customer or settings for an issued invoice. A draft
has no issuer snapshot yet: it shows the issuer of the settings and is marked 下書き;
a voided invoice is marked 取消 with its reason and its replacement.

Qualified invoice items (R12, 消費税法第57条の4第1項): issuer name and registration
number, transaction date (period), description of the supply, amount per tax rate and
the rate, consumption tax per rate, recipient name; and the account to pay into
(振込先, R18). A credit note (消費税法第57条の4第3項): issuer name and registration number,
its own date, the date or period of the original transaction and the original invoice's
number, what is returned, the amount returned per tax rate and the rate, and the tax of
the return, computed once and truncated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing import calculation
from billing.bank import payee
from billing.formatting import (
    DOCUMENT_LANGUAGE,
    decimal_cell,
    japanese_date,
    percent,
    price_text,
    safe_filename,
    yen_text,
)
from billing.models import CreditNote, Invoice, InvoiceStatus, LineType
from billing.qualified_invoice import issuer
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
class Document:
    """What a document shows, whichever kind it is."""

    #: "invoice" or "credit_note"
    kind: str
    status: str
    #: 下書き / 取消 / "" : printed across the page
    stamp: str
    title: str
    number_label: str
    number: str
    issue_date: str
    #: the sentence above the summary ("We hereby invoice you as follows.")
    lead: str
    #: (label, value) rows under it; the first is the total to pay or returned
    summary: list[tuple[str, str]]
    #: (label, value) rows of the account to pay into (振込先), for an invoice
    pay_into: list[tuple[str, str]]
    total_label: str
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
    #: the invoice's due date (an invoice's summary shows it too)
    due_date: str = ""

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


#: the document of an invoice (the name its callers know)
InvoiceDocument = Document


def invoice_document(invoice: Invoice, *, as_issued: bool = False) -> Document:
    """The document of ``invoice``, in the document language (Japanese); ``as_issued``: as
    it was handed out when issued (a voided invoice without its 取消 stamp: the copy kept)."""
    with translation.override(DOCUMENT_LANGUAGE):
        return _build(invoice, as_issued=as_issued)


def _lines_of(document, ordering: tuple[str, ...]) -> list:
    """The document's lines: prefetched ones as they are, else read in ``ordering``."""
    if "lines" in getattr(document, "_prefetched_objects_cache", {}):
        return list(document.lines.all())
    return list(document.lines.select_related("contract").order_by(*ordering))


def pay_into_rows(account: dict[str, str] | None) -> list[tuple[str, str]]:
    """振込先 (R18): bank and branch, account type and number, holder as the bank prints it."""
    if not account:
        return []
    return [
        (_("Bank"), f"{account['bank']} {account['branch']}"),
        (_("Account"), f"{account['type']} {account['number']}"),
        (_("Account holder"), account["holder"]),
    ]


def _build(invoice: Invoice, *, as_issued: bool = False) -> Document:
    lines = _lines_of(invoice, ("contract__code", "position"))
    status = InvoiceStatus.ISSUED if as_issued and invoice.status == InvoiceStatus.VOID else invoice.status
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

    if status == InvoiceStatus.DRAFT:
        seller = issuer()
        stamp = _("DRAFT")
    else:
        seller = {
            "issuer_name": invoice.issuer_name,
            "issuer_address": invoice.issuer_address,
            "issuer_registration_number": invoice.issuer_registration_number,
        }
        stamp = _("VOID") if status == InvoiceStatus.VOID else ""

    notes = []
    if status == InvoiceStatus.DRAFT:
        notes.append(
            _("This is a draft: it has no number yet and is not an invoice until the month is issued.")
        )
    if status == InvoiceStatus.VOID:
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
    period = f"{japanese_date(first)}〜{japanese_date(last)}"
    not_issued = _("(not issued)")
    total_text = f"¥{yen_text(invoice.total.amount)}"
    # the account as it stood when the invoice was issued; a draft shows today's settings
    account = payee() if status == InvoiceStatus.DRAFT else invoice.payee
    return Document(
        kind="invoice",
        status=status,
        stamp=stamp,
        title=_("Qualified invoice"),
        number_label=_("Invoice number"),
        number=invoice.number or "",
        issue_date=japanese_date(invoice.issue_date),
        lead=_("We hereby invoice you as follows."),
        summary=[
            (_("Amount due (tax included)"), total_text),
            (_("Transaction period"), period),
            (_("Due date"), japanese_date(invoice.due_date) or not_issued),
        ],
        pay_into=pay_into_rows(account),
        total_label=_("Total (tax included)"),
        due_date=japanese_date(invoice.due_date),
        period=period,
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


def credit_note_document(note: CreditNote) -> Document:
    """The document of credit note ``note`` (適格返還請求書), in the document language."""
    with translation.override(DOCUMENT_LANGUAGE):
        return _build_credit_note(note)


def _build_credit_note(note: CreditNote) -> Document:
    invoice = note.invoice
    first, last = invoice.period
    period = f"{japanese_date(first)}〜{japanese_date(last)}"
    lines = _lines_of(note, ("position",))
    total_text = f"¥{yen_text(note.total.amount)}"
    return Document(
        kind="credit_note",
        status="credit_note",
        stamp="",
        title=_("Qualified return invoice"),
        number_label=_("Credit note number"),
        number=note.number,
        issue_date=japanese_date(note.issue_date),
        lead=_("We hereby return the following amount for the transaction below."),
        summary=[
            (_("Amount returned (tax included)"), total_text),
            (_("Original invoice"), f"{invoice.number}（{japanese_date(invoice.issue_date)}）"),
            (_("Original transaction period"), period),
            (_("Reason"), note.reason),
        ],
        pay_into=[],
        total_label=_("Total returned (tax included)"),
        period=period,
        billing_month=_("%(year)d-%(month)02d") % {"year": first.year, "month": first.month},
        issuer_name=note.issuer_name,
        issuer_address=note.issuer_address,
        issuer_registration_number=note.issuer_registration_number,
        billing_name=note.billing_name,
        postal_code=note.postal_code,
        address=note.address,
        customer_code=note.customer_code,
        lines=[
            DocumentLine(
                contract_code=line.contract.code if line.contract else "",
                item="",
                description=line.description,
                quantity="1",
                unit_price=price_text(line.amount.amount),
                amount=yen_text(line.amount.amount),
            )
            for line in lines
        ],
        # one rate: the tax of the return, computed once on its amount (R16)
        rates=[RateSummary(note.tax_rate, note.subtotal.amount, note.tax.amount)],
        subtotal=note.subtotal.amount,
        tax=note.tax.amount,
        total=note.total.amount,
        notes=[
            _("This credit note returns part of invoice %(number)s; the amounts are those returned.")
            % {"number": invoice.number},
            _(
                "Consumption tax of the return is computed once on the amount returned, fractions of a yen truncated."
            ),
        ],
    )


def credit_note_filename(note: CreditNote, extension: str) -> str:
    return safe_filename(f"credit-note-{note.number}.{extension}")
