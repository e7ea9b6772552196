"""The CSV import engine behind ``manage.py import_csv``.

The engine decodes a file, checks the header, parses every cell with its column's
parser, rejects duplicate keys, lets the kind check the rows against the database and
the model rules, and only then writes, in one transaction. Any problem anywhere means
nothing is written; every problem is reported as ``line N, column NAME: message``.

A kind (``ImportKind`` subclass) declares its columns and key and implements
``check`` and ``write``; ``register`` makes it available to the command. The
contracts kinds are in ``contracts/imports.py``, the billing kinds in
``billing/imports/``. ``ModelImportKind`` does the usual "one row, one model
instance, validated by ``full_clean``" work for the small kinds.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import functools
import heapq
import itertools
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import psycopg
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    models,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from . import periods
from .progress import Progress, report_every
from .text import invisible_character, refusal_message

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp932")

#: Business dates outside this range are typing mistakes, not data (R13, R14: the
#: service exists since 2016).
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)


# --- problems ----------------------------------------------------------------------

#: Problems reported in full; beyond them a file's problems are counted, and the report
#: ends with one line saying how many more there were (a header of a million columns, or
#: a million bad rows, would otherwise print a million lines).
MAX_REPORTED_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"line {self.line}, column {self.column}: {self.message}"
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The file was not imported; ``problems`` says why, row by row: the first
    ``MAX_REPORTED_PROBLEMS`` in file order. ``count`` is how many were found in all."""

    def __init__(self, problems: Iterable[Problem], count: int | None = None):
        ordered = sorted(problems, key=lambda p: p.line)  # stable: file order within a line
        self.problems = ordered[:MAX_REPORTED_PROBLEMS]
        self.count = max(len(ordered), count or 0)
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(self.more_message())
        super().__init__("\n".join(lines))

    @property
    def more(self) -> int:
        """How many problems were found beyond those in ``problems``."""
        return self.count - len(self.problems)

    def more_message(self) -> str:
        return _("… and at least %(count)s more problem(s) (only the first %(shown)d are shown)") % {
            "count": f"{self.more:,}",
            "shown": len(self.problems),
        }


class CellError(ValueError):
    """Raised by a column parser; its message is shown to the person who made the file."""


# --- column parsers ----------------------------------------------------------------


def parse_text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise CellError(
                _("at most %(max)d characters (got %(got)d)") % {"max": max_length, "got": len(value)}
            )
        # text that looks like a formula (@cosme株式会社) is text: exports neutralise it
        char = invisible_character(value)
        if char is not None:
            raise CellError(refusal_message(char))
        return value

    return parse


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def parse_code(max_length: int = 32) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length or not _CODE_RE.match(value):
            raise CellError(
                _("%(value)r is not a code (letters, digits, '-', '_', '.', at most %(max)d)")
                % {"value": value[:40], "max": max_length}
            )
        return value

    return parse


# re.ASCII: ``\d`` would also take full-width (２０２６) and other scripts' digits.
_DATE_RE = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$", re.ASCII)


@functools.lru_cache(maxsize=4096)  # usage files repeat a few hundred dates a million times
def parse_date(value: str) -> dt.date:
    match = _DATE_RE.match(value)
    if not match:
        raise CellError(_("%(value)r is not a date (YYYY-MM-DD or YYYY/MM/DD)") % {"value": value[:40]})
    year, month, day = int(match[1]), int(match[3]), int(match[4])
    if not EARLIEST_DATE.year <= year <= LATEST_DATE.year:
        raise _outside(value)  # before building a date: year 0 has none
    try:
        result = dt.date(year, month, day)
    except ValueError:
        if 1 <= month <= 12:
            last = periods.days_in_month(dt.date(year, month, 1))
            raise CellError(
                _("%(value)s does not exist (%(year)d-%(month)02d has %(days)d days)")
                % {"value": value, "year": year, "month": month, "days": last}
            ) from None
        raise CellError(
            _("%(value)s does not exist (month %(month)d)") % {"value": value, "month": month}
        ) from None
    return _in_range(result, value)


