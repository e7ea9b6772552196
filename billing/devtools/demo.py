"""Deterministic demo and benchmark data (seeded), of any size.

Everything is generated from ``random.Random(seed)`` and the anchor day ``today``: the
same arguments give the same data. The data is valid under the regulation and the
model rules (the PostgreSQL triggers and constraints would refuse anything else):

- customers, each with an IIJ ID Service contract active when its contracts are accepted
  (Art. 3; now and then one lapses later, which the monthly run reports as R3);
- SmartKey contracts of both items (alternately), every condition of use confirmed before billing
  starts (Art. 5); some change item from the first day of a later month (Art. 4),
  some are terminated (Art. 6), one in 49 without the prescribed form;
- rate cards from the first month of service, one per item period so each carries the
  component its item needs, entered by one staff member and approved by another, and
  notified (R8) - except one in 40, left awaiting approval; Service Provider cards use
  the three pricing modes in turn (R11);
- account registration periods of the Enterprise months (R10), with churn: an initial
  roll-out on the first day of service, registrations and deregistrations on any day,
  some accounts with several periods that never overlap; none outlive a termination;
- daily successful authentication counts of the Service Provider days in service (R11),
  the most recent days first;
- a few one-time charges (Art. 7).

Usage rows are streamed to the database (``COPY`` on PostgreSQL), never held in memory.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from billing.models import AccountRegistration, AuthCount, AuthTier, OneTimeCharge, RateCard
from billing.models.rates import PricingMode
from contracts.csvimport import bulk_insert
from contracts.models import CONDITIONS, Contract, Customer, IIJIDContract, Item, ItemChange, Termination
from contracts.periods import add_months, month_end, month_start, termination_effective_on
from contracts.progress import Progress

COMPANY_WORDS = ("アルファ", "ブラボー", "チャーリー", "デルタ", "エコー", "フォックス", "ゴルフ", "ホテル")
COMPANY_KINDS = ("株式会社", "商事株式会社", "工業株式会社", "システムズ株式会社", "ホールディングス株式会社")
PREFECTURES = (
    "東京都千代田区",
    "東京都港区",
    "大阪府大阪市北区",
    "愛知県名古屋市中村区",
    "福岡県福岡市博多区",
)
CHARGE_DESCRIPTIONS = ("設定変更作業", "オンサイト導入支援", "追加マニュアル作成")

#: Service Provider price tables, one per pricing mode (R11)
PRICE_TABLES = {
    PricingMode.PER_UNIT: ((None, "0.35", "0"),),
    PricingMode.GRADUATED: ((100_000, "0.50", "0"), (1_000_000, "0.30", "0"), (None, "0.10", "0")),
    PricingMode.VOLUME: ((100_000, "0.50", "0"), (1_000_000, "0.30", "5000"), (None, "0.10", "10000")),
}

#: who enters the rate cards and who approves them (R8); the demo command gives both the Sales role
DEMO_SALES = "sales1"
DEMO_APPROVER = "sales2"


@dataclass(frozen=True)
class DemoSize:
    #: None: two customers for every three contracts
    customers: int | None = None
    contracts: int = 12
    #: account registration periods (rows), spread over the Enterprise contracts
    accounts: int = 400
    #: authentication-day rows (one count per contract and day), over the Service Provider contracts
    auth_days: int = 300
    seed: int = 2026

    @property
    def customer_count(self) -> int:
        return self.customers if self.customers is not None else max(1, math.ceil(self.contracts * 2 / 3))


@dataclass
class _Plan:
    """The life of one generated contract, as plain values."""

    number: int
    contract: Contract
    start: dt.date
    #: (effective month, new item, accepted on) of its item change, if any
    change: tuple[dt.date, str, dt.date] | None = None
    #: termination effective date (last day of service), if any
    end: dt.date | None = None

    def windows(self, limit: dt.date) -> list[tuple[str, dt.date, dt.date, bool]]:
        """(item, first day, last day, open) of its days in service up to ``limit``;
        ``open``: the period goes on after ``limit``."""
        last = limit if self.end is None else min(self.end, limit)
        if self.start > last:
            return []
        open_ = self.end is None or self.end > limit
        if self.change is None or self.change[0] > last:
            return [(self.contract.item, self.start, last, open_)]
        month, item, _accepted = self.change
        return [
            (self.contract.item, self.start, month - dt.timedelta(days=1), False),
            (item, month, last, open_),
        ]


def _noop(stage: str, done: int, total: int) -> None:
    pass


@transaction.atomic
def demo_data_generate(*, size: DemoSize, today: dt.date, progress: Progress | None = None) -> dict[str, int]:
    """Create the demo data described in the module docstring; returns rows per kind.
    Usage runs until the day before ``today``, so the previous month is complete."""
    rng = random.Random(size.seed)
    progress = progress or _noop
    limit = today - dt.timedelta(days=1)
    first_month = add_months(month_start(today), -14)
    sales, approver = _staff()

    customers = _customers(rng, size.customer_count, first_month, today, sales)
    plans = _contracts(rng, size.contracts, customers, first_month, today, sales)
    progress("contracts", len(plans), len(plans))
    changes, terminations = _changes_and_terminations(rng, plans, today, sales)
    cards, tiers = _rate_cards(plans, sales, approver)
    charges = _one_time_charges(rng, plans, limit)
    accounts = _insert_counted(
        AccountRegistration,
        ("contract_id", "account_id", "registered_on", "deregistered_on"),
        _account_rows(rng, plans, size.accounts, limit),
        "accounts",
        size.accounts,
        progress,
    )
    auth_days = _insert_counted(
        AuthCount,
        ("contract_id", "date", "success_count"),
        _auth_rows(rng, plans, size.auth_days, limit),
        "auth_days",
        size.auth_days,
        progress,
    )
    return {
        "customers": len(customers),
        "contracts": len(plans),
        "item_changes": changes,
        "terminations": terminations,
        "rate_cards": cards,
        "auth_tiers": tiers,
        "one_time_charges": charges,
        "accounts": accounts,
        "auth_days": auth_days,
    }


@dataclass(frozen=True)
class DemoHistory:
    issued: list[dt.date]
    #: months whose issue was refused, with the reason (left as drafts)
    refused: list[tuple[dt.date, str]]
    drafts: dt.date | None
    exceptions: int


def demo_history_bill(*, today: dt.date, months: int = 12) -> DemoHistory:
    """A year of issued history for the demo (issue 15): the ``months`` months before the
    previous one computed and issued, oldest first, each on the second day of the month
    after it, through the same services as the accountants; the previous month computed
    and left as drafts with its exceptions, as it is on the day it is being billed. The
    dashboard's chart and the receivables then have something to show."""
    from billing.documents.store import store_month
    from billing.runs import BillingRefused, billing_month_compute, billing_month_issue
    from contracts.periods import next_month

    accountant = _accountant()
    previous = add_months(month_start(today), -1)
    issued, refused = [], []
    for k in range(months, 0, -1):
        month = add_months(previous, -k)
        billing_month_compute(month=month, by=accountant)
        try:
            billing_month_issue(month=month, by=accountant, today=next_month(month) + dt.timedelta(days=1))
        except BillingRefused as error:
            refused.append((month, str(error)))
        else:
            store_month(month)  # R19: the PDFs kept at issue, as bill_month --issue does
            issued.append(month)
    summary = billing_month_compute(month=previous, by=accountant)
    return DemoHistory(issued=issued, refused=refused, drafts=previous, exceptions=len(summary.exceptions))


