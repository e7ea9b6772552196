"""The contracts a month bills, with everything the fee rules read attached: six
queries, whatever the number of contracts. Read as plain values (``__slots__`` objects,
below), not model instances: with thousands of contracts, building instances (and their
money fields) cost more than the queries themselves. The rules these values answer
(``service_window``, ``item_for_month``, ``missing_component``) are the models' own
functions (``contracts.models.contracts``, ``billing.models.rates``), called on the
values."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Subquery

from billing import calculation
from billing.models import AuthTier, OneTimeCharge, RateCard
from billing.models.rates import missing_component
from contracts import periods
from contracts.models import Contract, IIJIDContract, ItemChange, in_service_during_q
from contracts.models.contracts import item_for_month, service_window


class BilledCustomer:
    """The columns of a customer its invoice copies (``persist.save_invoices``)."""

    __slots__ = ("address", "billing_name", "code", "name", "pk", "postal_code")

    def __init__(self, pk, code, billing_name, name, postal_code, address):
        self.pk = pk
        self.code = code
        self.billing_name = billing_name
        self.name = name
        self.postal_code = postal_code
        self.address = address

    @property
    def id(self):
        return self.pk


class BilledTermination(NamedTuple):
    """What billing reads of a contract's termination notice (R6, R7)."""

    on_prescribed_form: bool
    notice_received_on: dt.date | None
    effective_on: dt.date | None


class BilledItemChange(NamedTuple):
    """Art. 4: a change of item, as ``contracts.models.contracts.item_on`` reads it."""

    effective_month: dt.date
    item: str


class BilledCharge(NamedTuple):
    """Art. 7: a one-time charge due in the month (its amount in yen)."""

    pk: int
    due_on: dt.date
    description: str
    amount: Decimal


class BilledRateCard:
    """R8: what billing reads of a rate card covering the month (amounts in yen), with
    its tiers (``billing_tiers``, ``calculation.Tier``)."""

    __slots__ = (
        "account_unit_price",
        "approved_by_id",
        "auth_pricing",
        "base_fee",
        "billing_tiers",
        "notified_on",
        "pk",
    )

    def __init__(
        self, pk, approved_by_id, notified_on, base_fee, account_unit_price, auth_pricing, billing_tiers
    ):
        self.pk = pk
        self.approved_by_id = approved_by_id
        self.notified_on = notified_on
        self.base_fee = base_fee
        self.account_unit_price = account_unit_price
        self.auth_pricing = auth_pricing
        self.billing_tiers = billing_tiers

    def missing_component(self, item: str) -> str | None:
        return missing_component(item, self.account_unit_price, self.auth_pricing)


class BilledContract:
    """A contract as billing reads it: its columns, its customer, its termination notice
    (or None) and item changes, the rate cards covering the month (``billing_cards``),
    the customer's IIJ ID Service contracts as (start, end) pairs (``iijid_periods``)
    and the one-time charges due in the month (``charges_this_month``)."""

    __slots__ = (
        "billing_cards",
        "billing_start_on",
        "charges_this_month",
        "code",
        "customer",
        "customer_id",
        "first_charge_on",
        "iijid_periods",
        "item",
        "item_changes",
        "pk",
        "termination_notice",
    )

    def __init__(
        self, pk, code, customer_id, customer, item, billing_start_on, first_charge_on, termination_notice
    ):
        self.pk = pk
        self.code = code
        self.customer_id = customer_id
        self.customer = customer
        self.item = item
        self.billing_start_on = billing_start_on
        self.first_charge_on = first_charge_on
        self.termination_notice = termination_notice
        self.item_changes = ()
        self.billing_cards = ()
        self.iijid_periods = ()
        self.charges_this_month = ()

    @property
    def id(self):
        return self.pk

    @property
    def termination_effective_on(self) -> dt.date | None:
        notice = self.termination_notice
        return notice.effective_on if notice else None

    def service_window(self, month: dt.date) -> tuple[dt.date, dt.date] | None:
        return service_window(self.billing_start_on, self.termination_effective_on, month)

    def item_for_month(self, month: dt.date) -> str:
        return item_for_month(self.item, self.billing_start_on, self.item_changes, month)


_CONTRACT_COLUMNS = (
    "pk",
    "code",
    "customer_id",
    "item",
    "billing_start_on",
    "first_charge_on",
    "termination__pk",
    "termination__on_prescribed_form",
    "termination__notice_received_on",
    "termination__effective_on",
    "customer__code",
    "customer__billing_name",
    "customer__name",
    "customer__postal_code",
    "customer__address",
)


