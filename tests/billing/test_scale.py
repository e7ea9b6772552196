"""Scale: what must not grow with the data (queries of bill_month and of the changelists),
the bulk paths of the accounts import, and the benchmark itself (run small, as CI does;
its timings never fail a test)."""

import datetime as dt
import io
import shutil

import environ
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from billing.devtools.demo import DemoSize, demo_data_generate
from billing.models import AccountRegistration, AuthCount, BillingRun, Invoice, InvoiceLine
from billing.runs import billing_month_compute
from contracts.csvimport import text_lines
from contracts.models import Contract, Customer, Item
from tests.conftest import count_queries
from tests.contracts.factories import ContractFactory, CustomerFactory

pytestmark = pytest.mark.django_db

D = dt.date
OCTOBER = D(2026, 10, 1)


def compute_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        billing_month_compute(month=OCTOBER)
    return len(queries)


def test_bill_month_queries_do_not_grow_with_accounts_or_days():
    demo_data_generate(size=DemoSize(contracts=30, accounts=60, auth_days=30), today=D(2026, 11, 1))
    billing_month_compute(month=OCTOBER)  # drafts to replace, as in the second run below
    few = compute_queries()
    before = InvoiceLine.objects.get(contract__code="SK000001", line_type="account_fee").quantity

    # ten times the accounts, and a count for every day of October of every Service Provider
    contracts = Contract.objects.filter(billing_start_on__isnull=False, termination__isnull=True)
    AccountRegistration.objects.bulk_create(
        AccountRegistration(contract=c, account_id=f"more{n:04d}", registered_on=D(2026, 10, 1 + n % 28))
        for c in contracts.filter(item=Item.ENTERPRISE)
        for n in range(20)
    )
    AuthCount.objects.filter(date__gte=OCTOBER).delete()
    AuthCount.objects.bulk_create(
        AuthCount(contract=c, date=OCTOBER + dt.timedelta(days=d), success_count=1000)
        for c in contracts.filter(item=Item.SERVICE_PROVIDER)
        for d in range(31)
    )
    assert AccountRegistration.objects.count() >= 5 * 60
    assert AuthCount.objects.filter(date__gte=OCTOBER).count() >= 10 * 30

    assert compute_queries() == few
    assert InvoiceLine.objects.get(contract__code="SK000001", line_type="account_fee").quantity > before


def test_recomputing_records_the_replaced_drafts_in_the_audit_trail(django_user_model):
    demo_data_generate(size=DemoSize(contracts=12, accounts=40, auth_days=40), today=D(2026, 11, 1))
    billing_month_compute(month=OCTOBER)
    drafts = {i.pk: i.total.amount for i in Invoice.objects.all()}
    billing_month_compute(month=OCTOBER)
    deleted = Invoice.history.filter(history_type="-")
    assert {h.id: h.total.amount for h in deleted} == drafts
    assert all(h.status == "draft" and h.history_user is None for h in deleted)
    assert not Invoice.objects.filter(pk__in=drafts).exists()
    assert not InvoiceLine.objects.filter(invoice_id__in=drafts).exists()


# --- changelists -----------------------------------------------------------------------


def invoices(count: int) -> None:
    run, _created = BillingRun.objects.get_or_create(month=OCTOBER)
    Invoice.objects.bulk_create(
        Invoice(
            run=run,
            customer=c,
            billing_month=OCTOBER,
            customer_code=c.code,
            billing_name=c.billing_name,
            subtotal=1000,
            tax=100,
            total=1100,
        )
        for c in CustomerFactory.create_batch(count)
    )


def contracts(count: int) -> None:
    ContractFactory.create_batch(count, in_service=True)


def accounts(count: int) -> None:
    contract = Contract.objects.first() or ContractFactory(in_service=True)
    start = AccountRegistration.objects.count()
    AccountRegistration.objects.bulk_create(
        AccountRegistration(contract=contract, account_id=f"a{start + n}", registered_on=D(2026, 4, 1))
        for n in range(count)
    )


