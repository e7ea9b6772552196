"""The usage import kinds (interfaces.md): accounts (R10), auth_counts (R11) and
one_time_charges (Art. 7): files of any size, streamed into a staging table, checked and
merged in SQL (``contracts.csvimport.staging``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from billing.models import AccountRegistration, AuthCount, OneTimeCharge
from billing.models.usage import overlap_error
from contracts.csvimport import (
    Column,
    Problems,
    StagedImportKind,
    parse_code,
    parse_date,
    parse_decimal,
    parse_text,
    parse_whole,
    register,
)
from contracts.csvimport.staging import RESOLVED, STAGING, as_date, day_number, last_date
from contracts.models import Contract
from contracts.periods import japanese_date

from .rate_cards import MAX_COUNT, MAX_YEN


class ContractRowsMixin:
    """The usage kinds' rows name their contract by ``contract_code``: resolved by a join
    with the contracts, an unknown code reported on its line."""

    resolved_from = f"{STAGING} s JOIN {Contract._meta.db_table} c ON c.code = s.contract_code"
    field_sql = {"contract_id": "c.id"}

    def check_references(self, problems: Problems) -> None:
        self.report(
            problems,
            f"SELECT s.line, s.contract_code FROM {STAGING} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {Contract._meta.db_table} c WHERE c.code = s.contract_code)",
            lambda line, code: (
                line,
                "contract_code",
                _("unknown %(what)s %(code)r") % {"what": _("contract"), "code": code},
            ),
        )


@register
class AccountKind(ContractRowsMixin, StagedImportKind):
    name = "accounts"
    model = AccountRegistration
    key = ("contract_code", "account_id", "registered_on")
    key_fields = ("contract_id", "account_id", "registered_on")
    value_fields = ("deregistered_on",)
    columns = (
        Column("contract_code", parse_code()),
        Column("account_id", parse_text(128)),
        Column("registered_on", parse_date),
        Column("deregistered_on", parse_date, required=False),
    )
    column_types = {
        "contract_code": "text",
        "account_id": "text",
        "registered_on": "date",
        "deregistered_on": "date",
    }
    # an updated period bills from its start to the later of its old and new ends
    span_sql = (
        "registered_on",
        "CASE WHEN stored_id IS NULL THEN deregistered_on "
        "WHEN deregistered_on IS NULL OR stored_deregistered_on IS NULL THEN NULL "
        "WHEN deregistered_on > stored_deregistered_on THEN deregistered_on ELSE stored_deregistered_on END",
    )

    def check_resolved(self, problems: Problems) -> None:
        """R10: an account's registration periods never overlap (``overlapping_periods``,
        the model's rule, here in SQL); stored periods count unless a row of the file
        replaces them."""
        self.report(
            problems,
            f"SELECT line, registered_on FROM {RESOLVED} WHERE deregistered_on < registered_on",
            lambda line, registered: (
                line,
                "deregistered_on",
                _("before registered_on %(date)s") % {"date": japanese_date(as_date(registered))},
            ),
        )
        self.report(problems, *self._overlaps(), order="line, later_first")

    def _overlaps(self):
        """Each period that starts before the end of the furthest-reaching earlier period
        of its account (``overlapping_periods``: sorted by start, file rows before stored
        ones and in file order, the earliest of equal reaches), reported on the file's
        line with the earlier period's dates. The furthest reach is a running maximum of
        one number, its end day and its rank: ``end * RANK + (RANK - ord)``."""
        rank = 10_000_000_000  # more than the periods of one account ever are
        valid = "(deregistered_on IS NULL OR deregistered_on >= registered_on)"
        table = AccountRegistration._meta.db_table
        end = day_number(f"COALESCE(last_day, {last_date()})")
        sql = f"""
            WITH periods AS (
                SELECT contract_id, account_id, registered_on AS first_day, deregistered_on AS last_day, line
                FROM {RESOLVED} WHERE {valid}
                UNION ALL
                SELECT r.contract_id, r.account_id, r.registered_on, r.deregistered_on, NULL
                FROM {table} r
                WHERE EXISTS (SELECT 1 FROM {RESOLVED} m
                              WHERE m.contract_id = r.contract_id AND m.account_id = r.account_id)
                  AND NOT EXISTS (SELECT 1 FROM {RESOLVED} m WHERE m.stored_id = r.id AND {valid})
            ),
            shared AS (  -- the accounts with more than one period: the only ones to rank
                SELECT contract_id, account_id FROM periods GROUP BY contract_id, account_id HAVING COUNT(*) > 1
            ),
            numbered AS (
                SELECT p.*, ROW_NUMBER() OVER (
                    PARTITION BY p.contract_id, p.account_id ORDER BY p.first_day, p.line IS NULL, p.line
                ) AS ord
                FROM periods p
                JOIN shared a ON a.contract_id = p.contract_id AND a.account_id = p.account_id
            ),
            reached AS (
                SELECT n.*, MAX({end} * {rank} + ({rank} - ord)) OVER (
                    PARTITION BY contract_id, account_id ORDER BY ord
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ) AS reach
                FROM numbered n
            )
            SELECT COALESCE(later.line, earlier.line) AS line, later.account_id,
                   earlier.first_day, earlier.last_day, later.first_day AS later_first
            FROM reached later JOIN numbered earlier
              ON earlier.contract_id = later.contract_id AND earlier.account_id = later.account_id
             AND earlier.ord = {rank} - later.reach %% {rank}
            WHERE {day_number("later.first_day")} <= later.reach / {rank}
              AND COALESCE(later.line, earlier.line) IS NOT NULL
        """

        def problem(line, account_id, first, last, _later_first):
            message = overlap_error(account_id, as_date(first), as_date(last))
            return line, "registered_on", message.messages[0]

        return sql, problem


@register
class AuthCountKind(ContractRowsMixin, StagedImportKind):
    name = "auth_counts"
    model = AuthCount
    key = ("contract_code", "date")
    key_fields = ("contract_id", "date")
    value_fields = ("success_count",)
    columns = (
        Column("contract_code", parse_code()),
        Column("date", parse_date),
        Column("success_count", parse_whole(max_value=MAX_COUNT)),
    )
    column_types = {"contract_code": "text", "date": "date", "success_count": "bigint"}
    span_sql = ("date", "date")


@register
class OneTimeChargeKind(ContractRowsMixin, StagedImportKind):
    name = "one_time_charges"
    model = OneTimeCharge
    key = ("contract_code", "due_on", "description")
    key_fields = ("contract_id", "due_on", "description")
    value_fields = ("amount", "amount_currency")
    columns = (
        Column("contract_code", parse_code()),
        Column("description", parse_text(200)),
        Column("amount", parse_decimal(places=0, max_value=MAX_YEN)),
        Column("due_on", parse_date),
    )
    column_types = {"contract_code": "text", "description": "text", "amount": "numeric", "due_on": "date"}
    field_sql = {**ContractRowsMixin.field_sql, "amount_currency": "'JPY'"}
    span_sql = ("due_on", "due_on")
