"""Calendar arithmetic of the regulation, as pure functions over ``datetime.date``.

Every business date is a date in Japan (R13); callers pass Japan dates
(``django.utils.timezone.localdate()``), never naive server dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re

import jpholiday

#: Art. 6: termination takes effect when 30 days have elapsed from the day the
#: notice reached the company. Civil Code art. 140: the day of arrival is not
#: counted, so the 30 days elapse on arrival + 30 days.
TERMINATION_NOTICE_DAYS = 30

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(day: dt.date) -> dt.date:
    """The first day of the month containing ``day``."""
    return day.replace(day=1)


def days_in_month(month: dt.date) -> int:
    return _days_in_month(month.year, month.month)


@functools.lru_cache(maxsize=4096)  # asked for per contract in a run: calendar.monthrange works out a weekday too
def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def month_end(month: dt.date) -> dt.date:
    """The last day of the month containing ``month``."""
    return month.replace(day=days_in_month(month))


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after the one containing ``month``."""
    return month_end(month) + dt.timedelta(days=1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months after (or before) ``month``."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` to the first day of that month; ``ValueError`` otherwise."""
    match = _MONTH_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a month in the form YYYY-MM")
    return dt.date(int(match[1]), int(match[2]), 1)


def format_month(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def japanese_date(day: dt.date) -> str:
    """2026年11月5日, as screens, messages and documents show a date (billing.formatting's
    ``japanese_date`` is this, empty for none)."""
    return f"{day.year}年{day.month}月{day.day}日"


def japanese_month(month: dt.date) -> str:
    """2027年1月, as messages name a month."""
    return f"{month.year}年{month.month}月"


def termination_effective_on(notice_received_on: dt.date, requested_on: dt.date | None) -> dt.date:
    """R6: the later of arrival + 30 days (arrival day not counted) and the requested day.

    The result is the last day of service and of billing (inclusive).
    """
    elapsed = notice_received_on + dt.timedelta(days=TERMINATION_NOTICE_DAYS)
    if requested_on is None:
        return elapsed
    return max(elapsed, requested_on)


def is_bank_holiday(day: dt.date) -> bool:
    """Japanese banks close on Saturdays, Sundays, national holidays (jpholiday, which
    follows the Cabinet Office's list, substitute holidays included) and from 12-31 to
    01-03 (R18)."""
    return (
        day.weekday() >= 5
        or jpholiday.is_holiday(day)
        or (day.month, day.day) in ((12, 31), (1, 1), (1, 2), (1, 3))
    )


def bank_business_day(day: dt.date, *, roll: str = "previous") -> dt.date:
    """``day`` if banks are open on it; otherwise the bank business day before it
    (``roll="previous"``) or after it (``roll="next"``)."""
    if roll not in ("previous", "next"):
        raise ValueError(f"roll must be 'previous' or 'next', not {roll!r}")
    step = dt.timedelta(days=-1 if roll == "previous" else 1)
    while is_bank_holiday(day):
        day += step
    return day