def _accountant():
    from django.contrib.auth.models import Group

    from billing.roles import ACCOUNTING

    user, created = get_user_model().objects.get_or_create(
        username="demo-keiri", defaults={"is_staff": True, "last_name": "経理", "first_name": "デモ"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=ACCOUNTING))
    return user


def _staff():
    """Two staff members: rate cards are entered by one and approved by the other (R8)."""
    users = []
    for username in (DEMO_SALES, DEMO_APPROVER):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "email": f"{username}@demo.example.jp"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


def _customers(rng: random.Random, count: int, first_month: dt.date, today: dt.date, sales) -> list[Customer]:
    customers = []
    for n in range(1, count + 1):
        name = f"{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
        customers.append(
            Customer(
                code=f"DEMO{n:05d}",
                name=name,
                billing_name=f"{name} 経理部 御中",
                email=f"keiri{n}@demo.example.jp",
                postal_code=f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
                address=f"{rng.choice(PREFECTURES)}{rng.randint(1, 9)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}",
                payment_terms_days=rng.choice((None, None, None, 30, 45)),
            )
        )
    customers = _entered(Customer, customers, sales)
    # Art. 3: active from before any acceptance; one customer in 50 lets it lapse at the
    # end of the month before last, after its contracts were accepted (an R3 exception).
    lapse = month_end(add_months(month_start(today), -2))
    _entered(
        IIJIDContract,
        [
            IIJIDContract(
                customer=c,
                code=f"IIJID{n:05d}",
                start_on=first_month - dt.timedelta(days=90),
                end_on=lapse if n % 50 == 7 else None,
            )
            for n, c in enumerate(customers, start=1)
        ],
        sales,
    )
    return customers


