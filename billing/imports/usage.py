"""The usage import kinds (interfaces.md): accounts (R10), auth_counts (R11) and
one_time_charges (Art. 7), many small rows written in bulk."""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext as _

from billing.models import AccountRegistration, AuthCount, OneTimeCharge
from billing.models.usage import overlap_error, overlapping_periods
from contracts.csvimport import (
    BulkImportKind,
    Column,
    Problems,
    Row,
    parse_code,
    parse_date,
    parse_decimal,
    parse_text,
    parse_whole,
    register,
)
from contracts.models import Contract
from contracts.periods import japanese_date

from .rate_cards import MAX_COUNT, MAX_YEN


def spans_per_contract(rows) -> list[tuple]:
    """``(contract_id, first, last or None)`` per contract, covering every ``(contract_id,
    first, last)`` of ``rows``: one span per contract, whatever the number of rows (a
    contract's changes in one file are noted together)."""
    spans: dict[int, list] = {}
    for contract_id, first, last in rows:
        span = spans.get(contract_id)
        if span is None:
            spans[contract_id] = [first, last]
            continue
        span[0] = min(span[0], first)
        span[1] = None if span[1] is None or last is None else max(span[1], last)
    return [(contract_id, first, last) for contract_id, (first, last) in spans.items()]


def stored_rows_matching(
    model, match: tuple[str, ...], types: tuple[str, ...], columns: tuple[str, ...], keys, contract_ids
):
    """The stored rows of ``model`` (``("id", *columns)`` each) whose ``match`` columns
    equal those of one of ``keys`` (tuples of the file's values for ``match``, their
    PostgreSQL ``types``): what the file's rows replace or are checked against, and no
    other. Memory grows with the file, never with the history stored (reading every row
    of the file's contracts held years of usage). On PostgreSQL the keys go to a temporary
    table (``COPY``) that the stored rows are joined with, in one query; elsewhere the
    stored rows of the file's contracts are streamed and kept only when they match."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(f"r.{connection.ops.quote_name(c)}" for c in ("id", *columns))
    if connection.vendor != "postgresql":
        keys = set(keys)
        index = [columns.index(m) + 1 for m in match]
        rows = (
            model.objects.filter(contract_id__in=contract_ids)
            .values_list("id", *columns)
            .iterator(chunk_size=20000)
        )
        return [row for row in rows if tuple(row[i] for i in index) in keys]
    with connection.cursor() as cursor:
        staged = ", ".join(f"k{n} {t}" for n, t in enumerate(types))
        cursor.execute(f"CREATE TEMPORARY TABLE import_keys ({staged}) ON COMMIT DROP")
        # streamed as they come (a key twice is harmless to EXISTS): no set of a million keys
        with connection.wrap_database_errors, cursor.cursor.copy("COPY import_keys FROM STDIN") as copy:
            for key in keys:
                copy.write_row(key)
        cursor.execute("ANALYZE import_keys")
        joined = " AND ".join(f"k.k{n} = r.{connection.ops.quote_name(m)}" for n, m in enumerate(match))
        cursor.execute(
            f"SELECT {names} FROM {table} r WHERE EXISTS (SELECT 1 FROM import_keys k WHERE {joined})"
        )
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE import_keys")
    return rows


class ContractRecordMixin:
    """Resolve ``contract_code`` to ids in one query."""

    def resolve(self, rows: list[Row], problems: Problems) -> None:
        codes = {row["contract_code"] for row in rows}
        self.contract_ids = dict(Contract.objects.filter(code__in=codes).values_list("code", "id"))
        for row in rows:
            if row["contract_code"] not in self.contract_ids:
                problems.add(
                    row.line,
                    "contract_code",
                    _("unknown %(what)s %(code)r") % {"what": _("contract"), "code": row["contract_code"]},
                )


@register
class AccountKind(ContractRecordMixin, BulkImportKind):
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

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["account_id"], row["registered_on"]), (row["deregistered_on"],)

    def existing(self, records):
        """The stored periods of the accounts in the file, and of no other: a file of new
        accounts for a large tenant reads nothing, where reading every period of its
        contracts held millions of rows in memory. On PostgreSQL the file's accounts go
        to a temporary table (COPY) that the stored periods are matched against."""
        rows = stored_rows_matching(
            AccountRegistration,
            ("contract_id", "account_id"),
            ("bigint", "text"),
            ("contract_id", "account_id", "registered_on", "deregistered_on"),
            (key[:2] for _row, key, _values in records),
            self.contract_ids.values(),
        )
        return {(c, a, r): (pk, d) for pk, c, a, r, d in rows}

    def written_spans(self):
        def rows():
            for contract_id, _account, registered, deregistered in self.creates:
                yield contract_id, registered, deregistered
            for key, (_pk, new), (old,) in zip(
                self.updated_keys, self.updates, self.replaced_values, strict=True
            ):
                yield key[0], key[2], None if new is None or old is None else max(new, old)

        return spans_per_contract(rows())

    def check_records(self, records, stored, problems):
        """R10: an account's registration periods never overlap (``overlapping_periods``,
        the model's rule); stored periods count unless a row of the file replaces them."""
        periods = []
        replaced = set()  # stored periods that a row of the file rewrites
        for row, key, (deregistered,) in records:
            if deregistered is not None and deregistered < key[2]:
                problems.add(
                    row.line,
                    "deregistered_on",
                    _("before registered_on %(date)s") % {"date": japanese_date(key[2])},
                )
                continue
            if key in stored:
                replaced.add(key)
            periods.append((key[:2], key[2], deregistered, row.line))
        for key, (_pk, deregistered) in stored.items():
            if key not in replaced:
                periods.append((key[:2], key[2], deregistered, None))
        for earlier, later in overlapping_periods(periods):
            line = later[3] or earlier[3]
            if line is None:
                continue  # two stored periods: not this file's doing
            message = overlap_error(later[0][1], earlier[1], earlier[2])
            problems.add(line, "registered_on", message.messages[0])


@register
class AuthCountKind(ContractRecordMixin, BulkImportKind):
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

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["date"]), (row["success_count"],)

    def written_spans(self):
        rows = ((c, day, day) for c, day, _count in self.creates)
        updated = ((key[0], key[1], key[1]) for key in self.updated_keys)
        return spans_per_contract([*rows, *updated])

    def existing(self, records):
        """The stored counts of the file's contract-days, and of no other."""
        rows = stored_rows_matching(
            AuthCount,
            ("contract_id", "date"),
            ("bigint", "date"),
            ("contract_id", "date", "success_count"),
            (key for _row, key, _values in records),
            self.contract_ids.values(),
        )
        return {(c, d): (pk, n) for pk, c, d, n in rows}


@register
class OneTimeChargeKind(ContractRecordMixin, BulkImportKind):
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

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["due_on"], row["description"]), (row["amount"], "JPY")

    def written_spans(self):
        rows = ((c, due, due) for c, due, *_rest in self.creates)
        updated = ((key[0], key[1], key[1]) for key in self.updated_keys)
        return spans_per_contract([*rows, *updated])

    def existing(self, records):
        """The stored charges of the file's keys (contract, due date, description) only."""
        rows = stored_rows_matching(
            OneTimeCharge,
            ("contract_id", "due_on", "description"),
            ("bigint", "date", "text"),
            ("contract_id", "due_on", "description", "amount", "amount_currency"),
            (key for _row, key, _values in records),
            self.contract_ids.values(),
        )
        return {(c, d, text): (pk, amount, currency) for pk, c, d, text, amount, currency in rows}
