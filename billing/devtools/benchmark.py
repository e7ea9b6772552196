"""``manage.py benchmark_billing``: how billing scales, against the database's own lower bound.

For each size, in a scratch PostgreSQL database of its own (created, migrated, filled
by ``generate_demo_data`` and dropped at the end, so the developer's data is never
touched), it measures:

- ``bill_month`` (the service ``billing_month_compute``): time, queries, peak RSS;
- the raw SQL lower bound: the fastest single query found that reads the same rows and
  computes the same per-contract quantities (the sum of the accounts' truncated
  coefficients, R10, and the in-service authentication count, R11), checked against
  the quantities of the invoice lines that ``bill_month`` wrote;
- ``export_invoices`` of the month, then again with the month's lines multiplied, to
  show that its memory stays flat as the lines grow (it streams);
- ``import_csv accounts`` of a file of new registrations against ``COPY`` of the same
  rows (their contract codes resolved to ids beforehand, untimed) into the same table;
  ``import_csv auth_counts`` and ``one_time_charges`` against ``COPY`` of the rows they
  wrote (``benchmark_imports``);
- the invoice, contract and account changelists of the admin with at least
  ``listing_rows`` rows each: queries and time.

Everything that runs application code runs in a child process (``manage.py
benchmark_billing --worker …`` against the scratch database), so that each peak RSS
is the peak of that one operation's process (Django and the project loaded included).
Timings are medians of ``repeat`` runs; timing never fails anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from billing.devtools import benchmark_imports, benchmark_payments
from contracts import periods

#: The anchor day of the generated data, fixed so that every run bills the same data:
#: usage runs until the day before, so the month billed is the last complete one.
ANCHOR = dt.date(2026, 11, 1)
MONTH = periods.month_start(ANCHOR - dt.timedelta(days=1))
SEED = 2026
#: written on the scratch database, so that only a database made by this benchmark is
#: ever dropped by it
SCRATCH_COMMENT = "smartkey benchmark_billing scratch database (dropped after the run)"
RESULT_PREFIX = "BENCHMARK-RESULT "
IMPORT_PREFIX = "bench"


@dataclass(frozen=True)
class Size:
    name: str
    contracts: int
    accounts: int
    auth_days: int
    #: rows of the ``import_csv accounts`` file compared with COPY
    import_rows: int
    #: rows of each changelist (invoices, contracts, accounts) at least
    listing_rows: int
    #: invoice lines of the month for the second export
    export_lines: int
    #: customers of the payments books (ten issued months each) and transfers of the file
    payment_customers: int = 0

    def describe(self) -> str:
        return (
            f"{self.contracts:,} contracts, {self.accounts:,} account registration periods, "
            f"{self.auth_days:,} authentication-day rows"
        )


SIZES = {
    size.name: size
    for size in (
        Size("ci", 40, 4_000, 600, 2_000, 200, 5_000, payment_customers=100),
        Size("small", 500, 200_000, 7_500, 100_000, 10_000, 100_000, payment_customers=2_000),
        Size("target", 5_000, 2_000_000, 75_000, 1_000_000, 100_000, 1_000_000, payment_customers=10_000),
    )
}


def custom_size(base: Size, **overrides) -> Size:
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, name=base.name if not given else f"{base.name}*", **given)


# --- the lower bound ---------------------------------------------------------------------

_WINDOWS = """
    windows AS (
        SELECT c.id AS contract_id,
               GREATEST(c.billing_start_on, %(first)s) AS first_day,
               LEAST(COALESCE(t.effective_on, %(last)s), %(last)s) AS last_day
        FROM contracts_contract c
        LEFT JOIN contracts_termination t ON t.contract_id = c.id
        WHERE c.billing_start_on <= %(last)s AND (t.effective_on IS NULL OR t.effective_on >= %(first)s)
    )"""
_DAYS = (
    "LEAST(COALESCE(r.deregistered_on, w.last_day), w.last_day) - GREATEST(r.registered_on, w.first_day) + 1"
)
_IN_WINDOW = (
    "r.registered_on <= w.last_day AND (r.deregistered_on IS NULL OR r.deregistered_on >= w.first_day)"
)
_AUTH = """
    auth AS (
        SELECT a.contract_id, SUM(a.success_count) AS authentications
        FROM billing_authcount a JOIN windows w ON w.contract_id = a.contract_id
        WHERE a.date BETWEEN %(first)s AND %(last)s AND a.date BETWEEN w.first_day AND w.last_day
        GROUP BY a.contract_id
    )"""
_RESULT = """
    SELECT 'accounts', contract_id, days, accounts FROM accounts
    UNION ALL
    SELECT 'auth', contract_id, authentications, NULL FROM auth"""

#: Per contract: the histogram of its accounts' days of use in the month (days → number
#: of accounts, what billing reads for R10) and its authentications on days in service
#: (R11). Two plans of the same query; the faster one is the lower bound. The quantities
#: are then computed by billing's own R10 (``calculation.account_fee``), so that the
#: benchmark checks what the database reads, not a second copy of the rule.
LOWER_BOUND_SQL = {
    "per-contract LATERAL": f"""
        WITH {_WINDOWS},
        accounts AS (
            SELECT w.contract_id, x.days, x.accounts
            FROM windows w CROSS JOIN LATERAL (
                SELECT per_account.days, COUNT(*) AS accounts FROM (
                    SELECT SUM({_DAYS}) AS days
                    FROM billing_accountregistration r
                    WHERE r.contract_id = w.contract_id AND {_IN_WINDOW}
                    GROUP BY r.account_id
                ) per_account
                GROUP BY per_account.days
            ) x
            WHERE w.first_day <= w.last_day
        ),
        {_AUTH}
        {_RESULT}""",
    "one GROUP BY": f"""
        WITH {_WINDOWS},
        accounts AS (
            SELECT contract_id, days, COUNT(*) AS accounts FROM (
                SELECT r.contract_id, SUM({_DAYS}) AS days
                FROM billing_accountregistration r JOIN windows w ON w.contract_id = r.contract_id
                WHERE w.first_day <= w.last_day AND {_IN_WINDOW}
                GROUP BY r.contract_id, r.account_id
            ) per_account
            GROUP BY contract_id, days
        ),
        {_AUTH}
        {_RESULT}""",
}


def lower_bound_params(month: dt.date) -> dict:
    return {
        "first": periods.month_start(month),
        "last": periods.month_end(month),
        "days_in_month": periods.days_in_month(month),
    }


# --- results ------------------------------------------------------------------------------


@dataclass
class Measure:
    """Repeated runs of one operation."""

    seconds: list[float] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)

    def add(self, seconds: float, **details) -> None:
        self.seconds.append(seconds)
        self.details.append(details)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def last(self, key: str):
        return self.details[-1][key]

    def most(self, key: str):
        return max(d[key] for d in self.details)


def _mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:,.0f} MB"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


# --- the run ---------------------------------------------------------------------------------


class Benchmark:
    """Runs the sizes one after the other, each in a scratch database; ``write`` prints a
    line of the report, ``progress`` a line that only a terminal sees."""

    def __init__(
        self,
        *,
        database: str,
        repeat: int,
        keep: bool,
        write: Callable[[str], None],
        progress: Callable[[str], None],
    ):
        self.database = database
        self.repeat = repeat
        self.keep = keep
        self.write = write
        self.progress = progress
        self.db = dict(settings.DATABASES["default"])
        self.tmp = Path(tempfile.mkdtemp(prefix="smartkey-benchmark-"))

    # -- connections and children --

    def connect(self, dbname: str | None = None, **kwargs):
        import psycopg

        return psycopg.connect(
            dbname=dbname or self.database,
            user=self.db.get("USER") or None,
            password=self.db.get("PASSWORD") or None,
            host=self.db.get("HOST") or None,
            port=self.db.get("PORT") or None,
            **kwargs,
        )

    def connect_to_server(self, **kwargs):
        """A connection for creating and dropping databases: to the ``postgres``
        maintenance database, as Django's own test runner does (the configured database
        need not exist), else to the configured one."""
        import psycopg

        try:
            return self.connect("postgres", **kwargs)
        except psycopg.OperationalError:
            return self.connect(self.db["NAME"], **kwargs)

    def database_url(self) -> str:
        user = quote(self.db.get("USER") or "", safe="")
        password = quote(self.db.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = self.db.get("HOST") or "localhost"
        port = f":{self.db['PORT']}" if self.db.get("PORT") else ""
        return f"postgres://{credentials}{host}{port}/{self.database}"

    def child(self, *args: str) -> str:
        """Run ``manage.py`` with ``args`` against the scratch database; its stdout."""
        env = dict(
            os.environ, DATABASE_URL=self.database_url(), DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE
        )
        done = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def work(self, task: str, **arguments) -> dict:
        """One measured operation in a child process (see ``worker``)."""
        out = self.child("benchmark_billing", "--worker", task, "--worker-arguments", json.dumps(arguments))
        line = next(x for x in reversed(out.splitlines()) if x.startswith(RESULT_PREFIX))
        return json.loads(line[len(RESULT_PREFIX) :])

    # -- scratch database --

    def create_database(self) -> None:
        with self.connect_to_server(autocommit=True) as conn:
            exists = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [self.database],
            ).fetchone()
            if exists is not None:
                if exists[0] != SCRATCH_COMMENT:
                    raise RuntimeError(
                        f"database {self.database} exists and was not made by this benchmark; "
                        "choose another with --database"
                    )
                conn.execute(f'DROP DATABASE "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')
            conn.execute(f"COMMENT ON DATABASE \"{self.database}\" IS '{SCRATCH_COMMENT}'")

    def drop_database(self) -> None:
        """Drop the scratch database, and only if this benchmark made it (its comment)."""
        with self.connect_to_server(autocommit=True) as conn:
            ours = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s AND shobj_description(oid, 'pg_database') = %s",
                [self.database, SCRATCH_COMMENT],
            ).fetchone()
            if ours:
                conn.execute(f'DROP DATABASE "{self.database}" WITH (FORCE)')

    def vacuum(self, *tables: str) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f"VACUUM ANALYZE {', '.join(tables)}" if tables else "VACUUM ANALYZE")

    # -- the whole run --

    def run(self, sizes: list[Size]) -> list[dict]:
        self.write(self.machine())
        summaries = []
        try:
            for size in sizes:
                summaries.append(self.run_size(size))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if not self.keep:
                self.drop_database()
        if len(summaries) > 1:
            self.write("")
            self.write_table(summaries)
        return summaries

    def machine(self) -> str:
        with self.connect_to_server() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            work_mem = conn.execute("SHOW work_mem").fetchone()[0]
        return (
            f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, PostgreSQL {version} "
            f"(work_mem {work_mem}); month billed {periods.format_month(MONTH)}; "
            f"timings are medians of {self.repeat} run(s)"
        )

    def run_size(self, size: Size) -> dict:
        write = self.write
        write("")
        write(f"== {size.name}: {size.describe()}")
        self.progress(f"creating {self.database} and migrating")
        self.create_database()
        self.child("migrate", "--verbosity", "0")
        self.progress("generating the data (generate_demo_data)")
        started = time.perf_counter()
        self.child(
            "generate_demo_data",
            f"--contracts={size.contracts}",
            f"--accounts={size.accounts}",
            f"--auth-days={size.auth_days}",
            f"--seed={SEED}",
            f"--today={ANCHOR.isoformat()}",
        )
        generated = time.perf_counter() - started
        self.vacuum()
        in_month = self.rows_in_month()
        write(
            f"  data: generate_demo_data {generated:.1f} s; the month reads {in_month['registrations']:,} "
            f"registration periods and {in_month['auth_days']:,} authentication days"
        )

        bill = Measure()
        for n in range(self.repeat):
            self.progress(f"bill_month {n + 1}/{self.repeat}")
            result = self.work("bill", month=MONTH.isoformat())
            bill.add(result.pop("seconds"), **result)
        lower = self.lower_bound()
        best = min(lower, key=lambda name: lower[name].median)
        checked, mismatched = self.check_quantities(lower[best].last("rows"))
        ratio = bill.median / lower[best].median
        write(
            f"  bill_month {periods.format_month(MONTH)}: {bill.median:.2f} s "
            f"(CPU {statistics.median(d['cpu'] for d in bill.details):.2f} s), "
            f"{bill.last('queries')} queries ({bill.last('queries_elsewhere')} on a second connection), "
            f"peak RSS {_mb(bill.most('rss_kb'))}; "
            f"{bill.last('invoices'):,} invoices, {bill.last('lines'):,} lines, {bill.last('exceptions'):,} exceptions"
        )
        for name, measure in lower.items():
            write(f"  raw SQL ({name}): {measure.median:.2f} s, {len(measure.last('rows')):,} contracts")
        write(
            f"  lower bound = raw SQL ({best}) {lower[best].median:.2f} s; "
            f"quantities of {checked:,} invoice lines checked, {mismatched} differ"
        )
        write(f"  ratio bill_month / lower bound: {ratio:.2f}x (target: at most 1.5x; bill_month under 20 s)")

        export = self.export(size)
        breakdown = self.breakdown()
        imported, copied, smaller = self.import_vs_copy(size)
        kinds = benchmark_imports.measure(self, size.import_rows)
        worst_kind = max(kinds, key=lambda kind: kinds[kind]["seconds"] / kinds[kind]["copy_seconds"])
        listings = self.changelists(size)
        payments = benchmark_payments.measure(self, size.payment_customers)
        # after the payments books: their ten issued months of history are what the journal
        # reads the names of sub-accounts among, and one of them is a month of thousands
        journal = self.journal()
        slowest = max(listings, key=lambda name: listings[name]["database_seconds"])
        grown = export["grown"]
        journal_ratio = (
            _ratio(journal["worst"]["seconds"], journal["worst"]["copy_seconds"]) if journal else "n/a"
        )
        write(
            f"  ratios: bill_month / lower bound {ratio:.2f}x (target 1.5x); export / COPY "
            f"{_ratio(grown['seconds'], grown['copy_seconds'])} (target 2x); journal / COPY {journal_ratio} "
            f"(target 2x); breakdown / COPY {_ratio(breakdown['seconds'], breakdown['copy_seconds'])} "
            f"(target 2x); import / COPY "
            f"{_ratio(imported.median, copied.median)} (target 1.3x); import peak RSS "
            f"{_mb(smaller['rss_kb'])} at {smaller['rows']:,} rows, {_mb(imported.most('rss_kb'))} at "
            f"{size.import_rows:,} (target under 150 MB); import {worst_kind} / COPY "
            f"{_ratio(kinds[worst_kind]['seconds'], kinds[worst_kind]['copy_seconds'])} (the slower other kind; "
            f"target 1.3x); slowest changelist {slowest}: database "
            f"{listings[slowest]['database_seconds']:.3f} s at {listings[slowest]['rows']:,} rows (target 0.15 s); "
            f"import_payments / bound {_ratio(payments['seconds'], payments['bound'])}"
        )
        return {
            "size": size,
            "bill": bill,
            "lower": lower[best],
            "ratio": ratio,
            "mismatched": mismatched,
            "export": export,
            "journal": journal,
            "breakdown": breakdown,
            "import": imported,
            "copy": copied,
            "kinds": kinds,
            "listings": listings,
            "payments": payments,
        }

    def rows_in_month(self) -> dict:
        first, last = periods.month_start(MONTH), periods.month_end(MONTH)
        with self.connect() as conn:
            registrations = conn.execute(
                "SELECT COUNT(*) FROM billing_accountregistration "
                "WHERE registered_on <= %s AND (deregistered_on IS NULL OR deregistered_on >= %s)",
                [last, first],
            ).fetchone()[0]
            auth_days = conn.execute(
                "SELECT COUNT(*) FROM billing_authcount WHERE date BETWEEN %s AND %s", [first, last]
            ).fetchone()[0]
        return {"registrations": registrations, "auth_days": auth_days}

    def lower_bound(self) -> dict[str, Measure]:
        measures = {name: Measure() for name in LOWER_BOUND_SQL}
        params = lower_bound_params(MONTH)
        with self.connect(autocommit=True) as conn:
            for n in range(self.repeat):
                self.progress(f"raw SQL lower bound {n + 1}/{self.repeat}")
                for name, sql in LOWER_BOUND_SQL.items():
                    started = time.perf_counter()
                    rows = conn.execute(sql, params).fetchall()
                    measures[name].add(time.perf_counter() - started, rows=rows)
        return measures

    def check_quantities(self, rows) -> tuple[int, int]:
        """The lower bound's quantities against the invoice lines of ``bill_month``: the
        accounts' coefficients summed by billing's own R10, the authentications as read."""
        from billing import calculation

        histograms: dict[int, dict[int, int]] = defaultdict(dict)
        expected = {}
        for kind, contract_id, value, accounts in rows:
            if kind == "accounts":
                histograms[contract_id][int(value)] = int(accounts)
            else:
                expected[(contract_id, "auth_api_fee")] = Decimal(value or 0)
        days_in_month = periods.days_in_month(MONTH)
        for contract_id, histogram in histograms.items():
            fee = calculation.account_fee(histogram, days_in_month, Decimal(0))
            expected[(contract_id, "account_fee")] = fee.coefficient_sum
        with self.connect() as conn:
            lines = conn.execute(
                "SELECT l.contract_id, l.line_type, l.quantity FROM billing_invoiceline l "
                "JOIN billing_invoice i ON i.id = l.invoice_id "
                "WHERE i.billing_month = %s AND l.line_type IN ('account_fee', 'auth_api_fee')",
                [MONTH],
            ).fetchall()
        mismatched = sum(
            1 for contract_id, kind, quantity in lines if expected.get((contract_id, kind), 0) != quantity
        )
        return len(lines), mismatched

    def export(self, size: Size) -> dict:
        self.progress("export_invoices")
        natural = self.work("export", month=MONTH.isoformat(), path=str(self.tmp / "export.csv"))
        lines = natural["lines"]
        copies = max(1, -(-size.export_lines // max(lines, 1)) - 1)
        with self.connect() as conn:
            # the month's lines again, ``copies`` times, with positions no line uses
            conn.execute(
                """
                INSERT INTO billing_invoiceline (invoice_id, contract_id, position, line_type, item,
                    description, quantity, unit_price, unit_price_currency, amount, amount_currency,
                    tax_rate, rate_card_id)
                SELECT l.invoice_id, l.contract_id, l.position + 100 * k, l.line_type, l.item,
                    l.description, l.quantity, l.unit_price, l.unit_price_currency, l.amount,
                    l.amount_currency, l.tax_rate, l.rate_card_id
                FROM billing_invoiceline l JOIN billing_invoice i ON i.id = l.invoice_id
                CROSS JOIN generate_series(1, %s) k
                WHERE i.billing_month = %s
                """,
                [copies, MONTH],
            )
        runs = Measure()
        for n in range(self.repeat):
            self.progress(f"export_invoices, more lines {n + 1}/{self.repeat}")
            result = self.work("export", month=MONTH.isoformat(), path=str(self.tmp / "export.csv"))
            runs.add(result.pop("seconds"), **result)
        (self.tmp / "export.csv").unlink(missing_ok=True)
        # medians of the runs, each run's export and COPY one after the other in one process
        grown = {
            "seconds": runs.median,
            "copy_seconds": statistics.median(d["copy_seconds"] for d in runs.details),
            "rss_kb": runs.most("rss_kb"),
            "lines": runs.last("lines"),
        }
        self.write(
            f"  export_invoices: {natural['lines']:,} lines {natural['seconds']:.2f} s, peak RSS "
            f"{_mb(natural['rss_kb'])}; {grown['lines']:,} lines {grown['seconds']:.2f} s, peak RSS "
            f"{_mb(grown['rss_kb'])} ({grown['lines'] / max(natural['lines'], 1):.0f}x the lines, "
            f"{grown['rss_kb'] / natural['rss_kb']:.2f}x the memory)"
        )
        self.write(
            f"  COPY of the export's query TO STDOUT, {grown['lines']:,} lines: {grown['copy_seconds']:.2f} s; "
            f"ratio export / COPY {_ratio(grown['seconds'], grown['copy_seconds'])} (target: at most 2x)"
        )
        return {"natural": natural, "grown": grown}

    def journal(self) -> dict:
        """``export_journal`` (sales) of the last issued month in each layout, against
        ``COPY`` of its two queries (the invoices, the credit notes): medians of runs in
        one process, each layout's run beside a COPY."""
        self.progress("export_journal")
        result = self.work("journal", path=str(self.tmp / "journal.csv"), repeat=max(self.repeat, 5))
        (self.tmp / "journal.csv").unlink(missing_ok=True)
        if not result["month"]:
            self.write("  export_journal: no issued month")
            return {}
        worst = self.write_journal(result)
        if "largest" in result:
            self.write_journal(result["largest"], "the issued month with the most invoices: ")
        return {**result, "worst": worst}

    def write_journal(self, result: dict, label: str = "") -> dict:
        """The line of one month's journal; its worst layout (the highest ratio)."""
        layouts = ", ".join(
            f"{fmt} {r['seconds']:.3f} s ({_ratio(r['seconds'], r['copy_seconds'])})"
            for fmt, r in result["layouts"].items()
        )
        worst = max(result["layouts"].values(), key=lambda r: r["seconds"] / max(r["copy_seconds"], 1e-9))
        self.write(
            f"  export_journal sales, {label}{result['month'][:7]}, {result['entries']:,} entries: {layouts}; "
            f"COPY of its queries TO STDOUT {worst['copy_seconds']:.3f} s; ratio journal / COPY at most "
            f"{_ratio(worst['seconds'], worst['copy_seconds'])} (target: at most 2x)"
        )
        return worst

    def breakdown(self) -> dict:
        """The per-account breakdown CSV of the Enterprise contract with the most accounts
        in the month (as the admin downloads it), against ``COPY`` of its query."""
        self.progress("breakdown")
        result = self.work("breakdown", month=MONTH.isoformat(), repeat=max(self.repeat, 5))
        self.write(
            f"  breakdown CSV of {result['contract']} ({result['accounts']:,} accounts): {result['seconds']:.3f} s; "
            f"COPY of its query TO STDOUT {result['copy_seconds']:.3f} s; ratio breakdown / COPY "
            f"{_ratio(result['seconds'], result['copy_seconds'])} (target: at most 2x)"
        )
        return result

    def import_file(self, rows: int) -> tuple[Path, Path]:
        """A file of ``rows`` new registrations (one period each) of the contracts in
        service, and a file of the same rows as COPY text with the contract ids (on disk:
        a worker's peak RSS starts at this process's peak, since Linux keeps the peak of a
        process across the fork and exec that start the worker)."""
        rng = random.Random(SEED)
        with self.connect() as conn:
            contracts = conn.execute(
                "SELECT code, id, billing_start_on FROM contracts_contract "
                "WHERE billing_start_on IS NOT NULL ORDER BY id"
            ).fetchall()
        path = self.tmp / "accounts.csv"
        copy_path = self.tmp / "accounts.copy"
        last = periods.month_end(MONTH)
        with (
            path.open("w", newline="", encoding="utf-8") as handle,
            copy_path.open("w", encoding="utf-8") as copy_text,
        ):
            writer = csv.writer(handle)
            writer.writerow(["contract_code", "account_id", "registered_on", "deregistered_on"])
            for n in range(rows):
                code, contract_id, start = contracts[n % len(contracts)]
                registered = start + dt.timedelta(days=rng.randint(0, max((last - start).days, 0)))
                deregistered = (
                    registered + dt.timedelta(days=rng.randint(0, 60)) if rng.random() < 0.3 else None
                )
                account = f"{IMPORT_PREFIX}{n:07d}"
                writer.writerow([code, account, registered.isoformat(), deregistered or ""])
                copy_text.write(
                    f"{contract_id}\t{account}\t{registered.isoformat()}\t"
                    f"{deregistered.isoformat() if deregistered else chr(92) + 'N'}\n"
                )
        return path, copy_path

    def forget_imported(self) -> None:
        with self.connect() as conn:
            conn.execute(
                "DELETE FROM billing_accountregistration WHERE account_id LIKE %s", [f"{IMPORT_PREFIX}%"]
            )
        self.vacuum("billing_accountregistration")

    def import_memory_at(self, rows: int) -> dict:
        """Peak RSS of ``import_csv accounts`` of a file of ``rows`` rows (once), to set
        beside the full size's: flat memory has the same peak at both sizes."""
        path, copy_path = self.import_file(rows)
        self.progress(f"import_csv accounts {rows:,} rows (memory)")
        result = self.work("import", path=str(path))
        path.unlink(missing_ok=True)
        copy_path.unlink(missing_ok=True)
        self.forget_imported()
        return {"rows": rows, **result}

    def import_vs_copy(self, size: Size) -> tuple[Measure, Measure, dict]:
        smaller = self.import_memory_at(max(size.import_rows // 10, 1))
        path, copy_path = self.import_file(size.import_rows)
        imported, copied = Measure(), Measure()
        for n in range(self.repeat):
            self.progress(f"COPY {size.import_rows:,} rows {n + 1}/{self.repeat}")
            with self.connect() as conn:
                started = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(
                        "COPY billing_accountregistration (contract_id, account_id, registered_on, deregistered_on) "
                        "FROM STDIN"
                    ) as copy,
                ):
                    with copy_path.open("rb") as copy_data:
                        while block := copy_data.read(1 << 20):
                            copy.write(block)
                conn.commit()
                copied.add(time.perf_counter() - started)
            self.forget_imported()
            self.progress(f"import_csv accounts {size.import_rows:,} rows {n + 1}/{self.repeat}")
            result = self.work("import", path=str(path))
            imported.add(result.pop("seconds"), **result)
            self.forget_imported()
        path.unlink(missing_ok=True)
        copy_path.unlink(missing_ok=True)
        self.write(
            f"  import_csv accounts, {size.import_rows:,} rows: {imported.median:.2f} s, peak RSS "
            f"{_mb(imported.most('rss_kb'))} ({imported.last('output').strip()})"
        )
        self.write(
            f"  COPY of the same rows into the same table: {copied.median:.2f} s; ratio "
            f"{_ratio(imported.median, copied.median)} (target: at most 1.3x)"
        )
        large_kb = imported.most("rss_kb")
        per_row = (large_kb - smaller["rss_kb"]) * 1024 / max(size.import_rows - smaller["rows"], 1)
        self.write(
            f"  import_csv accounts peak RSS: {smaller['rows']:,} rows {_mb(smaller['rss_kb'])}, "
            f"{size.import_rows:,} rows {_mb(large_kb)} ({per_row:,.0f} bytes per more row; "
            f"target: under 150 MB at any size)"
        )
        return imported, copied, smaller

    def changelists(self, size: Size) -> dict:
        self.progress(f"changelists at {size.listing_rows:,} rows")
        self.work("fill_listings", rows=size.listing_rows, month=MONTH.isoformat())
        self.vacuum()
        result = self.work("changelists", repeat=self.repeat)
        for name, page in result["pages"].items():
            searched = f" (?q={page['search']})" if page["search"] else ""
            self.write(
                f"  changelist {name}{searched}: {page['rows']:,} rows, {page['queries']} queries, "
                f"{page['seconds']:.2f} s, database {page['database_seconds']:.3f} s (target: at most 0.15 s)"
            )
        return result["pages"]

    def write_table(self, summaries: list[dict]) -> None:
        self.write(
            "| size | contracts | registrations | auth days | bill_month | lower bound | ratio | queries "
            "| peak RSS | import rows | import_csv | COPY | ratio |"
        )
        self.write("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in summaries:
            size = s["size"]
            self.write(
                f"| {size.name} | {size.contracts:,} | {size.accounts:,} | {size.auth_days:,} "
                f"| {s['bill'].median:.2f} s | {s['lower'].median:.2f} s | {s['ratio']:.2f}x "
                f"| {s['bill'].last('queries')} | {_mb(s['bill'].most('rss_kb'))} | {size.import_rows:,} "
                f"| {s['import'].median:.1f} s | {s['copy'].median:.1f} s "
                f"| {_ratio(s['import'].median, s['copy'].median)} |"
            )


# --- the workers (run in a child process against the scratch database) ---------------------


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def worker(task: str, arguments: dict) -> dict:
    return WORKERS[task](**arguments)


def _bill(month: str) -> dict:
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.test.utils import CaptureQueriesContext

    from billing.models import InvoiceLine
    from billing.runs import billing_month_compute

    # queries on connections of other threads (the days of use read on a second
    # connection, runs.compute.account_days_reader) are counted too
    caller = threading.current_thread()
    elsewhere = []

    def count_elsewhere(execute, sql, params, many, context):
        elsewhere.append(sql)
        return execute(sql, params, many, context)

    def on_connection_created(sender, connection, **kwargs):
        if threading.current_thread() is not caller:
            connection.execute_wrappers.append(count_elsewhere)

    connection_created.connect(on_connection_created)
    try:
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            summary = billing_month_compute(month=dt.date.fromisoformat(month))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        connection_created.disconnect(on_connection_created)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "queries": len(queries) + len(elsewhere),
        "queries_elsewhere": len(elsewhere),
        "rss_kb": _peak_rss_kb(),
        "invoices": summary.invoices,
        "lines": InvoiceLine.objects.filter(invoice__run=summary.run).count(),
        "exceptions": len(summary.exceptions),
    }


def _export(month: str, path: str) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from billing.exports.invoices import line_values
    from billing.models import InvoiceLine

    started = time.perf_counter()
    call_command("export_invoices", month[:7], "--output", path)
    seconds = time.perf_counter() - started
    rss_kb = _peak_rss_kb()
    # the bound: the export's own query (same columns, joins and order), COPY TO STDOUT
    sql, params = line_values(dt.date.fromisoformat(month)).query.sql_with_params()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params)
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
            for _block in copy:
                pass
        copy_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "copy_seconds": copy_seconds,
        "rss_kb": rss_kb,
        "lines": InvoiceLine.objects.filter(invoice__billing_month=dt.date.fromisoformat(month)).count(),
    }


