"""Files of any size: the rows are streamed into a staging table as their cells are read
(``COPY`` on PostgreSQL, batches of ``INSERT`` elsewhere), and the checks that need the whole
file (the same key twice, unknown codes, rules across rows and against the stored rows) and
the merge into the real table are SQL over it. The process holds one row at a time and the
first problems; memory is the same for a thousand rows or ten million, and does not grow
with the rows already stored.

``StagedImportKind`` is the family; the usage kinds (``billing/imports/usage.py``) are its
members. A kind declares its model, its key and value fields and the SQL that resolves its
codes; this module holds the staging table, the duplicate check, the counts, the writes and
the audit trail."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import ClassVar

from django.db import connection, models
from django.utils import timezone
from psycopg.copy import LibpqWriter

from .engine import Counts, ImportKind, rows_written
from .problems import Problems
from .reading import duplicate_message, iter_copy_text, iter_rows

#: the file's rows as read: ``line`` and one column per column of the kind
STAGING = "import_staging"
#: the rows that can be written, in model terms, with the stored row each one replaces
RESOLVED = "import_resolved"
#: rows inserted at a time where there is no COPY (SQLite)
BATCH = 2000
#: PostgreSQL's memory for each sort and hash of the checks and the merge (SET LOCAL)
WORK_MEM = "64MB"


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def distinct(a: str, b: str) -> str:
    """SQL: ``a`` and ``b`` differ, NULL being a value like any other."""
    return f"{a} IS DISTINCT FROM {b}" if connection.vendor == "postgresql" else f"NOT ({a} IS {b})"


def day_number(expression: str) -> str:
    """SQL: the date ``expression`` as a whole number of days (to compare and combine)."""
    if connection.vendor == "postgresql":
        return f"({expression} - DATE '2000-01-01')"
    return f"CAST(julianday({expression}) AS INTEGER)"


def last_date() -> str:
    """SQL: a day after every business date (an open end)."""
    return "DATE '9999-12-31'" if connection.vendor == "postgresql" else "'9999-12-31'"


def as_date(value) -> dt.date | None:
    """A date read by raw SQL: a date on PostgreSQL, ISO text on SQLite."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _sqlite_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class StagedImportKind(ImportKind):
    """Many rows, any number of them: checked and written in SQL (see the module).

    Subclasses set ``model``, ``key_fields`` and ``value_fields`` (model attnames),
    ``column_types`` (the staging table's type of each column), ``resolved_from`` (the FROM
    clause over the staging table ``s`` that joins what the codes refer to: rows with an
    unknown code drop out) and ``field_sql`` (each field's SQL there, ``s.<field>`` unless
    given), and ``span_sql`` (the first and last day each written row of ``import_resolved``
    bills, for ``rows_written``). ``check_references`` reports unknown codes and
    ``check_resolved`` the rules across rows, each through ``report``."""

    model: ClassVar[type[models.Model]]
    key_fields: ClassVar[tuple[str, ...]]
    value_fields: ClassVar[tuple[str, ...]]
    column_types: ClassVar[dict[str, str]]
    resolved_from: ClassVar[str] = f"{STAGING} s"
    field_sql: ClassVar[dict[str, str]] = {}
    span_sql: ClassVar[tuple[str, str] | None] = None
    staged = True

    # -- the file into the staging table --

    def stage(self, lines: Iterable[str | int], problems: Problems, line_ends: int) -> int:
        """Create the staging table and fill it with the good rows of the file ``lines``
        (``file_lines``), read as they come (the problems of the others added to
        ``problems``); how many there were."""
        names = [c.name for c in self.columns]
        columns = ", ".join(f"{qn(name)} {self.column_types[name]}" for name in names)
        listed = ", ".join(["line", *map(qn, names)])
        count = 0
        with connection.cursor() as cursor:
            for table in (STAGING, RESOLVED):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} (line integer NOT NULL, {columns})")
            if connection.vendor == "postgresql":
                # for the rest of the transaction: the checks' hash of every key and the
                # merge's sort by line in memory (4 MB spills 100,000 rows to disk), and the
                # statistics of the temporary tables from a sample of 3,000 rows (the
                # default 30,000 take ten times as long; the plans need only rough sizes)
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
                cursor.execute("SET LOCAL default_statistics_target = 10")
                # the rows' COPY text, a block of rows at a time, written as it comes
                # (psycopg's default writer queues up to 32 MB ahead)
                raw = cursor.cursor
                copying = raw.copy(f"COPY {STAGING} ({listed}) FROM STDIN", writer=LibpqWriter(raw))
                with copying as copy:
                    for rows, text in iter_copy_text(type(self), lines, problems, self.progress, line_ends):
                        copy.write(text)
                        count += rows
                cursor.execute(f"ANALYZE {STAGING}")  # temporary tables are never analysed otherwise
            else:
                cells = operator.itemgetter(*names)
                rows = iter_rows(type(self), lines, problems, self.progress, line_ends)
                records = ((line, *cells(values)) for line, values in rows)
                sql = f"INSERT INTO {STAGING} ({listed}) VALUES ({', '.join(['%s'] * (len(names) + 1))})"
                while batch := list(itertools.islice(records, BATCH)):
                    cursor.executemany(sql, [tuple(map(_sqlite_value, r)) for r in batch])
                    count += len(batch)
        return count

    # -- checks --

    def check_staged(self, problems: Problems) -> None:
        """Every check of the whole file, in the order a person reads a line's problems:
        the same key twice, unknown codes, then the kind's rules across rows."""
        keys = ", ".join(qn(name) for name in self.key)
        same = " AND ".join(f"s.{qn(name)} = d.{qn(name)}" for name in self.key)
        self.report(
            problems,
            # the keys found twice first (a hash of the keys, where ranking every row sorts them)
            f"SELECT s.line, d.first_line FROM {STAGING} s JOIN (SELECT {keys}, MIN(line) AS first_line "
            f"FROM {STAGING} GROUP BY {keys} HAVING COUNT(*) > 1) d ON {same} WHERE s.line > d.first_line",
            lambda line, first: (line, self.key[-1], duplicate_message(type(self), first)),
        )
        self.check_references(problems)
        self.resolve()
        self.check_resolved(problems)

    def check_references(self, problems: Problems) -> None:
        """Hook: report rows whose codes refer to nothing (``report``)."""

    def check_resolved(self, problems: Problems) -> None:
        """Hook: rules across rows and stored rows, over ``import_resolved`` (``report``)."""

    def report(
        self,
        problems: Problems,
        sql: str,
        problem: Callable[..., tuple[int, str | None, str]],
        params: Sequence = (),
        order: str = "line",
    ) -> None:
        """Add the problems ``sql`` finds, one per row it selects: ``problem(*row)`` makes
        ``(line, column, message)``. Only the first ``problems.limit`` rows in ``order``
        (the first column must be the line) are read; the others are counted."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT q.*, COUNT(*) OVER () FROM ({sql}) q ORDER BY {order} LIMIT {int(problems.limit)}",
                list(params),
            )
            rows = cursor.fetchall()
        for *row, _total in rows:
            problems.add(*problem(*row))
        if rows:
            problems.count_more(rows[0][-1] - len(rows))

    # -- the rows in model terms --

    @property
    def fields(self) -> tuple[str, ...]:
        return self.key_fields + self.value_fields

    def column(self, field: str) -> str:
        return qn(self.model._meta.get_field(field).column)

    def changed(self, alias: str = "") -> str:
        """SQL over ``import_resolved``: the row changes the stored row it replaces."""
        prefix = f"{alias}." if alias else ""
        return " OR ".join(
            distinct(f"{prefix}{qn(f)}", f"{prefix}{qn('stored_' + f)}") for f in self.value_fields
        )

    def resolve(self) -> None:
        """``import_resolved``: each row with its codes resolved, as the model's fields, and
        the id and values of the stored row with the same key (NULL when there is none)."""
        table = qn(self.model._meta.db_table)
        selected = ", ".join(
            [
                "s.line AS line",
                *(f"{self.field_sql.get(f, f's.{qn(f)}')} AS {qn(f)}" for f in self.fields),
                "r.id AS stored_id",
                *(f"r.{self.column(f)} AS {qn('stored_' + f)}" for f in self.value_fields),
            ]
        )
        joined = " AND ".join(
            f"r.{self.column(f)} = {self.field_sql.get(f, f's.{qn(f)}')}" for f in self.key_fields
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {RESOLVED} AS SELECT {selected} FROM {self.resolved_from} "
                f"LEFT JOIN {table} r ON {joined}"
            )
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {RESOLVED}")

    # -- the merge --

    def merge(self) -> Counts:
        """Write the checked file: update the changed stored rows, then insert the new ones
        (a new row may need the room an update makes: a file that ends an open period and
        adds the next one), in file order; the audit trail of tracked models; the counts."""
        table = qn(self.model._meta.db_table)
        changed = self.changed()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN stored_id IS NULL THEN 1 ELSE 0 END), 0), "
                f"COALESCE(SUM(CASE WHEN stored_id IS NOT NULL AND ({changed}) THEN 1 ELSE 0 END), 0) "
                f"FROM {RESOLVED}"
            )
            total, created, updated = cursor.fetchone()
            spans = self.written_spans(cursor)
            if updated:
                self._update(cursor, table, changed)
            fields = ", ".join(self.column(f) for f in self.fields)
            if created:
                cursor.execute(
                    f"INSERT INTO {table} ({fields}) SELECT {', '.join(qn(f) for f in self.fields)} "
                    f"FROM {RESOLVED} WHERE stored_id IS NULL ORDER BY line"
                )
            if getattr(self.model, "history", None) is not None:
                self._record_history(cursor, table, changed)
            for name in (RESOLVED, STAGING):
                cursor.execute(f"DROP TABLE {name}")
        rows_written.send(sender=self.model, spans=spans)
        return Counts(created=created, updated=updated, unchanged=total - created - updated)

    def _update(self, cursor, table: str, changed: str) -> None:
        if connection.vendor == "postgresql":
            assignments = ", ".join(f"{self.column(f)} = m.{qn(f)}" for f in self.value_fields)
            cursor.execute(
                f"UPDATE {table} t SET {assignments} FROM {RESOLVED} m "
                f"WHERE t.id = m.stored_id AND ({self.changed('m')})"
            )
            return
        assignments = ", ".join(
            f"{self.column(f)} = (SELECT m.{qn(f)} FROM {RESOLVED} m WHERE m.stored_id = {table}.id)"
            for f in self.value_fields
        )
        cursor.execute(
            f"UPDATE {table} SET {assignments} "
            f"WHERE id IN (SELECT stored_id FROM {RESOLVED} WHERE stored_id IS NOT NULL AND ({changed}))"
        )

    def _record_history(self, cursor, table: str, changed: str) -> None:
        """django-simple-history's record of each row written, as a save records it: the
        row's values, the time, "+" or "~", who imported (``bulk_insert_history`` for rows
        written in bulk from Python)."""
        historical = self.model.history.model
        tracked = [f.column for f in historical.tracked_fields]
        columns = ", ".join(
            [*map(qn, tracked), "history_date", "history_type", "history_user_id", "history_change_reason"]
        )
        values = ", ".join(f"r.{qn(c)}" for c in tracked)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        user_id = self.user.pk if self.user is not None else None
        by_key = " AND ".join(f"r.{self.column(f)} = m.{qn(f)}" for f in self.key_fields)
        for kind, join, where in (
            ("+", by_key, "m.stored_id IS NULL"),
            ("~", "r.id = m.stored_id", f"m.stored_id IS NOT NULL AND ({self.changed('m')})"),
        ):
            cursor.execute(
                f"INSERT INTO {qn(historical._meta.db_table)} ({columns}) "
                f"SELECT {values}, %s, %s, %s, NULL FROM {table} r JOIN {RESOLVED} m ON {join} "
                f"WHERE {where} ORDER BY m.line",
                [now, kind, user_id],
            )

    def written_spans(self, cursor) -> list[tuple]:
        """``(contract_id, first day, last day or None)`` per contract of what the rows
        written bill (``span_sql``), for listeners of ``rows_written``: one per contract,
        whatever the number of rows."""
        if self.span_sql is None:
            return []
        first, last = self.span_sql
        cursor.execute(
            f"SELECT contract_id, MIN(first_day), CASE WHEN COUNT(*) = COUNT(last_day) THEN MAX(last_day) END "
            f"FROM (SELECT contract_id, {first} AS first_day, {last} AS last_day FROM {RESOLVED} "
            f"WHERE stored_id IS NULL OR ({self.changed()})) w GROUP BY contract_id"
        )
        return [(contract_id, as_date(a), as_date(b)) for contract_id, a, b in cursor.fetchall()]
