"""bill_month as operators run it: who ran it (--user) on the run, the invoices and their
audit trail; stored text shown visibly; a reader that stops early (`| head -1`)."""

import datetime as dt
import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import BillingRun, Invoice
from contracts.models import CONDITIONS, Contract, Customer

from ..contracts.factories import ContractFactory, CustomerFactory
from ..processes import MANAGE, command_env
from .factories import RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

APRIL = dt.date(2026, 4, 1)


def bill(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command("bill_month", *args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def two_customers():
    for _ in range(2):
        RateCardFactory(contract=ContractFactory(in_service=True))


class TestUser:
    def test_computing_and_issuing_record_the_user_on_the_run_the_invoices_and_their_history(self):
        two_customers()
        keiri = UserFactory(username="keiri1")
        bill("2026-04", "--user", "keiri1")
        run = BillingRun.objects.get(month=APRIL)
        assert run.computed_by == keiri
        assert run.history.latest().history_user == keiri

        bill("2026-04", "--user", "keiri1")  # a recomputation deletes the drafts: recorded too
        deleted = Invoice.history.filter(history_type="-")
        assert deleted.count() == 2 and {h.history_user for h in deleted} == {keiri}

        other = UserFactory(username="keiri2")
        bill("2026-04", "--issue", "--user", "keiri2")
        run.refresh_from_db()
        assert (run.computed_by, run.issued_by) == (keiri, other)
        assert run.history.latest().history_user == other
        invoices = Invoice.objects.filter(run=run)
        assert invoices.count() == 2
        for invoice in invoices:
            assert invoice.status == "issued" and invoice.issued_by == other
            assert invoice.history.latest().history_user == other

    def test_without_user_nobody_is_recorded(self):
        two_customers()
        bill("2026-04")
        bill("2026-04", "--issue")
        run = BillingRun.objects.get(month=APRIL)
        assert (run.computed_by, run.issued_by, run.history.latest().history_user) == (None, None, None)

    @pytest.mark.parametrize(
        "user",
        [
            {"username": "nobody"},
            {"username": "gone", "is_active": False},
            {"username": "x", "is_staff": False},
        ],
    )
    def test_only_an_active_staff_member_is_accepted_and_nothing_is_computed(self, user):
        two_customers()
        if user["username"] != "nobody":
            UserFactory(**user)
        with pytest.raises(
            CommandError, match=rf"--user '{user['username']}' は有効なスタッフではありません。"
        ):
            bill("2026-04", "--user", user["username"])
        assert not BillingRun.objects.exists()


def test_stored_control_characters_are_shown_as_escapes():
    """A contract code and a customer name stored before invisible characters were
    refused: the exception line shows the code as escapes, and the terminal is not cleared."""
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(name="株式会社\x1b[2Jテスト")
    contract = ContractFactory(in_service=True, customer=customer)
    Contract.objects.filter(pk=contract.pk).update(code="SK\x1b[2J\u202e1")  # no rate card: an exception
    output = bill("2026-04")
    assert "\x1b" not in output and "\u202e" not in output
    assert "  SK\\x1b[2J\\u202e1 [R8] (請求なし) " in output


class PipeClosedAfterFirstWrite:
    """Standard output read by `| head -1`: the first write goes through, every later
    one finds the pipe closed."""

    def __init__(self):
        self.written = ""

    def write(self, text):
        if self.written:
            raise BrokenPipeError(32, "Broken pipe")
        self.written += text

    def flush(self):
        if len(self.written) > 1:
            raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        return 99


def test_a_reader_that_stops_early_ends_bill_month_quietly(monkeypatch):
    two_customers()
    redirected = []
    monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))
    out, err = PipeClosedAfterFirstWrite(), io.StringIO()
    call_command("bill_month", "2026-04", stdout=out, stderr=err)
    assert out.written == "2026年4月の請求書を下書きとして計算しました。\n"
    assert redirected == [99]  # once: later writes are dropped, not retried
    assert err.getvalue() == ""
    assert Invoice.objects.filter(billing_month=APRIL).count() == 2  # the month was computed


# --- the real command, its output read by a process that stops early -----------------------


def run_with_reader(args, *, read_lines: int, tmp_path):
    """Run manage.py with its standard output read by a reader that takes ``read_lines``
    lines and closes the pipe (0: closed before the command writes anything); standard
    error goes to a file. Returns (exit status, lines read, standard error)."""
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, MANAGE, *args],
            env=command_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        lines = [process.stdout.readline() for _ in range(read_lines)]
        process.stdout.close()
        status = process.wait(timeout=300)
    return status, lines, errors.read_text()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("read_lines", [0, 1])
def test_bill_month_piped_into_head_ends_quietly(tmp_path, read_lines):
    """`bill_month 2026-04 | head -1`: 1,500 exception lines (about 200 kB, more than a pipe
    holds), of which the reader takes one line, or none."""
    customers = CustomerFactory.create_batch(3)
    Contract.objects.bulk_create(
        Contract(code=f"NOCARD{n:04d}", customer=customers[n % 3], item="enterprise", applied_on=dt.date(2026, 3, 20),
                 accepted_on=dt.date(2026, 3, 25), billing_start_on=dt.date(2026, 3, 25),
                 **{c.date_field: dt.date(2026, 3, 25) for c in CONDITIONS})
        for n in range(1500)
    )  # fmt: skip
    status, lines, errors = run_with_reader(
        ["bill_month", "2026-04"], read_lines=read_lines, tmp_path=tmp_path
    )
    assert (status, errors) == (0, "")
    assert lines == ["2026年4月の請求書を下書きとして計算しました。\n"][:read_lines]
    assert BillingRun.objects.get(month=APRIL).exceptions.count() == 1500