@pytest.mark.parametrize(
    ("url", "add"),
    [
        ("admin:billing_invoice_changelist", invoices),
        ("admin:contracts_contract_changelist", contracts),
        ("admin:billing_accountregistration_changelist", accounts),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(staff_client, url, add):
    add(3)
    few = count_queries(staff_client, reverse(url))
    add(150)  # more than a page
    assert count_queries(staff_client, reverse(url)) == few


# --- the accounts import ---------------------------------------------------------------


def import_accounts(tmp_path, text: str, err=None) -> str:
    path = tmp_path / "accounts.csv"
    path.write_text("contract_code,account_id,registered_on,deregistered_on\n" + text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_csv", "accounts", str(path), stdout=out, stderr=err or io.StringIO())
    return out.getvalue()


def test_accounts_import_checks_overlaps_with_the_stored_periods_of_its_accounts(tmp_path):
    ContractFactory(code="E1", in_service=True)
    ContractFactory(code="E2", in_service=True)
    import_accounts(tmp_path, "E1,A1,2026-04-01,2026-04-30\nE1,A2,2026-04-01,\nE2,A1,2026-04-01,\n")

    err = io.StringIO()
    with pytest.raises(CommandError):
        import_accounts(tmp_path, "E1,A1,2026-04-30,\nE1,A3,2026-04-01,\n", err)
    assert err.getvalue().startswith("line 2, column registered_on: ")
    assert "2026-04-01" in err.getvalue() and "line 3" not in err.getvalue()
    assert AccountRegistration.objects.count() == 3

    # a later period of A1, a new account, and a period that rewrites a stored one
    out = import_accounts(tmp_path, "E1,A1,2026-05-01,\nE1,A3,2026-04-01,\nE2,A1,2026-04-01,2026-09-30\n")
    assert "新規 2件、更新 1件、変更なし 0件" in out  # 2 created, 1 updated
    assert AccountRegistration.objects.count() == 5
    assert AccountRegistration.objects.get(contract__code="E2", account_id="A1").deregistered_on == D(
        2026, 9, 30
    )

    # the same file again: nothing changes
    out = import_accounts(tmp_path, "E1,A1,2026-05-01,\nE1,A3,2026-04-01,\nE2,A1,2026-04-01,2026-09-30\n")
    assert AccountRegistration.objects.count() == 5
    assert "新規 0件、更新 0件、変更なし 3件" in out  # 3 unchanged


@given(st.text(alphabet='ab,"\r\n\u2028\x0b', max_size=30))
def test_text_lines_splits_as_stringio(text):
    assert list(text_lines(text)) == list(io.StringIO(text, newline=""))


# --- the benchmark ----------------------------------------------------------------------


def scratch_name() -> str:
    """Beside the developer's database (not the test database's name)."""
    return f"{environ.Env().db('DATABASE_URL', default='sqlite:///x')['NAME']}_benchmark"


@pytest.mark.postgres
def test_benchmark_runs_small_and_leaves_no_trace():
    customers = Customer.objects.count()
    out = io.StringIO()
    call_command(
        "benchmark_billing", "--size", "ci", "--repeat", "1", "--database", scratch_name(), stdout=out
    )
    report = out.getvalue()
    for expected in (
        "== ci: 40 contracts, 4,000 account registration periods, 600 authentication-day rows",
        "ratio bill_month / lower bound:",
        "export_invoices:",
        "COPY of the same rows into the same table:",
        "changelist invoices: ",
        "changelist contracts: ",
        "changelist accounts: ",
    ):
        assert expected in report, report
    assert ", 0 differ" in report  # the lower bound computes the quantities billed
    assert "(accounts: 2000" in report.replace("accounts: 2,000", "accounts: 2000")
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None
    ) as conn:
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [scratch_name()]).fetchone() is None
        )
    assert Customer.objects.count() == customers


@pytest.mark.postgres
def test_benchmark_never_drops_a_database_it_did_not_make():
    db = settings.DATABASES["default"]
    other = f"{scratch_name()}_not_mine"
    params = {"user": db["USER"], "host": db["HOST"] or None, "port": db["PORT"] or None, "autocommit": True}
    with psycopg.connect(dbname=db["NAME"], **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{other}"')
        conn.execute(f'CREATE DATABASE "{other}"')
        try:
            with pytest.raises(CommandError, match="was not made by this benchmark"):
                call_command("benchmark_billing", "--size", "ci", "--database", other, stdout=io.StringIO())
            assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [other]).fetchone()
        finally:
            conn.execute(f'DROP DATABASE IF EXISTS "{other}"')
    with pytest.raises(CommandError, match="scratch database"):
        call_command("benchmark_billing", "--database", db["NAME"], stdout=io.StringIO())


def test_benchmark_needs_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the benchmark runs (test above)")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("benchmark_billing", "--size", "ci", stdout=io.StringIO())


@pytest.mark.postgres
def test_benchmark_needs_no_database_of_the_configured_name():
    """On a fresh machine DATABASE_URL may name a database nobody created yet (the tests
    make their own): the benchmark creates and drops its scratch database through the
    server's maintenance database instead."""
    from billing.devtools.benchmark import Benchmark

    bench = Benchmark(database=scratch_name(), repeat=1, keep=False, write=print, progress=print)
    bench.db["NAME"] = "smartkey_never_created"
    try:
        assert "PostgreSQL 1" in bench.machine()
        bench.create_database()
        bench.drop_database()
        with bench.connect_to_server() as conn:
            assert (
                conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [scratch_name()]).fetchone()
                is None
            )
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)


def test_settling_late_changes_costs_no_query_per_contract_or_past_month():
    """R15: a run reads only the closed months noted as changed, each once for all its noted
    contracts: the same queries for one late contract as for every contract of the month
    (and, tests/billing/test_late_changes.py, for one past month as for thirteen)."""
    from billing.models import LateChange
    from billing.runs import billing_month_issue

    demo_data_generate(size=DemoSize(contracts=30, accounts=60, auth_days=30), today=D(2026, 11, 1))
    billing_month_compute(month=OCTOBER)
    billing_month_issue(month=OCTOBER, today=D(2026, 11, 2))
    november = D(2026, 11, 1)
    contracts = list(Contract.objects.filter(billing_start_on__isnull=False).order_by("code"))

    def queries_with_notes(noted):
        LateChange.objects.all().delete()
        LateChange.objects.bulk_create(
            LateChange(contract=c, month=OCTOBER, noted_at=c.created_at) for c in noted
        )
        with CaptureQueriesContext(connection) as queries:
            billing_month_compute(month=november)
        # one bulk INSERT per table: SQLite splits a bulk insert into batches of at most
        # 999 variables, so more lines may take one more statement there (not one per contract)
        inserts = {q["sql"].split("(", 1)[0] for q in queries if q["sql"].startswith("INSERT")}
        return len([q for q in queries if not q["sql"].startswith("INSERT")]) + len(inserts)

    # a count of 10-31 one higher for every Service Provider contract: each one adjusts
    AuthCount.objects.filter(date=D(2026, 10, 31)).update(success_count=1_000_001)
    billing_month_compute(month=november)  # both measured runs replace drafts
    one = queries_with_notes(contracts[:1])
    every = queries_with_notes(contracts)
    assert InvoiceLine.objects.filter(invoice__billing_month=november, line_type="adjustment").count() >= 5
    assert one == every
