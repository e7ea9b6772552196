"""The one way every kind is imported: check the whole file, then write it in one
transaction, or nothing. ``ImportKind`` and its two families: ``ModelImportKind`` (one row,
one model instance, validated by ``full_clean``) and ``BulkImportKind`` (many small rows,
plain values, bulk writes, the audit trail of tracked models included)."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

import psycopg
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.dispatch import Signal
from django.utils.translation import gettext as _

from contracts.progress import Progress, report_every

from .bulk import bulk_insert, bulk_insert_history, bulk_insert_returning_ids, bulk_update_values
from .cells import Column
from .decoding import detect_encoding, file_lines
from .problems import ImportRejected, Problem, Problems
from .reading import MAX_LINE_LENGTH, Row, read_rows


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


class ImportKind:
    """One kind of file. Subclasses set ``name``, ``columns``, ``key`` and implement
    ``check`` (add problems, write nothing) and ``write`` (create/update, return counts)."""

    name: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    #: the columns that identify a row; two rows with the same key are an error
    key: ClassVar[tuple[str, ...]]
    #: the staff member running the import (``import_csv --user``), when known
    user = None
    #: ``progress(stage, done, total)`` for long writes, or None
    progress: Progress | None = None
    #: checked and written in SQL from a staging table (``staging.StagedImportKind``)
    staged: ClassVar[bool] = False

    def check(self, rows: list[Row], problems: Problems) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row]) -> Counts:
        raise NotImplementedError


REGISTRY: dict[str, type[ImportKind]] = {}

#: sent after a bulk kind wrote its rows, with ``spans``: what the written rows bill, as
#: ``(contract_id, first day, last day or None)`` (billing notes late changes of issued
#: months with it: the engine itself knows nothing of billing)
rows_written = Signal()


def register(kind: type[ImportKind]) -> type[ImportKind]:
    REGISTRY[kind.name] = kind
    return kind


@dataclass
class ImportResult:
    kind: str
    rows: int
    counts: Counts
    dry_run: bool


def run_import(
    kind_name: str,
    data: bytes | BinaryIO,
    *,
    encoding: str = "auto",
    dry_run: bool = False,
    user=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then write it in one transaction (or roll back for a dry run).

    ``data`` is the file's bytes, or the file itself (binary, seekable: it is read a block
    at a time, more than once, and never held whole). Raises ``ImportRejected`` with the
    problems found; nothing is written then. A lost connection to the database is no
    problem of the file: its ``OperationalError`` (or ``InterfaceError``) is raised as it
    is (see ``connection_lost``).
    """
    kind_class = REGISTRY.get(kind_name)
    if kind_class is None:
        raise ImportRejected(
            [
                Problem(
                    1,
                    None,
                    _("unknown kind %(kind)r (known: %(kinds)s)")
                    % {"kind": kind_name, "kinds": ", ".join(sorted(REGISTRY))},
                )
            ]
        )
    handle = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    del data  # the caller may hold no other reference: a large file is then held once
    codec, line_ends = detect_encoding(handle, encoding)
    lines = file_lines(handle, codec, MAX_LINE_LENGTH)
    kind = kind_class()
    kind.user = user
    kind.progress = progress
    try:
        # the kinds may use psycopg's own cursor (COPY): its errors become Django's here
        with transaction.atomic(), connection.wrap_database_errors:
            if kind.staged:
                rows, counts = _import_staged(kind, lines, line_ends)
            else:
                rows, counts = _import_in_memory(kind, lines, line_ends)
            if dry_run:
                transaction.set_rollback(True)
    except (IntegrityError, ValidationError) as error:
        # The checks run under the kind's lock, so this means something outside the
        # import changed the same rows meanwhile; nothing was kept.
        raise ImportRejected(
            [
                Problem(
                    1,
                    None,
                    _("the database refused the import, nothing was written: %(error)s")
                    % {"error": _one_line(error)},
                )
            ]
        ) from error
    except DatabaseError as error:
        if connection_lost(error):
            raise
        raise ImportRejected(
            [
                Problem(
                    1,
                    None,
                    _("the database failed, nothing was written: %(error)s") % {"error": _one_line(error)},
                )
            ]
        ) from error
    return ImportResult(kind=kind_name, rows=rows, counts=counts, dry_run=dry_run)


