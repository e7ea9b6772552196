"""The other usage kinds in ``benchmark_billing`` (issue 16, item 2: "the same for every
kind"): ``import_csv auth_counts`` and ``import_csv one_time_charges`` of a file of new
rows, each against ``COPY`` of the very rows it wrote.

- **import_csv** of the file, in a process of its own (the ``import`` worker): time, peak RSS.
- **COPY**: the rows the import wrote (its table and, for one-time charges, their audit
  trail) copied out (untimed), taken away, then copied back into the same tables with the
  same constraints, indexes and triggers, the deferred checks run and committed (timed);
  taken away again before the next run. Taking them away needs ``session_replication_role``
  (the audit trail refuses deletion), so a superuser: the benchmark's role creates databases.

The rows are of days and due dates long before the demo data's (2000 to 2009, the first
years a file may hold), so that every row is new and no billing month is touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import time

from billing.devtools import written_rows

FIRST_DAY = dt.date(2000, 1, 1)
#: per kind: the tables the import writes, with the column that orders their new rows
WRITTEN = {
    "auth_counts": (("billing_authcount", "id"),),
    "one_time_charges": (
        ("billing_onetimecharge", "id"),
        ("billing_historicalonetimecharge", "history_id"),
    ),
}


def write_file(bench, kind: str, rows: int):
    """``rows`` new rows over the contracts in service (auth_counts: the Service Provider
    ones, one row a contract and day)."""
    item = "AND item = 'service_provider'" if kind == "auth_counts" else ""
    with bench.connect() as conn:
        codes = [
            code
            for (code,) in conn.execute(
                f"SELECT code FROM contracts_contract WHERE billing_start_on IS NOT NULL {item} ORDER BY id"
            )
        ]
    path = bench.tmp / f"{kind}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if kind == "auth_counts":
            writer.writerow(["contract_code", "date", "success_count"])
            for n in range(rows):
                day = FIRST_DAY + dt.timedelta(days=n // len(codes))
                writer.writerow([codes[n % len(codes)], day.isoformat(), n % 50_000])
        else:
            writer.writerow(["contract_code", "description", "amount", "due_on"])
            for n in range(rows):
                day = FIRST_DAY + dt.timedelta(days=n % 3650)
                writer.writerow(
                    [codes[n % len(codes)], f"初期設定費用 {n:07d}", 10_000 + n % 90_000, day.isoformat()]
                )
    return path


def copy_seconds(bench, kind: str, since: dict[str, int]) -> float:
    """``COPY`` of the rows the import just wrote back into their tables, committed."""
    written = WRITTEN[kind]
    with bench.connect() as conn:
        copied = written_rows.copy_out(conn, written, since)
        written_rows.take_away(conn, written, since)
        conn.commit()
        started = time.perf_counter()
        written_rows.copy_in(conn, written, copied)
        conn.commit()
        seconds = time.perf_counter() - started
        written_rows.take_away(conn, written, since)
        conn.commit()
    bench.vacuum(*(table for table, _key in written))
    return seconds


def measure(bench, rows: int) -> dict:
    """Each kind: ``repeat`` imports of the file, each followed by ``COPY`` of its rows;
    medians. Returns the worst ratio's kind and figures."""
    from billing.devtools.benchmark import Measure, _mb, _ratio

    results = {}
    for kind in WRITTEN:
        path = write_file(bench, kind, rows)
        imported, copied = Measure(), Measure()
        for n in range(bench.repeat):
            with bench.connect() as conn:
                since = written_rows.last_ids(conn, WRITTEN[kind])
            bench.progress(f"import_csv {kind} {rows:,} rows {n + 1}/{bench.repeat}")
            result = bench.work("import", path=str(path), kind=kind)
            imported.add(result.pop("seconds"), **result)
            bench.progress(f"COPY {kind} {rows:,} rows {n + 1}/{bench.repeat}")
            copied.add(copy_seconds(bench, kind, since))
        path.unlink(missing_ok=True)
        bench.write(
            f"  import_csv {kind}, {rows:,} rows: {imported.median:.2f} s, peak RSS "
            f"{_mb(imported.most('rss_kb'))} ({imported.last('output').strip()}); COPY of the rows it wrote "
            f"{copied.median:.2f} s; ratio {_ratio(imported.median, copied.median)} (target: at most 1.3x)"
        )
        results[kind] = {
            "seconds": imported.median,
            "copy_seconds": copied.median,
            "rss_kb": imported.most("rss_kb"),
        }
    return results
