"""End to end through the commands, as operators run them: import → bill → issue →
export. Every amount below is worked out by hand from rules.md, in the comments."""

import csv
import datetime as dt
import io
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from billing.models import BillingRun, Invoice, InvoiceStatus, RunException
from contracts import periods
from tests.billing.approvals import split_approvals

pytestmark = pytest.mark.django_db

FILES = {
    "customers": """customer_code,name,billing_name,email,postal_code,address,payment_terms_days
C1,株式会社アルファ,株式会社アルファ 経理部 御中,keiri@alpha.example.jp,102-0071,東京都千代田区富士見2-10-2,
C2,ベータ商事株式会社,ベータ商事株式会社 御中,,530-0001,大阪府大阪市北区梅田1-1-1,30
C3,ガンマ工業株式会社,ガンマ工業株式会社 御中,,,,
C4,デルタ株式会社,デルタ株式会社 御中,,,,
""",
    "iijid_contracts": """customer_code,iijid_contract_code,start_on,end_on
C1,ID-1,2020-01-01,
C2,ID-2,2020-01-01,
C3,ID-3,2020-01-01,
C4,ID-4,2020-01-01,2026-10-20
""",
    "contracts": """contract_code,customer_code,item,applied_on,accepted_on,conditions_confirmed_on,billing_start_on
E1,C1,enterprise,2026-09-20,2026-09-25,2026-10-05,2026-10-11
S1,C1,service_provider,2025-12-01,2025-12-10,2025-12-20,2026-01-01
E2,C2,enterprise,2025-12-01,2025-12-10,2025-12-20,2026-01-01
X3,C3,enterprise,2026-08-01,2026-08-02,2026-08-10,2026-09-01
E4,C4,enterprise,2026-01-05,2026-01-06,2026-01-10,2026-02-01
""",
    "item_changes": """contract_code,item,effective_month,requested_on,accepted_on
E2,service_provider,2026-10,2026-09-05,2026-09-10
""",
    "terminations": """contract_code,notice_received_on,requested_on,on_prescribed_form
S1,2026-09-15,,yes
""",
    "rate_cards": """contract_code,valid_from,valid_until,base_fee,account_unit_price,auth_pricing,auth_tiers,approved_by,approved_on,notified_on
E1,2026-10,,30000,300,,,shonin,2026-10-01,2026-10-02
S1,2026-01,,50000,,graduated,100000:0.50;1000000:0.30;:0.10,shonin,2025-12-15,2025-12-16
E2,2026-01,2026-09,10000,200,,,shonin,2025-12-15,2025-12-16
E2,2026-10,,12000,,volume,100000:0.50;1000000:0.30;:0.10,shonin,2026-09-11,2026-09-12
X3,2026-09,,5000,100,,,,,
E4,2026-02,,1000,100,,,shonin,2026-01-20,2026-01-21
""",
    "accounts": """contract_code,account_id,registered_on,deregistered_on
E1,A1,2026-09-01,
E1,A2,2026-10-20,2026-10-29
E1,A3,2026-10-31,
E1,A4,2026-10-01,2026-10-05
E1,A5,2026-10-11,2026-10-12
E1,A5,2026-10-15,2026-10-17
E2,B1,2026-01-01,
""",
    "one_time_charges": """contract_code,description,amount,due_on
E2,設定変更作業,5000,2026-10-05
""",
}


def auth_counts_file():
    rows = ["contract_code,date,success_count"]
    rows += [f"S1,2026-10-{day:02d},10000" for day in range(1, 16)]
    rows.append("S1,2026-10-16,5000")  # after the termination: not billed, flagged
    rows.append("E2,2026-10-31,250000")  # E2 is Service Provider from October
    return "\n".join(rows) + "\n"


def import_everything(tmp_path):
    """Every file through the command, as operators run it: rate cards entered by
    "nyuryoku", then approved by "shonin" running the import as themselves (four-eyes)."""
    for name in ("nyuryoku", "shonin"):
        user = get_user_model().objects.create_user(name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name="Sales"))  # may enter and approve rate cards
    files = dict(FILES, auth_counts=auth_counts_file())
    order = [
        "customers",
        "iijid_contracts",
        "contracts",
        "item_changes",
        "terminations",
        "rate_cards",
        "accounts",
        "auth_counts",
        "one_time_charges",
    ]
    for kind in order:
        import_text(tmp_path, kind, files[kind])


