"""Column parsers: each cell of a file is read by its column's parser, which returns a
value or raises ``CellError`` with a message for the person who made the file."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from contracts import periods
from contracts.text import invisible_character, refusal_message

from .problems import CellError

#: Business dates outside this range are typing mistakes, not data (R13, R14: the
#: service exists since 2016).
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)


def described(parse, text: str):
    """Give a parser the description the interfaces document shows (``manage.py interfaces``)."""
    parse.format = text
    return parse


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

    def copy(value: str) -> str:
        # no control character (tab, line ends): only a backslash needs COPY's escape
        value = parse(value)
        return value.replace("\\", "\\\\") if "\\" in value else value

    parse.copy_text = copy
    return described(parse, f"text, at most {max_length} characters, no control characters")


_CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def parse_code(max_length: int = 32) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length or not _CODE_RE.fullmatch(value):
            raise CellError(
                _("%(value)r is not a code (letters, digits, '-', '_', '.', at most %(max)d)")
                % {"value": value[:40], "max": max_length}
            )
        return value

    # letters, digits, '-', '_', '.': COPY text as they are (a file repeats its few codes)
    parse.copy_text = functools.lru_cache(maxsize=4096)(parse)
    return described(parse, f"code: letters, digits, '-', '_', '.' (at most {max_length})")


# re.ASCII: ``\d`` would also take full-width (２０２６) and other scripts' digits.
_DATE_RE = re.compile(r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})", re.ASCII)


@functools.lru_cache(maxsize=4096)  # usage files repeat a few hundred dates a million times
def parse_date(value: str) -> dt.date:
    match = _DATE_RE.fullmatch(value)
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


described(parse_date, f"date YYYY-MM-DD or YYYY/MM/DD, {EARLIEST_DATE.year}–{LATEST_DATE.year}")
# the same few hundred dates again: their COPY text remembered too
parse_date.copy_text = functools.lru_cache(maxsize=4096)(lambda value: parse_date(value).isoformat())


def _outside(value: str) -> CellError:
    return CellError(
        _("%(value)s is outside %(first)s–%(last)s")
        % {
            "value": value,
            "first": periods.japanese_date(EARLIEST_DATE),
            "last": periods.japanese_date(LATEST_DATE),
        }
    )


def _in_range(result: dt.date, value: str) -> dt.date:
    if not EARLIEST_DATE <= result <= LATEST_DATE:
        raise _outside(value)
    return result


_MONTH_RE = re.compile(r"(\d{4})[-/](\d{1,2})", re.ASCII)


def parse_month(value: str) -> dt.date:
    match = _MONTH_RE.fullmatch(value)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CellError(_("%(value)r is not a month (YYYY-MM)") % {"value": value[:40]})
    if not EARLIEST_DATE.year <= int(match[1]) <= LATEST_DATE.year:
        raise _outside(value)  # before building a date: year 0 has none
    return dt.date(int(match[1]), int(match[2]), 1)


described(parse_month, "month YYYY-MM (also YYYY/MM)")


_DECIMAL_RE = re.compile(r"\d+(\.\d+)?", re.ASCII)


def parse_decimal(*, places: int, max_value: Decimal) -> Callable[[str], Decimal]:
    """A non-negative amount with at most ``places`` decimals, no separators."""

    def parse(value: str) -> Decimal:
        if not _DECIMAL_RE.fullmatch(value):
            # "negative" only for a number: the message shows the value as it is
            if value.startswith("-") and _DECIMAL_RE.fullmatch(value[1:]):
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

    kind = "whole yen" if places == 0 else f"yen, up to {places} decimals"
    return described(parse, f"{kind}, 0 to {max_value}, no separators")


_WHOLE_RE = re.compile(r"\d+", re.ASCII)


def parse_whole(*, max_value: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _WHOLE_RE.fullmatch(value):
            if value.startswith("-") and _WHOLE_RE.fullmatch(value[1:]):
                raise CellError(_("%(value)s is negative; a count is 0 or more") % {"value": value[:40]})
            raise CellError(_("%(value)r is not a whole number") % {"value": value[:40]})
        digits = value.lstrip("0")
        # int() refuses more than 4,300 digits; a number that long is too large anyway
        number = max_value + 1 if len(digits) > len(str(max_value)) else int(digits or "0")
        if number > max_value:
            raise CellError(_("%(value)s is larger than %(max)d") % {"value": value[:40], "max": max_value})
        return number

    digits = len(str(max_value))

    def copy(value: str) -> str:
        # most cells: ASCII digits, no leading zero, short enough for int(): written as they are
        if value.isdigit() and value.isascii() and value[0] != "0" and len(value) <= digits:
            if int(value) <= max_value:
                return value
        return str(parse(value))

    parse.copy_text = copy
    return described(parse, f"whole number, 0 to {max_value}")


def parse_choice(choices: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(choices)

    def parse(value: str) -> str:
        if value not in allowed:
            raise CellError(
                _("%(value)r is not one of: %(choices)s")
                % {"value": value[:40], "choices": ", ".join(allowed)}
            )
        return value

    return described(parse, "one of " + ", ".join(f"`{choice}`" for choice in allowed))


def parse_yes_no(value: str) -> bool:
    lowered = value.lower()
    if lowered == "yes":
        return True
    if lowered == "no":
        return False
    raise CellError(_("%(value)r is not yes or no") % {"value": value[:40]})


described(parse_yes_no, "`yes` or `no`")


def copy_text(parse: Callable[[str], Any]) -> Callable[[str], str]:
    """``parse`` (a column's parser) as a function from a cell to PostgreSQL's ``COPY``
    text of its value, with the same checks and the same ``CellError``: the parser's own
    ``copy_text`` where it has one (the usage files' parsers: the cell written as it is,
    or as it was the last time), else its value formatted (``copy_value``)."""
    fast = getattr(parse, "copy_text", None)
    if fast is not None:
        return fast
    return lambda cell: copy_value(parse(cell))


def cell_text(column: Column) -> Callable[[str], str]:
    """A function from a stripped cell of ``column`` to its value's ``COPY`` text, or
    ``CellError`` for a cell the column refuses, an empty required one included (the
    error's message is not used: the row is read again by ``reading._parse_row`` to say
    what is wrong)."""
    convert = copy_text(column.parse)
    if not column.required:
        default = copy_value(column.default)
        return lambda cell: convert(cell) if cell else default
    try:
        convert("")
    except CellError:
        return convert  # it refuses an empty cell itself (a code, a date, a number)

    def required(cell: str) -> str:
        if not cell:
            raise CellError("")
        return convert(cell)

    return required


#: COPY text's escapes of the characters that end a value, a row or an escape
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    """A parsed value as PostgreSQL's ``COPY`` text (the default format) writes it."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value)
    raise TypeError(f"no COPY text for {type(value).__name__}")


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


def parse_email_list(max_length: int) -> Callable[[str], str]:
    """One email address or several, separated by commas or semicolons (R19: where invoices
    are sent); each checked, the wrong one named."""
    from django.core.exceptions import ValidationError

    from contracts.models.customers import validate_email_list

    text = parse_text(max_length)

    def parse(value: str) -> str:
        value = text(value)
        try:
            validate_email_list(value)
        except ValidationError as error:
            raise CellError(error.messages[0]) from None
        return value

    return described(parse, f"email addresses, separated by commas, at most {max_length} characters")
