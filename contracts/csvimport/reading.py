"""Reading a file into rows: the header checked, every cell parsed by its column, every
problem collected with its line and column, memory bounded whatever the input."""

from __future__ import annotations

import csv
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from contracts.progress import Progress, report_every

from .cells import cell_text, copy_value
from .decoding import text_lines
from .problems import CellError, Problems

if TYPE_CHECKING:
    from .engine import ImportKind


@dataclass(slots=True)  # slots: a file may have a million rows
class Row:
    line: int
    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


MAX_LINE_LENGTH = 131_072
#: The widest header read: the widest kind has 10 columns. A few unknown columns are
#: reported one by one; a wider header is one problem.
MAX_HEADER_COLUMNS = 50


def read_rows(
    kind: type[ImportKind],
    text: str | Iterable[str | int],
    problems: Problems,
    progress: Progress | None = None,
    total_lines: int | None = None,
) -> list[Row]:
    """Parse the header and every cell, and find rows with the same key. Problems are
    collected, never raised. Once ``problems`` is full the file is refused anyway: later
    rows are still read and their problems counted, but they are not kept. ``text`` is the
    file's text, or its lines (``file_lines``)."""
    rows: list[Row] = []
    first_lines: dict[tuple, int] = {}  # key → the line where it first appears
    for line, values in iter_rows(kind, text, problems, progress, total_lines):
        key = tuple(values[name] for name in kind.key)
        first = first_lines.get(key)
        if first is not None:
            problems.add(line, kind.key[-1], duplicate_message(kind, first))
        if problems.full:
            continue  # refused anyway: counted, not kept
        if first is None:
            first_lines[key] = line
        rows.append(Row(line, values))
    return rows


def duplicate_message(kind: type[ImportKind], first_line: int) -> str:
    return _("duplicate of line %(line)d (same %(key)s)") % {"line": first_line, "key": ", ".join(kind.key)}


def iter_rows(
    kind: type[ImportKind],
    text: str | Iterable[str | int],
    problems: Problems,
    progress: Progress | None = None,
    total_lines: int | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, values)`` of every row whose cells all parse, one at a time, in file order,
    the columns left out of the header at their defaults; the problems of the others (and
    of the header) are added to ``problems``. A file with a header and no row is a problem
    too."""
    records = _records(kind, text, problems, progress, total_lines)
    layout = next(records, None)
    if layout is None:
        return
    absent = [c for c in kind.columns if c not in layout]
    line, given = 1, False
    for line, cells in records:
        values = _parse_row(line, cells, layout, problems)
        if values is None:
            continue
        given = True
        for column in absent:
            values[column.name] = column.default
        yield line, values
    _no_rows(problems, given, line)


def iter_copy_text(
    kind: type[ImportKind],
    text: str | Iterable[str | int],
    problems: Problems,
    progress: Progress | None = None,
    total_lines: int | None = None,
    rows_per_block: int = 2_000,
) -> Iterator[tuple[int, str]]:
    """The rows ``iter_rows`` yields, as PostgreSQL's ``COPY`` text of the columns ``line``
    and the kind's columns (in the kind's order): ``(rows, text)`` blocks of up to
    ``rows_per_block`` rows. Each cell is checked by its column's parser and written as
    ``cells.copy_text`` makes it (a valid cell is mostly written as it is: no value is
    built only to be formatted again); a row with any problem goes through ``iter_rows``'
    own reading of it, so that its problems are exactly that reading's."""
    records = _records(kind, text, problems, progress, total_lines)
    layout = next(records, None)
    if layout is None:
        return
    width = len(layout)
    index = {column.name: n for n, column in enumerate(layout)}
    # the cells in the kind's order of columns, a column left out of the header as an
    # empty cell (its default): each through its column's ``cell_text``
    positions = [index.get(column.name, width) for column in kind.columns]
    # (an itemgetter of one position gives the item, not a tuple of it)
    cells_in_order = (
        operator.itemgetter(*positions) if len(positions) > 1 else lambda cells: (cells[positions[0]],)
    )
    converters = [cell_text(column) for column in kind.columns]
    # a row can be blank (Excel's ",,,": skipped) without a problem only if no cell of it is required
    may_be_blank = not any(column.required for column in layout)
    call, strip, tab = operator.call, str.strip, "\t"
    block: list[str] = []
    line, given = 1, False
    for line, cells in records:
        if len(cells) == width:
            try:
                text = tab.join(map(call, converters, map(strip, cells_in_order([*cells, ""]))))
            except CellError:
                pass
            else:
                if not may_be_blank or any(cell.strip() for cell in cells):
                    given = True
                    block.append(f"{line}\t{text}")
                    if len(block) >= rows_per_block:
                        yield len(block), "\n".join(block) + "\n"
                        block = []
                continue
        # a problem (or a blank row): the problems exactly as ``iter_rows`` reports them;
        # a row the parsers take after all is written from their values, never lost
        values = _parse_row(line, cells, layout, problems)
        if values is not None:
            given = True
            row = (copy_value(values.get(column.name, column.default)) for column in kind.columns)
            block.append(f"{line}\t" + tab.join(row))
    if block:
        yield len(block), "\n".join(block) + "\n"
    _no_rows(problems, given, line)


