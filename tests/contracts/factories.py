import datetime as dt

import factory
from factory.django import DjangoModelFactory

from contracts.models import CONDITIONS, Contract, Customer, IIJIDContract, ItemChange, Termination


class IIJIDContractFactory(DjangoModelFactory):
    class Meta:
        model = IIJIDContract

    customer = factory.SubFactory("tests.contracts.factories.CustomerFactory", with_iijid=False)
    code = factory.Sequence(lambda n: f"ID{n:05d}")
    start_on = dt.date(2020, 1, 1)
    end_on = None


class CustomerFactory(DjangoModelFactory):
    """A customer holding an open IIJ ID Service contract since 2020 (Art. 3), unless
    ``with_iijid=False``."""

    class Meta:
        model = Customer
        skip_postgeneration_save = True

    class Params:
        with_iijid = True

    code = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"株式会社テスト{n}")
    billing_name = factory.LazyAttribute(lambda o: f"{o.name} 御中")
    email = factory.LazyAttribute(lambda o: f"billing@{o.code.lower()}.example.jp")
    postal_code = "102-0071"
    address = "東京都千代田区富士見2-10-2"
    iijid_contract = factory.Maybe(
        "with_iijid", factory.RelatedFactory(IIJIDContractFactory, factory_related_name="customer")
    )


class ContractFactory(DjangoModelFactory):
    """An applied (not yet accepted) contract. Traits: ``accepted``, ``in_service``
    (accepted, every condition confirmed, billing from the acceptance date)."""

    class Meta:
        model = Contract

    code = factory.Sequence(lambda n: f"SK{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    item = "enterprise"
    applied_on = dt.date(2026, 3, 20)

    class Params:
        accepted = factory.Trait(
            accepted_on=factory.LazyAttribute(lambda o: o.applied_on + dt.timedelta(days=5)),
        )
        in_service = factory.Trait(
            accepted=True,
            billing_start_on=factory.LazyAttribute(lambda o: o.accepted_on),
            **{c.date_field: factory.LazyAttribute(lambda o: o.accepted_on) for c in CONDITIONS},
            **{c.by_field: "営業 太郎" for c in CONDITIONS},
        )


class ItemChangeFactory(DjangoModelFactory):
    class Meta:
        model = ItemChange

    contract = factory.SubFactory(ContractFactory, in_service=True)
    item = "service_provider"
    effective_month = dt.date(2026, 6, 1)
    requested_on = dt.date(2026, 5, 10)
    accepted_on = dt.date(2026, 5, 12)


class TerminationFactory(DjangoModelFactory):
    class Meta:
        model = Termination

    contract = factory.SubFactory(ContractFactory, in_service=True)
    on_prescribed_form = True
    notice_received_on = dt.date(2026, 4, 1)
    requested_on = None