def _contracts(
    rng: random.Random, count: int, customers: list[Customer], first_month: dt.date, today: dt.date, sales
) -> list[_Plan]:
    plans = []
    for n in range(1, count + 1):
        # the first contract applied on the first day: the year of issued history then
        # begins with a month that bills something (the same draws either way)
        offset = rng.randint(0, 300)
        applied = first_month + dt.timedelta(days=0 if n == 1 else offset)
        accepted = applied + dt.timedelta(days=rng.randint(1, 10))
        start = accepted + dt.timedelta(days=rng.randint(0, 20))
        contract = Contract(
            code=f"SK{n:06d}",
            customer=customers[(n - 1) % len(customers)],
            item=Item.ENTERPRISE if n % 2 else Item.SERVICE_PROVIDER,
            applied_on=applied,
            accepted_on=accepted,
            billing_start_on=start if start <= today else None,
        )
        for condition in CONDITIONS:
            setattr(contract, condition.date_field, start)
            setattr(contract, condition.by_field, "営業部 デモ")
        plans.append(_Plan(n, contract, start))
    _entered(Contract, [p.contract for p in plans], sales)
    return [p for p in plans if p.contract.billing_start_on is not None]


def _changes_and_terminations(
    rng: random.Random, plans: list[_Plan], today: dt.date, sales
) -> tuple[int, int]:
    changes, terminations = [], []
    for plan in plans:
        contract, n = plan.contract, plan.number
        if n % 5 == 0:
            # Art. 4: from the first day of a month later than the month of acceptance
            accepted = plan.start + dt.timedelta(days=rng.randint(20, 60))
            effective = add_months(month_start(accepted), 1)
            if accepted < today and effective <= add_months(month_start(today), 2):
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
                plan.change = (effective, other, accepted)
        elif n % 7 == 0:
            received = plan.start + dt.timedelta(days=rng.randint(40, 120))
            if received >= today:
                continue
            requested = received + dt.timedelta(days=rng.randint(31, 200)) if n % 14 == 0 else None
            on_form = n % 49 != 0
            termination = Termination(
                contract=contract,
                on_prescribed_form=on_form,
                notice_received_on=received,
                requested_on=requested,
            )
            termination.effective_on = termination.compute_effective_on()
            terminations.append(termination)
            if on_form:
                plan.end = termination_effective_on(received, requested)
    _entered(ItemChange, changes, sales)
    _entered(Termination, terminations, sales)
    return len(changes), len(terminations)


