"""CSV files as Japanese accountants' software and Excel read them: UTF-8 with BOM or
CP932 (Shift_JIS), CRLF line ends, streamed a row at a time."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection

ENCODINGS = ("utf-8-sig", "cp932")
#: bytes gathered before they are handed out by ``copied_csv`` (a few hundred rows)
CHUNK_BYTES = 64 * 1024
#: rows written at a time by ``encoded_csv`` (one call of ``csv.writer.writerows``)
ROWS_PER_CHUNK = 500


@dataclass
class EncodingReport:
    replaced: list[str] = field(default_factory=list)


def encoded_csv(
    rows: Iterable[list[str]], header: tuple[str, ...] | None, encoding: str, report: EncodingReport
) -> Iterator[bytes]:
    """CSV bytes, a chunk per ``ROWS_PER_CHUNK`` rows (memory flat however many rows
    come), CRLF line ends. Characters CP932 cannot hold are written as '?' and their
    rows listed in ``report``. ``header`` None: no header row (formats
    such as 弥生インポート形式 have none)."""
    chunk = _row_writer(encoding, report)
    yield _start(encoding) + (chunk([header]) if header is not None else b"")
    rows = iter(rows)
    while batch := list(itertools.islice(rows, ROWS_PER_CHUNK)):
        yield chunk(batch)


def _start(encoding: str) -> bytes:
    return codecs.BOM_UTF8 if encoding == "utf-8-sig" else b""


def csv_lines():
    """A function from a list of rows to their CSV text (CRLF), as every export writes it:
    ``csv.writer``'s, byte for byte. Rows of text cells none of which needs quoting (no
    comma, double quote or line break, no row of one empty cell) are joined instead, which
    costs a fifth of the writer (issue 16: the writer was the largest part of a journal);
    whether they do is counted on the joined text, not looked for cell by cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def lines(rows) -> str:
        if not isinstance(rows, list):
            rows = list(rows)
        try:
            text = "\r\n".join(map(",".join, rows))
        except TypeError:  # a cell that is not text: the writer formats it
            text = None
        if (
            text is not None
            and '"' not in text
            and text.count(",") == sum(map(len, rows)) - len(rows) + rows.count([])
            and text.count("\n") == text.count("\r") == max(len(rows) - 1, 0)
            and [""] not in rows
        ):
            return text + "\r\n" if rows else ""
        writer.writerows(rows)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    return lines


def _row_writer(encoding: str, report: EncodingReport):
    """A function from a list of rows to their CSV lines in ``encoding``."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}")
    lines = csv_lines()
    encode = _encoder(encoding, report)

    def chunk(rows: list) -> bytes:
        text = lines(rows)
        data = encode(text, report_row=len(rows) == 1)
        if data is None:  # something CP932 cannot hold: each row again, to name it
            data = b"".join(encode(lines([row]), report_row=True) for row in rows)
        return data

    return chunk


def _encoder(encoding: str, report: EncodingReport):
    """A function from CSV text to its bytes in ``encoding``. In CP932 a character it
    cannot hold is written as "?" and the text (a row, ``report_row``) reported; text of
    many rows gives None instead, to be encoded again a row at a time."""

    def encode(text: str, report_row: bool = True) -> bytes | None:
        if encoding == "cp932":
            data = text.encode("cp932", errors="replace")
            if data.count(b"?") != text.count("?"):  # CP932 trail bytes are never 0x3F
                if not report_row:
                    return None
                report.replaced.append(text.strip()[:80])
            return data
        return text.encode("utf-8")

    return encode


def copied_csv(querysets, header: tuple[str, ...], encoding: str, report: EncodingReport) -> Iterator[bytes]:
    """The bytes ``encoded_csv`` writes for the rows of ``querysets`` (one after the
    other), each a ``values_list`` whose columns are the cells as text (``sqlcells``),
    written by PostgreSQL: ``COPY (query) TO STDOUT (FORMAT csv)``, streamed, a chunk of
    about ``CHUNK_BYTES`` at a time. PostgreSQL quotes a field as ``csv.writer`` does
    (comma, double quote, CR or LF inside; quotes doubled) and writes NULL as an empty
    field; it ends each row with LF, made CRLF here: a COPY sends each row as a message
    of its own (PostgreSQL's protocol, "COPY Operations"), so a row's last byte is its end.

    The connection is busy with the COPY until the chunks are read to the end or closed:
    no other query may run on it in between."""
    row_writer = _row_writer(encoding, report)
    encode = _encoder(encoding, report)
    yield _start(encoding) + row_writer([header])
    pending = bytearray()
    for queryset in querysets:
        for row in _copy_out(queryset):
            if encoding == "utf-8-sig":  # the database's client encoding, UTF-8
                pending += row
                pending[-1:] = b"\r\n"
            else:
                pending += encode(bytes(row[:-1]).decode("utf-8") + "\r\n")
            if len(pending) >= CHUNK_BYTES:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def _copy_out(queryset) -> Iterator[memoryview]:
    """The rows of ``queryset`` as PostgreSQL's CSV lines, one at a time, each ending in
    LF. One query where Django counts them (``assertNumQueries``)."""
    statement, params = queryset.query.sql_with_params()
    statement = f"COPY ({statement}) TO STDOUT (FORMAT csv)"
    with connection.cursor() as cursor:
        logged = (
            cursor.debug_sql(statement, params) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()
        )
        # psycopg's own cursor (Django has no COPY): its errors made Django's, as
        # ``contracts.csvimport.bulk_insert`` does
        with logged, connection.wrap_database_errors, cursor.cursor.copy(statement, params) as copy:
            yield from copy
