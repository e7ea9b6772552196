"""Reads of billing data, aggregated in the database: one query per kind of usage,
whatever the number of accounts or days.

Each contract's service window in the month comes from one definition, R7's
``Contract.objects.with_service_window``: its SQL is the ``windows`` CTE below, so the
monthly run, the per-account breakdown and the benchmark read the very same days. The
rest of the SQL is written once with two small dialect helpers (PostgreSQL, SQLite).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from contracts import periods
from contracts.models import Contract


def _dialect():
    if connection.vendor == "postgresql":
        return {"greatest": "GREATEST", "least": "LEAST", "days": lambda a, b: f"({a} - {b})"}
    return {
        "greatest": "MAX",
        "least": "MIN",
        "days": lambda a, b: f"CAST(julianday({a}) - julianday({b}) AS INTEGER)",
    }


def windows_cte(month: dt.date, customer_ids=None, contract_ids=None) -> tuple[str, list]:
    """``windows AS (contract_id, first_day, last_day)``: R7's window of every contract in
    service in ``month`` (of the given customers or contracts only, if given), as SQL and
    its parameters, compiled from ``Contract.objects.with_service_window``."""
    contracts = Contract.objects.with_service_window(month)
    if customer_ids is not None:
        contracts = contracts.filter(customer_id__in=list(customer_ids))
    if contract_ids is not None:
        contracts = contracts.filter(pk__in=list(contract_ids))
    sql, params = contracts.order_by().values("id", "window_first", "window_last").query.sql_with_params()
    return f"windows (contract_id, first_day, last_day) AS ({sql})", list(params)


def _per_account_days_sql(d, contract_filter: str = "", *, lateral: bool = False) -> str:
    """R10: one row per (contract, account) with the account's days of use in the month:
    days on which it was registered and the contract in service; its periods never
    overlap, so they are summed per account. Shared by billing (histograms) and the
    per-account breakdown, so both count the same days.

    ``lateral``: for the contract of the row ``w`` of an enclosing ``LATERAL`` join
    (PostgreSQL), instead of joining ``windows`` itself."""
    reg_last = f"{d['least']}(COALESCE(r.deregistered_on, w.last_day), w.last_day)"
    reg_first = f"{d['greatest']}(r.registered_on, w.first_day)"
    windows = (
        "WHERE r.contract_id = w.contract_id"
        if lateral
        else "JOIN windows w ON w.contract_id = r.contract_id\n            WHERE w.first_day <= w.last_day"
    )
    return f"""
            SELECT r.contract_id AS contract_id, r.account_id AS account_id,
                   SUM({d["days"](reg_last, reg_first)} + 1) AS days
            FROM billing_accountregistration r
            {windows}
              AND r.registered_on <= w.last_day
              AND (r.deregistered_on IS NULL OR r.deregistered_on >= w.first_day)
              {contract_filter}
            GROUP BY r.contract_id, r.account_id"""


def account_day_histograms(month: dt.date, customer_ids=None, contract_ids=None) -> dict[int, dict[int, int]]:
    """R10: for each contract, {days of use in the month: number of accounts}; of the
    given customers' contracts only, if ``customer_ids`` is given (a replacement invoice),
    or of the given contracts (late changes of a closed month, R15)."""
    if (customer_ids is not None and not customer_ids) or (contract_ids is not None and not contract_ids):
        return {}
    d = _dialect()
    windows, params = windows_cte(month, customer_ids, contract_ids)
    if connection.vendor == "postgresql":
        # One small aggregation per contract (LATERAL), its histogram included, rather
        # than one over all the accounts of the month, which outgrows work_mem and spills
        # to disk at a million accounts (EXPLAIN ANALYZE at 2,000,000 registrations: 37
        # batches and 3.4 s, against 0.7 s for the LATERAL form; its histogram made
        # inside the LATERAL rather than by one more GROUP BY over the 1.2 million
        # per-account rows: median of 7, 1.33 s against 1.67 s).
        sql = f"""
            WITH {windows}
            SELECT w.contract_id, histogram.days, histogram.accounts
            FROM windows w CROSS JOIN LATERAL (
                SELECT per_account.days, COUNT(*) AS accounts
                FROM ({_per_account_days_sql(d, lateral=True)}
                ) per_account
                GROUP BY per_account.days
            ) histogram
            WHERE w.first_day <= w.last_day
        """
    else:
        sql = f"""
            WITH {windows}
            SELECT per_account.contract_id, per_account.days, COUNT(*)
            FROM ({_per_account_days_sql(d)}
            ) per_account
            GROUP BY per_account.contract_id, per_account.days
        """
    histograms: dict[int, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for contract_id, days, count in cursor.fetchall():
            histograms[contract_id][int(days)] = int(count)
    return dict(histograms)


def account_days_sql(month: dt.date, contract_id: int) -> tuple[str, list]:
    """The query of ``account_days`` and its parameters (``benchmark_billing`` times
    ``COPY`` of it as the breakdown's bound)."""
    d = _dialect()
    # the window of this one contract, not of every contract in service
    windows, params = windows_cte(month, contract_ids=[contract_id])
    # by account ID in code point order whatever the database's collation: PostgreSQL's
    # "C" collation compares UTF-8 bytes, as SQLite's BINARY does (the same order as a
    # Python sort of the IDs, which this replaced: median of 7 at 7,881 accounts, 2.2 ms)
    collate = ' COLLATE "C"' if connection.vendor == "postgresql" else ""
    sql = f"""
        WITH {windows}
        SELECT account_id, days FROM ({_per_account_days_sql(d, "AND r.contract_id = %s")}
        ) per_account
        ORDER BY account_id{collate}
    """
    return sql, [*params, contract_id]


def account_days(month: dt.date, contract_id: int) -> list[tuple[str, int]]:
    """R10: (account ID, days of use) of each account of one contract in the month, by
    account ID, in one query: the same days ``account_day_histograms`` bills."""
    sql, params = account_days_sql(month, contract_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # the days are integers on both databases (PostgreSQL's SUM of integers is a bigint)
        return cursor.fetchall()


@dataclass(frozen=True)
class AuthTotals:
    #: R11: the month's cumulative successful authentications on days in service
    in_service: int
    days_in_service: int
    #: days of the month with counts outside the service period (not billed)
    days_outside_service: int


def auth_count_totals(month: dt.date, contract_ids=None) -> dict[int, AuthTotals]:
    """R11: each contract's authentications of the month (of the given contracts only, if
    ``contract_ids`` is given), in service and outside it."""
    if contract_ids is not None and not contract_ids:
        return {}
    windows, params = windows_cte(month, contract_ids=contract_ids)
    only = ""
    if contract_ids is not None:
        contract_ids = list(contract_ids)
        only = f"AND a.contract_id IN ({', '.join(['%s'] * len(contract_ids))})"
    inside = "(w.first_day IS NOT NULL AND a.date >= w.first_day AND a.date <= w.last_day)"
    sql = f"""
        WITH {windows}
        SELECT a.contract_id,
               SUM(CASE WHEN {inside} THEN a.success_count ELSE 0 END),
               SUM(CASE WHEN {inside} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {inside} THEN 0 ELSE 1 END)
        FROM billing_authcount a
        LEFT JOIN windows w ON w.contract_id = a.contract_id
        WHERE a.date >= %s AND a.date <= %s {only}
        GROUP BY a.contract_id
    """
    params += [periods.month_start(month), periods.month_end(month), *(contract_ids or ())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            contract_id: AuthTotals(int(total or 0), int(days_in or 0), int(days_out or 0))
            for contract_id, total, days_in, days_out in cursor.fetchall()
        }