def _copy_seconds(querysets_or_sql) -> float:
    """Seconds to ``COPY (query) TO STDOUT`` each of the queries: querysets, or (sql,
    params) pairs."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for query in querysets_or_sql:
            sql, params = query if isinstance(query, tuple) else query.query.sql_with_params()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
                for _block in copy:
                    pass
    return time.perf_counter() - started


def _journal(path: str, repeat: int) -> dict:
    """``export_journal`` of the last issued month, sales, in each layout, ``repeat``
    times each beside ``COPY`` of its queries; medians. Then the same of the issued month
    with the most invoices, if it has more than the last (the payments books' months,
    when they are there): at a few hundred entries the fixed costs of a command and its
    queries are most of the time, at thousands the cost per entry shows."""
    from django.db.models import Count

    from billing.models import BillingRun, RunStatus

    run = BillingRun.objects.filter(status=RunStatus.ISSUED).order_by("-month").first()
    if run is None:
        return {"month": None}
    result = _journal_month(run.month, path, repeat)
    largest = (
        BillingRun.objects.filter(status=RunStatus.ISSUED)
        .annotate(issued=Count("invoices"))
        .order_by("-issued", "-month")
        .first()
    )
    if largest.month != run.month:
        larger = _journal_month(largest.month, path, repeat)
        if larger["entries"] > result["entries"]:
            result["largest"] = larger
    return {**result, "rss_kb": _peak_rss_kb()}


def _journal_month(month: dt.date, path: str, repeat: int) -> dict:
    from django.core.management import call_command

    from billing.exports.journal import FORMATS
    from billing.exports.journal.entries import month_entry_values

    invoices, notes = month_entry_values(month)
    layouts = {}
    for fmt in FORMATS:
        seconds, copies = [], []
        for _ in range(repeat):
            copies.append(_copy_seconds([invoices, notes]))
            started = time.perf_counter()
            call_command("export_journal", month.strftime("%Y-%m"), "--format", fmt, "--output", path)
            seconds.append(time.perf_counter() - started)
        layouts[fmt] = {"seconds": statistics.median(seconds), "copy_seconds": statistics.median(copies)}
    return {"month": month.isoformat(), "entries": invoices.count() + notes.count(), "layouts": layouts}


def _breakdown(month: str, repeat: int) -> dict:
    """The breakdown CSV of the month's Enterprise contract billed the most accounts, as the
    admin builds it (``billing.admin.usage``), ``repeat`` times beside ``COPY`` of its
    query; medians."""
    from billing.exports import breakdown
    from billing.exports.csvfile import EncodingReport
    from billing.models import InvoiceLine, LineType
    from billing.selectors import account_days_sql
    from contracts.models import Contract

    billed = dt.date.fromisoformat(month)
    # the largest sum of coefficients billed: the most accounts, near enough
    contract = Contract.objects.get(
        pk=InvoiceLine.objects.filter(invoice__billing_month=billed, line_type=LineType.ACCOUNT_FEE)
        .order_by("-quantity", "contract_id")
        .values_list("contract_id", flat=True)[0]
    )
    seconds, copies = [], []
    for _ in range(repeat):
        copies.append(_copy_seconds([account_days_sql(billed, contract.pk)]))
        started = time.perf_counter()
        accounts = breakdown.account_breakdown(contract=Contract.objects.get(pk=contract.pk), month=billed)
        data = breakdown.csv_bytes(accounts, "utf-8-sig", EncodingReport())
        seconds.append(time.perf_counter() - started)
    return {
        "contract": contract.code,
        "accounts": len(accounts.rows),
        "bytes": len(data),
        "seconds": statistics.median(seconds),
        "copy_seconds": statistics.median(copies),
    }


def _import(path: str, kind: str = "accounts") -> dict:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    # --allow-large: the file is streamed, and files of millions of rows pass 100 MB
    call_command("import_csv", kind, path, "--allow-large", stdout=out)
    return {"seconds": time.perf_counter() - started, "rss_kb": _own_peak_rss_kb(), "output": out.getvalue()}


def _own_peak_rss_kb() -> int:
    """The peak RSS of this process's own memory (``VmHWM``, Linux): ``ru_maxrss`` starts at
    the peak of the process that started this one (Linux keeps it across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return _peak_rss_kb()


def _fill_listings(rows: int, month: str) -> dict:
    """At least ``rows`` contracts and invoices (account registrations come from the
    generator): contracts accepted but not started, draft invoices of earlier months."""
    from billing.models import BillingRun, Invoice, RunStatus
    from contracts.models import Contract, Customer, Item

    billed = dt.date.fromisoformat(month)
    customers = list(Customer.objects.order_by("pk"))
    accepted = billed - dt.timedelta(days=150)  # every customer's IIJ ID contract is active then (Art. 3)
    missing = rows - Contract.objects.count()
    Contract.objects.bulk_create(
        (
            Contract(
                code=f"BENCH{n:07d}",
                customer=customers[n % len(customers)],
                item=Item.ENTERPRISE if n % 2 else Item.SERVICE_PROVIDER,
                applied_on=accepted - dt.timedelta(days=5),
                accepted_on=accepted,
            )
            for n in range(max(missing, 0))
        ),
        batch_size=2000,
    )
    earlier = billed
    while Invoice.objects.count() < rows:
        earlier = periods.add_months(earlier, -1)
        run, _created = BillingRun.objects.get_or_create(month=earlier)
        if run.status == RunStatus.ISSUED:
            continue  # generate_demo_data issues a year of history: no draft enters it (R12)
        # a customer has one live invoice a month
        billed_then = set(
            Invoice.objects.filter(billing_month=earlier).live().values_list("customer_id", flat=True)
        )
        Invoice.objects.bulk_create(
            (
                Invoice(
                    run=run,
                    customer=c,
                    billing_month=earlier,
                    customer_code=c.code,
                    billing_name=c.billing_name,
                    subtotal=Decimal(0),
                    tax=Decimal(0),
                    total=Decimal(0),
                )
                for c in customers
                if c.pk not in billed_then
            ),
            batch_size=2000,
        )
    return {}


def _changelists(repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from billing.models import AccountRegistration, Invoice
    from contracts.models import Contract

    setup_test_environment()
    user, _created = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    # a search by the code of a contract in the middle of the table, as a person types it
    codes = Contract.objects.order_by("code").values_list("code", flat=True)
    middle = codes[codes.count() // 2]
    pages = {}
    for name, model, url, query in (
        ("invoices", Invoice, "admin:billing_invoice_changelist", {}),
        ("contracts", Contract, "admin:contracts_contract_changelist", {}),
        ("accounts", AccountRegistration, "admin:billing_accountregistration_changelist", {}),
        (
            "accounts searched",
            AccountRegistration,
            "admin:billing_accountregistration_changelist",
            {"q": middle},
        ),
        ("contracts searched", Contract, "admin:contracts_contract_changelist", {"q": middle.lower()}),
    ):
        client.get(reverse(url), query)  # warm up
        times, database, counts = [], [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(reverse(url), query)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            counts.append(len(queries))
            database.append(sum(float(q["time"]) for q in queries))
        pages[name] = {
            "rows": model.objects.count(),
            "queries": max(counts),
            "seconds": statistics.median(times),
            "database_seconds": statistics.median(database),
            "search": query.get("q", ""),
        }
    return {"pages": pages}


WORKERS = {
    "bill": _bill,
    "export": _export,
    "journal": _journal,
    "breakdown": _breakdown,
    "import": _import,
    "fill_listings": _fill_listings,
    "changelists": _changelists,
    "payments_books": benchmark_payments.books_worker,
    "payments_file": benchmark_payments.file_worker,
    "payments_import": benchmark_payments.import_worker,
}
