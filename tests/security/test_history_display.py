"""The audit trail's pages read as the other screens (issue 15, item 5): in Japanese,
fields by their labels, values as screens show them, Japan time, who acted by name, and
never "None" or "Deleted ユーザー (pk=None)"."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from billing.models import BillingRun, Invoice
from billing.runs import billing_month_compute, billing_month_issue
from tests.billing.factories import RateCardFactory, UserFactory
from tests.contracts.factories import ContractFactory

pytestmark = pytest.mark.django_db

D = dt.date


def history_text(client, obj):
    meta = obj._meta
    html = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_history", args=[obj.pk])).content
    body = html.decode().split('id="content-main"', 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_an_issued_invoices_history(staff_client):
    contract = ContractFactory(in_service=True, billing_start_on=D(2026, 10, 1))
    RateCardFactory(contract=contract)
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), by=staff_client.user, today=D(2026, 11, 2))
    invoice = Invoice.objects.get()
    text = history_text(staff_client, invoice)
    assert "状態: 下書き → 発行済み" in text
    assert "発行日: （空欄） → 2026年11月2日" in text
    assert "支払期限: （空欄） → 2026年11月30日" in text
    assert " admin " in text  # who issued it
    assert "システム（コマンド・取込み）" in text  # the draft, written by the run with no user
    assert "この版の内容で作成されました。" in text
    for raw in ("None", "Deleted", "pk=", "issued", "draft", "+00:00", "Choose a date"):
        assert raw not in text, raw


def test_times_are_japan_times(staff_client):
    run = BillingRun(month=D(2026, 10, 1))
    # 2026-11-01 15:30:05 UTC is 2026-11-02 0:30:05 in Japan (the trail is append-only:
    # the time is given to simple-history as the row is written)
    run._history_date = dt.datetime(2026, 11, 1, 15, 30, 5, tzinfo=dt.UTC)
    run.save()
    assert "2026年11月2日 0:30:05" in history_text(staff_client, run)


def test_an_approval_names_the_approver_and_an_empty_field_is_empty(staff_client):
    approver = UserFactory(username="sato", first_name="花子", last_name="佐藤")
    card = RateCardFactory(contract=ContractFactory(in_service=True), unapproved=True)
    card.approve(by=approver, on=D(2026, 3, 4))
    text = history_text(staff_client, card)
    # Django's full name is "first last"
    assert "承認者: （空欄） → 花子 佐藤" in text
    assert "承認日: （空欄） → 2026年3月4日" in text
    assert "Deleted" not in text and "None" not in text
