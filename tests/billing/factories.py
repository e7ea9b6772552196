"""Billing factories. A rate card is approved, notified and complete for its contract's
item unless a trait says otherwise; usage rows belong to an in-service contract."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory

from billing.models import AccountRegistration, AuthCount, AuthTier, OneTimeCharge, RateCard
from tests.contracts.factories import ContractFactory

#: the price table of rules.md R11: 1–100,000 at 0.50; 100,001–1,000,000 at 0.30; above at 0.10
R11_TIERS = ((100_000, "0.50"), (1_000_000, "0.30"), (None, "0.10"))


class UserFactory(DjangoModelFactory):
    """A staff member (sales or accounting)."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.jp")
    is_staff = True

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """``UserFactory(role="Sales")`` puts the user in that group (Sales approve rate cards)."""
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


def _month_of(day):
    return day.replace(day=1)


class RateCardFactory(DjangoModelFactory):
    """An approved and notified card from the month billing starts, open-ended, with the
    component its contract's item needs: an account unit price of 300 (Enterprise) or the
    R11 graduated table (Service Provider). ``tiers`` takes ``(up_to, unit_price[, flat_fee])``
    tuples; by default a graduated or volume card gets the R11 tiers, a per-unit card 0.50.
    Traits: ``unapproved``, ``unnotified``."""

    class Meta:
        model = RateCard
        skip_postgeneration_save = True

    contract = factory.SubFactory(ContractFactory, in_service=True)
    valid_from = factory.LazyAttribute(
        lambda o: _month_of(o.contract.billing_start_on or o.contract.accepted_on or o.contract.applied_on)
    )
    valid_until = None
    base_fee = Decimal("30000")
    account_unit_price = factory.LazyAttribute(
        lambda o: Decimal("300") if o.contract.item == "enterprise" else None
    )
    auth_pricing = factory.LazyAttribute(
        lambda o: "graduated" if o.contract.item == "service_provider" else ""
    )
    # saved users even when the card is only built, so that full_clean() sees them
    created_by = factory.LazyFunction(lambda: UserFactory())
    approved_by = factory.LazyFunction(lambda: UserFactory())
    approved_on = dt.date(2026, 3, 1)
    notified_on = dt.date(2026, 3, 2)

    class Params:
        unapproved = factory.Trait(approved_by=None, approved_on=None)
        unnotified = factory.Trait(notified_on=None)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Saved unapproved; ``tiers`` approves it once its tiers are in, as the product
        does (on PostgreSQL the tiers of an approved card never change: billing 0007)."""
        approval = {name: kwargs.pop(name) for name in ("approved_by", "approved_on")}
        card = super()._create(model_class, *args, **kwargs)
        card._approval = approval
        return card

    @factory.post_generation
    def tiers(card, create, extracted, **kwargs):
        if not create:
            return
        if extracted is None:
            extracted = {"": (), "per_unit": ((None, "0.50"),)}.get(card.auth_pricing, R11_TIERS)
        for up_to, unit_price, *flat in extracted:
            AuthTier.objects.create(
                rate_card=card,
                up_to=up_to,
                unit_price=Decimal(unit_price),
                flat_fee=Decimal(flat[0]) if flat else Decimal("0"),
            )
        if any(value is not None for value in card._approval.values()):
            for name, value in card._approval.items():
                setattr(card, name, value)
            card.save(update_fields=list(card._approval))


class AccountRegistrationFactory(DjangoModelFactory):
    class Meta:
        model = AccountRegistration

    contract = factory.SubFactory(ContractFactory, in_service=True, item="enterprise")
    account_id = factory.Sequence(lambda n: f"user{n:05d}@example.jp")
    registered_on = factory.LazyAttribute(lambda o: o.contract.billing_start_on)
    deregistered_on = None


class AuthCountFactory(DjangoModelFactory):
    class Meta:
        model = AuthCount

    contract = factory.SubFactory(ContractFactory, in_service=True, item="service_provider")
    date = factory.LazyAttribute(lambda o: o.contract.billing_start_on)
    success_count = 10_000


class OneTimeChargeFactory(DjangoModelFactory):
    class Meta:
        model = OneTimeCharge

    contract = factory.SubFactory(ContractFactory, in_service=True)
    description = "設定変更作業"
    amount = Decimal("5000")
    due_on = factory.LazyAttribute(lambda o: o.contract.billing_start_on or o.contract.accepted_on)
