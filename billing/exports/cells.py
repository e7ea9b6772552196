"""How an export writes each kind of value, per file format: the row functions say what a
cell is (a code, a text, a date, an amount in yen …), a ``Cells`` says how it is written.

``CSV_CELLS``: the plain text of ``billing.formatting`` (120859, 0.35, 2026-11-05; a text
that a spreadsheet would read as a formula neutralised). ``billing.exports.xlsx`` has the
typed values an Excel workbook keeps (numbers, dates, text)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.formatting import date_cell, decimal_cell, neutralise, yen_cell
from contracts import periods


class Cells:
    """CSV cells: every value as the text interfaces.md shows."""

    empty = ""

    @staticmethod
    def code(value: str) -> str:
        """A number or code of ours (SK-202610-0001): written as it is."""
        return value

    text = staticmethod(neutralise)  # a name or description typed by people
    yen = staticmethod(yen_cell)
    decimal = staticmethod(decimal_cell)
    date = staticmethod(date_cell)

    @staticmethod
    def month(value: dt.date) -> str:
        return periods.format_month(value)

    @staticmethod
    def coefficient(value: Decimal) -> str:
        """The sum of R10 coefficients, always with its 3 decimals: 2.500."""
        return f"{value:.3f}"

    @staticmethod
    def rate(value: Decimal) -> str:
        return f"{value:.2f}"

    @staticmethod
    def integer(value: int) -> str:
        return str(value)


CSV_CELLS = Cells()
