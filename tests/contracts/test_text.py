"""One rule for text, whatever path stores it (contracts/text.py): invisible control
characters are refused by the admin, the shell's full_clean and the import alike; text
that looks like a spreadsheet formula is ordinary text."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import OneTimeCharge
from contracts.models import Customer
from contracts.text import invisible_character
from tests.billing.factories import OneTimeChargeFactory

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMER_FORM = {
    "code": "C-NEW",
    "name": "株式会社新規",
    "billing_name": "株式会社新規 御中",
    "iijid_contracts-TOTAL_FORMS": "0",
    "iijid_contracts-INITIAL_FORMS": "0",
}


@pytest.mark.parametrize("value", ["御中\x1b[2J", "a\x07b", "a\u202eb", "a\u200bb", "一行目\n二行目"])
def test_the_admin_refuses_invisible_characters(staff_client, value):
    response = staff_client.post(
        reverse("admin:contracts_customer_add"), {**CUSTOMER_FORM, "billing_name": value}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "目に見えない制御文字" in response.content.decode()
    assert not Customer.objects.filter(code="C-NEW").exists()


@pytest.mark.parametrize("value", ["@cosme株式会社", "+Style株式会社", "-ハイフン商会"])
def test_the_admin_keeps_formula_like_names(staff_client, value):
    response = staff_client.post(reverse("admin:contracts_customer_add"), {**CUSTOMER_FORM, "name": value})
    assert response.status_code == 302
    assert Customer.objects.get(code="C-NEW").name == value


def test_full_clean_refuses_them_in_the_shell_and_names_the_field():
    customer = CustomerFactory.build(billing_name="宛名\x1b]0;title\x07")
    with pytest.raises(ValidationError) as refused:
        customer.full_clean()
    assert list(refused.value.message_dict) == ["billing_name"]
    assert "U+001B" in refused.value.message_dict["billing_name"][0]


def test_billing_models_obey_the_same_rule():
    charge = OneTimeChargeFactory.build(description="作業\x08費")
    with pytest.raises(ValidationError) as refused:
        charge.full_clean(exclude=["contract"])
    assert "description" in refused.value.message_dict
    assert not OneTimeCharge.objects.exists()


def test_multi_line_fields_keep_line_breaks_and_tabs_only():
    assert invisible_character("理由:\n単価の誤り\t(再発行)", multiline=True) is None
    assert invisible_character("理由:\n単価の誤り", multiline=False) == "\n"
    assert invisible_character("理由\x1b", multiline=True) == "\x1b"
