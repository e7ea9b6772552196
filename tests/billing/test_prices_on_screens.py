"""Unit prices keep their fractions of a yen on the admin's screens, and the tax rate reads
as a percentage (issue 15, item 3): a line of 1,000 × ¥0.35 = ¥350 shows ¥0.35, not ¥0,
so that the lines add up as the document says."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import BillingRun, Invoice, InvoiceLine
from tests.contracts.factories import ContractFactory

from .factories import RateCardFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def invoice(db):
    month = D(2026, 10, 1)
    contract = ContractFactory(in_service=True, code="S1")
    invoice = Invoice.objects.create(
        run=BillingRun.objects.create(month=month),
        customer=contract.customer,
        billing_month=month,
        customer_code=contract.customer.code,
        billing_name="株式会社ベータ 御中",
        subtotal=Decimal("851"),
        tax=Decimal("85"),
        total=Decimal("936"),
    )
    # 1,000 authentications at 0.35 = 350; 2 accounts at 250.5 = 501
    for position, (quantity, price, amount) in enumerate(
        [(Decimal("1000"), Decimal("0.35"), Decimal("350")), (Decimal("2"), Decimal("250.5"), Decimal("501"))]
    ):
        InvoiceLine.objects.create(
            invoice=invoice,
            contract=contract,
            position=position,
            line_type="auth_api_fee" if position == 0 else "account_fee",
            item="service_provider",
            description="明細",
            quantity=quantity,
            unit_price=price,
            amount=amount,
        )
    return invoice


def test_invoice_lines_show_unit_prices_with_their_decimals_and_the_rate_in_percent(staff_client, invoice):
    page = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert "¥0.35" in page and "¥250.5" in page
    assert "￥0<" not in page and "￥250<" not in page  # django-money's yen rounding
    assert "10%" in page and "0.10" not in page


def test_rate_cards_show_unit_prices_with_their_decimals(staff_client, db):
    approved = RateCardFactory(
        contract=ContractFactory(in_service=True, code="E-PRICE"), account_unit_price=Decimal("250.5")
    )
    tiers = RateCardFactory(
        contract=ContractFactory(in_service=True, code="S-PRICE", item="service_provider"),
        auth_pricing="per_unit",
        tiers=[(None, "0.35")],
    )
    changelist = staff_client.get(reverse("admin:billing_ratecard_changelist")).content.decode()
    assert "¥250.5" in changelist
    card_page = staff_client.get(
        reverse("admin:billing_ratecard_change", args=[approved.pk])
    ).content.decode()
    assert "¥250.5" in card_page
    # the base fee with the same yen sign as the unit price beside it (Babel's is ￥)
    assert "¥30,000" in card_page and "￥" not in card_page
    tiers_page = staff_client.get(reverse("admin:billing_ratecard_change", args=[tiers.pk])).content.decode()
    assert "¥0.35" in tiers_page


def test_an_unapproved_cards_form_shows_the_price_as_entered(staff_client, db):
    card = RateCardFactory(
        contract=ContractFactory(in_service=True, code="E-FORM"),
        account_unit_price=Decimal("0.35"),
        unapproved=True,
    )
    page = staff_client.get(reverse("admin:billing_ratecard_change", args=[card.pk])).content.decode()
    assert 'name="account_unit_price_0" value="0.35"' in page  # not 0.3500
    assert 'name="base_fee_0" value="30000"' in page
