"""generate_demo_data: deterministic, valid under the regulation, and billable."""

import datetime as dt
import io
import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from billing.devtools.demo import DemoSize, demo_data_generate
from billing.models import AccountRegistration, AuthCount, Invoice, InvoiceLine, OneTimeCharge, RateCard
from billing.runs import billing_month_compute
from contracts.models import Contract, Customer, ItemChange, Termination

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 1)
OCTOBER = dt.date(2026, 10, 1)
SIZE = DemoSize(contracts=60, accounts=3_000, auth_days=900, seed=7)


def snapshot() -> dict:
    """The generated rows by natural keys (ids differ from run to run)."""
    return {
        "customers": list(
            Customer.objects.order_by("code").values_list("code", "name", "payment_terms_days")
        ),
        "contracts": list(
            Contract.objects.order_by("code").values_list(
                "code", "customer__code", "item", "accepted_on", "billing_start_on"
            )
        ),
        "changes": list(
            ItemChange.objects.order_by("contract__code").values_list("contract__code", "effective_month")
        ),
        "terminations": list(
            Termination.objects.order_by("contract__code").values_list("contract__code", "effective_on")
        ),
        "cards": list(
            RateCard.objects.order_by("contract__code", "valid_from").values_list(
                "contract__code",
                "valid_from",
                "valid_until",
                "base_fee",
                "account_unit_price",
                "auth_pricing",
            )
        ),
        "accounts": list(
            AccountRegistration.objects.order_by("contract__code", "account_id", "registered_on").values_list(
                "contract__code", "account_id", "registered_on", "deregistered_on"
            )
        ),
        "auth": list(
            AuthCount.objects.order_by("contract__code", "date").values_list(
                "contract__code", "date", "success_count"
            )
        ),
        "charges": list(
            OneTimeCharge.objects.order_by("contract__code").values_list("contract__code", "due_on", "amount")
        ),
    }


def test_same_seed_same_data_other_seed_other_data():
    with transaction.atomic():
        demo_data_generate(size=SIZE, today=TODAY)
        first = snapshot()
        transaction.set_rollback(True)
    with transaction.atomic():
        demo_data_generate(size=DemoSize(contracts=60, accounts=3_000, auth_days=900, seed=8), today=TODAY)
        other = snapshot()
        transaction.set_rollback(True)
    demo_data_generate(size=SIZE, today=TODAY)
    assert snapshot() == first
    assert other["accounts"] != first["accounts"]


def test_sizes_are_exact_and_usage_stops_the_day_before():
    created = demo_data_generate(size=SIZE, today=TODAY)
    assert created["contracts"] == Contract.objects.count() == 60
    assert created["customers"] == Customer.objects.count() == 40  # two for every three contracts
    assert created["accounts"] == AccountRegistration.objects.count() == 3_000
    assert created["auth_days"] == AuthCount.objects.count() == 900
    assert AuthCount.objects.filter(date__gte=TODAY).count() == 0
    assert AccountRegistration.objects.filter(registered_on__gte=TODAY).count() == 0


def test_rows_obey_the_rules():
    demo_data_generate(size=SIZE, today=TODAY)
    # R8: approved by someone else than the author, and notified; one in 40 awaiting approval
    cards = list(RateCard.objects.select_related("contract"))
    approved = [c for c in cards if c.approved_by_id]
    assert approved and all(c.approved_by_id != c.created_by_id and c.notified_on for c in approved)
    assert {c.auth_pricing for c in cards} == {"", "per_unit", "graduated", "volume"}
    for card in cards:  # each card carries what the items of its months need
        card.full_clean()
    # R10: the periods of one account never overlap, and end by the termination
    periods = {}
    for contract, account, first, last in AccountRegistration.objects.values_list(
        "contract_id", "account_id", "registered_on", "deregistered_on"
    ):
        periods.setdefault((contract, account), []).append((first, last or dt.date.max))
    for spans in periods.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    assert any(len(spans) > 1 for spans in periods.values())  # churn: accounts come back
    assert AccountRegistration.objects.filter(deregistered_on__isnull=False).exists()
    for termination in Termination.objects.filter(effective_on__isnull=False):
        assert not AccountRegistration.objects.filter(
            contract=termination.contract_id, registered_on__gt=termination.effective_on
        ).exists()
        assert not AccountRegistration.objects.filter(
            contract=termination.contract_id, deregistered_on__isnull=True
        ).exists()
    for change in ItemChange.objects.select_related("contract"):
        change.full_clean()
    for contract in Contract.objects.all():
        contract.full_clean()