def _outside(value: str) -> CellError:
    return CellError(
        _("%(value)s is outside %(first)s–%(last)s")
        % {"value": value, "first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()}
    )


def _in_range(result: dt.date, value: str) -> dt.date:
    if not EARLIEST_DATE <= result <= LATEST_DATE:
        raise _outside(value)
    return result


_MONTH_RE = re.compile(r"^(\d{4})[-/](\d{1,2})$", re.ASCII)


def parse_month(value: str) -> dt.date:
    match = _MONTH_RE.match(value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CellError(_("%(value)r is not a month (YYYY-MM)") % {"value": value[:40]})
    if not EARLIEST_DATE.year <= int(match[1]) <= LATEST_DATE.year:
        raise _outside(value)  # before building a date: year 0 has none
    return dt.date(int(match[1]), int(match[2]), 1)


_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$", re.ASCII)


def parse_decimal(*, places: int, max_value: Decimal) -> Callable[[str], Decimal]:
    """A non-negative amount with at most ``places`` decimals, no separators."""

    def parse(value: str) -> Decimal:
        if not _DECIMAL_RE.match(value):
            # "negative" only for a number: the message shows the value as it is
            if value.startswith("-") and _DECIMAL_RE.match(value[1:]):
                raise CellError(_("%(value)s is negative; amounts are 0 or more") % {"value": value[:40]})
            raise CellError(
                _("%(value)r is not an amount (digits and an optional decimal point, no separators)")
                % {"value": value[:40]}
            )
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern above excludes it
            raise CellError(_("%(value)r is not a number") % {"value": value[:40]}) from None
        if number > max_value:
            raise CellError(_("%(value)s is larger than %(max)s") % {"value": value[:40], "max": max_value})
        if -number.as_tuple().exponent > places:
            raise CellError(
                _("%(value)s has more than %(places)d decimals") % {"value": value, "places": places}
            )
        return number

    return parse


_WHOLE_RE = re.compile(r"^\d+$", re.ASCII)


def parse_whole(*, max_value: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _WHOLE_RE.match(value):
            if value.startswith("-") and _WHOLE_RE.match(value[1:]):
                raise CellError(_("%(value)s is negative; a count is 0 or more") % {"value": value[:40]})
            raise CellError(_("%(value)r is not a whole number") % {"value": value[:40]})
        digits = value.lstrip("0")
        # int() refuses more than 4,300 digits; a number that long is too large anyway
        number = max_value + 1 if len(digits) > len(str(max_value)) else int(digits or "0")
        if number > max_value:
            raise CellError(_("%(value)s is larger than %(max)d") % {"value": value[:40], "max": max_value})
        return number

    return parse


def parse_choice(choices: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(choices)

    def parse(value: str) -> str:
        if value not in allowed:
            raise CellError(
                _("%(value)r is not one of: %(choices)s")
                % {"value": value[:40], "choices": ", ".join(allowed)}
            )
        return value

    return parse


def parse_yes_no(value: str) -> bool:
    lowered = value.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise CellError(_("%(value)r is not yes or no") % {"value": value[:40]})


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    #: an empty cell is an error (otherwise it means "none": ``default``)
    required: bool = True
    default: Any = None

    @property
    def may_be_absent(self) -> bool:
        """Optional columns may also be left out of the header altogether."""
        return not self.required


@dataclass(slots=True)  # slots: a file may have a million rows
class Row:
    line: int
    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


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


class Problems:
    """The problems of one file, as they are found.

    Only the first ``limit`` in file order (line, then the order found) are kept whole;
    the others are counted, and their lines remembered (8 bytes each), so that a file of
    a million bad rows costs megabytes, not a million messages. ``items`` is the list of
    every problem as the kinds have always read it (``len``, slices, ``.line``); a problem
    beyond the limit appears there by its line only."""

    def __init__(self, limit: int = MAX_REPORTED_PROBLEMS) -> None:
        self.limit = limit
        self.count = 0
        self._lines = array("q")  # the line of every problem, in the order found
        self._heap: list[tuple[int, int, Problem]] = []  # the kept: (-line, -order, problem)
        self._kept: dict[int, Problem] = {}  # order → problem, for ``items``

    def add(self, line: int, column: str | None, message: str) -> None:
        order = self.count
        self.count += 1
        self._lines.append(line)
        if len(self._heap) == self.limit and (-line, -order) < self._heap[0][:2]:
            return  # later in the file than every problem kept: counted only
        problem = Problem(line, column, str(message))
        heapq.heappush(self._heap, (-line, -order, problem))
        self._kept[order] = problem
        if len(self._heap) > self.limit:
            _line, dropped, _problem = heapq.heappop(self._heap)
            del self._kept[-dropped]

    @property
    def full(self) -> bool:
        """Whether the file is refused already and its report full: what follows is counted."""
        return self.count >= self.limit

    def rejected(self) -> ImportRejected:
        return ImportRejected(self._kept.values(), count=self.count)

    @property
    def items(self) -> _ProblemItems:
        return _ProblemItems(self, range(self.count))

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


class _ProblemItems(Sequence):
    """``Problems.items``: every problem in the order found, computed on demand."""

    def __init__(self, problems: Problems, orders: range) -> None:
        self._problems = problems
        self._orders = orders

    def __len__(self) -> int:
        return len(self._orders)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _ProblemItems(self._problems, self._orders[index])
        order = self._orders[index]
        kept = self._problems._kept.get(order)
        return kept if kept is not None else Problem(self._problems._lines[order], None, "")


# --- kinds ---------------------------------------------------------------------------


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

    def check(self, rows: list[Row], problems: Problems) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row]) -> Counts:
        raise NotImplementedError


REGISTRY: dict[str, type[ImportKind]] = {}


def register(kind: type[ImportKind]) -> type[ImportKind]:
    REGISTRY[kind.name] = kind
    return kind


# --- reading -------------------------------------------------------------------------


def decode(data: bytes, encoding: str = "auto") -> str:
    """Bytes to text. ``auto`` takes UTF-8 (with or without BOM), then CP932."""
    if encoding not in ENCODINGS:
        raise ImportRejected([Problem(1, None, _("unknown encoding %(enc)r") % {"enc": encoding})])
    if b"\x00" in data:
        line = _line_of(data, data.index(b"\x00"))
        raise ImportRejected(
            [Problem(line, None, _("the file contains NUL bytes: it is not a CSV text file"))]
        )
    candidates = ["utf-8-sig", "cp932"] if encoding == "auto" else [encoding]
    first_error: UnicodeDecodeError | None = None
    for candidate in candidates:
        if candidate == "utf-8":
            candidate = "utf-8-sig"  # a BOM is never part of the first column's name
        try:
            text = codecs.decode(data, candidate)
        except UnicodeDecodeError as error:
            first_error = first_error or error
            continue
        if candidate == "cp932":
            _check_cp932(data, text, candidates, utf8_error=first_error)
        return text
    assert first_error is not None
    raise _unreadable(_line_of(data, first_error.start), data[first_error.start], candidates)


def _line_of(data: bytes | str, offset: int) -> int:
    """The line of ``data[offset]``, with LF, CRLF and a lone CR as line ends (as the CSV
    reader counts them)."""
    nl, cr, crlf = ("\n", "\r", "\r\n") if isinstance(data, str) else (b"\n", b"\r", b"\r\n")
    head = data[:offset]
    return head.count(nl) + head.count(cr) - head.count(crlf) + 1


def _unreadable(line: int, byte: int, candidates: list[str]) -> ImportRejected:
    return ImportRejected(
        [
            Problem(
                line,
                None,
                _(
                    "byte 0x%(byte)02x cannot be read as %(encodings)s; "
                    "save the file as UTF-8 or Shift_JIS (CP932)"
                )
                % {"byte": byte, "encodings": " / ".join(candidates)},
            )
        ]
    )


#: Windows' CP932, and so Python's, reads these single bytes although they are not
#: Shift_JIS at all: 0x80 as U+0080 and 0xA0, 0xFD–0xFF as private-use characters.
_CP932_STRAY = {"\x80": 0x80, "\uf8f0": 0xA0, "\uf8f1": 0xFD, "\uf8f2": 0xFE, "\uf8f3": 0xFF}
_CP932_STRAY_RE = re.compile("[\x80\uf8f0-\uf8f3]")
_BYTE_LINE_RE = re.compile(rb"([^\r\n]*)(?:\r\n|\r|\n|\Z)")


def _check_cp932(
    data: bytes, text: str, candidates: list[str], *, utf8_error: UnicodeDecodeError | None
) -> None:
    """Refuse what CP932 decodes but is no Shift_JIS text: stray single bytes, and (when
    UTF-8 was tried first and failed) a file with UTF-8 lines in it, which CP932 would
    turn into mojibake (株式会社 → 譬ｪ蠑丈ｼ夂､ｾ) instead of refusing."""
    stray = _CP932_STRAY_RE.search(text)
    if stray:
        raise _unreadable(_line_of(text, stray.start()), _CP932_STRAY[stray.group()], candidates)
    if utf8_error is None:
        return
    # one line at a time: a list of a large file's lines would cost more than the file
    for number, match in enumerate(_BYTE_LINE_RE.finditer(data), start=1):
        line = match.group(1)
        if line.isascii():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        # Beyond U+0800 (kana, kanji, a BOM): short runs of half-width katakana in CP932
        # can look like two-byte UTF-8 (ﾃｽ = C3 BD = ý); three-byte lookalikes are rare.
        if any(ord(ch) >= 0x800 for ch in decoded):
            raise ImportRejected(
                [
                    Problem(
                        _line_of(data, utf8_error.start),
                        None,
                        _(
                            "line %(line)d is UTF-8 but this line is not: the file mixes "
                            "encodings; save the whole file as UTF-8 or Shift_JIS (CP932)"
                        )
                        % {"line": number},
                    )
                ]
            )


_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their ends, split as ``io.StringIO(text, newline="")``
    splits them (at \\n, \\r or \\r\\n), one at a time: a StringIO holds 4 bytes a
    character (140 MB for a file of a million accounts)."""
    return (match.group() for match in _LINE_RE.finditer(text))


#: The longest line read: the csv module's own limit for one value (131,072 characters),
#: where the kinds' lines are a few hundred characters long. A longer line is one problem
#: and is never split into cells (a line of a million commas would be a million cells).
MAX_LINE_LENGTH = 131_072
#: The widest header read: the widest kind has 10 columns. A few unknown columns are
#: reported one by one; a wider header is one problem.
MAX_HEADER_COLUMNS = 50


def read_rows(
    kind: type[ImportKind], text: str, problems: Problems, progress: Progress | None = None
) -> list[Row]:
    """Parse the header and every cell, and find rows with the same key. Problems are
    collected, never raised. Once ``problems`` is full the file is refused anyway: later
    rows are still read and their problems counted, but they are not kept."""
    by_name = {c.name: c for c in kind.columns}
    expected = ", ".join(by_name)
    reader = csv.reader(_lines_within_limit(kind, text, problems), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        problems.add(
            1, None, _("the header cannot be read as CSV: %(error)s") % {"error": csv_message(error)}
        )
        return []
    if problems:  # the header line is too long
        return []
    if header is None or not any(h.strip() for h in header):
        problems.add(1, None, _("the file is empty: a header row is required"))
        return []
    if len(header) > MAX_HEADER_COLUMNS:
        problems.add(
            1,
            None,
            _(
                "the header has %(count)s columns, more than the %(limit)d accepted: a %(kind)s "
                "file has the columns %(columns)s"
            )
            % {
                "count": f"{len(header):,}",
                "limit": MAX_HEADER_COLUMNS,
                "kind": kind.name,
                "columns": expected,
            },
        )
        return []
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if name not in by_name:
            if _plain_name(name):
                problems.add(1, name, _("unknown column (expected: %(columns)s)") % {"columns": expected})
            else:
                problems.add(
                    1,
                    f"#{position}",
                    _("unknown column %(name)s (expected: %(columns)s)")
                    % {"name": repr(name[:40]), "columns": expected},
                )
        elif name in seen:
            problems.add(1, name, _("the column appears twice"))
        seen.add(name)
    for column in kind.columns:
        if column.name not in seen and not column.may_be_absent:
            problems.add(1, column.name, _("required column is missing"))
    if problems:
        return []

    absent = [c for c in kind.columns if c.name not in seen]
    layout = [by_name[name] for name in names]
    width = len(layout)
    rows: list[Row] = []
    first_lines: dict[tuple, int] = {}  # key → the line where it first appears
    line = 1
    tick = report_every(progress, _("rows read"), max(text.count("\n") - 1, 1))
    while True:
        start = reader.line_num + 1
        tick(start - 1)
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # after a quoting error the reader cannot know where the next row starts
            problems.add(
                start, None, _("the row cannot be read as CSV: %(error)s") % {"error": csv_message(error)}
            )
            break
        line = start
        if not any(cell.strip() for cell in cells):
            continue  # blank lines (and Excel's ",,,") carry nothing
        if len(cells) != width:
            problems.add(
                line,
                None,
                _("%(got)d values, but the header has %(width)d columns")
                % {"got": len(cells), "width": width},
            )
            continue
        values: dict[str, Any] = {}
        ok = True
        for column, raw in zip(layout, cells, strict=True):
            cell = raw.strip()
            if not cell:
                if column.required:
                    problems.add(line, column.name, _("a value is required"))
                    ok = False
                values[column.name] = column.default
                continue
            try:
                values[column.name] = column.parse(cell)
            except CellError as error:
                problems.add(line, column.name, str(error))
                ok = False
        if not ok:
            continue
        for column in absent:
            values[column.name] = column.default
        key = tuple(values[name] for name in kind.key)
        first = first_lines.get(key)
        if first is not None:
            problems.add(
                line,
                kind.key[-1],
                _("duplicate of line %(line)d (same %(key)s)") % {"line": first, "key": ", ".join(kind.key)},
            )
        if problems.full:
            continue  # refused anyway: counted, not kept
        if first is None:
            first_lines[key] = line
        rows.append(Row(line, values))
    if not rows and not problems:
        problems.add(max(line, 2), None, _("the file has a header but no rows"))
    return rows


def _lines_within_limit(kind: type[ImportKind], text: str, problems: Problems) -> Iterator[str]:
    """``text_lines``, with each line longer than ``MAX_LINE_LENGTH`` reported and given to
    the reader as an empty line (which it counts, and skips)."""
    for number, line in enumerate(text_lines(text), start=1):
        if len(line) <= MAX_LINE_LENGTH or (length := len(line.rstrip("\r\n"))) <= MAX_LINE_LENGTH:
            yield line
            continue
        sizes = {"length": f"{length:,}", "limit": f"{MAX_LINE_LENGTH:,}"}
        if number == 1:
            message = _(
                "the header line is %(length)s characters long, more than the %(limit)s accepted: "
                "a %(kind)s file has the columns %(columns)s"
            ) % {**sizes, "kind": kind.name, "columns": ", ".join(c.name for c in kind.columns)}
        else:
            message = (
                _(
                    "the line is %(length)s characters long, more than the %(limit)s accepted: no "
                    "value is that long; check that this is the right file"
                )
                % sizes
            )
        problems.add(number, None, message)
        yield "\n"


_CSV_FIELD_LIMIT_RE = re.compile(r"field larger than field limit \((\d+)\)")
_CSV_AFTER_QUOTE_RE = re.compile(r"'.' expected after '.'")


def csv_message(error: csv.Error) -> str:
    """What the csv module's error (English, in the parser's terms) means in the file,
    and what to do about it. The reader (``strict=True``) raises these four."""
    text = str(error)
    if text == "unexpected end of data":
        return _(
            'a quote (") opened on this line or after it is never closed: the file ends inside '
            "a quoted value; close the quote or remove it"
        )
    if match := _CSV_FIELD_LIMIT_RE.fullmatch(text):
        # no line is that long (``MAX_LINE_LENGTH``): the value spans lines
        return _(
            'a value is longer than %(limit)s characters: a quote (") opened on this line or '
            "after it is probably never closed; close the quote or remove it"
        ) % {"limit": f"{int(match[1]):,}"}
    if _CSV_AFTER_QUOTE_RE.fullmatch(text):
        return _(
            'text follows the closing quote of a value ("…"x): put the whole value in quotes, '
            'and write a quote inside a value as two ("")'
        )
    if text.startswith("new-line character seen in unquoted field"):
        return _(
            'a line break inside a value without quotes: put the value in quotes ("…") or '
            "remove the line break"
        )
    return _('the CSV is malformed here (%(error)s): check the quotes (") and commas of this line') % {
        "error": text
    }


def _plain_name(name: str) -> bool:
    """Whether a header cell can stand as NAME in ``line 1, column NAME: …``; a colon, a line
    break or an invisible character would garble the line, so such a column is named by
    its position and its name shown in the message instead."""
    return 0 < len(name) <= 40 and name.isprintable() and ":" not in name


# --- running -------------------------------------------------------------------------


@dataclass
class ImportResult:
    kind: str
    rows: int
    counts: Counts
    dry_run: bool


def run_import(
    kind_name: str,
    data: bytes,
    *,
    encoding: str = "auto",
    dry_run: bool = False,
    user=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then write it in one transaction (or roll back for a dry run).

    Raises ``ImportRejected`` with the problems found; nothing is written then. A lost
    connection to the database is no problem of the file: its ``OperationalError`` (or
    ``InterfaceError``) is raised as it is (see ``connection_lost``).
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
    text = decode(data, encoding)
    del data  # the caller may hold no other reference: a large file is then held once
    problems = Problems()
    rows = read_rows(kind_class, text, problems, progress)
    del text
    # Rows whose cells could not be read are left out; the others are still checked,
    # so that one run reports the problems of the whole file.
    kind = kind_class()
    kind.user = user
    kind.progress = progress
    try:
        # the kinds may use psycopg's own cursor (COPY): its errors become Django's here
        with transaction.atomic(), connection.wrap_database_errors:
            _lock_kind(kind_name)
            if rows:
                kind.check(rows, problems)
            if problems:
                raise problems.rejected()
            counts = kind.write(rows)
            if dry_run:
                transaction.set_rollback(True)
    except (IntegrityError, ValidationError) as error:
        # The checks above run under the kind's lock, so this means something outside
        # the import changed the same rows meanwhile; nothing was kept.
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
    return ImportResult(kind=kind_name, rows=len(rows), counts=counts, dry_run=dry_run)


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


def chunked(items: list, size: int = 5000) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- bulk kinds ----------------------------------------------------------------------


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
            self.write_history(
                history.model,
                [
                    *(("+", pk, record) for pk, record in zip(ids, self.creates, strict=True)),
                    *(
                        ("~", pk, key + tuple(values))
                        for (pk, *values), key in zip(self.updates, self.updated_keys, strict=True)
                    ),
                ],
            )
        return Counts(created=len(self.creates), updated=len(self.updates), unchanged=self.unchanged)

    def write_history(self, historical, changes: list[tuple[str, Any, tuple]]) -> None:
        """The audit trail of rows written in bulk, as django-simple-history records a
        save: each row's values, the time, the kind of change and who imported it."""
        fields = ("id", *self.key_fields, *self.value_fields)
        tracked = tuple(f.attname for f in historical.tracked_fields)
        missing = set(tracked) - set(fields)
        if missing:
            raise ImproperlyConfigured(f"{self.name}: the audit trail needs {sorted(missing)}")
        now = timezone.now()
        user = self.user.pk if self.user is not None else None
        order = [fields.index(name) for name in tracked]
        bulk_insert(
            historical,
            (*tracked, "history_date", "history_type", "history_user_id", "history_change_reason"),
            (
                (*(row[i] for i in order), now, kind, user, None)
                for kind, pk, values in changes
                for row in [(pk, *values)]
            ),
        )
