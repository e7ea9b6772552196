"""R15 end to end, as the issue reported it: a one-time charge of ¥50,000 due 2026-11-20,
entered after November was issued, was saved with the normal success message and never
billed. Now the next run bills it, says so, and the export shows it — through the
commands, and through the admin's own form."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing import runs
from billing.models import Invoice, InvoiceStatus, LateChange
from tests.html_forms import form_data

from .test_import_bill_export import bill, export, import_everything, import_text

pytestmark = pytest.mark.django_db

DEC = dt.date(2026, 12, 1)


def issued_through_november(tmp_path):
    """The October files imported; October and November billed and issued by the command
    (both months have ended by the time the suite runs: it was written on 2026-12-01)."""
    import_everything(tmp_path)
    for month in ("2026-10", "2026-11"):
        bill(month)
        bill(month, "--issue")
    c1 = Invoice.objects.get(billing_month=dt.date(2026, 11, 1), customer_code="C1")
    assert (c1.status, c1.number) == (InvoiceStatus.ISSUED, "SK-202611-0001")
    return c1


def december_adjustment(tmp_path):
    _data, rows = export("2026-12", tmp_path)
    return [
        (r["contract_code"], r["line_type"], r["description"], r["amount"])
        for r in rows
        if r["line_type"] == "adjustment"
    ]


EXPECTED = [
    (
        "E1",
        "adjustment",
        "2026年11月分 一時費用の調整 オンサイト導入支援・期日2026年11月20日（元請求書 SK-202611-0001）",
        "50000",
    )
]


def test_a_charge_entered_after_issue_is_billed_by_the_next_run(tmp_path):
    november = issued_through_november(tmp_path)
    billed = (november.subtotal.amount, november.total.amount, november.lines.count())
    import_text(
        tmp_path,
        "one_time_charges",
        "contract_code,description,amount,due_on\nE1,オンサイト導入支援,50000,2026-11-20\n",
        name="late-charge",
    )
    output = bill("2026-12")
    # the run tells the accountant: a notice of R15, billed
    assert "[R15]" in output
    assert (
        "2026年11月は締め済みですが、その後の変更で一時費用が変わりました: 請求済み 0円、現在の計算 50,000円"
        in output
    )
    assert december_adjustment(tmp_path) == EXPECTED
    # November itself never changed
    november.refresh_from_db()
    assert november.status == InvoiceStatus.ISSUED
    assert (november.subtotal.amount, november.total.amount, november.lines.count()) == billed

    summary = runs.billing_month_issue(month=DEC, today=dt.date(2027, 1, 4))
    assert summary.invoices >= 1
    _data, rows = export("2026-12", tmp_path)
    issued = [r for r in rows if r["line_type"] == "adjustment"]
    assert [(r["status"], r["invoice_number"], r["amount"]) for r in issued] == [
        ("issued", "SK-202612-0001", "50000")
    ]
    assert LateChange.objects.count() == 0  # settled
    # January computes nothing more for it
    bill("2027-01")
    assert "[R15]" not in bill("2027-01")


def test_a_charge_entered_in_the_admin_after_issue_is_billed_too(tmp_path, client):
    issued_through_november(tmp_path)
    user = get_user_model().objects.create_user("eigyo", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_onetimecharge", "view_onetimecharge"])
    )
    client.force_login(user)
    url = reverse("admin:billing_onetimecharge_add")
    data = form_data(client.get(url).content.decode(), "onetimecharge_form")
    e1 = (
        Invoice.objects.filter(customer_code="C1")
        .first()
        .lines.get(contract__code="E1", line_type="base_fee")
        .contract
    )
    data.update(
        contract=str(e1.pk),
        description="オンサイト導入支援",
        amount_0="50000",
        amount_1="JPY",
        due_on="2026-11-20",
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("E1", dt.date(2026, 11, 1))]
    bill("2026-12")
    assert december_adjustment(tmp_path) == EXPECTED


def test_a_month_not_yet_issued_is_not_noted(tmp_path):
    """Data entered for a month still open is the month's own business, not a late change."""
    import_everything(tmp_path)
    bill("2026-10")
    import_text(
        tmp_path,
        "one_time_charges",
        "contract_code,description,amount,due_on\nE1,オンサイト導入支援,50000,2026-10-20\n",
        name="in-time",
    )
    assert LateChange.objects.count() == 0