def test_the_previous_month_is_billable():
    demo_data_generate(size=SIZE, today=TODAY)
    summary = billing_month_compute(month=OCTOBER)
    assert summary.invoices > 20 and summary.total > 0
    kinds = set(InvoiceLine.objects.values_list("line_type", flat=True))
    assert {"base_fee", "account_fee", "auth_api_fee"} <= kinds
    assert Invoice.objects.count() == summary.invoices


def test_command_refuses_twice_and_bad_sizes():
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "generate_demo_data",
        "--contracts=6",
        "--accounts=50",
        "--auth-days=20",
        "--today=2026-11-01",
        stdout=out,
        stderr=err,
    )
    assert "accounts: 50" in out.getvalue()
    # the twelve months before October issued, even with six contracts (the first one is
    # applied on the first day of the data), October left as drafts; no month refused
    assert "2026年9月までの12か月分を発行しました。2026年10月は下書きとして計算済みです" in out.getvalue()
    assert "発行する下書きの請求書がありません" not in err.getvalue()
    with pytest.raises(CommandError, match="デモデータ"):  # "Demo data already exists"
        call_command("generate_demo_data", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("generate_demo_data", "--accounts=-1", stdout=io.StringIO())


def test_a_year_of_issued_history_and_the_previous_month_as_drafts():
    """Issue 15, item 13: the dashboard chart and the receivables have a year to show."""
    from billing.devtools.demo import demo_history_bill
    from billing.models import BillingRun, RunException

    demo_data_generate(size=SIZE, today=TODAY)
    # the history pages say who entered and who approved (issue 15, item 5)
    from billing.models import RateCard

    card = RateCard.objects.filter(approved_by__isnull=False).select_related("contract").first()
    trail = card.history.order_by("history_date", "history_id")
    assert [(r.history_type, r.history_user) for r in trail] == [
        ("+", card.created_by),
        ("~", card.approved_by),
    ]
    assert card.contract.history.get().history_user == card.created_by
    history = demo_history_bill(today=TODAY, months=12)
    # October 2025 … September 2026 issued, October 2026 (the previous month) left as drafts
    assert history.issued[0] == dt.date(2025, 10, 1) and history.issued[-1] == dt.date(2026, 9, 1)
    assert len(history.issued) + len(history.refused) == 12
    assert len(history.issued) >= 10, history.refused
    assert BillingRun.objects.get(month=OCTOBER).status == "draft"
    assert set(BillingRun.objects.filter(status="issued").values_list("month", flat=True)) == set(
        history.issued
    )
    # a few exceptions to act on: the cards left awaiting approval (R8) among them
    assert history.exceptions == RunException.objects.filter(run__month=OCTOBER).count() > 0
    september = Invoice.objects.filter(billing_month=dt.date(2026, 9, 1), status="issued")
    assert september.exists() and all(invoice.issue_date == dt.date(2026, 10, 2) for invoice in september)
    assert september.first().issued_by.username == "demo-keiri"
    # R19: each issued month's PDFs kept, as at every issue
    from billing.models import StoredDocument

    issued_invoices = Invoice.objects.filter(billing_month__in=history.issued, number__isnull=False)
    assert StoredDocument.objects.filter(invoice__in=issued_invoices).count() == issued_invoices.count() > 0


def test_the_demo_prepares_a_bank_file_that_imports_and_matches(tmp_path, monkeypatch):
    """`manage.py demo` on an empty database: the year of history, then the 振込入金通知 of the
    open invoices (R17), which imports with most transfers matched and one left to a person."""
    from billing.management.commands import demo
    from billing.models import Deposit

    bank_file = tmp_path / "demo-bank-file.txt"
    monkeypatch.setattr(demo, "DEMO_BANK_FILE", bank_file)
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    assert f"銀行:     {bank_file}" in out.getvalue()
    call_command("import_payments", str(bank_file), stdout=io.StringIO())
    deposits = Deposit.objects.count()
    assert deposits > 1
    assert Deposit.objects.filter(customer__isnull=True).count() == 1  # the unknown payer waits
