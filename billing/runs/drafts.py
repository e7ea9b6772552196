"""What a monthly run makes before it writes anything: plain values, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from billing import calculation
from billing.formatting import DOCUMENT_LANGUAGE  # noqa: F401  (the runs' name for it)
from billing.models import BillingRun, OneTimeCharge, RateCard, RunException
from contracts.models import Contract, Customer

#: every amount is in Japanese yen (django-money's currency column)
CURRENCY = "JPY"


class BillingRefused(Exception):
    """The month cannot be (re)computed or issued; the message says why and what to do."""


@dataclass(frozen=True)
class Adjusts:
    """What an adjustment line corrects (R15): a component of a closed month, what that
    month had billed for it when the adjustment was computed, and its live invoice."""

    month: dt.date
    line_type: str
    basis: Decimal
    invoice_id: int | None = None

    def columns(self) -> tuple:
        """The line's ``adjusted_*`` columns, in ``persist.LINE_FIELDS`` order."""
        return (self.month, self.line_type, self.invoice_id, self.basis, CURRENCY)


@dataclass
class LineDraft:
    contract: Contract
    line_type: str
    item: str
    description: str
    #: None only while an account fee waits for the month's days of use (``fees.AccountFeeToSettle``)
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None
    rate_card: RateCard | None = None
    adjusts: Adjusts | None = None
    #: a one-time fee's charge (its due date names it in an adjustment, R15)
    charge: OneTimeCharge | None = None


@dataclass
class ExceptionDraft:
    contract: Contract | None
    rule: str
    code: str
    message: str
    action: str
    billed: bool

    @property
    def refuses_billing(self) -> bool:
        """R8: the contract is not billed at all until a person acts."""
        return self.rule == "R8" and not self.billed


@dataclass
class InvoiceDraft:
    customer: Customer
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return calculation.consumption_tax(self.subtotal)


def with_adjustments(drafts: list[InvoiceDraft], adjustments: list[LineDraft]) -> list[InvoiceDraft]:
    """``drafts`` with the adjustment lines (R15) after each customer's own lines; a
    customer with adjustments only gets a draft of its own. In customer-code order."""
    by_customer = {draft.customer.pk: draft for draft in drafts}
    for line in adjustments:
        customer = line.contract.customer
        by_customer.setdefault(customer.pk, InvoiceDraft(customer)).lines.append(line)
    return sorted(by_customer.values(), key=lambda draft: draft.customer.code)


@dataclass
class RunSummary:
    run: BillingRun
    invoices: int
    total: Decimal
    exceptions: list[RunException]
    #: credit notes the run issued for customers whose month netted to a credit (R15)
    credit_notes: int = 0
    credited: Decimal = Decimal(0)
