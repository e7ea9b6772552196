"""R17: the receivables export as of a date, with aging, and each customer's credit
(前受金) as its own row. Literals worked out by hand from ``payments_world``:

- C1 pays 22,000 (its payer name): October paid; September's 11,000 is left, due
  2026-10-30, so on 2026-12-01 it is 32 days overdue (1 in October, 30 in November, 1).
- C2 is credited 10,000 + tax 1,000 = 11,000 on 2026-11-20 and pays 50,000 naming
  SK2026100002: 110,000 = 50,000 + 11,000 + 49,000, due 2026-11-30, 1 day overdue.
- C3 pays 60,000 naming SK2026100003: its 55,000 is paid, 5,000 is its credit.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from billing.exports.receivables import ReceivableRow, aging, receivable_rows
from billing.models import Invoice
from billing.payments.service import payments_import
from billing.runs import credit_note_issue

from .payments_world import build_books
from .zengin_files import transfer_file

pytestmark = pytest.mark.django_db

D = dt.date
C1, C2, C3 = "ブラボー工業株式会社 御中", "千代田商事株式会社 御中", "三番商店 御中"


@pytest.fixture
def paid_in_december(db):
    build_books()
    credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0002"), amount=10000, reason="値引き", by=None,
        today=D(2026, 11, 20),
    )  # fmt: skip
    payments_import(
        data=transfer_file(
            (1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"),
            (2, "081201", 50000, "ﾁﾖﾀﾞｼﾖｳｼﾞ", "SK2026100002"),
            (3, "081201", 60000, "ｻﾝﾊﾞﾝ", "SK2026100003"),
        ),
        today=D(2026, 12, 1),
    )


@pytest.mark.parametrize(
    ("days", "bucket"), [(0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
                         (90, "61-90"), (91, "91+"), (400, "91+")],
)  # fmt: skip
def test_aging_buckets(days, bucket):
    assert aging(days) == bucket


def test_open_receivables_as_of_the_first_of_december(paid_in_december):
    assert list(receivable_rows(D(2026, 12, 1))) == [
        ReceivableRow("C1", C1, "SK-202609-0001", D(2026, 10, 5), D(2026, 10, 30), 11000, 0, 0, 11000, "unpaid", 32, "31-60"),
        ReceivableRow("C2", C2, "SK-202610-0002", D(2026, 11, 5), D(2026, 11, 30), 110000, 50000, 11000, 49000, "partial", 1, "1-30"),
        ReceivableRow("C3", C3, "", None, None, 0, 5000, 0, -5000, "overpaid", 0, "current"),
    ]  # fmt: skip


def test_all_receivables_list_the_paid_invoices_too(paid_in_december):
    rows = [(r.invoice_number, r.balance, r.status) for r in receivable_rows(D(2026, 12, 1), all_=True)]
    assert rows == [
        ("SK-202609-0001", 11000, "unpaid"),
        ("SK-202610-0001", 0, "paid"),
        ("SK-202610-0002", 49000, "partial"),
        ("SK-202610-0003", 0, "paid"),
        ("", -5000, "overpaid"),
    ]


def test_as_of_the_day_before_the_money_arrived(paid_in_december):
    assert [(r.invoice_number, r.paid, r.credited, r.balance, r.status, r.days_overdue, r.aging)
            for r in receivable_rows(D(2026, 11, 30))] == [
        ("SK-202609-0001", 0, 0, 11000, "unpaid", 31, "31-60"),
        ("SK-202610-0001", 0, 0, 22000, "unpaid", 0, "current"),
        ("SK-202610-0002", 0, 11000, 99000, "unpaid", 0, "current"),
        ("SK-202610-0003", 0, 0, 55000, "unpaid", 0, "current"),
    ]  # fmt: skip


def test_the_command_writes_the_csv(paid_in_december, tmp_path):
    output = tmp_path / "receivables.csv"
    call_command("export_receivables", "--as-of", "2026-12-01", "--output", str(output), stdout=io.StringIO())
    assert output.read_bytes().decode("utf-8-sig").split("\r\n") == [
        "customer_code,billing_name,invoice_number,issue_date,due_date,total,paid,credited,balance,status,"
        "days_overdue,aging",
        f"C1,{C1},SK-202609-0001,2026-10-05,2026-10-30,11000,0,0,11000,unpaid,32,31-60",
        f"C2,{C2},SK-202610-0002,2026-11-05,2026-11-30,110000,50000,11000,49000,partial,1,1-30",
        f"C3,{C3},,,,0,5000,0,-5000,overpaid,0,current",
        "",
    ]


def test_the_command_in_cp932(paid_in_december, tmp_path):
    output = tmp_path / "receivables.csv"
    call_command(
        "export_receivables", "--as-of", "2026-12-01", "--encoding", "cp932", "--output", str(output),
        stdout=io.StringIO(),
    )  # fmt: skip
    data = output.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("cp932").split("\r\n")[3] == f"C3,{C3},,,,0,5000,0,-5000,overpaid,0,current"


def test_the_number_of_queries_does_not_grow(paid_in_december, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        list(receivable_rows(D(2026, 12, 1), all_=True))


def test_the_receivables_as_a_workbook(paid_in_december, tmp_path, client):
    """issue 14: codes as text, dates as dates, yen as numbers; the command and the admin."""
    from django.urls import reverse
    from openpyxl import load_workbook

    from .october import staff_with

    output = tmp_path / "receivables.xlsx"
    call_command("export_receivables", "--as-of", "2026-12-01", "--format", "xlsx", "--output", str(output))
    sheet = load_workbook(output).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[1] == [
        "C1", C1, "SK-202609-0001", dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 30),
        11000, 0, 0, 11000, "unpaid", 32, "31-60",
    ]  # fmt: skip
    assert rows[3] == ["C3", C3, None, None, None, 0, 5000, 0, -5000, "overpaid", 0, "current"]
    assert [c.data_type for c in next(sheet.iter_rows(min_row=2))][:6] == ["s", "s", "s", "d", "d", "n"]
    staff_with(client, "keiri", "billing.view_deposit", "billing.export_invoices")
    assert "売掛金（Excel）" in client.get(reverse("admin:billing_deposit_changelist")).content.decode()
    response = client.get(reverse("admin:billing_deposit_receivables"), {"format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_dashboard_shows_receivables_by_aging_and_last_months_collection(
    paid_in_december, client, monkeypatch
):
    """As of 2026-12-01: C2's 49,000 is 1 day overdue (1-30), C1's September 11,000 is 32
    days (31-60); C3's credit is no receivable. Due in November: 22,000 + 110,000 + 55,000 =
    187,000, of which 49,000 is left: 138,000 collected, 73% (73.79 truncated)."""
    from django.urls import reverse

    from billing.exports.receivables import aging_totals, collection

    from .october import staff_with

    assert aging_totals(D(2026, 12, 1)) == [
        ("current", 0), ("1-30", 49000), ("31-60", 11000), ("61-90", 0), ("91+", 0),
    ]  # fmt: skip
    assert collection(D(2026, 11, 1), D(2026, 11, 30), D(2026, 12, 1)) == (187000, 138000)
    monkeypatch.setattr("billing.dashboard.state._today", lambda: D(2026, 12, 1))
    staff_with(client, "keiri", "billing.view_billingrun", "billing.view_invoice")
    page = client.get(reverse("admin:index")).content.decode()
    assert '<td class="amount">¥49,000</td><td class="amount">¥11,000</td>' in page
    assert "2026年11月が期日の請求書の回収率: 73%（¥187,000 のうち ¥138,000）" in page


def test_the_customer_page_lists_its_open_items_for_accounting_only(paid_in_december, client, monkeypatch):
    """C1 on 2026-12-01: September's 11,000 left, 32 days overdue (October is paid)."""
    from django.urls import reverse
    from django.utils import timezone

    from contracts.models import Customer

    from .october import staff_with

    monkeypatch.setattr(timezone, "localdate", lambda *a: D(2026, 12, 1))
    url = reverse("admin:contracts_customer_change", args=[Customer.objects.get(code="C1").pk])
    staff_with(client, "keiri", "contracts.view_customer", "billing.view_invoice")
    page = client.get(url).content.decode()
    assert "SK-202609-0001" in page and "期日経過 32日" in page and "SK-202610-0001" not in page
    client.logout()
    staff_with(client, "eigyo", "contracts.view_customer", "contracts.change_customer")
    page = client.get(url).content.decode()
    assert "未決済の請求" not in page and "SK-202609-0001" not in page
