"""Nothing partial, nothing twice (issue 4), on PostgreSQL with real processes:

- a bill_month or import_csv killed with SIGKILL part-way leaves the previous state;
- eight bill_month processes for one month at once leave exactly one invoice set;
- two imports of the same file at once leave no duplicates.

"Part-way" is observed, not guessed: the test waits until the command's database
session holds a transaction id (it has written) and kills it before it commits."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from billing.models import AccountRegistration, BillingRun, Invoice, InvoiceLine, RateCard
from contracts.models import CONDITIONS, Contract, Customer, IIJIDContract

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = dt.date
MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def command_env(app_name):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PGAPPNAME": app_name,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
    }


def start(app_name, *args):
    return subprocess.Popen(
        [sys.executable, MANAGE, *args],
        env=command_env(app_name),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def side_session():
    """A second connection of the test, in its own transaction."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432
    ) as side:
        with side.transaction():
            yield side


def wait_until_written(app_name, process, query_like, timeout=60, waiting=False):
    """Until the command's session, inside its open transaction, has written and has
    reached a statement matching ``query_like`` (its latest or current statement);
    with ``waiting``, until that statement is blocked on a lock."""
    deadline = time.monotonic() + timeout
    lock = " AND wait_event_type = 'Lock'" if waiting else ""
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                " AND backend_xid IS NOT NULL AND query ILIKE %s" + lock,
                [app_name, query_like],
            )
            if cursor.fetchone()[0]:
                return
            assert process.poll() is None, process.communicate()
            time.sleep(0.005)
    raise AssertionError("the command never started writing")


def kill_and_wait(app_name, process):
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()
    with connection.cursor() as cursor:
        for _ in range(500):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name])
            if not cursor.fetchone()[0]:
                return
            time.sleep(0.01)
        cursor.execute(
            "SELECT state, wait_event_type, left(query, 80) FROM pg_stat_activity WHERE application_name = %s",
            [app_name],
        )
        raise AssertionError(f"the killed session is still open: {cursor.fetchall()}")


def make_month(customers=60, accounts_per_contract=400):
    """Enterprise contracts in service all of October 2026, each with an approved card."""
    author = get_user_model().objects.create_user("author")
    approver = get_user_model().objects.create_user("approver")
    rows = Customer.objects.bulk_create(
        Customer(code=f"C{n:04d}", name=f"顧客{n}", billing_name=f"顧客{n} 御中") for n in range(customers)
    )
    IIJIDContract.objects.bulk_create(
        IIJIDContract(customer=c, code=f"ID{n:04d}", start_on=D(2020, 1, 1)) for n, c in enumerate(rows)
    )
    conditions = {c.date_field: D(2026, 1, 5) for c in CONDITIONS}
    contracts = Contract.objects.bulk_create(
        Contract(code=f"SK{n:04d}", customer=c, item="enterprise", applied_on=D(2026, 1, 1),
                 accepted_on=D(2026, 1, 2), billing_start_on=D(2026, 1, 10), **conditions)
        for n, c in enumerate(rows)
    )  # fmt: skip
    RateCard.objects.bulk_create(
        RateCard(contract=c, valid_from=D(2026, 1, 1), base_fee=10000, account_unit_price=300, created_by=author,
                 approved_by=approver, approved_on=D(2026, 1, 3), notified_on=D(2026, 1, 4))
        for c in contracts
    )  # fmt: skip
    AccountRegistration.objects.bulk_create(
        (
            AccountRegistration(contract=c, account_id=f"U{i}", registered_on=D(2026, 10, 1 + i % 28))
            for c in contracts
            for i in range(accounts_per_contract)
        ),
        batch_size=5000,
    )
    return contracts


def invoice_state():
    return sorted(
        Invoice.objects.values_list("pk", "customer_code", "status", "total", "number")
    ), InvoiceLine.objects.count()


