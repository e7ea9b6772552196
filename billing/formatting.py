"""How values are written, in files and on documents and screens: one module, so that a
yen amount or a date reads the same everywhere it appears.

Files (CSV, journals) take plain values: ``yen_cell`` 120859, ``decimal_cell`` 0.35,
``date_cell`` 2026-11-05. Documents and screens take Japanese ones: ``yen_text``
120,859, ``japanese_date`` 2026年11月5日, ``percent`` 10.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from contracts import periods

#: invoices, credit notes and their descriptions are Japanese documents, whoever makes them
DOCUMENT_LANGUAGE = "ja"

#: a text cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell of a file a spreadsheet opens never starts a formula: a leading quote
    (OWASP). Only for spreadsheet files, never inside accounting journals."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def yen_cell(amount: Decimal | int) -> str:
    """Whole yen as a file cell: 120859."""
    return str(int(amount))


def decimal_cell(value: Decimal | None) -> str:
    """A quantity or unit price as a file cell, without trailing zeros: 0.35, 300."""
    if value is None:
        return ""
    normal = value.normalize()
    return f"{normal:f}" if normal != normal.to_integral_value() else str(int(normal))


def date_cell(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def yen_text(amount: Decimal | int) -> str:
    """Whole yen with thousands separators, as documents and screens show them: 120,859."""
    return f"{int(amount):,}"


def price_text(value: Decimal) -> str:
    """A unit price with its fraction of a yen, thousands separated: 1,250.5, 0.35."""
    value = value.normalize()
    whole = int(value)
    fraction = value - whole
    return f"{whole:,}" + (f"{fraction:f}"[1:] if fraction else "")


def percent(rate: Decimal) -> str:
    """0.10 → "10"."""
    return decimal_cell(rate * 100)


def japanese_date(day: dt.date | None) -> str:
    """2026年11月5日, as screens and documents show a date (empty for none)."""
    return periods.japanese_date(day) if day else ""


def cp932_width(text: str) -> int:
    """Width in half-width units as Japanese software counts it (bytes in Shift_JIS)."""
    return len(text.encode("cp932", errors="replace"))


def cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` half-width units, never inside a character: the
    characters whose bytes in Shift_JIS all lie in the first ``width`` (the decoder drops
    the first byte of a character cut in two). One encoding and one decoding; a binary
    search of encoded prefixes was a sixth of a journal file (issue 16)."""
    if len(text) * 2 <= width:  # it fits (a character is 1 or 2 units)
        return text
    encoded = text.encode("cp932", errors="replace")  # a character it cannot hold: "?", 1 unit
    if len(encoded) <= width:
        return text
    return text[: len(encoded[:width].decode("cp932", errors="ignore"))]


def safe_filename(name: str) -> str:
    """ASCII letters, digits, dot, dash and underscore only (codes may hold anything)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
