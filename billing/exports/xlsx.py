"""Exports as Excel workbooks (.xlsx, openpyxl), for accountants who open them in Excel:
codes and names are text cells (a code such as 007 keeps its zeros, a text starting with
"=" stays text, never a formula), dates are dates shown 2026/11/05, amounts and quantities
are numbers. Written row by row (openpyxl's write-only mode), so memory stays flat."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .cells import Cells

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy/mm/dd"


class XlsxCells(Cells):
    """Typed values: the workbook writer makes each a cell of its kind."""

    empty = None

    @staticmethod
    def code(value: str) -> str:
        return value

    @staticmethod
    def text(value: str) -> str:
        return value  # kept as text by the writer, never read as a formula

    @staticmethod
    def yen(value) -> int:
        return int(value)

    @staticmethod
    def decimal(value: Decimal | None) -> Decimal | None:
        return None if value is None else value.normalize()

    @staticmethod
    def date(value: dt.date | None) -> dt.date | None:
        return value

    @staticmethod
    def coefficient(value: Decimal) -> Decimal:
        return value

    @staticmethod
    def rate(value: Decimal) -> Decimal:
        return value

    @staticmethod
    def integer(value: int) -> int:
        return value


XLSX_CELLS = XlsxCells()

#: number formats of the typed cells
_FORMATS = {Decimal: "#,##0.####", int: "#,##0"}


def _cell(sheet, value):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=…" for a formula
        cell.number_format = "@"
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT
    elif type(value) in _FORMATS:
        cell.number_format = _FORMATS[type(value)]
    return cell


def workbook(title: str, header: Iterable[str], rows: Iterable[list]) -> Iterator[bytes]:
    """One sheet: the header row, then the rows; the workbook's bytes, in chunks."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title)
    sheet.append([_cell(sheet, name) for name in header])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    with tempfile.TemporaryFile() as handle:
        book.save(handle)
        handle.seek(0)
        while chunk := handle.read(1 << 16):
            yield chunk