def _records(
    kind: type[ImportKind],
    text: str | Iterable[str | int],
    problems: Problems,
    progress: Progress | None,
    total_lines: int | None,
):
    """The rows of the file as the CSV reader splits them: first the header's columns
    (``layout``, the kind's ``Column`` of each), then ``(line, cells)`` of each row (the
    caller tells ``_no_rows`` whether it took any)."""
    if isinstance(text, str):
        total_lines = text.count("\n")
        text = text_lines(text)
    reader = csv.reader(_lines_within_limit(kind, text, problems), strict=True)
    names = _read_header(kind, reader, problems)
    if names is None:
        return
    by_name = {c.name: c for c in kind.columns}
    yield [by_name[name] for name in names]
    tick = report_every(progress, _("rows read"), max((total_lines or 0) - 1, 1))
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
        yield start, cells


def _no_rows(problems: Problems, given: bool, line: int) -> None:
    """A file with a header and no row (``line``: the last one read) is a problem."""
    if not given and not problems:
        problems.add(max(line, 2), None, _("the file has a header but no rows"))


def _read_header(kind: type[ImportKind], reader, problems: Problems) -> list[str] | None:
    """The header's column names, or None after adding the problems that refuse the file:
    not CSV, empty, too wide, an unknown or repeated column, a required one missing."""
    by_name = {c.name: c for c in kind.columns}
    expected = ", ".join(by_name)
    try:
        header = next(reader, None)
    except csv.Error as error:
        problems.add(
            1, None, _("the header cannot be read as CSV: %(error)s") % {"error": csv_message(error)}
        )
        return None
    if problems:  # the header line is too long
        return None
    if header is None or not any(h.strip() for h in header):
        problems.add(1, None, _("the file is empty: a header row is required"))
        return None
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
        return None
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
    return None if problems else names


def _parse_row(line: int, cells: list[str], layout: list, problems: Problems) -> dict[str, Any] | None:
    """The row's values by column, or None: blank (Excel's ",,,"), or with problems added."""
    if not any(cell.strip() for cell in cells):
        return None
    if len(cells) != len(layout):
        problems.add(
            line,
            None,
            _("%(got)d values, but the header has %(width)d columns")
            % {"got": len(cells), "width": len(layout)},
        )
        return None
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
    return values if ok else None


def _lines_within_limit(
    kind: type[ImportKind], lines: Iterable[str | int], problems: Problems
) -> Iterator[str]:
    """The lines, with each line longer than ``MAX_LINE_LENGTH`` reported and given to the
    reader as an empty line (which it counts, and skips). A line may come as its length
    alone (``file_lines`` does not hold a line that long)."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, int):
            length = line
        elif len(line) <= MAX_LINE_LENGTH or (length := len(line.rstrip("\r\n"))) <= MAX_LINE_LENGTH:
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
