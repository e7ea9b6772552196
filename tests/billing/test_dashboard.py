"""The admin index dashboard and the contract usage charts: the figures (worked out by
hand from tests/e2e), Japanese on screen, and a query count that does not grow with
the data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.dashboard import charts
from billing.dashboard import state as dashboard
from billing.models import AccountRegistration, AuthCount, BillingRun
from contracts.models import Contract
from tests.conftest import count_queries

from .october import october, staff_with

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 5)  # October is the month being billed


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr("billing.dashboard.state._today", lambda: TODAY)


# --- charts (pure) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "step"), [(0, 1), (3, 1), (5, 2), (8, 2), (9, 5), (223159, 100000), (200000, 50000)]
)
def test_nice_step_reaches_the_maximum_in_four_steps(maximum, step):
    assert charts.nice_step(maximum) == step


def test_stacked_bars_scale_to_the_top_tick():
    months = [dt.date(2026, 9, 1), dt.date(2026, 10, 1)]
    chart = charts.bar_chart(
        title="t",
        months=months,
        series=[
            charts.Series("A", [Decimal(100), Decimal(0)]),
            charts.Series("B", [Decimal(50), Decimal(400)]),
        ],
    )
    # max 400 → step 100 → top 400; plot height 240 - 12 - 40 = 188, baseline 200
    assert [t.label for t in chart.ticks] == ["0", "100", "200", "300", "400"]
    assert [(r.y, r.height) for r in chart.rects] == [(153.0, 47.0), (129.5, 23.5), (12.0, 188.0)]
    assert [row.total for row in chart.table_rows] == ["150", "400"]
    assert [m.year for m in chart.months] == ["2026", ""]
    assert not chart.is_empty


# --- dashboard figures ----------------------------------------------------------------------


def test_billed_by_item_chart(tmp_path):
    october(tmp_path, september=True, issue=True)  # October issued, September left a draft
    chart = dashboard.billed_by_item_chart(TODAY)
    assert len(chart.table_rows) == 12 and chart.table_rows[-1].month == "2026年11月"
    rows = {row.month: row.values for row in chart.table_rows}
    # September's drafts (Enterprise 11,200, Service Provider 50,000) are not billed yet:
    # the chart of billed months leaves them out (issue 15)
    assert rows["2026年9月"] == ["¥0", "¥0"]
    # October: Enterprise E1 0 + 20,322 + 357, E4 1,000; Service Provider S1 24,193 + 65,000,
    # E2 (Service Provider from October) 12,000 + 75,000 + 5,000
    assert rows["2026年10月"] == ["¥21,679", "¥181,193"]
    assert rows["2025年12月"] == ["¥0", "¥0"]
    assert [entry.label for entry in chart.legend] == ["エンタープライズ", "サービスプロバイダ"]


def test_month_states_previous_and_current(tmp_path):
    october(tmp_path)
    previous, current = dashboard.month_states(TODAY)
    assert (previous.label, previous.status, previous.invoices, previous.total, previous.exceptions) == (
        "2026年10月",
        "下書き",
        3,
        Decimal("223159"),
        3,
    )
    assert (current.label, current.status, current.run) == ("2026年11月", "未計算", None)
    assert current.url == reverse("admin:billing_billingrun_run")
    assert previous.journal_url == ""


def test_dashboard_on_the_admin_index_keeps_the_app_list(tmp_path, staff_client):
    october(tmp_path, issue=True)
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "今月の状況" in html
    assert "2026年10月" in html and "発行済み" in html and "¥223,159" in html
    run = BillingRun.objects.get()
    assert reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"]) in html
    # the exceptions to act on, the unbilled one first, linked to its contract
    assert html.index("料金表が承認されていません") < html.index("IIJ IDサービス契約がありませんでした")
    x3 = Contract.objects.get(code="X3")
    assert reverse("admin:contracts_contract_change", args=[x3.pk]) in html
    assert "承認待ちの料金表 1件" in html
    assert "<svg" in html and "品目別の請求額（直近12か月、円、税抜）" in html
    # the app list is still there
    assert reverse("admin:billing_ratecard_changelist") in html
    assert reverse("admin:contracts_customer_changelist") in html


def test_index_query_count_does_not_grow_with_the_data(tmp_path, staff_client):
    url = reverse("admin:index")
    october(tmp_path)
    few = count_queries(staff_client, url)
    from tests.e2e.test_import_bill_export import bill

    bill("2026-09")
    bill("2026-11")
    e1 = Contract.objects.get(code="E1")
    AccountRegistration.objects.bulk_create(
        AccountRegistration(contract=e1, account_id=f"M{n:03d}", registered_on=dt.date(2026, 10, 21))
        for n in range(30)
    )
    bill("2026-10")
    assert count_queries(staff_client, url) == few


def test_no_dashboard_without_the_permission_to_see_runs(tmp_path, client):
    october(tmp_path)
    staff_with(client, "sales", "contracts.view_customer")
    html = client.get(reverse("admin:index")).content.decode()
    assert "今月の状況" not in html


# --- contract page --------------------------------------------------------------------------


def contract_page(client, code: str) -> str:
    contract = Contract.objects.get(code=code)
    response = client.get(reverse("admin:contracts_contract_change", args=[contract.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_enterprise_contract_chart_of_registered_ids(tmp_path, staff_client):
    october(tmp_path)
    html = contract_page(staff_client, "E1")
    assert "月別の登録ID数" in html and "月別の認証成功回数" not in html
    # September: A1 only; October: A1-A5 (registered on some day of the month); November:
    # A1 and A3 (open registrations)
    assert "2026年9月 登録ID数: 1" in html
    assert "2026年10月 登録ID数: 5" in html
    assert "2026年11月 登録ID数: 2" in html


def test_service_provider_chart_and_item_change_shows_both(tmp_path, staff_client):
    october(tmp_path)
    html = contract_page(staff_client, "S1")
    assert "月別の認証成功回数" in html and "月別の登録ID数" not in html
    assert "2026年10月 認証成功回数: 155,000" in html  # 15 × 10,000 + 5,000 (all imported days)
    html = contract_page(staff_client, "E2")  # Enterprise until September, then Service Provider
    assert "月別の登録ID数" in html and "月別の認証成功回数" in html
    assert "2026年10月 認証成功回数: 250,000" in html


def test_contract_page_query_count_does_not_grow_with_usage(tmp_path, staff_client):
    october(tmp_path)
    for code in ("E1", "S1"):
        contract = Contract.objects.get(code=code)
        url = reverse("admin:contracts_contract_change", args=[contract.pk])
        few = count_queries(staff_client, url)
        AccountRegistration.objects.bulk_create(
            AccountRegistration(contract=contract, account_id=f"N{n:03d}", registered_on=dt.date(2026, 6, 1))
            for n in range(25)
        )
        AuthCount.objects.bulk_create(
            AuthCount(contract=contract, date=dt.date(2026, 8, 1) + dt.timedelta(days=n), success_count=n)
            for n in range(40)
        )
        assert count_queries(staff_client, url) == few, code


def test_chart_functions_are_one_query_each(tmp_path, django_assert_num_queries):
    october(tmp_path)
    e1 = Contract.objects.get(code="E1")
    months = dashboard.chart_months(TODAY)
    with django_assert_num_queries(1):
        assert dashboard.registered_accounts_by_month(e1, months)[-3:] == [1, 5, 2]
    with django_assert_num_queries(1):
        dashboard.billed_by_item_chart(TODAY)
    with django_assert_num_queries(1):
        dashboard.month_states(TODAY)


def test_contract_page_links_the_breakdown_of_its_enterprise_months(tmp_path, staff_client):
    october(tmp_path)
    e1 = Contract.objects.get(code="E1")
    html = contract_page(staff_client, "E1")

    def url(month):
        return reverse("admin:billing_accountregistration_breakdown", args=[e1.pk, month])

    assert url("2026-10") in html and url("2026-11") in html
    assert url("2026-09") not in html  # not yet in service in September
    assert "登録IDごとの内訳（CSV）" in html


# --- issue 15: when drafts were computed, months never billed, recent actions -------------


def test_a_draft_says_when_it_was_computed_and_that_data_changed_since(tmp_path, staff_client):
    from billing.models import RateCard
    from tests.billing.factories import UserFactory

    october(tmp_path)  # X3's card awaits approval: an exception of the draft
    previous, _current = dashboard.month_states(TODAY)
    assert previous.computed_at == BillingRun.objects.get().computed_at
    assert previous.changed_since is False
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "下書きの計算: " in html and "計算後にデータが変更されました" not in html

    # the card approved after the draft was computed: the draft's exception is out of date
    RateCard.objects.get(contract__code="X3").approve(by=UserFactory(username="approver2"), on=TODAY)
    previous, _current = dashboard.month_states(TODAY)
    assert previous.changed_since is True
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "下書きの計算後にデータが変更されました。発行する前に再計算してください。" in html


def test_contracts_in_service_that_issued_months_did_not_bill_are_flagged(tmp_path, staff_client):
    from tests.contracts.factories import ContractFactory

    october(tmp_path, issue=True)
    assert dashboard.never_billed(TODAY) == (
        [
            dashboard.NeverBilled(Contract.objects.get(code="X3").pk, "X3", ["2026年10月"])
        ],  # its card awaits approval
        1,
    )
    # a contract entered now, billing from September: October was issued without it
    late = ContractFactory(code="SK-LATE", in_service=True, billing_start_on=dt.date(2026, 9, 1))
    found, total = dashboard.never_billed(TODAY)
    assert total == 2 and found[0] == dashboard.NeverBilled(late.pk, "SK-LATE", ["2026年10月"])
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "発行済みの月に請求されていない利用中の契約" in html
    assert reverse("admin:contracts_contract_change", args=[late.pk]) in html


def test_recent_actions_list_what_the_services_did(tmp_path, staff_client):
    october(tmp_path)
    html = staff_client.get(reverse("admin:index")).content.decode()
    assert "利用不可" in html  # nothing done through the admin yet
    staff_client.post(reverse("admin:billing_billingrun_run"), {"month": "2026-10"})
    html = staff_client.get(reverse("admin:index")).content.decode()
    run = BillingRun.objects.get()
    assert reverse("admin:billing_billingrun_change", args=[run.pk]) in html.split("最近行った操作", 1)[1]
