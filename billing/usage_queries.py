"""Usage of a month, aggregated in the database: one query per kind of usage, whatever
the number of accounts or days.

Each contract's service window inside the month is ``[first_day, last_day]``: billing
start (or the 1st) to the termination effective date (or the month's last day), R7.
The SQL is written once with two small dialect helpers (PostgreSQL, SQLite).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from contracts import periods


def _dialect():
    if connection.vendor == "postgresql":
        return {"greatest": "GREATEST", "least": "LEAST", "days": lambda a, b: f"({a} - {b})"}
    return {
        "greatest": "MAX",
        "least": "MIN",
        "days": lambda a, b: f"CAST(julianday({a}) - julianday({b}) AS INTEGER)",
    }


def _window_cte(d) -> str:
    return f"""
        windows AS (
            SELECT c.id AS contract_id,
                   {d["greatest"]}(c.billing_start_on, %s) AS first_day,
                   {d["least"]}(COALESCE(t.effective_on, %s), %s) AS last_day
            FROM contracts_contract c
            LEFT JOIN contracts_termination t ON t.contract_id = c.id
            WHERE c.billing_start_on <= %s
              AND (t.effective_on IS NULL OR t.effective_on >= %s)
        )"""


def _window_params(month: dt.date) -> list:
    first, last = periods.month_start(month), periods.month_end(month)
    return [first, last, last, last, first]


def account_day_histograms(month: dt.date) -> dict[int, dict[int, int]]:
    """R10: for each contract, {days of use in the month: number of accounts}.

    Days of use of an account = days of the month on which it was registered and the
    contract in service; its periods never overlap, so they are summed per account."""
    d = _dialect()
    reg_last = f"{d['least']}(COALESCE(r.deregistered_on, w.last_day), w.last_day)"
    reg_first = f"{d['greatest']}(r.registered_on, w.first_day)"
    sql = f"""
        WITH {_window_cte(d)}
        SELECT contract_id, days, COUNT(*) FROM (
            SELECT r.contract_id AS contract_id, r.account_id,
                   SUM({d["days"](reg_last, reg_first)} + 1) AS days
            FROM billing_accountregistration r
            JOIN windows w ON w.contract_id = r.contract_id
            WHERE w.first_day <= w.last_day
              AND r.registered_on <= w.last_day
              AND (r.deregistered_on IS NULL OR r.deregistered_on >= w.first_day)
            GROUP BY r.contract_id, r.account_id
        ) per_account
        GROUP BY contract_id, days
    """
    histograms: dict[int, dict[int, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, _window_params(month))
        for contract_id, days, count in cursor.fetchall():
            histograms[contract_id][int(days)] = int(count)
    return dict(histograms)


@dataclass(frozen=True)
class AuthTotals:
    #: R11: the month's cumulative successful authentications on days in service
    in_service: int
    days_in_service: int
    #: days of the month with counts outside the service period (not billed)
    days_outside_service: int


def auth_count_totals(month: dt.date) -> dict[int, AuthTotals]:
    d = _dialect()
    inside = "(w.first_day IS NOT NULL AND a.date >= w.first_day AND a.date <= w.last_day)"
    sql = f"""
        WITH {_window_cte(d)}
        SELECT a.contract_id,
               SUM(CASE WHEN {inside} THEN a.success_count ELSE 0 END),
               SUM(CASE WHEN {inside} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {inside} THEN 0 ELSE 1 END)
        FROM billing_authcount a
        LEFT JOIN windows w ON w.contract_id = a.contract_id
        WHERE a.date >= %s AND a.date <= %s
        GROUP BY a.contract_id
    """
    params = [*_window_params(month), periods.month_start(month), periods.month_end(month)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            contract_id: AuthTotals(int(total or 0), int(days_in or 0), int(days_out or 0))
            for contract_id, total, days_in, days_out in cursor.fetchall()
        }
