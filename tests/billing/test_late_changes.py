"""R15: nothing entered late is lost. A change that would alter what an issued month bills
is accepted, noted, and settled on the customer's next run as adjustment lines (now −
billed, per contract, component and closed month); nothing is billed twice. Every amount
is worked out by hand from rules.md in the comments."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import (
    AuthCount,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LateChange,
    OneTimeCharge,
    RunException,
)
from billing.runs import (
    BillingRefused,
    billing_month_compute,
    billing_month_issue,
    invoice_void_and_replace,
)
from contracts.models import Termination
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import AuthCountFactory, RateCardFactory

pytestmark = pytest.mark.django_db

D = dt.date
OCT, NOV, DEC, JAN = D(2026, 10, 1), D(2026, 11, 1), D(2026, 12, 1), D(2027, 1, 1)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def import_csv(tmp_path, kind, text):
    out = io.StringIO()
    call_command("import_csv", kind, write(tmp_path, f"{kind}.csv", text), stdout=out)
    return out.getvalue()


def lines_of(month, customer_code="C-LATE"):
    invoice = Invoice.objects.live().get(billing_month=month, customer_code=customer_code)
    return [
        (line.contract.code, line.line_type, line.description, line.amount.amount)
        for line in invoice.lines.select_related("contract")
    ]


def adjustments_of(month):
    return [
        (
            line.contract.code,
            line.adjusted_month,
            line.adjusted_line_type,
            line.amount.amount,
            line.description,
        )
        for line in InvoiceLine.objects.filter(invoice__billing_month=month, line_type="adjustment")
        .exclude(invoice__status=InvoiceStatus.VOID)
        .select_related("contract")
        .order_by("invoice__customer_code", "contract__code", "position")
    ]


@pytest.fixture
def november(tmp_path):
    """rules.md R15's first example: a Service Provider contract priced 0.35 per
    authentication, base fee 10,000; November's counts total 407,562 (29 days of 14,000 =
    406,000, and 1,562 on 11-30): 407,562 × 0.35 = 142,646.7 → 142,646 yen. November is
    issued on 12-02 as SK-202611-0001."""
    customer = CustomerFactory(code="C-LATE", billing_name="株式会社レイト 御中")
    contract = ContractFactory(
        customer=customer,
        code="S-LATE",
        item="service_provider",
        in_service=True,
        billing_start_on=D(2026, 4, 1),
    )
    RateCardFactory(
        contract=contract, base_fee=Decimal("10000"), auth_pricing="per_unit", tiers=[(None, "0.35")]
    )
    rows = ["contract_code,date,success_count"]
    rows += [f"S-LATE,2026-11-{day:02d},14000" for day in range(1, 30)]
    rows.append("S-LATE,2026-11-30,1562")
    import_csv(tmp_path, "auth_counts", "\n".join(rows) + "\n")
    billing_month_compute(month=NOV)
    billing_month_issue(month=NOV, today=D(2026, 12, 2))
    assert lines_of(NOV) == [
        ("S-LATE", "base_fee", "月額基本料 2026年11月分", 10000),
        ("S-LATE", "auth_api_fee", "認証API使用料（単価制）", 142646),
    ]
    assert LateChange.objects.count() == 0  # nothing was late yet
    return contract


def test_rules_example_a_recount_of_the_30th_is_adjusted_on_december(november, tmp_path):
    # 12-03: the count of 11-30 re-imported 10,000 higher
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("S-LATE", NOV)]

    billing_month_compute(month=DEC)
    # floor(417,562 × 0.35) − 142,646 = 146,146 − 142,646 = 3,500
    assert lines_of(DEC) == [
        ("S-LATE", "base_fee", "月額基本料 2026年12月分", 10000),
        ("S-LATE", "auth_api_fee", "認証API使用料（単価制）", 0),
        ("S-LATE", "adjustment", "2026年11月分 認証API使用料の調整（元請求書 SK-202611-0001）", 3500),
    ]
    draft = Invoice.objects.get(billing_month=DEC)
    # tax once on the invoice: 13,500 × 10% = 1,350
    assert (draft.subtotal.amount, draft.tax.amount, draft.total.amount) == (13500, 1350, 14850)
    line = draft.lines.get(line_type="adjustment")
    assert (line.adjusted_month, line.adjusted_line_type, line.adjusted_basis.amount) == (
        NOV,
        "auth_api_fee",
        142646,
    )
    assert line.adjusted_invoice == Invoice.objects.get(number="SK-202611-0001")
    notice = RunException.objects.get(run__month=DEC, rule="R15")
    assert notice.code == "late_change_adjusted"
    assert notice.billed
    assert "142,646円" in notice.message and "146,146円" in notice.message
    assert "3,500円" in notice.action


def test_re_runs_never_bill_the_difference_twice(november, tmp_path):
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    for _ in range(3):
        billing_month_compute(month=DEC)
    assert [a[3] for a in adjustments_of(DEC)] == [3500]
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    assert LateChange.objects.count() == 0  # settled by December's issue

    # nothing late since: January bills no adjustment, however often it is computed
    billing_month_compute(month=JAN)
    billing_month_compute(month=JAN)
    assert adjustments_of(JAN) == []


def test_a_further_late_change_bills_only_the_new_difference(november, tmp_path):
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_compute(month=DEC)
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    # after December (with its adjustment) is issued, 11-30 is corrected again: +1,000
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,12562\n")
    billing_month_compute(month=JAN)
    # floor(418,562 × 0.35) = floor(146,496.7) = 146,496; billed 142,646 + 3,500 = 146,146 → 350
    assert adjustments_of(JAN) == [
        ("S-LATE", NOV, "auth_api_fee", 350, "2026年11月分 認証API使用料の調整（元請求書 SK-202611-0001）")
    ]
    notice = RunException.objects.get(run__month=JAN, rule="R15")
    assert "146,146円" in notice.message and "146,496円" in notice.message


def test_a_lower_count_is_a_negative_adjustment(november, tmp_path):
    # 11-30 re-imported as 0: 406,000 × 0.35 = 142,100 → −546
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,0\n")
    billing_month_compute(month=DEC)
    assert [a[3] for a in adjustments_of(DEC)] == [-546]
    draft = Invoice.objects.get(billing_month=DEC)
    # 10,000 − 546 = 9,454, tax 945
    assert (draft.subtotal.amount, draft.tax.amount, draft.total.amount) == (9454, 945, 10399)
    summary = billing_month_issue(month=DEC, today=D(2027, 1, 4))
    assert (summary.invoices, summary.credit_notes) == (1, 0)
    assert Invoice.objects.get(billing_month=DEC).number == "SK-202612-0001"


def test_rules_example_a_one_time_charge_entered_after_the_month_was_issued(november, tmp_path):
    """The revenue loss the issue reported: ¥50,000 due 2026-11-20, entered after November
    was issued, used to be saved and never billed."""
    import_csv(
        tmp_path,
        "one_time_charges",
        "contract_code,description,amount,due_on\nS-LATE,オンサイト導入支援,50000,2026-11-20\n",
    )
    billing_month_compute(month=DEC)
    assert adjustments_of(DEC) == [
        (
            "S-LATE",
            NOV,
            "one_time_fee",
            50000,
            "2026年11月分 一時費用の調整 オンサイト導入支援・期日2026年11月20日（元請求書 SK-202611-0001）",
        )
    ]
    summary = billing_month_issue(month=DEC, today=D(2027, 1, 4))
    # 10,000 + 0 + 50,000 = 60,000, tax 6,000
    assert summary.total == 66000


def test_a_one_time_charge_withdrawn_after_issue_is_credited(november):
    charge = OneTimeCharge.objects.create(
        contract=november, description="研修", amount=Decimal("8000"), due_on=D(2026, 12, 5)
    )
    billing_month_compute(month=DEC)
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    charge.delete()  # in the shell or the admin
    billing_month_compute(month=JAN)
    assert adjustments_of(JAN) == [
        (
            "S-LATE",
            DEC,
            "one_time_fee",
            -8000,
            "2026年12月分 一時費用の調整 研修・期日2026年12月5日・取消（元請求書 SK-202612-0001）",
        )
    ]


def test_a_termination_entered_late_credits_the_days_after_it(november):
    """A termination effective 11-10 (R6: received 10-01, requested 11-10) entered after
    November was issued: 10 service days, the base fee becomes floor(10,000 × 10/30) =
    3,333 (R9), and only the counts of 11-01..11-10 are billed: 140,000 × 0.35 = 49,000."""
    Termination.objects.create(
        contract=november,
        notice_received_on=D(2026, 10, 1),
        requested_on=D(2026, 11, 10),
        on_prescribed_form=True,
    )
    billing_month_compute(month=DEC)
    # base fee: 3,333 − 10,000 = −6,667; authentication: 49,000 − 142,646 = −93,646
    assert [(a[2], a[3]) for a in adjustments_of(DEC)] == [("base_fee", -6667), ("auth_api_fee", -93646)]
    # the contract has ended: December bills nothing but the adjustments, −100,313 in all,
    # so no invoice: a credit note of 100,313 (tax 10,031) against November's invoice
    summary = billing_month_issue(month=DEC, today=D(2027, 1, 4))
    assert (summary.invoices, summary.credit_notes, summary.credited) == (0, 1, Decimal("110344"))
    note = CreditNote.objects.get()
    assert (note.number, note.invoice.number, note.origin, note.billing_month) == (
        "CN-202701-0001",
        "SK-202611-0001",
        "negative_month",
        DEC,
    )
    assert (note.subtotal.amount, note.tax.amount, note.total.amount) == (100313, 10031, 110344)
    assert [(line.billed_month, line.billed_line_type, line.amount.amount) for line in note.lines.all()] == [
        (NOV, "base_fee", 6667),
        (NOV, "auth_api_fee", 93646),
    ]
    assert not Invoice.objects.filter(billing_month=DEC).exists()  # the draft is gone, with its history
    assert Invoice.history.filter(billing_month=DEC, history_type="-").count() == 1

    # what the credit note returned counts as settled: January has nothing to adjust
    LateChange.objects.create(contract=november, month=NOV, noted_at=november.created_at)
    billing_month_compute(month=JAN)
    assert adjustments_of(JAN) == []


def test_a_rate_card_approved_after_the_month_was_issued(november):
    """A second contract in service from 11-01 had no rate card in November (R8: nothing
    billed, the run said so); its card, entered and approved in December, bills November's
    base fee of 20,000 as an adjustment on December's invoice."""
    late = ContractFactory(
        customer=november.customer,
        code="S-NEW",
        item="service_provider",
        in_service=True,
        billing_start_on=NOV,
    )
    # billing started in a closed month: noted already (November billed nothing for it)
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("S-NEW", NOV)]
    RateCardFactory(contract=late, base_fee=Decimal("20000"), auth_pricing="per_unit", tiers=[(None, "0.35")])
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("S-NEW", NOV)]
    billing_month_compute(month=DEC)
    assert [(a[0], a[2], a[3], a[4]) for a in adjustments_of(DEC)] == [
        ("S-NEW", "base_fee", 20000, "2026年11月分 月額基本料の調整（元請求書 SK-202611-0001）")
    ]


