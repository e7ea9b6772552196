"""Roles, permissions and the login records read in Japanese (issue 15, item 10); rule
codes are shown as the regulation's articles."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingRun, RunException

pytestmark = pytest.mark.django_db


def test_roles_and_their_permissions_are_named_in_japanese(staff_client):
    changelist = staff_client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "経理" in changelist and "営業" in changelist and "閲覧" in changelist
    group = Group.objects.get(name="Accounting")
    page = staff_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "契約 | SmartKey契約 | SmartKey契約の閲覧" in page
    assert "Can view" not in page and "Can add" not in page
    user = staff_client.get(reverse("admin:auth_user_change", args=[staff_client.user.pk])).content.decode()
    assert ">経理<" in user and "Can add" not in user


def test_the_login_records_are_in_japanese(staff_client):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(username="taro", ip_address="10.0.0.1", failures_since_start=1)
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "ログイン制限（ログイン失敗の記録）" in index
    changelist = staff_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "あと4回" in changelist and "Attempt Remaining" not in changelist and ">Status<" not in changelist
    page = staff_client.get(reverse("admin:axes_accessattempt_change", args=[attempt.pk])).content.decode()
    assert "taro（10.0.0.1）" in page and "Attempted Access" not in page


def test_exceptions_name_the_article_not_the_rule_code(staff_client):
    run = BillingRun.objects.create(month="2026-10-01")
    RunException.objects.create(
        run=run, contract=None, rule="R8", code="x", message="…", action="…", billed=False
    )
    page = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "別紙1（料金表）" in page
    assert ">R8<" not in page


# --- issue 15, walked as a new user: months and days as screens show them -----------------


def _member(client, username, role):
    from tests.billing.factories import UserFactory

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def test_a_contract_read_only_shows_no_bulk_confirmation_and_its_terms_as_a_date(client):
    from tests.contracts.factories import ContractFactory

    contract = ContractFactory(in_service=True, code="SK-VIEW")
    _member(client, "etsuran", "Viewer")
    page = client.get(reverse("admin:contracts_contract_change", args=[contract.pk])).content.decode()
    # confirming every condition at once is an act: a page read only showed "All conditions on: None"
    assert "All conditions" not in page and "すべての利用条件: 確認日" not in page
    assert "2018年1月1日施行（改定後）" in page and "2018-01-01" not in page


def test_months_in_lists_filters_and_runs_read_as_months(client):
    from billing.models import BillingRun
    from tests.billing.factories import AccountRegistrationFactory, RateCardFactory
    from tests.contracts.factories import ContractFactory

    contract = ContractFactory(in_service=True, code="SK-MONTH")  # from 2026-03-25
    card = RateCardFactory(contract=contract, valid_until=dt.date(2026, 9, 1))
    AccountRegistrationFactory(contract=contract, registered_on=dt.date(2026, 4, 1))
    run = BillingRun.objects.create(month=dt.date(2026, 10, 1))
    _member(client, "eigyo", "Sales")

    cards = client.get(reverse("admin:billing_ratecard_changelist")).content.decode()
    assert ">2026年3月<" in cards and ">2026年9月<" in cards and ">2026-03<" not in cards
    # an approved card: its first month read only, as a month, not as its first day
    page = client.get(reverse("admin:billing_ratecard_change", args=[card.pk])).content.decode()
    assert 'readonly">2026年3月</div>' in page  # (2026年3月1日 is the approval date)
    # the usage lists' month filter: labelled as months, linked as YYYY-MM
    today = timezone.localdate()
    accounts = client.get(reverse("admin:billing_accountregistration_changelist")).content.decode()
    assert f"?month={today:%Y-%m}" in accounts and f">{today.year}年{today.month}月<" in accounts
    assert f">{today:%Y-%m}<" not in accounts

    client.force_login(_member(client, "keiri", "Accounting"))
    runs = client.get(reverse("admin:billing_billingrun_changelist")).content.decode()
    assert ">2026年10月<" in runs and ">2026-10<" not in runs
    page = client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "<title>2026年10月 |" in page


def test_a_run_computed_and_issued_by_the_commands_names_who_in_its_history(tmp_path, staff_client):
    from billing.models import BillingRun, Invoice
    from billing.runs import billing_month_compute, billing_month_issue
    from tests.billing.factories import RateCardFactory, UserFactory
    from tests.contracts.factories import ContractFactory

    keiri = UserFactory(username="keiri2", first_name="花子", last_name="経理")
    RateCardFactory(contract=ContractFactory(in_service=True, code="SK-HIST"))
    billing_month_compute(month=dt.date(2026, 10, 1), by=keiri)
    draft = Invoice.objects.get()
    assert str(draft).startswith("下書き ")
    billing_month_issue(month=dt.date(2026, 10, 1), by=keiri, today=dt.date(2026, 11, 2))
    run = BillingRun.objects.get()
    assert [record.history_user for record in run.history.filter(history_type="~")] == [keiri, keiri]
    page = staff_client.get(reverse("admin:billing_billingrun_history", args=[run.pk])).content.decode()
    # computed, issued: both changes name their author (the run's creation is the system's)
    assert page.count("<td>花子 経理</td>") == 2, page