def run(*args):
    result = subprocess.run(
        [sys.executable, MANAGE, *args], env=command_env("smartkey-test"), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bill_month_killed_part_way_leaves_the_previous_drafts():
    make_month()
    run("bill_month", "2026-10")
    before = invoice_state()
    assert len(before[0]) == 60

    # The run's very last write is the history row of its BillingRun. Another session
    # holds that table locked, so the run stops there: old drafts deleted, every new
    # invoice and line written, nothing committed. Then it is killed.
    with side_session() as side:
        side.execute("LOCK TABLE billing_historicalbillingrun IN ACCESS EXCLUSIVE MODE")
        process = start("smartkey-crash-bill", "bill_month", "2026-10")
        wait_until_written(
            "smartkey-crash-bill", process, 'INSERT INTO "billing_historicalbillingrun"%', waiting=True
        )
        process.send_signal(signal.SIGKILL)
        process.wait()
    # The lock is released: the server finds its client gone and rolls back (the client
    # died before it could send COMMIT).
    kill_and_wait("smartkey-crash-bill", process)

    assert invoice_state() == before  # the same draft rows: nothing deleted, nothing added
    assert BillingRun.objects.count() == 1


def test_import_killed_part_way_writes_nothing(tmp_path):
    contracts = make_month(customers=5, accounts_per_contract=0)
    path = tmp_path / "accounts.csv"
    with path.open("w") as handle:
        handle.write("contract_code,account_id,registered_on,deregistered_on\n")
        for n in range(200_000):
            handle.write(f"{contracts[n % 5].code},X{n},2026-10-01,\n")

    process = start("smartkey-crash-import", "import_csv", "accounts", str(path))
    wait_until_written("smartkey-crash-import", process, "COPY%")
    kill_and_wait("smartkey-crash-import", process)

    assert AccountRegistration.objects.count() == 0


def test_eight_bill_month_processes_at_once_leave_one_invoice_set():
    make_month(customers=40, accounts_per_contract=50)
    processes = [start(f"smartkey-race-{n}", "bill_month", "2026-10") for n in range(8)]
    results = [(*p.communicate(timeout=300), p.returncode) for p in processes]
    assert [r[2] for r in results] == [0] * 8, [r[1] for r in results]

    assert BillingRun.objects.count() == 1
    live = Invoice.objects.filter(billing_month=D(2026, 10, 1), status__in=["draft", "issued"])
    assert live.count() == 40
    assert sorted(live.values_list("customer_code", flat=True)) == [f"C{n:04d}" for n in range(40)]
    # every contract billed once: 40 × (base 10000 + accounts); no duplicate lines
    assert InvoiceLine.objects.filter(line_type="base_fee").count() == 40


def test_issue_racing_a_recompute_never_leaves_two_sets():
    make_month(customers=20, accounts_per_contract=20)
    run("bill_month", "2026-10")
    processes = [start("smartkey-issue", "bill_month", "2026-10", "--issue")] + [
        start(f"smartkey-recompute-{n}", "bill_month", "2026-10") for n in range(3)
    ]
    codes = [p.wait(timeout=300) for p in processes]
    assert codes[0] == 0
    live = Invoice.objects.filter(status__in=["draft", "issued"])
    assert live.count() == 20
    assert set(live.values_list("status", flat=True)) == {"issued"}
    # recomputes that came after the issue were refused cleanly (CommandError, exit 1)
    assert all(code in (0, 1) for code in codes[1:])


def test_two_imports_of_the_same_file_at_once_leave_no_duplicates(tmp_path):
    contracts = make_month(customers=5, accounts_per_contract=0)
    path = tmp_path / "accounts.csv"
    with path.open("w") as handle:
        handle.write("contract_code,account_id,registered_on\n")
        for n in range(20_000):
            handle.write(f"{contracts[n % 5].code},Y{n},2026-10-01\n")
    first, second = (
        start("smartkey-import-a", "import_csv", "accounts", str(path)),
        start("smartkey-import-b", "import_csv", "accounts", str(path)),
    )
    outputs = [first.communicate(timeout=300), second.communicate(timeout=300)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    assert AccountRegistration.objects.count() == 20_000
    summaries = sorted(out for out, _err in outputs)
    assert "新規 0件、更新 0件、変更なし 20000件" in summaries[0]
    assert "新規 20000件、更新 0件、変更なし 0件" in summaries[1]


# --- a connection that drops part-way (issue 10, item 4) --------------------------------

LOST = (
    "CommandError: データベースとの接続が切れました。何も書き込んでいません。"
    "データベースが動いていることを確かめてから、もう一度実行してください。"
)


def wait_for_statement(app_name, process, query_like, timeout=60, waiting=False):
    """Until the command's session is running (or, with ``waiting``, blocked on a lock in)
    a statement matching ``query_like``."""
    deadline = time.monotonic() + timeout
    state = " AND wait_event_type = 'Lock'" if waiting else " AND state = 'active'"
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND query ILIKE %s"
                + state,
                [app_name, query_like],
            )
            if cursor.fetchone()[0]:
                return
            assert process.poll() is None, process.communicate()
            time.sleep(0.005)
    raise AssertionError(f"the command never reached {query_like}")


def terminate(app_name):
    """What an administrator's pg_terminate_backend, a restart or a failover does to the
    command's sessions."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [app_name]
        )
        assert cursor.fetchall(), "no session to terminate"


def assert_one_line_saying_the_connection_was_lost(process):
    out, err = process.communicate(timeout=120)
    assert (process.returncode, out) == (1, ""), err
    assert "Traceback" not in err, err
    assert err.splitlines() == [LOST], err


def test_import_whose_connection_drops_during_its_copy_says_so_in_one_line(tmp_path):
    """psycopg's own error, raised inside the COPY of the rows (which runs on psycopg's
    cursor, not Django's), used to escape the importer as a traceback."""
    contracts = make_month(customers=5, accounts_per_contract=0)
    path = tmp_path / "accounts.csv"
    with path.open("w") as handle:
        handle.write("contract_code,account_id,registered_on,deregistered_on\n")
        for n in range(200_000):
            handle.write(f"{contracts[n % 5].code},Z{n},2026-10-01,\n")

    process = start("smartkey-lost-copy", "import_csv", "accounts", str(path))
    # the rows are flowing into the staging table, on psycopg's cursor (issue 16)
    wait_for_statement("smartkey-lost-copy", process, "COPY import_staging%")
    terminate("smartkey-lost-copy")
    assert_one_line_saying_the_connection_was_lost(process)
    assert AccountRegistration.objects.count() == 0


def test_import_whose_connection_drops_while_it_checks_says_so_in_one_line(tmp_path):
    """Not "line 1: the database failed …" as if the file were wrong."""
    contracts = make_month(customers=2, accounts_per_contract=0)
    path = tmp_path / "accounts.csv"
    path.write_text(
        "contract_code,account_id,registered_on\n" + "".join(f"{c.code},A1,2026-10-01\n" for c in contracts)
    )
    with side_session() as side:
        side.execute("LOCK TABLE billing_accountregistration IN ACCESS EXCLUSIVE MODE")
        process = start("smartkey-lost-check", "import_csv", "accounts", str(path))
        wait_for_statement("smartkey-lost-check", process, "%billing_accountregistration%", waiting=True)
        terminate("smartkey-lost-check")
    assert_one_line_saying_the_connection_was_lost(process)
    assert AccountRegistration.objects.count() == 0


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        # the new drafts, written with COPY (psycopg's cursor): held up by a live invoice of
        # one of their customers that another session has written and not committed
        ("billing_invoice", "COPY%"),
        # the run's very last write, through Django's cursor
        ("billing_historicalbillingrun", 'INSERT INTO "billing_historicalbillingrun"%'),
    ],
    ids=["copy", "insert"],
)
def test_bill_month_whose_connection_drops_part_way_says_so_in_one_line(table, statement):
    make_month(customers=20, accounts_per_contract=20)
    run("bill_month", "2026-10")
    if table == "billing_invoice":
        # one customer's draft gone (committed), so that the run writes it again
        gone = Invoice.objects.order_by("pk").last()
        InvoiceLine.objects.filter(invoice=gone).delete()
        Invoice.objects.filter(pk=gone.pk).delete()
    before = invoice_state()
    with side_session() as side:
        if table == "billing_invoice":
            # a live invoice of that customer and month, uncommitted: the run's COPY of
            # the customer's new draft waits on it (one live invoice a customer and month)
            side.execute("CREATE TEMPORARY TABLE held AS SELECT * FROM billing_invoice ORDER BY id LIMIT 1")
            side.execute(
                "UPDATE held SET id = nextval(pg_get_serial_sequence('billing_invoice', 'id')), "
                "customer_id = %s, customer_code = %s",
                [gone.customer_id, gone.customer_code],
            )
            side.execute("INSERT INTO billing_invoice SELECT * FROM held")
        else:
            side.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        process = start("smartkey-lost-bill", "bill_month", "2026-10")
        wait_until_written("smartkey-lost-bill", process, statement, waiting=True)
        terminate("smartkey-lost-bill")
        if table == "billing_invoice":
            raise psycopg.Rollback()
    assert_one_line_saying_the_connection_was_lost(process)
    assert invoice_state() == before  # the same drafts: nothing deleted, nothing added