def test_late_changes_of_several_months_each_once(november, tmp_path):
    """Counts of November and of December, both imported late in one file."""
    billing_month_compute(month=DEC)
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    import_csv(
        tmp_path,
        "auth_counts",
        "contract_code,date,success_count\nS-LATE,2026-11-30,11562\nS-LATE,2026-12-01,1000\n",
    )
    assert sorted(LateChange.objects.values_list("month", flat=True)) == [NOV, DEC]
    billing_month_compute(month=JAN)
    # November: 3,500; December: 1,000 × 0.35 = 350
    assert [(a[1], a[3]) for a in adjustments_of(JAN)] == [(NOV, 3500), (DEC, 350)]
    assert [a[4] for a in adjustments_of(JAN)] == [
        "2026年11月分 認証API使用料の調整（元請求書 SK-202611-0001）",
        "2026年12月分 認証API使用料の調整（元請求書 SK-202612-0001）",
    ]


def test_a_change_noted_after_the_run_was_computed_waits_for_the_next_run(november, tmp_path):
    billing_month_compute(month=DEC)  # nothing late yet
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_issue(month=DEC, today=D(2027, 1, 4))  # issued without it: the note stays
    assert LateChange.objects.count() == 1
    billing_month_compute(month=JAN)
    assert [(a[1], a[3]) for a in adjustments_of(JAN)] == [(NOV, 3500)]


