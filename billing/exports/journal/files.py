"""A journal file: the month's entries (or, ``since_last``, those no earlier file of the
same layout carried) in one layout, encoded whole before anything is handed out, so that
a character CP932 cannot hold is an error naming its document, in the command and the
admin alike, and never a "?" in the books.

``since_last``: the file is recorded (``JournalExport``, with its bytes, and one
``JournalEntryExport`` per entry) in the transaction that hands it out; an entry is
recorded once per layout (a unique constraint, append-only on PostgreSQL), so importing
every such file once books every entry once. Two exports at the same moment cannot
both carry an entry: the second is refused and runs again."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Lookup, Q, TextField, Value
from django.db.models.functions import Left
from django.db.models.lookups import In
from django.utils.translation import gettext as _

from billing.exports.csvfile import csv_lines
from billing.formatting import cp932_width, cut
from billing.models import IssuedName, JournalEntryExport, JournalExport
from contracts import periods

from .entries import Entry, month_entries, receipt_entries
from .layouts import LAYOUTS, accounts, sub_accounts

FORMATS = tuple(LAYOUTS)
KINDS = ("sales", "receipts")
ENCODING = "cp932"


class JournalRefused(Exception):
    """The journal cannot be written; the message says which document and what to do."""


@dataclass(frozen=True)
class JournalFile:
    data: bytes
    entries: int
    filename: str
    export: JournalExport | None = None


def filename(month: dt.date, fmt: str, export: JournalExport | None = None, kind: str = "sales") -> str:
    suffix = f"-{export.exported_at:%Y%m%d%H%M%S}" if export is not None else ""
    label = "" if kind == "sales" else f"-{kind}"
    return f"journal-{periods.format_month(month)}{label}-{fmt}{suffix}.csv"


def _known_names(pairs: set[tuple[str, str]], width: int | None) -> set[tuple[str, str]]:
    """The (customer name, code) pairs that issued documents carry and whose sub-account
    could be written as the one of a pair of ``pairs`` (``layouts.sub_accounts``: a text
    two customers share carries the code), so that a customer's sub-account is the same in
    every file, whatever else was ever issued: the same name, or, for a name that is cut to
    ``width`` (or so long that a longer one could be cut to it), a name that starts with the
    cut text. One query of the pairs the database keeps (``IssuedName``, billing 0021): it
    read every document ever issued (issue 16: 2,870 rows for 329 pairs, 25 ms of a 67 ms
    file of 312 entries, growing with history)."""
    names = {name for name, _code in pairs if name}
    if not names:
        return set()
    exact, prefixes = set(), defaultdict(set)
    for name in names:
        fitted = cut(name, width) if width else name
        # a longer name is cut to a name only if that name leaves no room for a character
        # more (two half-width units at most)
        if not width or (fitted == name and cp932_width(name) <= width - 2):
            exact.add(name)
        else:
            prefixes[len(fitted)].add(fitted)
    condition = Q(_one_of(F("customer_name"), exact)) | _starting_with_one_of("customer_name", prefixes)
    return set(IssuedName.objects.filter(condition).values_list("customer_name", "customer_code"))


#: the separator of the texts of ``_AnyOf`` and ``_StartsWithAnyOf``: a control character,
#: which no name holds (``_text_list`` checks)
_SEPARATOR = "\x1f"


class _AnyOf(Lookup):
    """``lhs IN (the texts of _text_list)`` (PostgreSQL), one text parameter however many:
    Django's ``__in`` has no such form. An ``IN`` of a subquery, which PostgreSQL hashes:
    ``= ANY`` of the array compared each row with every text (2,000 names against 329
    kept: 3.2 ms, against 2.4 ms)."""

    lookup_name = "any_of"
    template = "{lhs} IN (SELECT unnest(string_to_array({rhs}, chr(31))))"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return self.template.format(lhs=lhs, rhs=rhs), [*lhs_params, *rhs_params]


class _StartsWithAnyOf(_AnyOf):
    """``lhs ^@ ANY(rhs)`` (PostgreSQL): starts with one of the texts, which an SP-GiST
    index answers (billing 0021)."""

    lookup_name = "starts_with_any_of"
    template = "{lhs} ^@ ANY(string_to_array({rhs}, chr(31)))"


def _text_list(values) -> Value | None:
    """``values`` as one text parameter that ``string_to_array`` splits (PostgreSQL): an
    array parameter of thousands of names cost more than the query, each element prepared
    by Django and quoted by psycopg, and planned one by one; None if a text holds the
    separator."""
    values = sorted(values)
    if any(_SEPARATOR in value for value in values):
        return None
    return Value(_SEPARATOR.join(values), output_field=TextField())


def _one_of(expression, values: set[str]):
    """``expression`` is one of ``values``, as a filter: on PostgreSQL an ``IN`` of one
    text parameter, split, however many values (a month of thousands of customers made an ``IN``
    of thousands of parameters, each prepared by Django and spliced into the query by
    psycopg: 60 ms at 2,000); elsewhere ``IN``."""
    texts = _text_list(values) if connection.vendor == "postgresql" and values else None
    if texts is None:
        return In(expression, list(values))
    return _AnyOf(expression, texts)


def _starting_with_one_of(field: str, prefixes: dict[int, set[str]]) -> Q:
    """``field`` starts with one of the texts of ``prefixes`` (grouped by length): on
    PostgreSQL ``^@ ANY``, an index's lookup; elsewhere its first characters are one of
    each length's texts."""
    if not prefixes:
        return Q(pk__in=[])
    texts = _text_list(set().union(*prefixes.values())) if connection.vendor == "postgresql" else None
    if texts is not None:
        return Q(_StartsWithAnyOf(F(field), texts))
    condition = Q()
    for length, group in prefixes.items():
        condition |= Q(In(Left(field, length), list(group)))
    return condition


