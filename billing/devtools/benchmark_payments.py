"""The payments part of ``benchmark_billing`` (R17): a Zengin file of one transfer per
customer matched against ten issued months of open invoices, against the database's own
bound for the same work.

- **Books** (untimed): ``payments_scale.open_books``, issued through ``billing_month_issue``
  (its time per month is printed, as issuing is a path of its own).
- **import_payments** of the file, in a process of its own: time, queries, peak RSS.
- **Bound**: what the database alone does for the same import, measured on the same
  rows: every SELECT the import sent, replayed as sent, then ``COPY`` of the very rows it
  wrote (deposits, applications and both audit trails) into the same tables, with their
  constraints, indexes and triggers. The import's rows are copied out beforehand
  (untimed) and taken away for the measure in a transaction that is rolled back; taking
  them away needs ``session_replication_role`` (the rows refuse deletion otherwise), so a
  superuser: the benchmark's role already creates databases.
"""

from __future__ import annotations

import datetime as dt
import time

from billing.devtools import written_rows

#: the day the transfers arrive: every month of the books is open then
RECEIVED_ON = dt.date(2026, 12, 1)
#: months before any of the demo data's (whose issued year ends 2026-09), so that they
#: have no run yet
FIRST_MONTH = dt.date(2016, 1, 1)
MONTHS = 10
#: the tables the import writes, with the column that orders their new rows
WRITTEN = (
    ("billing_deposit", "id"),
    ("billing_historicaldeposit", "history_id"),
    ("billing_application", "id"),
    ("billing_historicalapplication", "history_id"),
)


def books_worker(customers: int) -> dict:
    """Build the books (in the benchmark's child process)."""
    from billing.devtools import payments_scale

    started = time.perf_counter()
    timings = payments_scale.open_books(customers=customers, months=MONTHS, first_month=FIRST_MONTH)
    return {"seconds": time.perf_counter() - started, "issue_seconds": sorted(timings)}


def import_worker(path: str) -> dict:
    """``payments_import`` of the file at ``path`` (in the benchmark's child process): its
    time, queries, peak RSS, what it matched, and the SELECTs it sent (for the bound)."""
    from pathlib import Path

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.devtools.benchmark import _peak_rss_kb
    from billing.payments.service import payments_import

    data = Path(path).read_bytes()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = payments_import(data=data, today=RECEIVED_ON)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "queries": len(queries),
        "rss_kb": _peak_rss_kb(),
        "new": result.new,
        "matched": result.matched,
        "partial": result.partial,
        "unmatched": result.unmatched,
        "selects": [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")],
    }


def file_worker(customers: int, path: str) -> dict:
    from pathlib import Path

    from billing.devtools import payments_scale
    from billing.devtools.demo_payments import transfer_notice

    transfers = payments_scale.bank_transfers(customers=customers, first_month=FIRST_MONTH)
    data = transfer_notice(
        received_on=RECEIVED_ON, transfers=[(int(amount), name, edi) for _n, amount, name, edi in transfers]
    )
    Path(path).write_bytes(data)
    return {"bytes": len(data)}


def bound(bench, since: dict[str, int], selects: list[str]) -> float:
    """The database's own time for the import just made: its SELECTs replayed, its rows
    copied back in, inside a transaction rolled back (the import's rows stay)."""
    with bench.connect() as conn:
        copied = written_rows.copy_out(conn, WRITTEN, since)
        written_rows.take_away(conn, WRITTEN, since)
        started = time.perf_counter()
        for sql in selects:
            conn.execute(sql).fetchall()
        written_rows.copy_in(conn, WRITTEN, copied)
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks a commit would run
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def measure(bench, customers: int) -> dict:
    """Books, file, then ``repeat`` imports each against its bound (the rows of each import
    taken away before the next)."""
    from billing.devtools.benchmark import Measure, _mb, _ratio

    bench.progress(f"payments: {customers * MONTHS:,} open invoices")
    books = bench.work("payments_books", customers=customers)
    path = bench.tmp / "payments.txt"
    bench.work("payments_file", customers=customers, path=str(path))
    imported, bounds = Measure(), Measure()
    for n in range(bench.repeat):
        with bench.connect() as conn:
            since = written_rows.last_ids(conn, WRITTEN)
        bench.progress(f"import_payments {customers:,} transfers {n + 1}/{bench.repeat}")
        result = bench.work("payments_import", path=str(path))
        selects = result.pop("selects")
        imported.add(result.pop("seconds"), **result)
        bench.progress(f"payments bound {n + 1}/{bench.repeat}")
        bounds.add(bound(bench, since, selects))
        if n + 1 < bench.repeat:
            with bench.connect() as conn:
                written_rows.take_away(conn, WRITTEN, since)
                conn.commit()
    path.unlink(missing_ok=True)
    issue = books["issue_seconds"]
    bench.write(
        f"  books: {customers:,} customers x {MONTHS} issued months = {customers * MONTHS:,} open invoices "
        f"in {books['seconds']:.1f} s; billing_month_issue of {customers:,} invoices: "
        f"{issue[len(issue) // 2]:.2f} s (median of {len(issue)} months)"
    )
    bench.write(
        f"  import_payments, {imported.last('new'):,} transfers against {customers * MONTHS:,} open invoices: "
        f"{imported.median:.2f} s, {imported.last('queries')} queries, peak RSS {_mb(imported.most('rss_kb'))} "
        f"({imported.last('matched'):,} matched, {imported.last('partial'):,} partly, "
        f"{imported.last('unmatched'):,} unmatched)"
    )
    bench.write(
        f"  the same SELECTs and COPY of the same rows into the same tables: {bounds.median:.2f} s; "
        f"ratio import_payments / bound {_ratio(imported.median, bounds.median)}"
    )
    return {"seconds": imported.median, "bound": bounds.median, "queries": imported.last("queries")}