def _import_in_memory(kind: ImportKind, lines, line_ends: int) -> tuple[int, Counts]:
    """The kinds whose files are small by nature (customers, contracts, rate cards…): their
    rows are read into memory, checked by the models, written one by one or in bulk."""
    problems = Problems()
    rows = read_rows(type(kind), lines, problems, kind.progress, line_ends)
    # Rows whose cells could not be read are left out; the others are still checked,
    # so that one run reports the problems of the whole file.
    _lock_kind(kind.name)
    if rows:
        kind.check(rows, problems)
    if problems:
        raise problems.rejected()
    return len(rows), kind.write(rows)


def _import_staged(kind, lines, line_ends: int) -> tuple[int, Counts]:
    """``StagedImportKind``: the rows streamed into a staging table, checked and merged
    in SQL (``staging``); memory flat whatever the size of the file."""
    problems = Problems(track_lines=False)
    staged = kind.stage(lines, problems, line_ends)
    _lock_kind(kind.name)
    if staged:
        kind.check_staged(problems)
    if problems:
        raise problems.rejected()
    return staged, kind.merge()


def _one_line(error: Exception) -> str:
    """PostgreSQL's messages span lines (DETAIL:, HINT:); a problem is one line."""
    return " ".join(str(error).split())


#: SQLSTATEs of a session that is gone: connection exceptions (class 08), and the server
#: ending it (57P01 terminated by an administrator, 57P02 crash, 57P03 cannot connect now)
_CONNECTION_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (Django's, wrapping psycopg's) says that the connection to the
    database is gone (ended by an administrator, a restart, the network) rather than that
    the database refused what it was sent. The server says so with the SQLSTATE of its
    last message; when it could say nothing (the connection closed under a COPY, say),
    psycopg raises a plain OperationalError, with no SQLSTATE, where every refusal by the
    server has one. (The connection object cannot tell afterwards: Django reconnects as
    soon as the failed transaction is over.)"""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    cause = error.__cause__
    if not isinstance(cause, psycopg.Error):
        return False
    if cause.sqlstate is None:
        return isinstance(cause, psycopg.OperationalError)
    return cause.sqlstate.startswith(_CONNECTION_LOST_SQLSTATES)


def _lock_kind(kind_name: str) -> None:
    """Serialise imports of one kind on PostgreSQL (two imports of the same file at once
    must not both decide to create the same rows). SQLite serialises writers itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"smartkey import {kind_name}".encode())]
            )


# --- model kinds ---------------------------------------------------------------------


class ModelImportKind(ImportKind):
    """One row per model instance, found by a natural key and validated by the model.

    Subclasses implement ``lookup`` (existing instances by key, in bulk), ``resolve``
    (referenced objects, in bulk) and ``assign`` (row values onto an instance);
    ``field_columns`` maps model fields to the columns their errors are reported on.
    """

    model: ClassVar[type[models.Model]]
    field_columns: ClassVar[dict[str, str]] = {}
    #: model fields not validated by full_clean (set by the engine, not the file)
    clean_exclude: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.instances: list[tuple[Row, models.Model, str]] = []

    def lookup(self, rows: list[Row]) -> dict[tuple, models.Model]:
        raise NotImplementedError

    def resolve(self, rows: list[Row], problems: Problems) -> None:
        """Fetch what rows refer to (customers, contracts) and report unknown codes."""

    def assign(self, row: Row, instance: models.Model) -> None:
        raise NotImplementedError

    def row_key(self, row: Row) -> tuple:
        return tuple(row.values[name] for name in self.key)

    def snapshot(self, instance: models.Model) -> dict[str, Any]:
        return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}

    def check(self, rows: list[Row], problems: Problems) -> None:
        existing = self.lookup(rows)
        before = len(problems.items)
        self.resolve(rows, problems)
        failed_lines = {p.line for p in problems.items[before:]}
        for row in rows:
            if row.line in failed_lines:
                continue
            instance = existing.get(self.row_key(row))
            if instance is None:
                instance = self.model()
                state = "created"
                old = None
            else:
                old = self.snapshot(instance)
                state = "existing"
            try:
                self.assign(row, instance)
            except ValidationError as error:
                self.report(row, error, problems)
                continue
            if old is not None:
                state = "unchanged" if self.snapshot(instance) == old else "updated"
            self.instances.append((row, instance, state))
        self.before_validation()
        for row, instance, state in self.instances:
            if state == "unchanged":
                continue
            try:
                instance.full_clean(exclude=self.clean_exclude, validate_unique=False)
            except ValidationError as error:
                self.report(row, error, problems)

    def before_validation(self) -> None:
        """Hook: make rows of the file visible to each other's model rules."""

    def report(self, row: Row, error: ValidationError, problems: Problems) -> None:
        fallback = self.key[-1]
        for field_name, messages in error.message_dict.items():
            column = (
                fallback if field_name == NON_FIELD_ERRORS else self.field_columns.get(field_name, field_name)
            )
            for message in messages:
                problems.add(row.line, column, message)

    def write(self, rows: list[Row]) -> Counts:
        counts = Counts()
        # Updated rows first, then created ones (each group in file order): a new row may
        # need the room an update makes (a rate card ended to make way for the next one),
        # and PostgreSQL checks exclusion constraints row by row.
        for _row, instance, state in sorted(self.instances, key=lambda entry: entry[2] == "created"):
            if state == "unchanged":
                counts.unchanged += 1
                continue
            instance._history_user = self.user  # the audit trail records who imported
            instance.save()
            if state == "created":
                counts.created += 1
            else:
                counts.updated += 1
        return counts