def test_an_adjustment_computed_before_its_month_was_replaced_is_refused_at_issue(november, tmp_path):
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_compute(month=DEC)  # +3,500 for November
    # then November's invoice is voided and replaced: the replacement bills 146,146 itself
    replacement = invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202611-0001"), by=None, reason="件数訂正", today=D(2026, 12, 4)
    )
    assert replacement.number == "SK-202611-0002"
    assert replacement.lines.get(line_type="auth_api_fee").amount.amount == 146146
    with pytest.raises(
        BillingRefused, match="R15: 2026年12月の計算後に2026年11月の請求額が変わりました（顧客 C-LATE）"
    ):
        billing_month_issue(month=DEC, today=D(2027, 1, 4))
    billing_month_compute(month=DEC)
    assert adjustments_of(DEC) == []  # the replacement settled it
    billing_month_issue(month=DEC, today=D(2027, 1, 4))


def test_replacing_a_month_whose_late_changes_were_settled_is_refused(november, tmp_path):
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_compute(month=DEC)
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    with pytest.raises(
        BillingRefused, match="R15: この顧客の2026年11月の締め後の変更はSK-202612-0001で精算済みです"
    ):
        invoice_void_and_replace(
            invoice=Invoice.objects.get(number="SK-202611-0001"),
            by=None,
            reason="再計算",
            today=D(2027, 1, 5),
        )
    assert Invoice.objects.get(number="SK-202611-0001").status == InvoiceStatus.ISSUED


