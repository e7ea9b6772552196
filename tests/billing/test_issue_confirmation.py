"""Issuing a month after a confirmation (issue 15, item 2): the page says what issuing
will do (month, invoices, total, the numbers, the open exceptions) or why it is refused,
and the refusals it shows are the issuing service's own, case by case."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from billing import runs
from billing.models import BillingRun, Invoice
from billing.runs import (
    BillingRefused,
    billing_month_compute,
    billing_month_issue,
    billing_month_issue_preview,
)
from billing.runs import issue as issue_module
from tests.billing.test_admin import october  # noqa: F401  (the fixture)
from tests.billing.test_late_changes import import_csv, november  # noqa: F401  (the fixture)
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import RateCardFactory

pytestmark = pytest.mark.django_db

D = dt.date
OCT, NOV, DEC = D(2026, 10, 1), D(2026, 11, 1), D(2026, 12, 1)


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def outcome(call):
    """("issued", numbers) or ("refused", the message): what a call came to."""
    try:
        result = call()
    except BillingRefused as refused:
        return ("refused", str(refused))
    return ("ok", result)


def assert_in_step(month, today):
    """The confirmation refuses exactly when issuing does, with the same words; when it
    does not, issuing gives exactly the numbers and total it announced."""
    preview = outcome(lambda: billing_month_issue_preview(month=month, today=today))
    issued = outcome(lambda: billing_month_issue(month=month, today=today))
    if preview[0] == "refused":
        assert issued == preview
        return preview[1]
    plan = preview[1]
    assert issued[0] == "ok", issued
    numbers = sorted(
        Invoice.objects.filter(run__month=month, number__isnull=False).values_list("number", flat=True)
    )
    announced = (plan.first_number, plan.last_number, plan.total)
    assert announced == (numbers[0], numbers[-1], issued[1].total)
    return announced


# --- the confirmation's refusals are the service's --------------------------------------


def test_not_computed_is_refused_alike(db):
    assert assert_in_step(OCT, D(2026, 11, 2)) == (
        "2026年10月はまだ計算されていません。先に bill_month 2026-10 を実行して下書きを確認してください。"
    )


def test_a_month_not_ended_is_refused_alike_with_the_day_it_can_be(october):  # noqa: F811
    billing_month_compute(month=OCT)
    assert assert_in_step(OCT, D(2026, 10, 31)) == (
        "2026年10月はまだ終わっていません。2026年11月1日以降に発行できます。"
    )
    assert BillingRun.objects.get().status == "draft"


def test_a_month_with_no_drafts_is_refused_alike(db):
    CustomerFactory()  # nothing to bill
    billing_month_compute(month=OCT)
    assert assert_in_step(OCT, D(2026, 11, 2)) == "2026年10月には発行する下書きの請求書がありません。"


def test_an_issued_month_is_refused_alike(october):  # noqa: F811
    billing_month_compute(month=OCT)
    billing_month_issue(month=OCT, today=D(2026, 11, 2))
    assert assert_in_step(OCT, D(2026, 11, 3)) == "2026年10月はすでに発行済みです。"


def test_a_stale_adjustment_is_refused_alike(november, tmp_path):  # noqa: F811
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_compute(month=DEC)  # +3,500 for November
    runs.invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202611-0001"), by=None, reason="件数訂正", today=D(2026, 12, 4)
    )
    refusal = assert_in_step(DEC, D(2027, 1, 4))
    assert refusal.startswith("R15: 2026年12月の計算後に2026年11月の請求額が変わりました（顧客 C-LATE）")


def test_what_is_announced_is_what_is_given(october):  # noqa: F811
    # a second customer: two invoices, C1 (33,330) then C2 (base 5,000 + tax 500 = 5,500)
    other = ContractFactory(
        code="E2", customer=CustomerFactory(code="C2"), in_service=True, billing_start_on=OCT
    )
    RateCardFactory(contract=other, base_fee=Decimal("5000"), account_unit_price=Decimal("0"))
    billing_month_compute(month=OCT)
    assert assert_in_step(OCT, D(2026, 11, 2)) == ("SK-202610-0001", "SK-202610-0002", Decimal("38830"))


def test_every_refusal_of_issuing_comes_through_the_plan():
    """The one place: billing_month_issue refuses nothing of its own before the plan."""
    import inspect

    source = inspect.getsource(issue_module.billing_month_issue)
    assert "BillingRefused" not in source and "_issue_plan(" in source
    assert "_issue_plan(" in inspect.getsource(issue_module.billing_month_issue_preview)


# --- the page ------------------------------------------------------------------------------


def test_the_action_leads_to_the_confirmation_and_nothing_is_issued_yet(staff_client, october):  # noqa: F811
    billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    response = staff_client.post(
        reverse("admin:billing_billingrun_changelist"),
        {"action": "issue_selected", "_selected_action": [run.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_billingrun_issue", args=[run.pk])
    run.refresh_from_db()
    assert run.status == "draft" and not Invoice.objects.filter(number__isnull=False).exists()


def test_the_confirmation_shows_month_count_total_numbers_and_exceptions(staff_client, october):  # noqa: F811
    billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    page = staff_client.get(reverse("admin:billing_billingrun_issue", args=[run.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "2026年10月を発行しますか？" in content
    assert '<th scope="row">発行する請求書</th><td>1</td>' in content
    assert "33,330円" in content
    assert "SK-202610-0001 〜 SK-202610-0001" in content
    assert "未対応の要対応事項 1件" in content
    assert "料金表が承認されていません。" in content  # X1's card, shown before issuing
    assert 'id="issue-confirm"' in content


def test_confirming_issues_and_reports_the_numbers_given(staff_client, october):  # noqa: F811
    billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    url = reverse("admin:billing_billingrun_issue", args=[run.pk])
    stamp = staff_client.get(url).context["stamp"]
    response = staff_client.post(url, {"computed_at": stamp})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_billingrun_change", args=[run.pk])
    assert messages_of(response) == [
        "2026年10月を発行しました: 請求書1件、請求書番号 SK-202610-0001〜SK-202610-0001、合計33,330円。"
    ]
    assert Invoice.objects.get().number == "SK-202610-0001"
    change = staff_client.get(response["Location"]).content.decode()
    assert "SK-202610-0001〜SK-202610-0001（1件）" in change
    # issued: the page now says why it cannot be issued again, with no button
    again = staff_client.get(url).content.decode()
    assert "2026年10月はすでに発行済みです。" in again and 'id="issue-confirm"' not in again


def test_a_month_recomputed_after_the_confirmation_is_not_issued(staff_client, october):  # noqa: F811
    billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    url = reverse("admin:billing_billingrun_issue", args=[run.pk])
    stamp = staff_client.get(url).context["stamp"]
    billing_month_compute(month=OCT)  # someone recomputes meanwhile
    response = staff_client.post(url, {"computed_at": stamp})
    assert response["Location"] == url
    assert messages_of(response) == [
        "この確認画面を表示した後に2026年10月が再計算されました。もう一度確認してください。"
    ]
    assert BillingRun.objects.get().status == "draft"


def test_the_confirmation_of_a_month_not_ended_shows_the_refusal_without_a_button(staff_client, db):
    ContractFactory(in_service=True, billing_start_on=D(2026, 4, 1))
    month = timezone.localdate().replace(day=1)  # the current month (Japan): not ended
    billing_month_compute(month=month)
    run = BillingRun.objects.get()
    page = staff_client.get(reverse("admin:billing_billingrun_issue", args=[run.pk])).content.decode()
    after = (month + dt.timedelta(days=31)).replace(day=1)
    assert (
        f"{month.year}年{month.month}月はまだ終わっていません。{after.year}年{after.month}月1日以降に発行できます。"
        in page
    )
    assert 'id="issue-confirm"' not in page


def test_issuing_needs_the_permission(client, october):  # noqa: F811
    from .factories import UserFactory

    billing_month_compute(month=OCT)
    run = BillingRun.objects.get()
    client.force_login(UserFactory(is_staff=True))
    url = reverse("admin:billing_billingrun_issue", args=[run.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"computed_at": run.computed_at.isoformat()}).status_code == 403
    assert BillingRun.objects.get().status == "draft"
