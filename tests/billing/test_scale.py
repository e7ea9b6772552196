"""Scale: what must not grow with the data (queries of bill_month and of the changelists),
the bulk paths of the accounts import, and the benchmark itself (run small, as CI does;
its timings never fail a test)."""

import datetime as dt
import io
import shutil
from decimal import Decimal

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
from billing.models import AccountRegistration, AuthCount, BillingRun, Invoice, InvoiceLine, OneTimeCharge
from billing.runs import billing_month_compute
from contracts import periods
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


def test_the_audit_trail_records_each_new_draft_as_it_was_written(django_user_model):
    """The "+" records of a run's drafts are copied from the rows written (one INSERT …
    SELECT), every tracked column, with who computed; recomputing records the same rows
    as "-" before it deletes them."""
    demo_data_generate(size=DemoSize(contracts=12, accounts=40, auth_days=40), today=D(2026, 11, 1))
    clerk = django_user_model.objects.create(username="keiri")
    billing_month_compute(month=OCTOBER, by=clerk)
    tracked = [f.attname for f in Invoice.history.model.tracked_fields]
    written = {row["id"]: row for row in Invoice.objects.values(*tracked)}
    assert len(written) >= 5

    def recorded(kind):
        return {
            row["id"]: row
            for row in Invoice.history.filter(history_type=kind, history_user=clerk).values(*tracked)
        }

    assert recorded("+") == written
    assert {row["status"] for row in written.values()} == {"draft"}
    billing_month_compute(month=OCTOBER, by=clerk)
    assert recorded("-") == written


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


def auth_counts(count: int) -> None:
    contract = Contract.objects.first() or ContractFactory(in_service=True, item=Item.SERVICE_PROVIDER)
    start = AuthCount.objects.count()
    AuthCount.objects.bulk_create(
        AuthCount(contract=contract, date=D(2020, 1, 1) + dt.timedelta(days=start + n), success_count=n)
        for n in range(count)
    )


def one_time_charges(count: int) -> None:
    contract = Contract.objects.first() or ContractFactory(in_service=True)
    start = OneTimeCharge.objects.count()
    OneTimeCharge.objects.bulk_create(
        OneTimeCharge(
            contract=contract, description=f"初期費用 {start + n}", amount=1000, due_on=D(2026, 4, 1)
        )
        for n in range(count)
    )


def customers(count: int) -> None:
    CustomerFactory.create_batch(count)


CHANGELISTS = [
    ("admin:billing_invoice_changelist", invoices, "C0", "month=2026-10"),
    ("admin:contracts_contract_changelist", contracts, "sk0", "status=in_service"),
    ("admin:contracts_customer_changelist", customers, "c0", "o=2"),
    ("admin:billing_accountregistration_changelist", accounts, "SK0", "month=2026-04"),
    ("admin:billing_authcount_changelist", auth_counts, "SK0", "month=2020-02"),
    ("admin:billing_onetimecharge_changelist", one_time_charges, "sk0 初期", "month=2026-04"),
]


@pytest.mark.parametrize(("url", "add", "search", "filtered"), CHANGELISTS)
def test_searched_and_filtered_changelists_cost_the_same_queries_at_any_size(
    staff_client, url, add, search, filtered
):
    pages = [f"{reverse(url)}?q={search}", f"{reverse(url)}?{filtered}"]
    add(3)
    few = [count_queries(staff_client, page) for page in pages]
    add(150)
    assert [count_queries(staff_client, page) for page in pages] == few


@pytest.mark.parametrize(
    "url",
    [
        "admin:billing_accountregistration_changelist",
        "admin:billing_authcount_changelist",
        "admin:billing_onetimecharge_changelist",
    ],
)
def test_usage_changelists_read_no_date_hierarchy(staff_client, url):
    """Issue 16: date_hierarchy's DISTINCT DATE_TRUNC and MIN/MAX read the whole table on
    every page; the month is a filter of the last 13 months, computed without a query."""
    accounts(3)
    auth_counts(3)
    one_time_charges(3)
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(reverse(url))
    assert response.status_code == 200
    sql = " ".join(q["sql"].upper() for q in queries)
    assert "DATE_TRUNC" not in sql and "MIN(" not in sql and "MAX(" not in sql
    assert "date_hierarchy" not in response.content.decode()
    assert "?month=2026-04" in response.content.decode() or "month=2026-04" in response.content.decode()