def import_text(tmp_path, kind, text, name=None):
    """One file through import_csv, run by "nyuryoku"; a rate card file is then imported
    again by "shonin", whose name its rows carry as their approver."""
    steps = [(text, "nyuryoku")]
    if kind == "rate_cards":
        entered, approvals = split_approvals(text)
        steps = [(entered, "nyuryoku"), (approvals, "shonin")]
    for number, (data, user) in enumerate(steps):
        path = tmp_path / f"{name or kind}-{number}.csv"
        path.write_text(data, encoding="utf-8")
        call_command("import_csv", kind, str(path), "--user", user, stdout=io.StringIO())


def bill(month, *args):
    out = io.StringIO()
    call_command("bill_month", month, *args, stdout=out)
    return out.getvalue()


def export(month, tmp_path, *args):
    path = tmp_path / f"export-{month}.csv"
    call_command("export_invoices", month, "--output", str(path), *args)
    data = path.read_bytes()
    return data, list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def lines_of(rows, customer):
    return [
        (r["contract_code"], r["line_type"], r["quantity"], r["unit_price"], r["amount"])
        for r in rows
        if r["customer_code"] == customer
    ]


def test_october_2026_end_to_end(tmp_path):
    check_october_2026(tmp_path)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_october_2026_with_the_accounts_read_on_a_second_connection(tmp_path, monkeypatch):
    """Outside an enclosing transaction, PostgreSQL reads the month's days of use on a
    second connection while the run goes on (runs.compute.account_days_reader): the same
    invoices, and the second connection is closed afterwards."""
    from billing import runs

    threads, closed = [], []
    original = runs.compute._account_days_on_own_connection

    def recording(month, customer_ids=None):
        threads.append(threading.current_thread().name)
        try:
            return original(month, customer_ids)
        finally:
            closed.append(connection.connection is None)  # this thread's connection

    monkeypatch.setattr(runs.compute, "_account_days_on_own_connection", recording)
    check_october_2026(tmp_path)
    assert len(threads) == 1 and threads[0].startswith("billing-account-days")
    assert closed == [True]


def check_october_2026(tmp_path):
    import_everything(tmp_path)
    output = bill("2026-10")
    assert "請求書: 3件、請求合計（税込）: 223,159円" in output

    data, rows = export("2026-10", tmp_path)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert lines_of(rows, "C1") == [
        # E1: billing from 2026-10-11: 21 of 31 days; initial fee on its first invoice
        ("E1", "initial_fee", "1", "0", "0"),
        ("E1", "base_fee", "1", "30000", "20322"),  # floor(30000 × 21/31 = 20322.58)
        # A1 21 days → 0.677; A2 10 → 0.322; A3 1 → 0.032; A4 0 (before service);
        # A5 2 + 3 = 5 days → 0.161; Σ 1.192 × 300 = 357.6 → 357
        ("E1", "account_fee", "1.192", "300", "357"),
        # S1: terminated, notice 2026-09-15 → effective 2026-10-15: 15 days
        ("S1", "base_fee", "1", "50000", "24193"),  # floor(50000 × 15/31 = 24193.548)
        # 15 × 10,000 = 150,000, graduated: 100,000 × 0.50 + 50,000 × 0.30
        ("S1", "auth_api_fee", "150000", "", "65000"),
    ]
    c1 = {r["invoice_total"] for r in rows if r["customer_code"] == "C1"}
    # 20322 + 357 + 24193 + 65000 = 109872; tax floor(10987.2) = 10987
    assert {r["invoice_subtotal"] for r in rows if r["customer_code"] == "C1"} == {"109872"}
    assert {r["invoice_tax"] for r in rows if r["customer_code"] == "C1"} == {"10987"}
    assert c1 == {"120859"}

    assert lines_of(rows, "C2") == [
        # E2 is Service Provider from October (item change) under its October rate card
        ("E2", "base_fee", "1", "12000", "12000"),
        ("E2", "auth_api_fee", "250000", "0.3", "75000"),  # volume: 250,000 × 0.30
        ("E2", "one_time_fee", "1", "5000", "5000"),
    ]
    # 92000, tax 9200, total 101200
    assert {
        (r["invoice_subtotal"], r["invoice_tax"], r["invoice_total"])
        for r in rows
        if r["customer_code"] == "C2"
    } == {("92000", "9200", "101200")}
    # C4: 1000 base + 0 accounts; billed although the IIJ ID contract ended 2026-10-20
    assert lines_of(rows, "C4") == [
        ("E4", "base_fee", "1", "1000", "1000"),
        ("E4", "account_fee", "0.000", "100", "0"),
    ]
    assert not lines_of(rows, "C3")  # X3's rate card is not approved: nothing billed

    exceptions = {
        (e.contract.code, e.rule, e.code, e.billed) for e in RunException.objects.select_related("contract")
    }
    assert exceptions == {
        ("X3", "R8", "rate_card_not_approved", False),
        ("E4", "R3", "iijid_lapsed", True),
        ("S1", "R11", "auth_counts_outside_service", True),
    }
    lapsed = RunException.objects.get(code="iijid_lapsed")
    assert "11" in lapsed.message  # 2026-10-21 … 31
    assert "X3" in output and "E4" in output


