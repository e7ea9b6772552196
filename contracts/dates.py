"""Dates and months as Japanese staff type them, for the admin's forms (issue 15).

Accepted, after full-width characters are read as their ASCII forms (NFKC: ２０２６ → 2026,
／ → /) and the dashes people type (－ ー ‐ – — −) as "-":

- ``2026-11-10``, ``2026/11/10``, ``2026.11.10``, ``20261110``, ``2026年11月10日``;
- the Japanese era: ``R8.11.10``, ``R8/11/10``, ``令和8年11月10日``, ``令和元年5月1日``,
  ``H31.4.30``, ``平成31年4月30日``. 令和 starts on 2019-05-01 and 平成 ends on 2019-04-30;
  a date outside its era (``H31.5.1``) is refused with the date it would be.

Months: ``2027-01``, ``2027/1``, ``202701``, ``2027年1月``, ``R9.1``, ``令和9年1月``, and a
first of the month written as a date (``2027-01-01``, what the forms used to need).

The calendar checks (the day exists, the range 2000–2099) are the CSV import's
(``contracts.csvimport.cells``), so that a date reads the same from a file and a form.
Pure functions; ``ValueError`` with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from contracts.csvimport.cells import parse_date as parse_iso_date
from contracts.csvimport.cells import parse_month as parse_iso_month
from contracts.csvimport.problems import CellError


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    first: dt.date
    last: dt.date | None

    def year_of(self, era_year: int) -> int:
        return self.first.year + era_year - 1


#: the eras a business date of the service can fall in (it exists since 2016)
ERAS = (
    Era("令和", "R", dt.date(2019, 5, 1), None),
    Era("平成", "H", dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
)
_ERA_BY_TOKEN = {token: era for era in ERAS for token in (era.name, era.letter)}

#: the dashes, hyphens and long vowel marks people type between the parts of a date
_DASHES = dict.fromkeys(map(ord, "ー－‐‑‒–—―−﹣"), "-")

_ERA = r"(?P<era>令和|平成|R|H)(?P<era_year>元|\d{1,2})"
_SEP = r"[-/.]"
_DATE_PATTERNS = [
    re.compile(rf"(?P<year>\d{{4}})(?P<sep>{_SEP})(?P<month>\d{{1,2}})(?P=sep)(?P<day>\d{{1,2}})", re.ASCII),
    re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})", re.ASCII),
    re.compile(r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日", re.ASCII),
    re.compile(rf"{_ERA}(?P<sep>{_SEP})(?P<month>\d{{1,2}})(?P=sep)(?P<day>\d{{1,2}})", re.ASCII),
    re.compile(rf"{_ERA}年(?P<month>\d{{1,2}})月(?P<day>\d{{1,2}})日", re.ASCII),
]
_MONTH_PATTERNS = [
    re.compile(rf"(?P<year>\d{{4}}){_SEP}(?P<month>\d{{1,2}})", re.ASCII),
    re.compile(r"(?P<year>\d{4})(?P<month>\d{2})", re.ASCII),
    re.compile(r"(?P<year>\d{4})年(?P<month>\d{1,2})月", re.ASCII),
    re.compile(rf"{_ERA}{_SEP}(?P<month>\d{{1,2}})", re.ASCII),
    re.compile(rf"{_ERA}年(?P<month>\d{{1,2}})月", re.ASCII),
]

#: what the help texts show
DATE_EXAMPLES = "2026-11-10, 2026/11/10, R8.11.10, 令和8年11月10日"
MONTH_EXAMPLES = "2027-01, 2027/1, R9.1, 令和9年1月"


def normalise(text: str) -> str:
    """Full-width to ASCII, every dash to "-", no spaces: what the patterns read."""
    return "".join(unicodedata.normalize("NFKC", text).translate(_DASHES).split()).upper()


def _match(patterns, text: str):
    for pattern in patterns:
        match = pattern.fullmatch(text)
        if match:
            return match.groupdict()
    return None


def _gregorian_year(parts: dict, typed: str) -> tuple[int, Era | None]:
    if not parts.get("era"):
        return int(parts["year"]), None
    era = _ERA_BY_TOKEN[parts["era"]]
    era_year = 1 if parts["era_year"] == "元" else int(parts["era_year"])
    if era_year < 1:
        raise ValueError(_("%(value)s: an era year starts at 1 (元年)") % {"value": typed})
    return era.year_of(era_year), era


def japanese_era_date(day: dt.date) -> str:
    """2019-05-01 → 令和元年5月1日 (for messages)."""
    era = next(era for era in ERAS if day >= era.first)
    year = day.year - era.first.year + 1
    return f"{era.name}{'元' if year == 1 else year}年{day.month}月{day.day}日"


def _refuse_outside_era(era: Era, first: dt.date, last: dt.date, typed: str, shown: dt.date) -> None:
    """``first``–``last``: the day typed (or the days of the month typed)."""
    if last < era.first:
        raise ValueError(
            _("%(value)s is not in %(era)s: %(era)s began on %(start)s (%(date)s is %(other)s)")
            % {
                "value": typed,
                "era": era.name,
                "start": f"{era.first.year}年{era.first.month}月{era.first.day}日",
                "date": f"{shown.year}年{shown.month}月{shown.day}日",
                "other": japanese_era_date(shown),
            }
        )
    if era.last is not None and first > era.last:
        raise ValueError(
            _("%(value)s is not in %(era)s: %(era)s ended on %(end)s (%(date)s is %(other)s)")
            % {
                "value": typed,
                "era": era.name,
                "end": f"{era.last.year}年{era.last.month}月{era.last.day}日",
                "date": f"{shown.year}年{shown.month}月{shown.day}日",
                "other": japanese_era_date(shown),
            }
        )


def parse_date(text: str) -> dt.date:
    """A date as staff type it (see the module); ``ValueError`` otherwise."""
    typed = text.strip()
    parts = _match(_DATE_PATTERNS, normalise(typed))
    if parts is None:
        raise ValueError(
            _("%(value)s is not a date: type it as %(examples)s")
            % {"value": typed, "examples": DATE_EXAMPLES}
        )
    year, era = _gregorian_year(parts, typed)
    try:
        day = parse_iso_date(f"{year:04d}-{int(parts['month']):02d}-{int(parts['day']):02d}")
    except CellError as error:
        raise ValueError(str(error)) from None
    if era is not None:
        _refuse_outside_era(era, day, day, typed, day)
    return day


def parse_month(text: str) -> dt.date:
    """A month as staff type it (see the module): its first day; ``ValueError`` otherwise."""
    typed = text.strip()
    normal = normalise(typed)
    parts = _match(_MONTH_PATTERNS, normal)
    if parts is None:
        if _match(_DATE_PATTERNS, normal) is not None:
            day = parse_date(typed)
            if day.day == 1:
                return day
            raise ValueError(
                _("%(value)s is not a month: type the month only, as %(examples)s")
                % {"value": typed, "examples": MONTH_EXAMPLES}
            )
        raise ValueError(
            _("%(value)s is not a month: type it as %(examples)s")
            % {"value": typed, "examples": MONTH_EXAMPLES}
        )
    year, era = _gregorian_year(parts, typed)
    if not 1 <= int(parts["month"]) <= 12:
        raise ValueError(
            _("%(value)s does not exist (month %(month)d)") % {"value": typed, "month": int(parts["month"])}
        )
    try:
        month = parse_iso_month(f"{year:04d}-{int(parts['month']):02d}")
    except CellError as error:
        raise ValueError(str(error)) from None
    if era is not None:
        last = (month + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
        _refuse_outside_era(era, month, last, typed, month)
    return month