@pytest.mark.django_db
def test_usage_month_filters_keep_the_rows_of_the_month(staff_client, settings):
    settings.USE_TZ = True
    contract = ContractFactory(code="SK90001", in_service=True)
    AccountRegistration.objects.bulk_create(
        [
            AccountRegistration(
                contract=contract,
                account_id="march",
                registered_on=D(2026, 3, 1),
                deregistered_on=D(2026, 3, 31),
            ),
            AccountRegistration(contract=contract, account_id="spans", registered_on=D(2026, 3, 31)),
            AccountRegistration(contract=contract, account_id="may", registered_on=D(2026, 5, 1)),
        ]
    )
    page = staff_client.get(reverse("admin:billing_accountregistration_changelist") + "?month=2026-04")
    assert [r.account_id for r in page.context["cl"].result_list] == ["spans"]
    page = staff_client.get(reverse("admin:billing_accountregistration_changelist") + "?month=2026-13")
    assert list(page.context["cl"].result_list) == []


def test_searches_match_codes_by_their_start_in_any_case(staff_client):
    wanted = ContractFactory(code="SK12345", in_service=True)
    other = ContractFactory(code="XSK12345", in_service=True)
    AccountRegistration.objects.bulk_create(
        [
            AccountRegistration(contract=wanted, account_id="alice", registered_on=D(2026, 4, 1)),
            AccountRegistration(contract=other, account_id="bob", registered_on=D(2026, 4, 1)),
            AccountRegistration(contract=other, account_id="sk123-robot", registered_on=D(2026, 4, 1)),
        ]
    )
    url = reverse("admin:billing_accountregistration_changelist")

    def found(term):
        page = staff_client.get(url, {"q": term})
        return sorted(r.account_id for r in page.context["cl"].result_list)

    assert found("sk123") == ["alice", "sk123-robot"]  # the contract's code, or the ID's start
    assert found("SK12345") == ["alice"]
    assert found("12345") == []  # a code matches by its start, never in the middle
    assert found("BOB") == ["bob"]
    assert found("xsk bob") == ["bob"]  # every word must match

    contracts_url = reverse("admin:contracts_contract_changelist")
    page = staff_client.get(contracts_url, {"q": wanted.customer.name[-3:]})  # a name: anywhere
    assert [c.code for c in page.context["cl"].result_list] == ["SK12345"]
    page = staff_client.get(contracts_url, {"q": "xsk"})
    assert [c.code for c in page.context["cl"].result_list] == ["XSK12345"]
    assert "前方一致" in page.content.decode()  # the help under the search box says how it matches


@pytest.mark.postgres
def test_a_large_table_unfiltered_is_counted_from_the_statistics_and_says_so(staff_client, settings):
    settings.ADMIN_ESTIMATED_COUNT_FROM = 100
    url = reverse("admin:billing_accountregistration_changelist")
    accounts(150)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_accountregistration")
    accounts(10)  # not analysed yet: the estimate still says 150

    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(url).content.decode()
    assert "登録ID 約150件（統計からの概算）" in page, page
    assert not any("COUNT(*)" in q["sql"].upper() and "PG_CLASS" not in q["sql"].upper() for q in queries)

    # filtered, or a table below the threshold: counted exactly, and no word of an estimate
    response = staff_client.get(url, {"q": "SK"})
    assert response.context["cl"].result_count == 160 and not response.context["cl"].paginator.estimated
    assert "概算" not in response.content.decode()
    settings.ADMIN_ESTIMATED_COUNT_FROM = 1000
    page = staff_client.get(url).content.decode()
    assert "160 登録ID" in page and "概算" not in page