def test_september_uses_the_earlier_item_and_rate_card(tmp_path):
    import_everything(tmp_path)
    bill("2026-09")
    _, rows = export("2026-09", tmp_path)
    # E2 still Enterprise in September, card 2026-01..2026-09: base 10000, B1 30/30 days × 200
    assert lines_of(rows, "C2") == [
        ("E2", "base_fee", "1", "10000", "10000"),
        ("E2", "account_fee", "1.000", "200", "200"),
    ]
    assert {r["invoice_total"] for r in rows if r["customer_code"] == "C2"} == {"11220"}


def test_rerun_replaces_drafts_with_the_same_result_then_issue_locks_the_month(tmp_path):
    import_everything(tmp_path)
    bill("2026-10")
    first_data, _ = export("2026-10", tmp_path)
    first_ids = set(Invoice.objects.values_list("pk", flat=True))
    bill("2026-10")
    second_data, _ = export("2026-10", tmp_path)
    assert second_data == first_data
    assert Invoice.objects.count() == 3
    assert not first_ids & set(Invoice.objects.values_list("pk", flat=True))  # replaced, not kept

    output = bill("2026-10", "--issue")
    assert "2026年10月の請求書を発行しました。" in output
    issued = list(Invoice.objects.order_by("number"))
    # gapless, in customer-code order
    assert [(i.number, i.customer_code) for i in issued] == [
        ("SK-202610-0001", "C1"),
        ("SK-202610-0002", "C2"),
        ("SK-202610-0003", "C4"),
    ]
    assert all(i.status == InvoiceStatus.ISSUED for i in issued)
    assert {i.issue_date for i in issued} == {timezone.localdate()}
    assert issued[0].issuer_registration_number == "T2010001034531"
    # issued today: the due dates are bank business days near their rule's day (R18; exact
    # dates for fixed days in test_runs.py)
    terms_day = issued[1].issue_date + dt.timedelta(days=30)  # C2's terms
    assert terms_day - dt.timedelta(days=10) <= issued[1].due_date <= terms_day
    # C1 has no terms: the last bank business day of a month after the issue
    assert issued[0].due_date > issued[0].issue_date
    following_days = [issued[0].due_date + dt.timedelta(days=n) for n in range(1, 11)]
    rest_of_month = [d for d in following_days if d.month == issued[0].due_date.month]
    assert all(periods.is_bank_holiday(d) for d in rest_of_month)
    assert not any(periods.is_bank_holiday(i.due_date) for i in issued)

    with pytest.raises(CommandError, match="2026年10月"):
        bill("2026-10")
    with pytest.raises(CommandError, match="2026年10月"):
        bill("2026-10", "--issue")
    assert BillingRun.objects.get().status == "issued"

    _, rows = export("2026-10", tmp_path, "--layout", "invoices")
    assert [(r["invoice_number"], r["status"], r["total"], r["line_count"]) for r in rows] == [
        ("SK-202610-0001", "issued", "120859", "5"),
        ("SK-202610-0002", "issued", "101200", "3"),
        ("SK-202610-0003", "issued", "1100", "2"),
    ]


def test_leap_february_2028(tmp_path):
    import_everything(tmp_path)
    for kind, text in {
        "contracts": "contract_code,customer_code,item,applied_on,accepted_on,conditions_confirmed_on,billing_start_on\n"
        "L1,C3,enterprise,2028-02-01,2028-02-02,2028-02-10,2028-02-15\n",
        "rate_cards": "contract_code,valid_from,base_fee,account_unit_price,approved_by,approved_on,notified_on\n"
        "L1,2028-02,29000,300,shonin,,2028-02-04\n",
        "accounts": "contract_code,account_id,registered_on\nL1,Z1,2028-02-29\n",
    }.items():
        import_text(tmp_path, kind, text, name=f"leap-{kind}")
    bill("2028-02")
    _, rows = export("2028-02", tmp_path)
    assert lines_of(rows, "C3") == [
        ("L1", "initial_fee", "1", "0", "0"),
        ("L1", "base_fee", "1", "29000", "15000"),  # 15 of 29 days: 29000 × 15/29 = 15000 exactly
        ("L1", "account_fee", "0.034", "300", "10"),  # 1/29 = 0.0344… → 0.034 × 300 = 10.2
    ]
    assert {r["invoice_total"] for r in rows if r["customer_code"] == "C3"} == {"16511"}  # 15010 + 1501
