"""The contracts a month bills, with everything the fee rules read attached: six
queries, whatever the number of contracts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Exists, OuterRef, Subquery

from billing import calculation
from billing.models import AuthTier, OneTimeCharge, RateCard
from contracts import periods
from contracts.models import CONDITIONS, Contract, IIJIDContract, ItemChange, in_service_during_q

#: columns of the contracts and their customers that billing never reads: not loaded
#: (thousands of rows, a dozen dates each)
_NOT_BILLED_FROM = (
    *(field for condition in CONDITIONS for field in (condition.date_field, condition.by_field)),
    "applied_on",
    "terms_version",
    "created_at",
    "updated_at",
    "customer__email",
    "customer__created_at",
    "customer__updated_at",
    "termination__created_at",
    "termination__updated_at",
)


def contracts_billable_in(month: dt.date, customer_ids=None, contract_ids=None) -> list[Contract]:
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
    contracts = list(
        billable.annotate(first_charge_on=Subquery(first_charge))
        .select_related("customer", "termination")
        .defer(*_NOT_BILLED_FROM)
        .order_by("customer__code", "code")
    )
    _attach_billing_relations(contracts, billable, month)
    return contracts


def _attach_billing_relations(contracts: list[Contract], billable, month: dt.date) -> None:
    """Load the related rows billing reads, one query per relation, and attach them to the
    contracts: item changes as the prefetch cache the model methods read (as
    ``prefetch_related`` would), the rest as plain attributes: ``billing_cards`` (the rate
    cards covering the month, each with ``billing_tiers``), ``iijid_periods`` (the
    customer's IIJ ID Service contracts as (start, end) pairs) and ``charges_this_month``.
    Each query selects its rows with a subquery of ``billable`` rather than a list of ids;
    tiers and IIJ ID periods are read as plain values, not model instances: with thousands
    of contracts both cost more than the queries themselves."""
    first, last = periods.month_start(month), periods.month_end(month)
    ids = billable.values("pk")
    changes = _by(ItemChange.objects.filter(contract__in=ids).order_by("effective_month"), "contract_id")
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
    cards = _by(cards.order_by("valid_from").defer("created_at", "updated_at"), "contract_id")
    charges = _by(
        OneTimeCharge.objects.filter(contract__in=ids, due_on__range=(first, last)).order_by("due_on", "pk"),
        "contract_id",
    )
    for contract_cards in cards.values():
        for card in contract_cards:
            card.billing_tiers = tiers.get(card.pk, [])
    for contract in contracts:
        contract._prefetched_objects_cache = {"item_changes": changes.get(contract.pk, [])}
        contract.billing_cards = cards.get(contract.pk, [])
        contract.iijid_periods = iijid.get(contract.customer_id, [])
        contract.charges_this_month = charges.get(contract.pk, [])


def _by(queryset, key: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for obj in queryset:
        grouped[getattr(obj, key)].append(obj)
    return grouped
