"""R17's matching, in its order, for each deposit of a file:

1. an invoice number written in the EDI情報 or the payer name (``SK2026110003``,
   ``SK-202611-0003``) names the invoice, and so the customer;
2. otherwise a registered payer name equal to the deposit's after normalisation
   (``names.normalize_payer_name``) names the customer (two customers with the same name:
   no match);
3. then the amount, against that customer's open invoices, oldest due first: the one
   invoice whose balance equals it; else the oldest invoices whose balances add up to it
   exactly; else one invoice whose balance exceeds it by no more than
   ``PAYMENT_FEE_TOLERANCE`` yen, the difference accepted as the payer's transfer fee;
4. the rest stays unmatched for a person, the customer kept as a suggestion; money beyond
   every open balance is the customer's credit (前受金).

Pure over plain values once ``load`` has read what the file needs, in three queries
whatever the number of deposits: the invoices named, the payer names, the open invoices of
the customers found. Deposits are matched in file order, each seeing the balances the
previous ones left, so the same file against the same books gives the same result."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from billing.models import Invoice, InvoiceStatus, MatchRule, PayerName

from .names import normalize_payer_name

#: an invoice number as written in a transfer: SK-YYYYMM-NNNN with or without hyphens
#: (banks drop them), in half-width or full-width letters
INVOICE_NUMBER_RE = re.compile(r"SK-?(\d{6})-?(\d{4})")


def invoice_numbers_in(*texts: str) -> list[str]:
    """The invoice numbers written in ``texts``, as the product numbers them."""
    found = []
    for text in texts:
        normalized = normalize_payer_name(text) if text else ""
        # the normaliser drops hyphens: "SK2026110003" and "SK-202611-0003" read alike
        for match in INVOICE_NUMBER_RE.finditer(normalized):
            number = f"SK-{match.group(1)}-{match.group(2)}"
            if number not in found:
                found.append(number)
    return found


@dataclass
class OpenInvoice:
    id: int
    number: str
    customer_id: int
    balance: Decimal


@dataclass
class Placement:
    """What matching decided for one deposit: the applications (invoice id, amount, fee,
    rule), the customer whose money it is (None: unmatched), the suggested customer and
    whether an invoice it named is left partly paid."""

    applications: list[tuple[int, Decimal, Decimal, str]] = field(default_factory=list)
    customer_id: int | None = None
    candidate_customer_id: int | None = None
    partial: bool = False

    @property
    def outcome(self) -> str:
        if self.customer_id is None:
            return "unmatched"
        return "partial" if self.partial else "matched"


@dataclass
class Books:
    """What matching reads of the database, loaded once per file."""

    named: dict[str, OpenInvoice]
    payer_customers: dict[str, set[int]]
    open_by_customer: dict[int, list[OpenInvoice]]


def load(deposits) -> Books:
    """The books matching needs for ``deposits`` (objects with ``payer_name`` and
    ``reference``): three queries."""
    numbers = {n for d in deposits for n in invoice_numbers_in(d.reference, d.payer_name)}
    named = {}
    if numbers:
        for row in (
            Invoice.objects.filter(number__in=numbers, status=InvoiceStatus.ISSUED)
            .with_balance()
            .values("id", "number", "customer_id", "balance")
        ):
            named[row["number"]] = OpenInvoice(row["id"], row["number"], row["customer_id"], row["balance"])
    names = {normalize_payer_name(d.payer_name) for d in deposits} - {""}
    payer_customers: dict[str, set[int]] = defaultdict(set)
    if names:
        for normalized, customer_id in PayerName.objects.filter(normalized__in=names).values_list(
            "normalized", "customer_id"
        ):
            payer_customers[normalized].add(customer_id)
    customers = {i.customer_id for i in named.values()} | {
        next(iter(ids)) for ids in payer_customers.values() if len(ids) == 1
    }
    open_by_customer: dict[int, list[OpenInvoice]] = defaultdict(list)
    if customers:
        for row in (
            Invoice.objects.filter(customer_id__in=customers)
            .open_items()
            .values("id", "number", "customer_id", "balance")
        ):
            open_by_customer[row["customer_id"]].append(
                OpenInvoice(row["id"], row["number"], row["customer_id"], row["balance"])
            )
    # one object per invoice, so that a balance paid down is seen by both lookups
    by_id = {i.id: i for items in open_by_customer.values() for i in items}
    named = {number: by_id.get(i.id, i) for number, i in named.items()}
    return Books(named, dict(payer_customers), dict(open_by_customer))


def tolerance() -> Decimal:
    return Decimal(settings.PAYMENT_FEE_TOLERANCE)


def place(amount: Decimal, payer_name: str, reference: str, books: Books) -> Placement:
    """R17 for one deposit; the balances in ``books`` go down by what is applied."""
    placement = Placement()
    fee_tolerance = tolerance()
    for number in invoice_numbers_in(reference, payer_name):
        invoice = books.named.get(number)
        if invoice is None:
            continue
        # 1. the invoice named: paid (less a fee within the tolerance), or partly paid
        placement.customer_id = invoice.customer_id
        if invoice.balance > 0:
            applied = min(amount, invoice.balance)
            fee = invoice.balance - amount if 0 < invoice.balance - amount <= fee_tolerance else Decimal(0)
            _apply(placement, invoice, applied, fee, MatchRule.INVOICE_NUMBER)
            placement.partial = invoice.balance > 0
            amount -= applied
        # what is left beyond the named invoice is the customer's credit (前受金)
        return placement
    ids = books.payer_customers.get(normalize_payer_name(payer_name), set())
    if len(ids) != 1:
        return placement  # 4. no customer, or two with this name: a person decides
    (customer_id,) = ids
    open_items = [i for i in books.open_by_customer.get(customer_id, []) if i.balance > 0]
    # 3. the amount against the customer's open invoices, oldest due first
    exact = next((i for i in open_items if i.balance == amount), None)
    if exact is not None:
        placement.customer_id = customer_id
        _apply(placement, exact, amount, Decimal(0), MatchRule.ONE_INVOICE)
        return placement
    running, prefix = Decimal(0), []
    for invoice in open_items:
        running += invoice.balance
        prefix.append(invoice)
        if running >= amount:
            break
    if running == amount and len(prefix) > 1:
        placement.customer_id = customer_id
        for invoice in prefix:
            _apply(placement, invoice, invoice.balance, Decimal(0), MatchRule.OLDEST_INVOICES)
        return placement
    within = next((i for i in open_items if 0 < i.balance - amount <= fee_tolerance), None)
    if within is not None:
        placement.customer_id = customer_id
        _apply(placement, within, amount, within.balance - amount, MatchRule.FEE_TOLERANCE)
        return placement
    if amount > sum((i.balance for i in open_items), Decimal(0)):
        # 4. more than every open balance: all of them paid, the rest kept as credit
        placement.customer_id = customer_id
        for invoice in open_items:
            _apply(placement, invoice, invoice.balance, Decimal(0), MatchRule.ALL_OPEN)
        return placement
    placement.candidate_customer_id = customer_id
    return placement


def _apply(placement: Placement, invoice: OpenInvoice, amount: Decimal, fee: Decimal, rule: str) -> None:
    placement.applications.append((invoice.id, amount, fee, rule))
    invoice.balance -= amount + fee
