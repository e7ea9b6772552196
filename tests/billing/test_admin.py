"""Accountants' and sales staff's billing screens: every page renders in Japanese,
changelists cost a constant number of queries, the approve action reports "N done, M
refused", and the run, download and void views do what their buttons say."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from billing import runs
from billing.models import AuthTier, BillingRun, Invoice, InvoiceLine, InvoiceStatus, RateCard, RunException
from tests.conftest import count_queries
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import (
    AccountRegistrationFactory,
    AuthCountFactory,
    OneTimeChargeFactory,
    RateCardFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date
OCT = D(2026, 10, 1)

LINES_HEADER = (
    "invoice_number,status,customer_code,billing_name,billing_month,issue_date,due_date,"
    "contract_code,item,line_type,description,quantity,unit_price,amount,tax_rate,"
    "invoice_subtotal,invoice_tax,invoice_total"
)
INVOICES_HEADER = (
    "invoice_number,status,customer_code,billing_name,billing_month,issue_date,due_date,"
    "subtotal,tax_rate,tax,total,line_count"
)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def make_run():
    """A month of its own (the next one free), with one draft invoice, one line and one
    exception, made directly so that the admin is tested apart from the services."""
    month = D(2020 + BillingRun.objects.count() // 12, BillingRun.objects.count() % 12 + 1, 1)
    run = BillingRun.objects.create(month=month)
    contract = ContractFactory(in_service=True)
    invoice = Invoice.objects.create(
        run=run,
        customer=contract.customer,
        billing_month=month,
        customer_code=contract.customer.code,
        billing_name=contract.customer.billing_name,
        subtotal=Decimal("1000"),
        tax=Decimal("100"),
        total=Decimal("1100"),
    )
    InvoiceLine.objects.create(
        invoice=invoice,
        contract=contract,
        position=1,
        line_type="base_fee",
        item="enterprise",
        description="月額基本料",
        quantity=Decimal("1"),
        unit_price=Decimal("1000"),
        amount=Decimal("1000"),
    )
    RunException.objects.create(
        run=run, contract=contract, rule="R3", code="iijid_lapsed", message="…", action="…", billed=True
    )
    return run


def make_invoice():
    return make_run().invoices.get()


def make_service_provider_card():
    return RateCardFactory(contract=ContractFactory(in_service=True, item="service_provider"))


MODELS = {
    "ratecard": make_service_provider_card,
    "accountregistration": AccountRegistrationFactory,
    "authcount": AuthCountFactory,
    "onetimecharge": OneTimeChargeFactory,
    "billingrun": make_run,
    "invoice": make_invoice,
}
#: months and invoices are made by the monthly run, never by hand
NO_ADD_PAGE = {"billingrun", "invoice"}


@pytest.mark.parametrize("model", MODELS)
def test_changelist_add_and_change_pages_render(staff_client, model):
    obj = MODELS[model]()
    for url in (
        reverse(f"admin:billing_{model}_changelist"),
        reverse(f"admin:billing_{model}_change", args=[obj.pk]),
        *([] if model in NO_ADD_PAGE else [reverse(f"admin:billing_{model}_add")]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert 'lang="ja"' in response.content.decode()
    if model in NO_ADD_PAGE:
        assert staff_client.get(reverse(f"admin:billing_{model}_add")).status_code == 403


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(staff_client, model):
    url = reverse(f"admin:billing_{model}_changelist")
    MODELS[model]()
    few = count_queries(staff_client, url)
    for _ in range(6):
        MODELS[model]()
    assert count_queries(staff_client, url) == few


def test_billing_pages_speak_japanese(staff_client):
    make_service_provider_card()
    content = staff_client.get(reverse("admin:billing_ratecard_changelist")).content.decode()
    assert "料金表" in content and "請求可能" in content and "承認待ち" in content
    assert "選択した料金表を承認する" in content


# --- rate cards -------------------------------------------------------------------------


def test_approve_action_reports_done_and_refused(staff_client):
    admin = staff_client.user
    theirs = RateCardFactory(contract=ContractFactory(code="SK-A", in_service=True), unapproved=True)
    mine = RateCardFactory(
        contract=ContractFactory(code="SK-B", in_service=True), unapproved=True, created_by=admin
    )
    approved = RateCardFactory(contract=ContractFactory(code="SK-C", in_service=True))
    response = staff_client.post(
        reverse("admin:billing_ratecard_changelist"),
        {"action": "approve_selected", "_selected_action": [theirs.pk, mine.pk, approved.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert messages_of(response) == [
        "1件完了、2件は拒否されました。",
        "SK-B 2026年3月〜: 社内規程（入力者以外による承認）: この料金表はあなたが入力しました。別の担当者が承認してください。",
        "SK-C 2026年3月〜: 別紙1: この料金表はすでに承認されています。",
    ]
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.approved_by, theirs.approved_on) == (admin, timezone.localdate())
    assert mine.approved_by is None


def test_a_card_entered_on_screen_records_its_author(staff_client):
    contract = ContractFactory(in_service=True, item="service_provider")
    response = staff_client.post(
        reverse("admin:billing_ratecard_add"),
        {
            "contract": contract.pk,
            "valid_from": "2026-04-01",
            "base_fee_0": "50000",
            "base_fee_1": "JPY",
            "auth_pricing": "volume",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-up_to": "100000",
            "tiers-0-unit_price_0": "0.50",
            "tiers-0-unit_price_1": "JPY",
            "tiers-0-flat_fee_0": "0",
            "tiers-0-flat_fee_1": "JPY",
            "tiers-1-up_to": "",
            "tiers-1-unit_price_0": "0.30",
            "tiers-1-unit_price_1": "JPY",
            "tiers-1-flat_fee_0": "0",
            "tiers-1-flat_fee_1": "JPY",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    card = RateCard.objects.get()
    assert (card.created_by, card.approved_by) == (staff_client.user, None)
    assert list(AuthTier.objects.values_list("up_to", flat=True)) == [100_000, None]


def test_an_approved_cards_prices_are_read_only_on_screen(staff_client):
    card = RateCardFactory(contract=ContractFactory(in_service=True))
    response = staff_client.get(reverse("admin:billing_ratecard_change", args=[card.pk]))
    fields = response.context["adminform"].form.fields
    assert "notified_on" in fields and "valid_until" in fields
    assert not {"contract", "valid_from", "base_fee", "account_unit_price", "auth_pricing"} & set(fields)


def test_an_overlapping_registration_is_a_form_error(staff_client):
    registration = AccountRegistrationFactory(account_id="a1", registered_on=D(2026, 4, 1))
    response = staff_client.post(
        reverse("admin:billing_accountregistration_add"),
        {"contract": registration.contract_id, "account_id": "a1", "registered_on": "2026-05-01"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["registered_on"] == [
        "登録ID a1 は 2026年4月1日〜 にすでに登録されています（登録期間は重複できません）"
    ]
    assert registration.contract.account_registrations.count() == 1


# --- the monthly run -------------------------------------------------------------------------


@pytest.fixture
def october(db):
    """October 2026 for one customer: Enterprise, base 30,000, one account all month
    (1.000 × 300), initial fee 0 → 30,300 + tax 3,030 = 33,330; plus a contract whose
    card is not approved (an exception)."""
    customer = CustomerFactory(code="C1", billing_name="株式会社アルファ 御中")
    contract = ContractFactory(
        code="E1",
        customer=customer,
        in_service=True,
        applied_on=D(2026, 9, 20),
        accepted_on=D(2026, 9, 25),
        billing_start_on=OCT,
    )
    RateCardFactory(contract=contract, base_fee=Decimal("30000"), account_unit_price=Decimal("300"))
    AccountRegistrationFactory(contract=contract, registered_on=OCT)
    RateCardFactory(
        contract=ContractFactory(code="X1", customer=customer, in_service=True, billing_start_on=OCT),
        unapproved=True,
    )
    return customer


def test_run_view_computes_a_month_and_lands_on_it(staff_client, october):
    url = reverse("admin:billing_billingrun_run")
    page = staff_client.get(url)
    assert page.status_code == 200
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    assert page.context["form"].initial["month"] == f"{last_month.year:04d}-{last_month.month:02d}"
    assert "下書きを計算する" in page.content.decode()

    response = staff_client.post(url, {"month": "2026-10"})
    run = BillingRun.objects.get(month=OCT)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_billingrun_change", args=[run.pk])
    assert messages_of(response) == [
        "2026年10月を計算しました: 請求書（下書き）1件、33,330円、要対応事項1件。"
    ]
    assert run.computed_by == staff_client.user
    change = staff_client.get(response["Location"]).content.decode()
    assert "料金表が承認されていません。この契約は当月何も請求していません。" in change


def test_run_view_refuses_a_bad_month_and_an_issued_month(staff_client, october):
    url = reverse("admin:billing_billingrun_run")
    response = staff_client.post(url, {"month": "2026-13"})
    assert response.status_code == 200
    assert response.context["form"].errors["month"] == ["2026-13 は存在しない日付です（13月はありません）"]
    assert not BillingRun.objects.exists()

    runs.billing_month_compute(month=OCT)
    runs.billing_month_issue(month=OCT, today=D(2026, 11, 2))
    response = staff_client.post(url, {"month": "2026-10"})
    assert response.status_code == 200
    assert messages_of(response)[0].startswith("2026年10月は発行済みのため、請求書は変更できません。")


def test_run_changelist_shows_each_months_totals(staff_client, october):
    runs.billing_month_compute(month=OCT)
    RunException.objects.create(
        run=BillingRun.objects.get(), contract=None, rule="R3", code="x", message="…", action="…", billed=True
    )
    response = staff_client.get(reverse("admin:billing_billingrun_changelist"))
    (run,) = response.context["cl"].result_list
    # one invoice of 33,330 yen and two exceptions: the total is not counted once per exception
    assert (run.invoice_count, run.billed_total, run.exception_count) == (1, Decimal("33330"), 2)
    assert "¥33,330" in response.content.decode()


def test_recompute_and_issue_actions(staff_client, october):
    runs.billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    url = reverse("admin:billing_billingrun_changelist")
    response = staff_client.post(
        url, {"action": "recompute_selected", "_selected_action": [run.pk]}, follow=True
    )
    assert messages_of(response) == ["1件完了、0件は拒否されました。"]
    # issuing goes through the month's confirmation (tests/billing/test_issue_confirmation.py)
    response = staff_client.post(url, {"action": "issue_selected", "_selected_action": [run.pk]})
    assert response["Location"] == reverse("admin:billing_billingrun_issue", args=[run.pk])
    run.refresh_from_db()
    staff_client.post(response["Location"], {"computed_at": run.computed_at.isoformat()}, follow=True)
    assert Invoice.objects.get().number == "SK-202610-0001"
    response = staff_client.post(
        url, {"action": "recompute_selected", "_selected_action": [run.pk]}, follow=True
    )
    refused = messages_of(response)
    assert refused[0] == "0件完了、1件は拒否されました。"
    assert refused[1].startswith("2026年10月は発行済みのため")


# --- the month's CSV ---------------------------------------------------------------------


def download(client, run, layout, **params):
    response = client.get(reverse("admin:billing_billingrun_export", args=[run.pk, layout]), params)
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def test_csv_download_utf8_with_bom_and_crlf(staff_client, october):
    runs.billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    response, data = download(staff_client, run, "lines")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-10-lines.csv"'
    assert data.startswith(b"\xef\xbb\xbf" + LINES_HEADER.encode() + b"\r\n")
    rows = data[3:].decode("utf-8").split("\r\n")
    assert rows[-1] == ""  # every row ends with CRLF, and there is no bare LF
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert rows[1:4] == [
        ",draft,C1,株式会社アルファ 御中,2026-10,,,E1,enterprise,initial_fee,初期費用,1,0,0,0.10,30300,3030,33330",
        ",draft,C1,株式会社アルファ 御中,2026-10,,,E1,enterprise,base_fee,月額基本料 2026年10月分,1,30000,30000,"
        "0.10,30300,3030,33330",
        ",draft,C1,株式会社アルファ 御中,2026-10,,,E1,enterprise,account_fee,"
        "アカウント使用料（登録ID 1件、日割係数の合計）,1.000,300,300,0.10,30300,3030,33330",
    ]

    response, data = download(staff_client, run, "invoices")
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-10-invoices.csv"'
    assert data.decode("utf-8-sig").split("\r\n")[:2] == [
        INVOICES_HEADER,
        ",draft,C1,株式会社アルファ 御中,2026-10,,,30300,0.10,3030,33330,3",
    ]


def test_csv_download_in_cp932(staff_client, october):
    runs.billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    response, data = download(staff_client, run, "lines", encoding="cp932")
    assert response["Content-Type"] == "text/csv; charset=shift_jis"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-10-lines-sjis.csv"'
    assert data.startswith(LINES_HEADER.encode() + b"\r\n")  # no BOM
    assert "株式会社アルファ 御中".encode("cp932") in data
    assert data.decode("cp932").split("\r\n")[1].startswith(",draft,C1,株式会社アルファ 御中,2026-10,")


def test_csv_download_of_an_unknown_layout_or_encoding(staff_client, october):
    runs.billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    url = reverse("admin:billing_billingrun_export", args=[run.pk, "everything"])
    assert staff_client.get(url).status_code == 403
    _, data = download(staff_client, run, "lines", encoding="latin-1")
    assert data.startswith(b"\xef\xbb\xbf")  # falls back to the default


def test_the_run_change_page_links_the_downloads(staff_client, october):
    runs.billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    content = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert reverse("admin:billing_billingrun_export", args=[run.pk, "lines"]) + "?encoding=cp932" in content
    assert "明細（Shift_JIS）" in content


# --- invoices -------------------------------------------------------------------------------


@pytest.fixture
def issued(october):
    runs.billing_month_compute(month=OCT)
    runs.billing_month_issue(month=OCT, today=D(2026, 11, 2))
    return Invoice.objects.get()


def test_void_view_voids_and_replaces(staff_client, issued):
    url = reverse("admin:billing_invoice_void", args=[issued.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "SK-202610-0001を取り消して再発行する" in page.content.decode()

    response = staff_client.post(url, {"reason": "宛名の誤り"})
    replacement = Invoice.objects.get(number="SK-202610-0002")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_invoice_change", args=[replacement.pk])
    assert messages_of(response) == ["SK-202610-0001を取り消し、SK-202610-0002を再発行しました。"]
    issued.refresh_from_db()
    assert (issued.status, issued.void_reason, issued.voided_by) == ("void", "宛名の誤り", staff_client.user)
    assert replacement.replaces == issued
    assert replacement.total.amount == Decimal("33330")

    # both stay visible, and the voided one links to its replacement
    changelist = staff_client.get(reverse("admin:billing_invoice_changelist")).content.decode()
    assert "SK-202610-0001" in changelist and "SK-202610-0002" in changelist
    voided_page = staff_client.get(reverse("admin:billing_invoice_change", args=[issued.pk])).content.decode()
    assert reverse("admin:billing_invoice_change", args=[replacement.pk]) in voided_page


def test_void_view_needs_a_reason(staff_client, issued):
    response = staff_client.post(reverse("admin:billing_invoice_void", args=[issued.pk]), {"reason": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["このフィールドは必須です。"]
    response = staff_client.post(reverse("admin:billing_invoice_void", args=[issued.pk]), {"reason": "   "})
    assert response.status_code == 200
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED


def test_void_view_refuses_a_draft(staff_client, october):
    runs.billing_month_compute(month=OCT)
    draft = Invoice.objects.get()
    response = staff_client.post(reverse("admin:billing_invoice_void", args=[draft.pk]), {"reason": "誤り"})
    assert response.status_code == 302
    assert messages_of(response) == ["R12: 取り消せるのは発行済みの請求書だけです。"]
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT


def test_void_view_needs_the_permission(client, issued):
    clerk = UserFactory(username="eigyo")
    clerk.set_password("pw")
    clerk.save()
    client.force_login(clerk)
    assert client.get(reverse("admin:billing_invoice_void", args=[issued.pk])).status_code == 403


def test_invoice_change_page_is_read_only(staff_client, issued):
    url = reverse("admin:billing_invoice_change", args=[issued.pk])
    response = staff_client.get(url)
    content = response.content.decode()
    assert response.context["adminform"].form.fields == {}
    assert 'name="_save"' not in content and 'name="_continue"' not in content
    assert "取り消して再発行する" in content  # the one thing to do with an issued invoice
    assert "SK-202610-0001" in content and "株式会社アルファ 御中" in content

    # what the browser would send on "保存", management form of the lines included
    data = {"_save": "保存", "billing_name": "書き換え 御中"}
    for formset in response.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = len(formset.formset.forms)
        for n, form in enumerate(formset.formset.forms):
            data[f"{prefix}-{n}-id"] = form.instance.pk
            data[f"{prefix}-{n}-invoice"] = issued.pk
    response = staff_client.post(url, data)
    assert response.status_code == 403
    issued.refresh_from_db()
    assert issued.billing_name == "株式会社アルファ 御中"


def test_invoice_changelist_filters_by_month(staff_client, issued):
    make_run()  # January 2020
    url = reverse("admin:billing_invoice_changelist")
    result = staff_client.get(url, {"month": "2026-10"}).context["cl"].result_list
    assert [i.number for i in result] == ["SK-202610-0001"]
    assert len(staff_client.get(url).context["cl"].result_list) == 2


def test_an_empty_amount_shows_as_empty_not_none(staff_client):
    # a Service Provider card has no account unit price (django-money#775 printed "None")
    card = RateCardFactory(contract=ContractFactory(in_service=True, item="service_provider"))
    assert card.account_unit_price is None
    page = staff_client.get(reverse("admin:billing_ratecard_changelist")).content.decode()
    assert '<td class="field-account_unit_price_text">-</td>' in page
    assert ">None<" not in page


def test_a_read_only_card_shows_its_months_as_months(client):
    """Issue 15, item 1: a Viewer (and anyone on an approved card) reads 2026年3月, not the
    month's first day."""
    from .factories import RateCardFactory
    from .october import staff_with

    card = RateCardFactory(valid_from=dt.date(2026, 3, 1), valid_until=dt.date(2026, 12, 1))
    staff_with(client, "viewer", "billing.view_ratecard")
    page = client.get(reverse("admin:billing_ratecard_change", args=[card.pk])).content.decode()
    assert '<div class="readonly">2026年3月</div>' in page
    assert '<div class="readonly">2026年12月</div>' in page
