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
from django.db import DatabaseError, connection, transaction

from billing import runs
from billing.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import AccountRegistrationFactory, AuthCountFactory, RateCardFactory

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
    slow_down(monkeypatch, runs.month, "compute_unsettled")
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
    slow_down(monkeypatch, runs.month, "compute_unsettled")
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


@pytest.fixture
def mixed_customers():
    """October 2026, billed all month: C1 Enterprise (base 1,000 yen; two accounts all month
    at 300: 600), C2 Service Provider (base 2,000 yen; 10,000 authentications on 1 October,
    the first tier of R11 at 0.50: 5,000), C3 Enterprise (base 1,000 yen, no account: 0)."""
    customers = {}
    for code, item in (("C1", "enterprise"), ("C2", "service_provider"), ("C3", "enterprise")):
        contract = ContractFactory(
            code=f"K-{code}",
            customer=CustomerFactory(code=code),
            item=item,
            in_service=True,
            applied_on=D(2026, 9, 20),
            accepted_on=D(2026, 9, 25),
            billing_start_on=D(2026, 10, 1),
        )
        base = Decimal("2000") if item == "service_provider" else Decimal("1000")
        RateCardFactory(contract=contract, base_fee=base)
        customers[code] = contract
    AccountRegistrationFactory(contract=customers["C1"], registered_on=D(2026, 10, 1))
    AccountRegistrationFactory(contract=customers["C1"], registered_on=D(2026, 9, 1))
    AuthCountFactory(contract=customers["C2"], date=D(2026, 10, 1), success_count=10_000)
    return customers


#: C1 1,000 + 600 = 1,600 + tax 160; C2 2,000 + 5,000 = 7,000 + tax 700; C3 1,000 + tax 100
MIXED = [("C1", Decimal("1760")), ("C2", Decimal("7700")), ("C3", Decimal("1100"))]


def watch_the_read(monkeypatch):
    """The customers of each ``save_invoices`` of the run, and those written before the
    second connection's read of the days of use returned (it waits, up to 10 s, for a
    first write)."""
    written, before_the_read_ended = [], []
    first_write = threading.Event()
    save, read = runs.persist.save_invoices, runs.compute.account_day_histograms

    def saving(run, drafts, *args, **kwargs):
        written.append([draft.customer.code for draft in drafts])
        ids = save(run, drafts, *args, **kwargs)
        first_write.set()
        return ids

    def reading(month, customer_ids=None):
        first_write.wait(timeout=10)
        before_the_read_ended.extend(code for codes in written for code in codes)
        return read(month, customer_ids)

    monkeypatch.setattr(runs.persist, "save_invoices", saving)
    monkeypatch.setattr(runs.compute, "account_day_histograms", reading)
    return written, before_the_read_ended, reading


def by_id():
    return list(Invoice.objects.order_by("pk").values_list("customer_code", "total"))


def test_invoices_without_account_fees_are_written_while_the_days_of_use_are_read(
    mixed_customers, monkeypatch
):
    """On its own transaction (the command) the run writes the invoices whose amounts do
    not wait for the days of use (C2's) while the second connection reads them, and the
    others after; the ids keep the customers' order, as one write after the read gives
    them inside an enclosing transaction."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())  # drafts to replace
    written, before_the_read_ended, _read = watch_the_read(monkeypatch)
    call_command("bill_month", "2026-10", stdout=io.StringIO())

    assert written == [["C2"], ["C1", "C3"]]
    assert before_the_read_ended == ["C2"]
    assert by_id() == MIXED
    # C1: the initial fee (none on the card), base 1,000 and two accounts of 31 days
    # (coefficient 1.000 each) at 300
    assert list(
        InvoiceLine.objects.filter(invoice__customer_code="C1")
        .order_by("position")
        .values_list("line_type", "quantity", "amount")
    ) == [
        ("initial_fee", Decimal("1"), Decimal("0")),
        ("base_fee", Decimal("1"), Decimal("1000")),
        ("account_fee", Decimal("2"), Decimal("600")),
    ]

    written.clear()
    with transaction.atomic():
        runs.billing_month_compute(month=D(2026, 10, 1))
    assert written == [["C1", "C2", "C3"]]  # one write, once the days are read
    assert by_id() == MIXED
    assert InvoiceLine.objects.count() == 9  # three a contract


def test_a_failed_read_undoes_the_invoices_written_while_it_ran(mixed_customers, monkeypatch):
    """The invoices written while the days of use were read (C2's) go with the rest when
    that read fails: the month's drafts, their lines and the audit trail are as they were."""
    call_command("bill_month", "2026-10", stdout=io.StringIO())
    before = sorted(Invoice.objects.values_list("pk", "customer_code", "total"))
    lines_before = sorted(InvoiceLine.objects.values_list("pk", flat=True))
    history_before = Invoice.history.count()
    written, before_the_read_ended, reading = watch_the_read(monkeypatch)

    def failing(month, customer_ids=None):
        reading(month, customer_ids)
        raise DatabaseError("canceling statement due to statement timeout")

    monkeypatch.setattr(runs.compute, "account_day_histograms", failing)
    with pytest.raises(DatabaseError, match="statement timeout"):
        call_command("bill_month", "2026-10", stdout=io.StringIO())

    assert before_the_read_ended == ["C2"]  # written, then undone
    assert written == [["C2"]]
    assert sorted(Invoice.objects.values_list("pk", "customer_code", "total")) == before
    assert [(code, total) for _pk, code, total in before] == MIXED
    assert sorted(InvoiceLine.objects.values_list("pk", flat=True)) == lines_before
    assert Invoice.history.count() == history_before
