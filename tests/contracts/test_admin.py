"""Sales staff's screens: every page renders in Japanese, the rules show as form
errors, and changelists cost a constant number of queries."""

import datetime as dt

import pytest
from django.urls import reverse

from contracts.models import CONDITIONS, Contract, Customer, Termination
from tests.conftest import count_queries

from .admin_forms import contract_form
from .factories import (
    ContractFactory,
    CustomerFactory,
    IIJIDContractFactory,
    ItemChangeFactory,
    TerminationFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date

MODELS = {
    "customer": lambda: CustomerFactory(),
    "iijidcontract": lambda: IIJIDContractFactory(),
    "contract": lambda: ContractFactory(in_service=True),
    "itemchange": lambda: ItemChangeFactory(),
    "termination": lambda: TerminationFactory(),
}


@pytest.mark.parametrize("model", MODELS)
def test_changelist_add_and_change_pages_render(staff_client, model):
    obj = MODELS[model]()
    for url in (
        reverse(f"admin:contracts_{model}_changelist"),
        reverse(f"admin:contracts_{model}_add"),
        reverse(f"admin:contracts_{model}_change", args=[obj.pk]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert 'lang="ja"' in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(staff_client, model):
    url = reverse(f"admin:contracts_{model}_changelist")
    MODELS[model]()
    few = count_queries(staff_client, url)
    for _ in range(6):
        MODELS[model]()
    assert count_queries(staff_client, url) == few


def test_contract_changelist_shows_item_and_status_in_japanese(staff_client):
    ContractFactory(code="SK-A", in_service=True, item="enterprise")
    ItemChangeFactory(
        contract__code="SK-B",
        contract__item="enterprise",
        item="service_provider",
        effective_month=D(2026, 6, 1),
    )
    content = staff_client.get(reverse("admin:contracts_contract_changelist")).content.decode()
    assert "エンタープライズ" in content and "サービスプロバイダ" in content
    assert "品目（本日）" in content and "状態（本日）" in content


def test_contract_filters_by_current_item_and_status(staff_client):
    ContractFactory(code="SK-ENT", in_service=True, item="enterprise")
    ContractFactory(code="SK-SP", in_service=True, item="service_provider")
    ContractFactory(code="SK-NEW", item="service_provider")
    url = reverse("admin:contracts_contract_changelist")
    sp = staff_client.get(url, {"current_item": "service_provider"}).context["cl"].result_list
    assert {c.code for c in sp} == {"SK-SP", "SK-NEW"}
    applied = staff_client.get(url, {"status": "applied"}).context["cl"].result_list
    assert {c.code for c in applied} == {"SK-NEW"}


def test_search_by_code_and_customer_name(staff_client):
    ContractFactory(code="SK-777", customer__name="株式会社検索テスト")
    ContractFactory(code="SK-888")
    url = reverse("admin:contracts_contract_changelist")
    for term in ("SK-777", "検索テスト"):
        result = staff_client.get(url, {"q": term}).context["cl"].result_list
        assert [c.code for c in result] == ["SK-777"]
    customers = (
        staff_client.get(reverse("admin:contracts_customer_changelist"), {"q": "検索"})
        .context["cl"]
        .result_list
    )
    assert len(customers) == 1


def test_billing_start_with_unconfirmed_conditions_is_refused_on_screen(staff_client):
    contract = ContractFactory(accepted=True)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    response = staff_client.post(url, contract_form(contract, billing_start_on="2026-04-01"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["billing_start_on"]
    assert "第5条第3項" in errors[0] and "移動無線機器の準備" in errors[0]
    contract.refresh_from_db()
    assert contract.billing_start_on is None


def test_confirming_conditions_records_the_user_when_left_empty(staff_client):
    contract = ContractFactory(accepted=True)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(contract, billing_start_on="2026-04-01")
    for c in CONDITIONS:
        data[c.date_field] = "2026-03-30"
    response = staff_client.post(url, data)
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.billing_start_on == D(2026, 4, 1)
    assert contract.licence_accepted_confirmed_by == "admin"


def test_acceptance_without_iijid_contract_is_refused_on_screen(staff_client):
    contract = ContractFactory(customer=CustomerFactory(with_iijid=False))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    response = staff_client.post(url, contract_form(contract, accepted_on="2026-03-25"))
    assert "第3条" in response.context["adminform"].form.errors["accepted_on"][0]


def test_termination_inline_computes_the_effective_date(staff_client):
    contract = ContractFactory(in_service=True)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "termination-TOTAL_FORMS": "1",
            "termination-0-on_prescribed_form": "on",
            "termination-0-notice_received_on": "2026-04-01",
            "termination-0-requested_on": "2026-04-15",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][1].formset.errors
    assert Termination.objects.get(contract=contract).effective_on == D(2026, 5, 1)
    page = staff_client.get(url).content.decode()
    assert "2026年5月1日" in page or "2026-05-01" in page


def test_item_change_inline_refuses_a_month_that_has_begun(staff_client):
    contract = ContractFactory(in_service=True)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "item_changes-TOTAL_FORMS": "1",
            "item_changes-0-item": "service_provider",
            "item_changes-0-effective_month": "2026-05-01",
            "item_changes-0-requested_on": "2026-05-02",
            "item_changes-0-accepted_on": "2026-05-03",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[0]["effective_month"]
    assert "第4条" in errors[0]
    assert not Contract.objects.get(pk=contract.pk).item_changes.exists()


def test_customer_with_iijid_inline_is_created(staff_client):
    response = staff_client.post(
        reverse("admin:contracts_customer_add"),
        {
            "code": "C-NEW",
            "name": "新規顧客株式会社",
            "billing_name": "新規顧客株式会社 御中",
            "iijid_contracts-TOTAL_FORMS": "1",
            "iijid_contracts-INITIAL_FORMS": "0",
            "iijid_contracts-0-code": "ID-NEW",
            "iijid_contracts-0-start_on": "2026-04-01",
        },
    )
    assert response.status_code == 302
    assert Customer.objects.get(code="C-NEW").iijid_contracts.get().code == "ID-NEW"


def test_english_is_available_by_setting_the_language(staff_client):
    url = reverse("admin:contracts_contract_changelist")
    assert "SmartKey契約" in staff_client.get(url).content.decode()
    response = staff_client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302
    page = staff_client.get(url).content.decode()
    assert 'lang="en"' in page and "SmartKey contracts" in page and "item (today)" in page


# --- issue 15: termination notices say what they do -------------------------------------


def test_a_notice_not_on_the_prescribed_form_says_no_effective_date_is_set(staff_client):
    from django.contrib.messages import get_messages

    contract = ContractFactory(in_service=True, code="SK-NOFORM")
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "termination-TOTAL_FORMS": "1",
            "termination-0-notice_received_on": "2026-04-01",
            "termination-0-requested_on": "",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302
    assert Termination.objects.get(contract=contract).effective_on is None
    assert next(str(m) for m in get_messages(response.wsgi_request)) == (
        "SK-NOFORM: 解約の通知を記録しましたが、当社所定の解約申込書によるものではないため、解約日は設定されていません"
        "（第6条）。解約申込書が届いたら「当社所定の解約申込書」にチェックを入れてください。"
    )


def test_a_refused_notice_shows_no_computed_effective_date(staff_client):
    contract = ContractFactory(in_service=True, accepted_on=D(2026, 3, 25))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "termination-TOTAL_FORMS": "1",
            "termination-0-on_prescribed_form": "on",
            "termination-0-notice_received_on": "2026-03-01",  # before acceptance: refused
            "termination-0-requested_on": "",
        },
    )
    response = staff_client.post(url, data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][1].formset
    assert formset.errors[0]["notice_received_on"]
    # 30 days after 2026-03-01 would be 2026-03-31: not shown beside the refusal
    page = response.content.decode()
    assert "2026年3月31日" not in page and "2026-03-31" not in page
    assert formset.forms[0].instance.effective_on is None


# --- issue 15: articles and dates as staff read them -------------------------------------


def test_conditions_carry_the_same_names_and_articles_on_form_and_list(staff_client):
    contract = ContractFactory(accepted=True)
    page = staff_client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    # the form's label and the unconfirmed list name the condition alike, with its article
    assert "当社所定の方法による利用に必要な設定: 確認日" in page
    assert "<div>当社所定の方法による利用に必要な設定 (第5条第1項第4号)</div>" in page
    assert "5(1)" not in page


def test_the_art_3_refusal_says_when_the_iijid_contract_starts(staff_client):
    from .factories import IIJIDContractFactory

    customer = CustomerFactory(with_iijid=False)
    IIJIDContractFactory(customer=customer, code="ID-LATER", start_on=D(2026, 4, 1))
    contract = ContractFactory(customer=customer, applied_on=D(2026, 3, 20))
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    response = staff_client.post(url, contract_form(contract, accepted_on="2026-03-25"))
    assert response.context["adminform"].form.errors["accepted_on"] == [
        "第3条: この顧客のIIJ IDサービス契約 ID-LATER は2026年4月1日に始まり、2026年3月25日より後です。"
        "申込みは2026年4月1日以降に承諾できます。"
    ]


# --- issue 15: conditions at once, codes proposed ------------------------------------------


def test_every_condition_confirmed_at_once_with_one_date_and_person(staff_client):
    contract = ContractFactory(accepted=True)
    contract.devices_prepared_confirmed_on = D(2026, 3, 26)
    contract.devices_prepared_confirmed_by = "佐藤"
    contract.save()
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract, all_conditions_on="R8.3.30", all_conditions_by="", billing_start_on="2026-04-01"
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    contract.refresh_from_db()
    # the one already confirmed keeps its date and person; the others take the day and the user
    assert (contract.devices_prepared_confirmed_on, contract.devices_prepared_confirmed_by) == (
        D(2026, 3, 26),
        "佐藤",
    )
    assert (contract.licence_accepted_confirmed_on, contract.licence_accepted_confirmed_by) == (
        D(2026, 3, 30),
        "admin",
    )
    assert contract.billing_start_on == D(2026, 4, 1) and contract.missing_conditions() == []


def test_codes_are_proposed_from_the_pattern_setting(staff_client, settings):
    CustomerFactory(code="C00041")
    CustomerFactory(code="OTHER-9")
    page = staff_client.get(reverse("admin:contracts_customer_add"))
    assert page.context["adminform"].form.initial["code"] == "C00042"
    settings.CONTRACT_CODE_FORMAT = "K{number:03d}-JP"
    ContractFactory(code="K007-JP")
    page = staff_client.get(reverse("admin:contracts_contract_add"))
    assert page.context["adminform"].form.initial["code"] == "K008-JP"