def encode(entries: list[Entry], fmt: str) -> bytes:
    """The file's bytes: every row in CP932 or an error naming the document and the
    character; CRLF line ends. The rows are written and encoded in one go (a row at a time
    was a sixth of the file, issue 16); a character CP932 cannot hold sends them through
    again a row at a time, to name its document."""
    layout = LAYOUTS[fmt]
    names = {(entry.customer_name, entry.customer_code) for entry in entries}
    names |= _known_names(names, layout.sub_account_width)
    subs = sub_accounts(names, layout.sub_account_width)
    row, books = layout.row, accounts(fmt)
    rows = [
        row(entry, subs[(entry.customer_name, entry.customer_code)], n, books)
        for n, entry in enumerate(entries, 1)
    ]
    if layout.header is not None:
        rows.insert(0, list(layout.header))
    try:
        return csv_lines()(rows).encode(ENCODING)
    except UnicodeEncodeError:
        pass
    documents: list[Entry | None] = [None, *entries] if layout.header is not None else list(entries)
    for cells, entry in zip(rows, documents, strict=True):
        _refuse_unwritable(cells, entry, fmt)
    raise AssertionError("the file did not encode, yet every row does")  # pragma: no cover


def _refuse_unwritable(row: list[str], entry: Entry | None, fmt: str) -> None:
    """Nothing, or the error naming the document of ``row`` and the first character of it
    CP932 cannot hold."""
    text = csv_lines()([row])
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError as error:
        char = error.object[error.start]
        raise JournalRefused(
            _(
                "%(document)s: the character “%(char)s” (U+%(code)04X) cannot be written in Shift_JIS "
                "(CP932), which the accounting software reads. Correct the text it is in (“%(text)s”), "
                "or ask for the journal in another layout; nothing was written."
            )
            % {
                "document": entry.number if entry else fmt,
                "char": char,
                "code": ord(char),
                "text": _cell_of(row, error.start, text),
            }
        ) from None


def _cell_of(row: list[str], position: int, text: str) -> str:
    """The cell of ``row`` in which ``text`` (the row as written) has ``position``."""
    char = text[position]
    return next((cell for cell in row if char in cell), char)


def journal_file(
    month: dt.date,
    fmt: str = "yayoi",
    *,
    kind: str = "sales",
    since_last: bool = False,
    by=None,
    hand_out: Callable[[JournalFile], None] | None = None,
) -> JournalFile:
    """The month's journal in layout ``fmt``; ``since_last``: only the entries no earlier
    ``since_last`` file of this layout carried, recorded as exported. ``hand_out`` (write
    the file, send it) runs before the record is committed: if it fails, nothing is
    recorded."""
    if fmt not in LAYOUTS:
        raise ValueError(f"unknown journal format {fmt!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown journal kind {kind!r}")
    month = periods.month_start(month)
    # only a recorded file needs a transaction: a file that records nothing reads in
    # autocommit (two round trips fewer: BEGIN and COMMIT)
    with transaction.atomic() if since_last else contextlib.nullcontext():
        entries = month_entries(month) if kind == "sales" else receipt_entries(month)
        if since_last:
            entries = _not_exported(entries, fmt, kind)
        data = encode(entries, fmt)
        export = None
        if since_last and entries:  # a file with nothing new is not worth a record
            export = _record(entries, fmt, kind, month, data, by)
        result = JournalFile(data, len(entries), filename(month, fmt, export, kind), export)
        if hand_out is not None:
            hand_out(result)
    return result


def _not_exported(entries: list[Entry], fmt: str, kind: str) -> list[Entry]:
    ids = {entry.document_id for entry in entries}
    done = set(
        JournalEntryExport.objects.filter(format=fmt, kind=kind, document_id__in=ids).values_list(
            "entry", "document_id"
        )
    )
    return [entry for entry in entries if entry.key not in done]


def _record(entries: list[Entry], fmt: str, kind: str, month: dt.date, data: bytes, by) -> JournalExport:
    export = JournalExport.objects.create(
        format=fmt, kind=kind, month=month, exported_by=by, entries=len(entries), content=data
    )
    try:
        with transaction.atomic():
            JournalEntryExport.objects.bulk_create(
                JournalEntryExport(
                    export=export,
                    format=fmt,
                    kind=kind,
                    entry=entry.type.value,
                    document_id=entry.document_id,
                )
                for entry in entries
            )
    except IntegrityError:
        raise JournalRefused(
            _(
                "Another export of the %(format)s journal of %(month)s took some of these entries at the same "
                "moment; nothing was written. Export again: the file will carry what that one did not."
            )
            % {"format": fmt, "month": periods.japanese_month(month)}
        ) from None
    return export