def test_replacing_an_invoice_that_carried_adjustments_keeps_them(november, tmp_path):
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    billing_month_compute(month=DEC)
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    replacement = invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202612-0001"), by=None, reason="宛名訂正", today=D(2027, 1, 5)
    )
    assert [(line.line_type, line.amount.amount) for line in replacement.lines.all()] == [
        ("base_fee", 10000),
        ("auth_api_fee", 0),
        ("adjustment", 3500),
    ]
    billing_month_compute(month=JAN)
    assert adjustments_of(JAN) == []  # still billed once


def test_a_month_that_cannot_be_recomputed_is_held_not_credited(november, tmp_path):
    """If a closed month cannot be recomputed for a contract (R8: no rate card covers it),
    nothing is credited: the run says why, and the note stays for a later run."""
    ContractFactory(
        customer=november.customer,
        code="S-NOCARD",
        item="service_provider",
        in_service=True,
        billing_start_on=NOV,
    )
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-NOCARD,2026-11-30,500\n")
    billing_month_compute(month=DEC)
    assert adjustments_of(DEC) == []
    held = RunException.objects.get(run__month=DEC, rule="R15")
    assert (held.contract.code, held.code, held.billed) == ("S-NOCARD", "late_change_held", False)
    assert held.message.startswith("2026年11月は締め後に変更されましたが、再計算できません: ")
    billing_month_issue(month=DEC, today=D(2027, 1, 4))
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("S-NOCARD", NOV)]  # kept


