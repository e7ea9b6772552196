"""Deterministic demo data (seeded), for the README's demo and for benchmarks.

Everything is generated from ``random.Random(seed)``: the same arguments give the
same data. Rows are written with ``bulk_create`` in chunks.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction

from contracts.models import CONDITIONS, Contract, Customer, IIJIDContract, Item, ItemChange, Termination
from contracts.periods import add_months, month_start

COMPANY_WORDS = ("アルファ", "ブラボー", "チャーリー", "デルタ", "エコー", "フォックス", "ゴルフ", "ホテル")
COMPANY_KINDS = ("株式会社", "商事株式会社", "工業株式会社", "システムズ株式会社", "ホールディングス株式会社")
PREFECTURES = (
    "東京都千代田区",
    "東京都港区",
    "大阪府大阪市北区",
    "愛知県名古屋市中村区",
    "福岡県福岡市博多区",
)


@dataclass(frozen=True)
class DemoSize:
    customers: int = 8
    contracts: int = 12
    seed: int = 2026


@transaction.atomic
def demo_data_generate(*, size: DemoSize, today: dt.date) -> dict[str, int]:
    """Create customers, IIJ ID contracts and SmartKey contracts of both items, some
    with item changes and termination notices, all valid under the regulation."""
    rng = random.Random(size.seed)
    first_month = add_months(month_start(today), -14)

    customers = Customer.objects.bulk_create(
        Customer(
            code=f"DEMO{n:05d}",
            name=f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}",
            billing_name="",
            email=f"keiri{n}@demo.example.jp",
            postal_code=f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
            address=f"{rng.choice(PREFECTURES)}{rng.randint(1, 9)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}",
            payment_terms_days=rng.choice((None, None, None, 30, 45)),
        )
        for n in range(1, size.customers + 1)
    )
    for customer in customers:
        customer.billing_name = f"{customer.name} 経理部 御中"
    Customer.objects.bulk_update(customers, ["billing_name"])
    IIJIDContract.objects.bulk_create(
        IIJIDContract(customer=c, code=f"IIJID{n:05d}", start_on=first_month - dt.timedelta(days=90))
        for n, c in enumerate(customers, start=1)
    )

    contracts = []
    for n in range(1, size.contracts + 1):
        applied = first_month + dt.timedelta(days=rng.randint(0, 300))
        accepted = applied + dt.timedelta(days=rng.randint(1, 10))
        start = accepted + dt.timedelta(days=rng.randint(0, 20))
        contract = Contract(
            code=f"SK{n:06d}",
            customer=customers[(n - 1) % len(customers)],
            item=Item.ENTERPRISE if n % 3 else Item.SERVICE_PROVIDER,
            applied_on=applied,
            accepted_on=accepted,
            billing_start_on=start if start <= today else None,
        )
        for condition in CONDITIONS:
            setattr(contract, condition.date_field, start)
            setattr(contract, condition.by_field, "営業部 デモ")
        contracts.append(contract)
    Contract.objects.bulk_create(contracts)

    changes, terminations = [], []
    for n, contract in enumerate(contracts, start=1):
        if contract.billing_start_on is None:
            continue
        if n % 5 == 0:
            accepted = contract.billing_start_on + dt.timedelta(days=rng.randint(20, 60))
            effective = add_months(month_start(accepted), 1)
            if effective <= add_months(month_start(today), 2):
                other = Item.SERVICE_PROVIDER if contract.item == Item.ENTERPRISE else Item.ENTERPRISE
                changes.append(
                    ItemChange(
                        contract=contract,
                        item=other,
                        effective_month=effective,
                        requested_on=accepted - dt.timedelta(days=3),
                        accepted_on=accepted,
                    )
                )
        elif n % 7 == 0:
            received = contract.billing_start_on + dt.timedelta(days=rng.randint(40, 120))
            termination = Termination(contract=contract, on_prescribed_form=True, notice_received_on=received)
            termination.effective_on = termination.compute_effective_on()
            terminations.append(termination)
    ItemChange.objects.bulk_create(changes)
    Termination.objects.bulk_create(terminations)
    return {
        "customers": len(customers),
        "contracts": len(contracts),
        "item_changes": len(changes),
        "terminations": len(terminations),
    }