def _rate_cards(plans: list[_Plan], sales, approver) -> tuple[int, int]:
    """One card per item period of each contract (R8), priced by the contract's number."""
    modes = list(PRICE_TABLES)
    cards: list[RateCard] = []
    for plan in plans:
        n, contract = plan.number, plan.contract
        first = month_start(plan.start)
        segments = [(contract.item, first, None, contract.accepted_on)]
        if plan.change is not None:
            month, item, accepted = plan.change
            segments = [
                (contract.item, first, add_months(month, -1), contract.accepted_on),
                (item, month, None, accepted),
            ]
        for item, valid_from, valid_until, decided in segments:
            approved = n % 40 != 11
            card = RateCard(
                contract=contract,
                valid_from=valid_from,
                valid_until=valid_until,
                base_fee=Decimal((10_000, 30_000, 50_000, 100_000)[n % 4]),
                created_by=sales,
                approved_by=approver if approved else None,
                approved_on=decided if approved else None,
                notified_on=decided + dt.timedelta(days=1) if approved else None,
            )
            if item == Item.ENTERPRISE:
                card.account_unit_price = Decimal(("300", "200", "250.5", "100")[n % 4])
            else:
                card.auth_pricing = modes[(n // 3) % len(modes)]
            cards.append(card)
    # entered first, approved once the tiers are in (PostgreSQL refuses tiers of an
    # approved card: billing 0007)
    approvals = [(card.approved_by, card.approved_on) for card in cards]
    for card in cards:
        card.approved_by = card.approved_on = None
    _entered(RateCard, cards, sales)
    tiers = [
        AuthTier(rate_card=card, up_to=up_to, unit_price=Decimal(price), flat_fee=Decimal(flat))
        for card in cards
        if card.auth_pricing
        for up_to, price, flat in PRICE_TABLES[card.auth_pricing]
    ]
    AuthTier.objects.bulk_create(tiers, batch_size=2000)
    approved = []
    for card, (by, on) in zip(cards, approvals, strict=True):
        if by is not None:
            card.approved_by, card.approved_on = by, on
            approved.append(card)
    # the audit trail records the approval by the second person, as the admin's would
    bulk_update_with_history(
        approved, RateCard, ["approved_by", "approved_on"], batch_size=2000, default_user=approver
    )
    return len(cards), len(tiers)


def _entered(model, objects: list, user) -> list:
    """``objects`` created in bulk with their audit trail, entered by ``user``: the demo's
    history pages then say who entered each customer, contract and rate card."""
    return bulk_create_with_history(objects, model, batch_size=2000, default_user=user)


def _one_time_charges(rng: random.Random, plans: list[_Plan], limit: dt.date) -> int:
    """Art. 7: one contract in ten had some work done, billed in the month it was due."""
    charges = []
    for plan in plans:
        last = limit if plan.end is None else min(plan.end, limit)
        if plan.number % 10 != 3 or plan.start > last:
            continue
        charges.append(
            OneTimeCharge(
                contract=plan.contract,
                description=rng.choice(CHARGE_DESCRIPTIONS),
                amount=Decimal(rng.choice((5_000, 10_000, 30_000))),
                due_on=plan.start + dt.timedelta(days=rng.randint(0, (last - plan.start).days)),
            )
        )
    OneTimeCharge.objects.bulk_create(charges, batch_size=2000)
    return len(charges)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights``, exactly (largest remainders)."""
    if not weights or total <= 0:
        return [0] * len(weights)
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    rest = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:rest]:
        counts[i] += 1
    return counts


def _fill(total: int, capacities: list[int]) -> list[int]:
    """Split ``total`` as evenly as the capacities allow (water filling); the sum is
    ``min(total, sum(capacities))``."""
    counts = [0] * len(capacities)
    left = total
    order = sorted(range(len(capacities)), key=lambda i: (capacities[i], i))
    for position, i in enumerate(order):
        share = -(-left // (len(order) - position))  # ceiling: the remainder goes to the largest
        counts[i] = min(capacities[i], share)
        left -= counts[i]
    return counts


def _account_rows(
    rng: random.Random, plans: list[_Plan], total: int, limit: dt.date
) -> Iterator[tuple[int, str, dt.date, dt.date | None]]:
    """R10: registration periods of the Enterprise months, ``total`` rows in all; larger
    tenants get more (log-normal weights)."""
    windows = []
    for plan in plans:
        mine = [
            (first, last, open_)
            for item, first, last, open_ in plan.windows(limit)
            if item == Item.ENTERPRISE
        ]
        if mine:
            windows.append((plan.contract.pk, mine))
    counts = _allocate(total, [rng.lognormvariate(0, 1) for _ in windows])
    one_day = dt.timedelta(days=1)
    for (contract_id, mine), quota in zip(windows, counts, strict=True):
        spans = [(last - first).days for first, last, _open in mine]
        made = account = 0
        while made < quota:
            account += 1
            account_id = f"user{account:06d}"
            first, last, open_ = (
                mine[0] if len(mine) == 1 else rng.choices(mine, weights=[s + 1 for s in spans])[0]
            )
            # the roll-out: four accounts in ten from the first day of service
            registered = (
                first
                if rng.random() < 0.4
                else first + one_day * int(rng.random() * ((last - first).days + 1))
            )
            r = rng.random()
            periods = 1 + (r < 0.2) + (r < 0.05)
            for period in range(periods):
                if period == periods - 1 and open_ and rng.random() < 0.7:
                    deregistered = None
                else:
                    deregistered = registered + one_day * int(rng.expovariate(1 / 120))
                    if deregistered > last:
                        deregistered = None if open_ else last
                yield contract_id, account_id, registered, deregistered
                made += 1
                if made == quota or deregistered is None:
                    break
                # the next period starts at least a day after this one ended: never overlapping
                registered = deregistered + one_day * (2 + int(rng.expovariate(1 / 30)))
                if registered > last:
                    break


def _auth_rows(
    rng: random.Random, plans: list[_Plan], total: int, limit: dt.date
) -> Iterator[tuple[int, dt.date, int]]:
    """R11: one count per Service Provider day in service, the most recent days first,
    ``total`` rows in all (fewer only if there are not that many such days)."""
    windows = []
    for plan in plans:
        mine = [
            (first, last) for item, first, last, _open in plan.windows(limit) if item == Item.SERVICE_PROVIDER
        ]
        if mine:
            windows.append((plan.contract.pk, mine))
    counts = _fill(total, [sum((last - first).days + 1 for first, last in mine) for _id, mine in windows])
    weekday_factor = (1.0, 1.05, 1.05, 1.0, 0.95, 0.35, 0.3)
    for (contract_id, mine), quota in zip(windows, counts, strict=True):
        daily = rng.lognormvariate(8.3, 1.3)
        for first, last in reversed(mine):
            day = last
            while quota and day >= first:
                noise = 0.7 + 0.6 * rng.random()
                yield contract_id, day, int(daily * weekday_factor[day.weekday()] * noise)
                quota -= 1
                day -= dt.timedelta(days=1)


def _insert_counted(model, fields, rows, stage: str, total: int, progress: Progress) -> int:
    """Stream ``rows`` into ``model``'s table, reporting progress; returns the count."""
    count = 0
    step = max(total // 100, 10_000)

    def counted():
        nonlocal count
        for row in rows:
            yield row
            count += 1
            if count % step == 0:
                progress(stage, count, total)

    bulk_insert(model, fields, counted())
    if count == 0 or count % step:
        progress(stage, count, total)
    return count


def demo_today() -> dt.date:
    """The anchor day of generated data: today in Japan (R13)."""
    return timezone.localdate()