def test_the_run_reads_only_the_months_that_changed_late():
    """A run's cost does not grow with the number of closed months: with one late change,
    the run after one issued month and the run after thirteen cost the same queries."""
    contract = ContractFactory(
        customer=CustomerFactory(code="C-HIST"),
        code="S-HIST",
        applied_on=D(2024, 12, 1),
        item="service_provider",
        in_service=True,
        billing_start_on=D(2025, 1, 1),
    )
    RateCardFactory(contract=contract, base_fee=Decimal("1000"), auth_pricing="per_unit", tiers=[(None, "1")])
    AuthCountFactory(contract=contract, date=D(2025, 1, 15), success_count=100)

    def issue(month):
        billing_month_compute(month=month)
        billing_month_issue(month=month, today=D(2027, 6, 1))

    def queries_of_the_run_of(month, late_count):
        # the count of 2025-01-15 corrected again: +50 on what was billed
        AuthCount.objects.filter(contract=contract, date=D(2025, 1, 15)).update(success_count=late_count)
        LateChange.objects.create(contract=contract, month=D(2025, 1, 1), noted_at=contract.created_at)
        with CaptureQueriesContext(connection) as queries:
            billing_month_compute(month=month)
        assert [(a[1], a[3]) for a in adjustments_of(month)] == [(D(2025, 1, 1), 50)]
        return len(queries)

    issue(D(2025, 1, 1))
    after_one = queries_of_the_run_of(D(2025, 2, 1), 150)
    for month in range(2, 13):
        issue(D(2025, month, 1))  # February's adjustment of 50 among them
    issue(D(2026, 1, 1))
    after_thirteen = queries_of_the_run_of(D(2026, 2, 1), 200)
    assert after_one == after_thirteen


def test_the_run_page_shows_what_waits_and_what_the_draft_settles(november, tmp_path, client):
    """The revenue-loss case again, as the accountant sees it: before the run the late
    charge waits (for November), after it December's draft lists the adjustment."""
    from django.urls import reverse

    from billing.models import BillingRun

    from .october import staff_with

    staff_with(client, "keiri", "billing.view_billingrun")
    billing_month_compute(month=DEC)
    run = BillingRun.objects.get(month=DEC)
    page = client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "発行済みの月への変更で、計算待ちのものはありません。" in page
    import_csv(
        tmp_path,
        "one_time_charges",
        "contract_code,description,amount,due_on\nS-LATE,オンサイト導入支援,50000,2026-11-20\n",
    )
    page = client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "<tr><td>2026年11月</td><td>1</td><td>0</td></tr>" in page  # one contract waits for a run
    billing_month_compute(month=DEC)
    page = client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "<tr><td>2026年11月</td><td>0</td><td>1</td></tr>" in page  # read by December's draft
    assert (
        "2026年11月分 一時費用の調整 オンサイト導入支援・期日2026年11月20日（元請求書 SK-202611-0001）"
        in page
    )
    assert '<td class="amount">50,000</td>' in page


def test_the_dashboard_shows_late_changes_waiting_until_a_run_settles_them(
    november, tmp_path, client, monkeypatch
):
    from django.urls import reverse

    from .october import staff_with

    monkeypatch.setattr("billing.dashboard.state._today", lambda: D(2026, 12, 5))
    staff_with(client, "keiri", "billing.view_billingrun", "billing.view_invoice", "billing.run_billing")
    assert 'id="late-changes"' not in client.get(reverse("admin:index")).content.decode()
    import_csv(tmp_path, "auth_counts", "contract_code,date,success_count\nS-LATE,2026-11-30,11562\n")
    page = client.get(reverse("admin:index")).content.decode()
    assert "<tr><td>2026年11月</td><td>1</td><td>0</td></tr>" in page
    billing_month_compute(month=DEC)
    page = client.get(reverse("admin:index")).content.decode()
    assert "<tr><td>2026年11月</td><td>0</td><td>1</td></tr>" in page
    billing_month_issue(month=DEC, today=D(2027, 1, 4))  # settled: nothing waits any more
    assert 'id="late-changes"' not in client.get(reverse("admin:index")).content.decode()