def contracts_billable_in(month: dt.date, customer_ids=None, contract_ids=None) -> list[BilledContract]:
    """The contracts to bill in ``month`` (in service on one of its days, R7, or with a
    one-time charge due in it), in invoice order, with what the fee rules read attached;
    of the given customers or contracts only, if given."""
    first, last = periods.month_start(month), periods.month_end(month)
    charges_due = OneTimeCharge.objects.filter(contract=OuterRef("pk"), due_on__range=(first, last))
    first_charge = (
        OneTimeCharge.objects.filter(contract=OuterRef("pk")).order_by("due_on").values("due_on")[:1]
    )
    billable = Contract.objects.filter(accepted_on__isnull=False).filter(
        in_service_during_q(first, last) | Exists(charges_due)
    )
    if customer_ids is not None:
        billable = billable.filter(customer_id__in=customer_ids)
    if contract_ids is not None:
        billable = billable.filter(pk__in=contract_ids)
    customers: dict[int, BilledCustomer] = {}
    contracts = []
    for (
        pk,
        code,
        customer_id,
        item,
        billing_start_on,
        first_charge_on,
        termination_pk,
        on_prescribed_form,
        notice_received_on,
        effective_on,
        *customer,
    ) in (
        billable.annotate(first_charge_on=Subquery(first_charge))
        .order_by("customer__code", "code")
        .values_list(*_CONTRACT_COLUMNS)
    ):
        if customer_id not in customers:
            customers[customer_id] = BilledCustomer(customer_id, *customer)
        termination = (
            None
            if termination_pk is None
            else BilledTermination(on_prescribed_form, notice_received_on, effective_on)
        )
        contracts.append(
            BilledContract(
                pk,
                code,
                customer_id,
                customers[customer_id],
                item,
                billing_start_on,
                first_charge_on,
                termination,
            )
        )
    _attach_billing_relations(contracts, billable, month)
    return contracts


def _attach_billing_relations(contracts: list[BilledContract], billable, month: dt.date) -> None:
    """Load the related rows billing reads, one query per relation, as values, and attach
    them to the contracts (``BilledContract``). Each query selects its rows with a
    subquery of ``billable`` rather than a list of ids."""
    first, last = periods.month_start(month), periods.month_end(month)
    ids = billable.values("pk")
    changes: dict[int, list[BilledItemChange]] = defaultdict(list)
    for contract_id, effective_month, item in (
        ItemChange.objects.filter(contract__in=ids)
        .order_by("effective_month")
        .values_list("contract_id", "effective_month", "item")
    ):
        changes[contract_id].append(BilledItemChange(effective_month, item))
    iijid: dict[int, list[tuple]] = defaultdict(list)
    for customer_id, start_on, end_on in (
        IIJIDContract.objects.filter(customer__in=billable.values("customer_id"))
        .order_by("start_on")
        .values_list("customer_id", "start_on", "end_on")
    ):
        iijid[customer_id].append((start_on, end_on))
    cards = RateCard.objects.covering(first).filter(contract__in=ids)
    tiers: dict[int, list[calculation.Tier]] = defaultdict(list)
    for card_id, up_to, unit_price, flat_fee in (
        AuthTier.objects.filter(rate_card__in=cards.values("pk"))
        .order_by("rate_card_id", *AuthTier._meta.ordering)
        .values_list("rate_card_id", "up_to", "unit_price", "flat_fee")
    ):
        tiers[card_id].append(calculation.Tier(up_to, unit_price, flat_fee))
    cards_of: dict[int, list[BilledRateCard]] = defaultdict(list)
    for (
        contract_id,
        pk,
        approved_by_id,
        notified_on,
        base_fee,
        account_unit_price,
        auth_pricing,
    ) in cards.order_by("valid_from").values_list(
        "contract_id", "pk", "approved_by_id", "notified_on", "base_fee", "account_unit_price", "auth_pricing"
    ):
        cards_of[contract_id].append(
            BilledRateCard(
                pk, approved_by_id, notified_on, base_fee, account_unit_price, auth_pricing, tiers.get(pk, [])
            )
        )
    charges: dict[int, list[BilledCharge]] = defaultdict(list)
    for contract_id, pk, due_on, description, amount in (
        OneTimeCharge.objects.filter(contract__in=ids, due_on__range=(first, last))
        .order_by("due_on", "pk")
        .values_list("contract_id", "pk", "due_on", "description", "amount")
    ):
        charges[contract_id].append(BilledCharge(pk, due_on, description, amount))
    for contract in contracts:
        pk = contract.pk
        if pk in changes:
            contract.item_changes = changes[pk]
        if pk in cards_of:
            contract.billing_cards = cards_of[pk]
        if contract.customer_id in iijid:
            contract.iijid_periods = iijid[contract.customer_id]
        if pk in charges:
            contract.charges_this_month = charges[pk]
