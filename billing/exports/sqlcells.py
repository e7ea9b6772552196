"""The CSV cells of ``cells.CSV_CELLS``, written by PostgreSQL: the same text for the
same value, so that an export can be one ``COPY (query) TO STDOUT (FORMAT csv)``
streamed as it comes instead of a Python loop over every value (issue 16).

Each class is an ORM expression over a column that gives its cell as text, or NULL for
an empty cell: ``COPY ... (FORMAT csv)`` writes NULL as nothing and quotes a field as
Python's ``csv.writer`` does (a comma, a double quote, CR or LF inside; quotes doubled),
but it would write an empty string as ``""``, which ``csv.writer`` does not. So no
expression here ever gives an empty string.

``tests/billing/test_exports.py`` pins the bytes; ``tests/billing/test_export_copy.py``
compares these cells with ``CSV_CELLS`` value by value.
"""

from __future__ import annotations

from django.db.models import Func, TextField

from billing.formatting import FORMULA_PREFIXES

#: the characters ``formatting.neutralise`` puts a quote before, as SQL
_FORMULA_STARTS = ", ".join(f"CHR({ord(char)})" for char in FORMULA_PREFIXES)


class _Cell(Func):
    output_field = TextField()
    arity = 1


class Code(_Cell):
    """``Cells.code`` (and a plain value such as a status): the text as it is."""

    template = "NULLIF(%(expressions)s, '')"


class Text(_Cell):
    """``Cells.text``: text typed by people, a spreadsheet formula neutralised with a
    leading quote (``formatting.neutralise``)."""

    template = (
        f"CASE WHEN LEFT(%(expressions)s, 1) IN ({_FORMULA_STARTS}) THEN '''' || %(expressions)s "
        "ELSE NULLIF(%(expressions)s, '') END"
    )


class Date(_Cell):
    """``Cells.date``: 2026-11-05."""

    template = "TO_CHAR(%(expressions)s, 'YYYY-MM-DD')"


class Month(_Cell):
    """``Cells.month``: 2026-11."""

    template = "TO_CHAR(%(expressions)s, 'YYYY-MM')"


class Yen(_Cell):
    """``Cells.yen``: whole yen, truncated toward zero as ``int()`` does."""

    template = "TRUNC(%(expressions)s)::text"


class NegativeYen(_Cell):
    """``Cells.yen`` of the value negated (a credit note's amounts)."""

    template = "(-TRUNC(%(expressions)s))::text"


class PlainDecimal(_Cell):
    """``Cells.decimal``: without trailing zeros (0.35, 300)."""

    template = "TRIM_SCALE(%(expressions)s)::text"


class Coefficient(_Cell):
    """``Cells.coefficient``: three decimals (2.500)."""

    template = "ROUND(%(expressions)s, 3)::text"


class Rate(_Cell):
    """``Cells.rate``: two decimals (0.10)."""

    template = "ROUND(%(expressions)s, 2)::text"


class Integer(_Cell):
    """``Cells.integer``."""

    template = "(%(expressions)s)::text"
