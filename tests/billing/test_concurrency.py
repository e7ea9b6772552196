"""Two bill_month commands for one month at the same time, each on its own database
connection (PostgreSQL): one waits for the other, and exactly one live set of invoices
remains (interfaces.md). The work is slowed down inside the lock so that the second
command really arrives while the first holds it."""

import datetime as dt
import io
import threading
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection

from billing import runs
from billing.models import BillingRun, Invoice, InvoiceStatus
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import RateCardFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = dt.date
#: how long the first command keeps the month locked
HOLD = 1.0


@pytest.fixture
def three_customers():
    """October 2026: three Enterprise customers billed all month at 1,000 yen (1,100 with tax)."""
    for code in ("C1", "C2", "C3"):
        contract = ContractFactory(
            code=f"E-{code}",
            customer=CustomerFactory(code=code),
            in_service=True,
            applied_on=D(2026, 9, 20),
            accepted_on=D(2026, 9, 25),
            billing_start_on=D(2026, 10, 1),
        )
        RateCardFactory(contract=contract, base_fee=Decimal("1000"))


class Command(threading.Thread):
    """``manage.py bill_month ARGS`` in a thread with its own database connection."""

    def __init__(self, *args, start_after=0.0, barrier=None):
        super().__init__()
        self.args, self.start_after, self.barrier = args, start_after, barrier
        self.error = None
        self.started_at = self.ended_at = None

    def run(self):
        try:
            if self.barrier:
                self.barrier.wait(timeout=10)
            time.sleep(self.start_after)
            self.started_at = time.monotonic()
            call_command("bill_month", *self.args, stdout=io.StringIO())
        except BaseException as error:
            self.error = error
        finally:
            self.ended_at = time.monotonic()
            connection.close()


def run_together(*commands):
    for command in commands:
        command.start()
    for command in commands:
        command.join(timeout=60)
        assert not command.is_alive(), "a bill_month command never finished (deadlock?)"
    return commands


def slow_down(monkeypatch, module, name):
    """Make ``module.<name>`` hold the month's lock for HOLD seconds."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(HOLD)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def live_invoices():
    return list(
        Invoice.objects.live()
        .order_by("customer_code")
        .values_list("customer_code", "status", "number", "total")
    )


@pytest.mark.parametrize("computed_before", [False, True], ids=["first-computation", "recomputation"])
def test_two_computations_of_one_month_leave_one_set(three_customers, monkeypatch, computed_before):
    if computed_before:
        call_command("bill_month", "2026-10", stdout=io.StringIO())
    slow_down(monkeypatch, runs.month, "compute")
    barrier = threading.Barrier(2)
    first, second = run_together(Command("2026-10", barrier=barrier), Command("2026-10", barrier=barrier))

    assert (first.error, second.error) == (None, None)  # the second one waited, then recomputed
    assert max(first.started_at, second.started_at) < min(first.ended_at, second.ended_at)  # they overlapped
    assert abs(first.ended_at - second.ended_at) >= HOLD * 0.9  # one after the other
    assert BillingRun.objects.count() == 1
    assert live_invoices() == [
        ("C1", InvoiceStatus.DRAFT, None, Decimal("1100")),
        ("C2", InvoiceStatus.DRAFT, None, Decimal("1100")),
        ("C3", InvoiceStatus.DRAFT, None, Decimal("1100")),
    ]
    assert Invoice.objects.count() == 3  # nothing left over from the first run either


def test_issue_while_a_recompute_is_waiting(three_customers, monkeypatch):
    """Issue first: the recompute waits for it, then finds the month issued and refuses."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())
    drafts = set(Invoice.objects.values_list("pk", flat=True))
    slow_down(monkeypatch, runs.issue, "issuer")
    issue, recompute = run_together(Command("2026-10", "--issue"), Command("2026-10", start_after=HOLD / 3))

    assert issue.error is None
    assert isinstance(recompute.error, CommandError)
    assert "2026年10月は発行済みのため、請求書は変更できません。" in str(recompute.error)
    # it waited for the issue's lock, held HOLD seconds (the issue's own end is recorded
    # after it has printed, which may come a moment after the waiting command's refusal)
    assert recompute.ended_at >= issue.started_at + HOLD
    assert live_invoices() == [
        ("C1", InvoiceStatus.ISSUED, "SK-202610-0001", Decimal("1100")),
        ("C2", InvoiceStatus.ISSUED, "SK-202610-0002", Decimal("1100")),
        ("C3", InvoiceStatus.ISSUED, "SK-202610-0003", Decimal("1100")),
    ]
    assert set(Invoice.objects.values_list("pk", flat=True)) == drafts  # the drafts that were issued
    assert BillingRun.objects.get().last_invoice_number == 3