class BulkImportKind(ImportKind):
    """Many small rows (usage): no model instance per row. Rows become records
    ``(key, values)`` of plain values; existing rows are read in one query; rows are
    classified as created, updated or unchanged; writes are bulk.

    Subclasses set ``model``, ``key_fields`` and ``value_fields`` (model attnames, in
    the order ``record`` returns them) and implement ``resolve`` and ``record``;
    ``check_records`` may add rules across rows."""

    model: ClassVar[type[models.Model]]
    key_fields: ClassVar[tuple[str, ...]]
    value_fields: ClassVar[tuple[str, ...]]

    def __init__(self) -> None:
        self.creates: list[tuple] = []
        self.updates: list[tuple] = []
        #: the keys of ``updates``, in the same order (the audit trail records whole rows)
        self.updated_keys: list[tuple] = []
        #: the values ``updates`` replace, in the same order
        self.replaced_values: list[tuple] = []
        self.unchanged = 0

    def resolve(self, rows: list[Row], problems: Problems) -> None:
        raise NotImplementedError

    def record(self, row: Row) -> tuple[tuple, tuple] | None:
        """(key, values) in model terms, or None when ``resolve`` reported the row."""
        raise NotImplementedError

    def existing(self, records: list[tuple[Row, tuple, tuple]]) -> dict[tuple, tuple]:
        """key → (pk, *values) of the stored rows the file's ``records`` (row, key,
        values) may touch, or need to be checked against."""
        raise NotImplementedError

    def check_records(
        self, records: list[tuple[Row, tuple, tuple]], stored: dict, problems: Problems
    ) -> None:
        """Hook: rules across rows (and stored rows)."""

    def check(self, rows: list[Row], problems: Problems) -> None:
        self.resolve(rows, problems)
        records = []
        for row in rows:
            record = self.record(row)
            if record is not None:
                records.append((row, *record))
        stored = self.existing(records)
        self.check_records(records, stored, problems)
        for _row, key, values in records:
            found = stored.get(key)
            if found is None:
                self.creates.append(key + values)
            elif tuple(found[1:]) == values:
                self.unchanged += 1
            else:
                self.updates.append((found[0], *values))
                self.updated_keys.append(key)
                self.replaced_values.append(tuple(found[1:]))

    def write(self, rows: list[Row]) -> Counts:
        # Updates first: a new row may need the room an update makes (a file that ends an
        # open registration period and adds the next one), and PostgreSQL checks its
        # exclusion constraints row by row.
        bulk_update_values(self.model, self.value_fields, self.updates)
        fields = self.key_fields + self.value_fields
        history = getattr(self.model, "history", None)
        if history is None:  # usage rows: bulk data, not tracked one by one
            tick = report_every(self.progress, _("rows written"), len(self.creates))
            bulk_insert(
                self.model, fields, (tick(n) or record for n, record in enumerate(self.creates, start=1))
            )
        else:
            ids = bulk_insert_returning_ids(self.model, fields, self.creates)
            named = ("id", *fields)
            bulk_insert_history(
                self.model,
                [
                    *(
                        ("+", dict(zip(named, (pk, *record), strict=True)))
                        for pk, record in zip(ids, self.creates, strict=True)
                    ),
                    *(
                        ("~", dict(zip(named, (pk, *key, *values), strict=True)))
                        for (pk, *values), key in zip(self.updates, self.updated_keys, strict=True)
                    ),
                ],
                user=self.user,
            )
        rows_written.send(sender=self.model, spans=self.written_spans())
        return Counts(created=len(self.creates), updated=len(self.updates), unchanged=self.unchanged)

    def written_spans(self) -> list[tuple]:
        """``(contract_id, first day, last day or None)`` of what the written rows bill, for
        listeners of ``rows_written`` (billing notes changes of issued months); none here."""
        return []
