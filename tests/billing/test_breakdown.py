"""Per-account breakdown of an Enterprise contract-month (R10): the days and 日割係数 of
each registered ID, as billed. Days worked out by hand in tests/e2e (E1, October 2026,
31 days, service from 2026-10-11)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from billing.exports.breakdown import account_breakdown
from billing.models import AccountRegistration, InvoiceLine, LineType
from contracts.models import Contract
from tests.conftest import count_queries
from tests.e2e.test_import_bill_export import bill, import_everything

from .october import october, staff_with

pytestmark = pytest.mark.django_db


def breakdown_url(code: str, month: str = "2026-10") -> str:
    contract = Contract.objects.get(code=code)
    return reverse("admin:billing_accountregistration_breakdown", args=[contract.pk, month])


def test_csv_lists_each_account_with_its_days_and_coefficient(tmp_path, staff_client):
    october(tmp_path)
    response = staff_client.get(breakdown_url("E1"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="accounts-E1-2026-10.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response.content.decode("utf-8-sig").split("\r\n") == [
        "契約コード,請求月,登録ID,利用日数,月の日数,日割係数,単価,金額",
        # A1 registered since 09-01: from the billing start 10-11 to 10-31 = 21 days
        "E1,2026-10,A1,21,31,0.677,300,203.1",  # 21/31 = 0.6774… → 0.677
        "E1,2026-10,A2,10,31,0.322,300,96.6",  # 10-20 … 10-29
        "E1,2026-10,A3,1,31,0.032,300,9.6",  # 10-31 only
        # A4 (10-01 … 10-05) is entirely before the service: not billed, not listed
        "E1,2026-10,A5,5,31,0.161,300,48.3",  # 2 + 3 days in two periods
        "E1,2026-10,合計（登録ID 4件）,,31,1.192,300,357",  # 357.6 truncated once
        "E1,2026-10,請求書（下書き）,,,1.192,300,357",
        "",
    ]


def test_issued_invoice_number_and_shift_jis(tmp_path, staff_client):
    october(tmp_path, issue=True)
    response = staff_client.get(breakdown_url("E1") + "?encoding=cp932")
    assert response["Content-Disposition"] == 'attachment; filename="accounts-E1-2026-10-sjis.csv"'
    text = response.content.decode("cp932")
    assert "E1,2026-10,請求書 SK-202610-0001,,,1.192,300,357\r\n" in text


def test_coefficient_sum_equals_every_billed_account_fee_line(tmp_path):
    october(tmp_path, september=True)
    lines = InvoiceLine.objects.filter(line_type=LineType.ACCOUNT_FEE).select_related("contract", "invoice")
    checked = set()
    for line in lines:
        breakdown = account_breakdown(contract=line.contract, month=line.invoice.billing_month)
        assert breakdown.coefficient_sum == line.quantity, line
        assert breakdown.amount == line.amount.amount, line
        checked.add((line.contract.code, line.invoice.billing_month.month))
    # E1 and E4 in October, E2 (still Enterprise) and E4 in September
    assert checked == {("E1", 10), ("E4", 10), ("E2", 9), ("E4", 9)}
    e2 = account_breakdown(contract=Contract.objects.get(code="E2"), month=dt.date(2026, 9, 1))
    assert [(r.account_id, r.days, r.coefficient) for r in e2.rows] == [("B1", 30, Decimal("1.000"))]


def test_one_query_for_the_days_whatever_the_number_of_accounts(tmp_path, staff_client):
    october(tmp_path)
    url = breakdown_url("E1")
    few = count_queries(staff_client, url)
    e1 = Contract.objects.get(code="E1")
    AccountRegistration.objects.bulk_create(
        AccountRegistration(contract=e1, account_id=f"M{n:03d}", registered_on=dt.date(2026, 10, 21))
        for n in range(40)
    )
    response = staff_client.get(url)
    rows = response.content.decode("utf-8-sig").split("\r\n")
    assert "E1,2026-10,M000,11,31,0.354,300,106.2" in rows  # 10-21 … 10-31
    assert count_queries(staff_client, url) == few


def test_service_provider_month_is_refused_with_a_message(tmp_path, staff_client):
    october(tmp_path)
    response = staff_client.get(breakdown_url("E2"), follow=True)  # E2 is SP from October
    assert response.redirect_chain[0][0] == reverse(
        "admin:contracts_contract_change", args=[Contract.objects.get(code="E2").pk]
    )
    assert "E2は2026年10月にエンタープライズではないため" in response.content.decode()


def test_needs_the_permission_to_view_accounts(tmp_path, client):
    october(tmp_path)
    url = breakdown_url("E1")
    staff_with(client, "auditor", "billing.view_invoice")
    assert client.get(url).status_code == 403
    staff_with(client, "accountant", "billing.view_accountregistration")
    assert client.get(url).status_code == 200


def test_without_the_invoice_permission_no_invoice_is_shown(tmp_path, client):
    """Issue 10, item 8: Sales may see the accounts, not the invoice's number and amounts."""
    october(tmp_path, issue=True)
    staff_with(client, "eigyo", "billing.view_accountregistration")
    text = client.get(breakdown_url("E1")).content.decode("utf-8-sig")
    assert "SK-202610" not in text and "請求書" not in text
    assert text.split("\r\n")[-2] == "E1,2026-10,合計（登録ID 4件）,,31,1.192,300,357"  # the card's price


