"""The admin's date and month fields (issue 15, item 1): what staff type is read, the help
text shows the format, months use the month picker and accept 2027-01."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import RateCard
from contracts.models import ItemChange
from tests.billing.factories import RateCardFactory

from .admin_forms import contract_form
from .factories import ContractFactory, CustomerFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.mark.parametrize(
    "typed", ["2026/03/25", "２０２６－０３－２５", "R8.3.25", "令和8年3月25日", "2026年3月25日"]
)
def test_a_contract_date_is_read_as_typed(staff_client, typed):
    contract = ContractFactory(customer=CustomerFactory(), applied_on=D(2026, 3, 20))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    response = staff_client.post(url, contract_form(contract, accepted_on=typed))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert accepted_on_of(contract) == D(2026, 3, 25)


def accepted_on_of(contract):
    contract.refresh_from_db()
    return contract.accepted_on


def test_a_date_that_is_not_one_says_why_on_the_form(staff_client):
    contract = ContractFactory(customer=CustomerFactory(), applied_on=D(2026, 3, 20))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    response = staff_client.post(url, contract_form(contract, accepted_on="H31.5.1"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["accepted_on"] == [
        "H31.5.1は平成の日付ではありません。平成は2019年4月30日までです（2019年5月1日は令和元年5月1日）"
    ]


def test_date_fields_show_the_format_in_their_help_text(staff_client):
    page = staff_client.get(reverse("admin:contracts_contract_add")).content.decode()
    assert "例: 2026-11-10（2026/11/10、R8.11.10、令和8年11月10日 の形でも入力できます）" in page


def test_the_item_change_month_is_a_month_picker_that_takes_2027_01(staff_client):
    contract = ContractFactory(in_service=True, billing_start_on=D(2026, 4, 1))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    page = staff_client.get(url).content.decode()
    assert 'type="month" name="item_changes-__prefix__-effective_month"' in page
    assert "年月。例: 2027-01（2027/1、R9.1、令和9年1月 の形でも入力できます）" in page
    data = contract_form(
        contract,
        **{
            "item_changes-TOTAL_FORMS": "1",
            "item_changes-0-item": "service_provider",
            "item_changes-0-effective_month": "2027-01",
            "item_changes-0-requested_on": "2026/12/01",
            "item_changes-0-accepted_on": "R8.12.2",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    change = ItemChange.objects.get(contract=contract)
    assert (change.effective_month, change.requested_on, change.accepted_on) == (
        D(2027, 1, 1),
        D(2026, 12, 1),
        D(2026, 12, 2),
    )
    # shown back in the picker as a month
    assert 'value="2027-01"' in staff_client.get(url).content.decode()


def test_a_month_typed_as_a_day_in_it_is_refused(staff_client):
    contract = ContractFactory(in_service=True, billing_start_on=D(2026, 4, 1))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "item_changes-TOTAL_FORMS": "1",
            "item_changes-0-item": "service_provider",
            "item_changes-0-effective_month": "2027-01-15",
            "item_changes-0-requested_on": "2026-12-01",
            "item_changes-0-accepted_on": "2026-12-02",
        },
    )
    response = staff_client.post(url, data)
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]["effective_month"]
    assert errors == [
        "2027-01-15は年月ではありません。日を付けずに 2027-01, 2027/1, R9.1, 令和9年1月 のように入力してください"
    ]


def test_a_rate_cards_months_are_month_pickers(staff_client):
    card = RateCardFactory(
        contract=ContractFactory(in_service=True, code="E-MONTH", billing_start_on=D(2026, 4, 1)),
        unapproved=True,
    )
    url = reverse("admin:billing_ratecard_change", args=[card.pk])
    page = staff_client.get(url).content.decode()
    assert 'type="month" name="valid_from" value="2026-04"' in page
    assert 'type="month" name="valid_until"' in page
    response = staff_client.post(
        url,
        {
            "contract": card.contract_id,
            "valid_from": "2026-04",
            "valid_until": "R9.3",
            "base_fee_0": "30000",
            "base_fee_1": "JPY",
            "account_unit_price_0": "300",
            "account_unit_price_1": "JPY",
            "auth_pricing": "",
            "notified_on": "2026/03/30",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    card = RateCard.objects.get(pk=card.pk)
    assert (card.valid_from, card.valid_until, card.notified_on) == (
        D(2026, 4, 1),
        D(2027, 3, 1),
        D(2026, 3, 30),
    )
    assert card.base_fee.amount == Decimal("30000")
