"""Calendar arithmetic of the regulation (R6, R7, R13), with the worked examples of
rules.md and property tests over month ends and leap years."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import periods

dates = st.dates(min_value=dt.date(2016, 3, 1), max_value=dt.date(2099, 12, 31))


@pytest.mark.parametrize(
    ("received", "requested", "expected"),
    [
        # rules.md R6, every worked example
        (dt.date(2026, 4, 1), None, dt.date(2026, 5, 1)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30), dt.date(2026, 6, 30)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 15), dt.date(2026, 5, 1)),
        (dt.date(2026, 1, 31), None, dt.date(2026, 3, 2)),
        (dt.date(2028, 1, 31), None, dt.date(2028, 3, 1)),
        # our own: the day of arrival is not counted; requested exactly on day 30
        (dt.date(2026, 4, 1), dt.date(2026, 5, 1), dt.date(2026, 5, 1)),
        (dt.date(2026, 4, 1), dt.date(2026, 5, 2), dt.date(2026, 5, 2)),
        (dt.date(2026, 12, 15), None, dt.date(2027, 1, 14)),
        (dt.date(2028, 2, 29), None, dt.date(2028, 3, 30)),
        (dt.date(2027, 2, 28), None, dt.date(2027, 3, 30)),
    ],
)
def test_termination_effective_on_examples(received, requested, expected):
    assert periods.termination_effective_on(received, requested) == expected


@given(received=dates, requested=st.none() | dates)
def test_termination_is_never_before_thirty_days_nor_the_requested_day(received, requested):
    effective = periods.termination_effective_on(received, requested)
    assert (effective - received).days >= 30
    if requested is not None:
        assert effective >= requested
        # and it is one of the two candidates, never something else
        assert effective in (requested, received + dt.timedelta(days=30))
    else:
        assert (effective - received).days == 30


@pytest.mark.parametrize(
    ("month", "days"),
    [
        (dt.date(2026, 1, 1), 31),
        (dt.date(2026, 2, 1), 28),
        (dt.date(2028, 2, 1), 29),
        (dt.date(2100, 2, 1), 28),  # divisible by 100, not by 400
        (dt.date(2000, 2, 1), 29),
        (dt.date(2026, 4, 30), 30),
    ],
)
def test_days_in_month(month, days):
    assert periods.days_in_month(month) == days
    assert periods.month_end(month).day == days


@given(day=dates)
def test_month_bounds(day):
    start, end = periods.month_start(day), periods.month_end(day)
    assert start.day == 1 and start <= day <= end
    assert periods.next_month(day) == end + dt.timedelta(days=1)
    assert periods.next_month(day).day == 1
    assert (end - start).days + 1 == periods.days_in_month(day)


@given(day=dates, count=st.integers(min_value=-300, max_value=300))
def test_add_months_lands_on_a_first_day(day, count):
    result = periods.add_months(day, count)
    assert result.day == 1
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == count


def test_parse_and_format_month():
    assert periods.parse_month("2028-02") == dt.date(2028, 2, 1)
    assert periods.format_month(dt.date(2028, 2, 29)) == "2028-02"
    for bad in ("2028-2", "2028-13", "2028/02", "28-02", ""):
        with pytest.raises(ValueError):
            periods.parse_month(bad)