def test_linked_from_the_invoice(tmp_path, staff_client):
    october(tmp_path)
    invoice = InvoiceLine.objects.get(contract__code="E1", line_type=LineType.ACCOUNT_FEE).invoice
    html = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert breakdown_url("E1") in html
    assert "E1: 日割係数の合計 1.192" in html


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="PostgreSQL's exclusion constraint refuses overlapping registrations outright",
)
def test_overlapping_registrations_are_capped_as_billing_caps_them(tmp_path, staff_client):
    import_everything(tmp_path)
    e1 = Contract.objects.get(code="E1")
    # A1 is registered since 09-01 (open); a second, overlapping period of 6 days
    AccountRegistration.objects.create(
        contract=e1,
        account_id="A1",
        registered_on=dt.date(2026, 10, 15),
        deregistered_on=dt.date(2026, 10, 20),
    )
    bill("2026-10")
    line = InvoiceLine.objects.get(contract=e1, line_type=LineType.ACCOUNT_FEE)
    assert line.quantity == Decimal("1.192")  # A1 capped at the 21 service days, not 27
    rows = staff_client.get(breakdown_url("E1")).content.decode("utf-8-sig").split("\r\n")
    assert rows[1] == "E1,2026-10,A1,21,31,0.677,300,203.1"
    assert rows[-2].startswith("E1,2026-10,登録期間が重複している登録IDが1件あります。")


def test_fast_file_is_the_row_by_row_file_and_odd_ids_are_neutralised_and_quoted(tmp_path):
    from billing.exports.breakdown import csv_bytes, csv_rows, header
    from billing.exports.csvfile import EncodingReport, encoded_csv

    october(tmp_path)
    e1 = Contract.objects.get(code="E1")
    month = dt.date(2026, 10, 1)
    for encoding in ("utf-8-sig", "cp932"):
        accounts = account_breakdown(contract=e1, month=month)
        slow = b"".join(encoded_csv(csv_rows(accounts), header(), encoding, EncodingReport()))
        assert csv_bytes(accounts, encoding, EncodingReport()) == slow
    # IDs a spreadsheet would read as a formula, or that hold a comma: the row-by-row path
    AccountRegistration.objects.filter(contract=e1, account_id="A1").update(account_id="=A1")
    AccountRegistration.objects.filter(contract=e1, account_id="A2").update(account_id="A,2")
    lines = csv_bytes(account_breakdown(contract=e1, month=month), "utf-8-sig", EncodingReport())
    lines = lines.decode("utf-8-sig").split("\r\n")
    assert lines[1:5] == [
        "E1,2026-10,'=A1,21,31,0.677,300,203.1",  # "=" (U+003D) < "A" (U+0041)
        'E1,2026-10,"A,2",10,31,0.322,300,96.6',  # "," (U+002C) < "3"
        "E1,2026-10,A3,1,31,0.032,300,9.6",
        "E1,2026-10,A5,5,31,0.161,300,48.3",
    ]