def test_recompute_while_an_issue_is_waiting(three_customers, monkeypatch):
    """Recompute first: the issue waits for it, then issues the new drafts, and only those."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())
    old_drafts = set(Invoice.objects.values_list("pk", flat=True))
    slow_down(monkeypatch, runs.month, "compute")
    recompute, issue = run_together(Command("2026-10"), Command("2026-10", "--issue", start_after=HOLD / 3))

    assert (recompute.error, issue.error) == (None, None)
    assert issue.ended_at >= recompute.started_at + HOLD  # it waited for the recompute's lock
    assert live_invoices() == [
        ("C1", InvoiceStatus.ISSUED, "SK-202610-0001", Decimal("1100")),
        ("C2", InvoiceStatus.ISSUED, "SK-202610-0002", Decimal("1100")),
        ("C3", InvoiceStatus.ISSUED, "SK-202610-0003", Decimal("1100")),
    ]
    assert not set(Invoice.objects.values_list("pk", flat=True)) & old_drafts
    assert not Invoice.objects.filter(status=InvoiceStatus.DRAFT).exists()


def test_a_failure_on_the_second_connection_leaves_the_month_as_it_was(three_customers, monkeypatch):
    """The days of use are read on a second connection (runs.compute.account_days_reader);
    when that read fails, the run fails with its error and the drafts it was replacing
    are still there, untouched."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())
    before = sorted(Invoice.objects.values_list("pk", "customer_code", "total"))
    reader_threads = []

    def failing(month, customer_ids=None):
        reader_threads.append(threading.current_thread().name)
        raise DatabaseError("canceling statement due to statement timeout")

    monkeypatch.setattr(runs.compute, "account_day_histograms", failing)
    with pytest.raises(DatabaseError, match="statement timeout"):
        call_command("bill_month", "2026-10", stdout=io.StringIO())

    assert len(reader_threads) == 1 and reader_threads[0].startswith("billing-account-days")
    assert sorted(Invoice.objects.values_list("pk", "customer_code", "total")) == before
    assert len(before) == 3


def test_references_to_the_deleted_drafts_are_checked_before_the_month_is_computed(
    three_customers, monkeypatch
):
    """In the outermost transaction the checks that deleting the old drafts queued (that
    nothing refers to them any more) run right after the delete, while the days of use
    are read (persist.check_references_to_deleted_invoices), not at COMMIT: a draft still
    referred to is refused there, before anything is computed, and the month is left as
    it was."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())
    before = sorted(Invoice.objects.values_list("pk", "customer_code", "total"))

    def invoices_only(run, by=None, only=None):  # the lines left behind, still referring
        drafts = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT)
        drafts._raw_delete(drafts.db)

    computed = []
    monkeypatch.setattr(runs.month.persist, "drafts_delete", invoices_only)
    monkeypatch.setattr(runs.month, "compute", lambda *a, **k: computed.append(a) or ([], []))
    with pytest.raises(IntegrityError, match="billing_invoiceline"):
        call_command("bill_month", "2026-10", stdout=io.StringIO())

    assert computed == []
    assert sorted(Invoice.objects.values_list("pk", "customer_code", "total")) == before
