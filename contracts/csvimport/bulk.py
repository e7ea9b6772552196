"""Writing many rows fast: ``COPY`` on PostgreSQL, ``bulk_create``/``bulk_update``
elsewhere. Shared by the imports and the monthly run."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable

from django.db import (
    connection,
    models,
)
from django.utils import timezone
from psycopg.types.json import Jsonb


def bulk_insert(model: type[models.Model], fields: tuple[str, ...], records: Iterable[tuple]) -> None:
    """Insert many rows: ``COPY`` on PostgreSQL, ``bulk_create`` in chunks elsewhere.
    ``records`` may be a generator (rows are streamed, never all held at once) as long as
    it does not query the database itself: the connection is busy with the ``COPY``. The
    ``COPY`` counts as one query where Django counts them (``assertNumQueries``)."""
    records = iter(records)
    if connection.vendor == "postgresql":
        first = next(records, None)
        if first is None:
            return
        columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
        json = [n for n, f in enumerate(fields) if isinstance(model._meta.get_field(f), models.JSONField)]
        if json:  # COPY writes a dict as JSON only when told (psycopg's Jsonb)
            first, records = _as_json(first, json), (_as_json(r, json) for r in records)
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with connection.cursor() as cursor:
            logged = cursor.debug_sql(sql) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()
            # psycopg's own cursor: its errors are Django's only when wrapped (as the
            # statements of Django's cursor are), for the callers' ``except DatabaseError``
            with logged, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                copy.write_row(first)
                for record in records:
                    copy.write_row(record)
        return
    while chunk := list(itertools.islice(records, 2000)):
        model.objects.bulk_create([model(**dict(zip(fields, r, strict=True))) for r in chunk])


def _as_json(record: tuple, positions: list[int]) -> tuple:
    values = list(record)
    for n in positions:
        if values[n] is not None:
            values[n] = Jsonb(values[n])
    return tuple(values)


def bulk_insert_returning_ids(
    model: type[models.Model], fields: tuple[str, ...], records: list[tuple]
) -> list:
    """Insert rows and return their new primary keys, in the order of ``records``.

    On PostgreSQL the keys are taken from the table's sequence in one query and the rows
    ``COPY``-ed with them (``bulk_create`` spends most of its time preparing each value
    through its field); elsewhere ``bulk_create``, which returns the keys on SQLite."""
    if not records:
        return []
    if connection.vendor == "postgresql":
        meta = model._meta
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(meta.db_table), meta.pk.column, len(records)],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
        bulk_insert(model, (meta.pk.attname, *fields), ((pk, *r) for pk, r in zip(ids, records, strict=True)))
        return ids
    created = model.objects.bulk_create(
        [model(**dict(zip(fields, r, strict=True))) for r in records], batch_size=2000
    )
    return [obj.pk for obj in created]


def bulk_update_values(model: type[models.Model], fields: tuple[str, ...], updates: list[tuple]) -> None:
    """Set ``fields`` of rows given as ``(pk, *values)``: a temporary table and one
    ``UPDATE … FROM`` on PostgreSQL, ``bulk_update`` elsewhere."""
    if not updates:
        return
    if connection.vendor == "postgresql":
        qn = connection.ops.quote_name
        table = qn(model._meta.db_table)
        columns = [qn(model._meta.get_field(f).column) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE import_updates ON COMMIT DROP AS "
                f"SELECT id, {', '.join(columns)} FROM {table} WITH NO DATA"
            )
            copying = cursor.cursor.copy(f"COPY import_updates (id, {', '.join(columns)}) FROM STDIN")
            with connection.wrap_database_errors, copying as copy:
                for record in updates:
                    copy.write_row(record)
            assignments = ", ".join(f"{c} = u.{c}" for c in columns)
            cursor.execute(f"UPDATE {table} t SET {assignments} FROM import_updates u WHERE t.id = u.id")
            cursor.execute("DROP TABLE import_updates")
        return
    objects = []
    for pk, *values in updates:
        obj = model(pk=pk)
        for name, value in zip(fields, values, strict=True):
            setattr(obj, name, value)
        objects.append(obj)
    model.objects.bulk_update(objects, list(fields), batch_size=2000)


def bulk_insert_history(model: type[models.Model], rows: Iterable[tuple[str, dict]], *, user=None) -> None:
    """The audit trail (django-simple-history) of rows written in bulk, as it records a
    save or a delete one by one: each row's values, the time, the kind of change ("+", "~"
    or "-") and who did it. ``rows`` are ``(kind, {attname: value})``; a tracked field
    missing from a row's values is stored as NULL (a column the bulk write left to its
    default)."""
    historical = model.history.model
    tracked = tuple(f.attname for f in historical.tracked_fields)
    now = timezone.now()
    user_id = user.pk if user is not None else None
    bulk_insert(
        historical,
        (*tracked, "history_date", "history_type", "history_user_id", "history_change_reason"),
        ((*(values.get(name) for name in tracked), now, kind, user_id, None) for kind, values in rows),
    )


def insert_history_of(queryset: models.QuerySet, kind: str, *, user=None) -> None:
    """The audit trail (django-simple-history) of the rows of ``queryset`` as they stand
    in the database, as ``bulk_insert_history`` records them (each row's values, the
    time, ``kind`` and who), in one ``INSERT … SELECT``: the rows never travel to Python
    and back. Before a bulk delete ("-"), or after a bulk write ("+")."""
    historical = queryset.model.history.model
    qn = connection.ops.quote_name
    tracked = [f.attname for f in historical.tracked_fields]
    columns = ", ".join(
        [
            *(qn(historical._meta.get_field(name).column) for name in tracked),
            "history_date",
            "history_type",
            "history_user_id",
            "history_change_reason",
        ]
    )
    select, params = queryset.order_by("pk").values_list(*tracked).query.sql_with_params()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(historical._meta.db_table)} ({columns}) "
            f"SELECT tracked_rows.*, %s, %s, %s, NULL FROM ({select}) tracked_rows",
            [now, kind, user.pk if user is not None else None, *params],
        )