def explained(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "search", "table", "indexes"),
    [
        (
            "admin:billing_accountregistration_changelist",
            "sk00012",
            "billing_accountregistration",
            {"contract_code_upper_prefix", "account_id_upper_prefix"},
        ),
        (
            "admin:billing_invoice_changelist",
            "C0001",
            "billing_invoice",
            {"invoice_customer_code_upper_prefix"},
        ),
        (
            "admin:contracts_contract_changelist",
            "SK0001",
            "contracts_contract",
            {"contract_code_upper_prefix", "customer_name_upper_trgm"},
        ),
        ("admin:billing_authcount_changelist", "SK0001", "billing_authcount", {"contract_code_upper_prefix"}),
    ],
)
def test_changelist_plans_use_the_indexes(staff_client, url, search, table, indexes):
    """At a few thousand rows, with sequential scans priced out (enable_seqscan=off), every
    query of the page, unfiltered and searched, can be answered from an index: none reads
    the table from end to end."""
    for n in range(30):
        contract = ContractFactory(code=f"SK{n:05d}", in_service=True, item=Item.ENTERPRISE)
        AccountRegistration.objects.bulk_create(
            AccountRegistration(contract=contract, account_id=f"user{k}", registered_on=D(2026, 4, 1))
            for k in range(100)
        )
        AuthCount.objects.bulk_create(
            AuthCount(contract=contract, date=D(2026, 1, 1) + dt.timedelta(days=k), success_count=k)
            for k in range(100)
        )
    if table == "billing_invoice":
        invoices(2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SET enable_seqscan = off")
    try:
        plans = []
        for query in (None, search):
            with CaptureQueriesContext(connection) as queries:
                response = staff_client.get(reverse(url), {"q": query} if query else {})
            assert response.status_code == 200
            plans += [explained(q["sql"]) for q in queries if q["sql"].startswith("SELECT")]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
    plan = "\n".join(plans)
    assert f"Seq Scan on {table}" not in plan and "Seq Scan on contracts_contract" not in plan, plan
    for index in indexes:
        assert index in plan, plan


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
    assert "2026年4月1日〜2026年4月30日" in err.getvalue() and "line 3" not in err.getvalue()
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
    # the other usage kinds, every row new, each against COPY of the rows it wrote
    for kind in ("auth_counts", "one_time_charges"):
        assert f"import_csv {kind}, 2,000 rows: " in report, report
        assert (
            f"({kind}: 2000行: 新規 2000件、更新 0件、変更なし 0件); COPY of the rows it wrote " in report
        ), report
    assert "(the slower other kind; target 1.3x)" in report, report
    # the payments books of ci: 100 customers, one transfer each, four in five matched
    assert "import_payments, 100 transfers against 1,000 open invoices: " in report, report
    assert "(80 matched, 0 partly, 20 unmatched)" in report, report
    assert "ratio import_payments / bound " in report, report
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


@pytest.mark.parametrize("kind_name", ["auth_counts", "one_time_charges", "accounts"])
def test_usage_imports_read_no_stored_row_into_memory(kind_name, monkeypatch):
    """Issue 16: auth_counts and one_time_charges read every stored row of the file's
    contracts (years of days), so their memory grew with history; then only the rows the
    file's keys named; now none at all: the file is matched with the stored rows in SQL
    (``staging``), and what comes back to Python is counts and the first problems."""
    from contracts.csvimport import run_import

    contract = ContractFactory(code="SK77777", in_service=True)
    AuthCount.objects.bulk_create(
        AuthCount(contract=contract, date=D(2024, 1, 1) + dt.timedelta(days=n), success_count=n)
        for n in range(400)
    )
    OneTimeCharge.objects.bulk_create(
        OneTimeCharge(contract=contract, description=f"費用{n}", amount=100, due_on=D(2024, 1, 1))
        for n in range(400)
    )
    AccountRegistration.objects.bulk_create(
        AccountRegistration(contract=contract, account_id=f"a{n}", registered_on=D(2024, 1, 1))
        for n in range(400)
    )
    fetched = []

    class Counting:
        """A database cursor that counts the rows it hands to Python."""

        def __init__(self, cursor):
            self._cursor = cursor

        def __getattr__(self, name):
            return getattr(self._cursor, name)

        def __iter__(self):
            return iter(self.fetchall())

        def fetchone(self):
            row = self._cursor.fetchone()
            fetched.append(row is not None)
            return row

        def fetchmany(self, *args, **kwargs):
            rows = self._cursor.fetchmany(*args, **kwargs)
            fetched.append(len(rows))
            return rows

        def fetchall(self):
            rows = self._cursor.fetchall()
            fetched.append(len(rows))
            return rows

    create_cursor = connection.create_cursor
    monkeypatch.setattr(connection, "create_cursor", lambda name=None: Counting(create_cursor(name)))
    text = {
        "auth_counts": "contract_code,date,success_count\nSK77777,2024-01-11,5\nSK77777,2026-01-01,5\n",
        "one_time_charges": "contract_code,description,amount,due_on\nSK77777,費用10,100,2024-01-01\nSK77777,新規,100,2024-01-01\n",
        "accounts": "contract_code,account_id,registered_on,deregistered_on\nSK77777,a10,2024-01-01,2024-12-31\nSK77777,new,2024-01-01,\n",
    }[kind_name]
    counts = run_import(kind_name, text.encode()).counts
    assert (counts.created, counts.updated, counts.unchanged) == (
        (1, 0, 1) if kind_name == "one_time_charges" else (1, 1, 0)
    )
    # the counts' one row, the spans' one contract, and nothing of the 400 stored rows
    assert sum(fetched) <= 5, fetched


def test_issuing_writes_the_whole_month_at_once():
    """R12: issuing writes every draft of the month in one UPDATE (a batch per SQLite's limit
    on parameters: 333 invoices) and records each one's issue in the audit trail in one
    more, so a month of 40 invoices costs the statements of a month of 3; each gets its
    gapless number, its dates and its history record."""
    from billing.devtools import payments_scale
    from billing.runs import billing_month_issue

    def issued(month, customers):
        payments_scale.add_customers(customers)
        run = BillingRun.objects.create(month=month)
        payments_scale.insert_drafts(
            Invoice(
                run=run, billing_month=month, subtotal=Decimal(1000), tax=Decimal(100), total=Decimal(1100)
            )
        )
        # the drafts of the earlier month's customers too: both months number every customer
        with CaptureQueriesContext(connection) as queries:
            billing_month_issue(month=month, today=periods.next_month(month) + dt.timedelta(days=1))
        # one bulk INSERT per table: SQLite splits one into batches of 999 variables (19 rows
        # of the invoice's history), so more invoices may take more statements there
        inserts = {q["sql"].split("(", 1)[0] for q in queries if q["sql"].startswith("INSERT")}
        return len([q for q in queries if not q["sql"].startswith("INSERT")]) + len(inserts)

    few = issued(D(2026, 9, 1), range(3))
    many = issued(OCTOBER, range(3, 40))
    assert few == many
    october = Invoice.objects.filter(billing_month=OCTOBER).order_by("number")
    assert list(october.values_list("number", flat=True)) == [f"SK-202610-{n:04d}" for n in range(1, 41)]
    # customer-code order, each due on 2026-11-30 (月末締め翌月末払い, a Monday)
    assert [i.customer_code for i in october] == [f"PAYSCALE{n:06d}" for n in range(40)]
    assert set(october.values_list("status", "issue_date", "due_date")) == {
        ("issued", D(2026, 11, 2), D(2026, 11, 30))
    }
    assert Invoice.history.filter(billing_month=OCTOBER, history_type="~", status="issued").count() == 40
