"""Dates and months as Japanese staff type them (issue 15, item 1): every way of writing a
day reads back as that day; month ends, leap years and the 平成/令和 boundary hold; a date
that does not exist is refused with a message that says why."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.dates import parse_date, parse_month

D = dt.date
FULL_WIDTH = str.maketrans("0123456789-/", "０１２３４５６７８９－／")

days = st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31))


def era_of(day):
    """Written out from the calendar (not the parser's table): 令和 from 2019-05-01
    (元年 = 2019), 平成 before it (元年 = 1989)."""
    if day >= D(2019, 5, 1):
        return "令和", "R", day.year - 2018
    return "平成", "H", day.year - 1988


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@given(days)
def test_every_way_of_writing_a_day_reads_back_as_that_day(day):
    name, letter, year = era_of(day)
    spelled = [
        f"{day:%Y-%m-%d}",
        f"{day:%Y/%m/%d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day:%Y.%m.%d}",
        f"{day:%Y%m%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y-%m-%d}".translate(FULL_WIDTH),
        f" {day:%Y/%m/%d}　",  # spaces around, an ideographic space too
        f"{letter}{year}.{day.month}.{day.day}",
        f"{letter.lower()}{year}/{day.month:02d}/{day.day:02d}",
        f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日",
    ]
    for text in spelled:
        assert parse_date(text) == day, text


@given(st.integers(2000, 2099), st.integers(1, 12))
def test_a_months_last_day_exists_and_the_day_after_does_not(year, month):
    last = {1: 31, 2: 29 if is_leap(year) else 28, 3: 31, 4: 30, 5: 31, 6: 30}.get(month)
    last = last or {7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}[month]
    assert parse_date(f"{year}/{month}/{last}") == D(year, month, last)
    with pytest.raises(ValueError, match=f"（{year}年{month}月は{last}日まで）"):
        parse_date(f"{year}/{month}/{last + 1}")


@given(st.integers(2000, 2099))
def test_february_29th_only_in_leap_years(year):
    if is_leap(year):
        assert parse_date(f"{year}-02-29") == D(year, 2, 29)
    else:
        with pytest.raises(ValueError, match="は28日まで"):
            parse_date(f"{year}-02-29")


@given(days)
def test_every_way_of_writing_a_month_reads_back_as_its_first_day(day):
    first = day.replace(day=1)
    name, letter, year = era_of(first)
    for text in (
        f"{day:%Y-%m}",
        f"{day.year}/{day.month}",
        f"{day:%Y%m}",
        f"{day.year}年{day.month}月",
        f"{day:%Y-%m}".translate(FULL_WIDTH),
        f"{letter}{year}.{day.month}",
        f"{name}{'元' if year == 1 else year}年{day.month}月",
        f"{first:%Y-%m-%d}",  # the first of the month as a date, as the forms used to need
    ):
        assert parse_month(text) == first, text


def test_the_heisei_reiwa_boundary():
    assert parse_date("平成31年4月30日") == D(2019, 4, 30)
    assert parse_date("H31.4.30") == D(2019, 4, 30)
    assert parse_date("令和元年5月1日") == D(2019, 5, 1)
    assert parse_date("R1.5.1") == D(2019, 5, 1)
    assert parse_date("㋿8.11.10") == D(2026, 11, 10)  # the one-character era name
    with pytest.raises(ValueError) as refused:
        parse_date("H31.5.1")
    assert str(refused.value) == (
        "H31.5.1は平成の日付ではありません。平成は2019年4月30日までです（2019年5月1日は令和元年5月1日）"
    )
    with pytest.raises(ValueError) as refused:
        parse_date("令和元年4月30日")
    assert str(refused.value) == (
        "令和元年4月30日は令和の日付ではありません。令和は2019年5月1日からです（2019年4月30日は平成31年4月30日）"
    )
    assert parse_month("平成31年4月") == D(2019, 4, 1)
    assert parse_month("R1.5") == D(2019, 5, 1)
    with pytest.raises(ValueError, match="平成は2019年4月30日までです"):
        parse_month("H31.5")
    with pytest.raises(ValueError, match="令和は2019年5月1日からです"):
        parse_month("R1.4")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2026-11-31", "2026-11-31 does not exist (2026-11 has 30 days)"),
        ("2026/13/01", "2026-13-01 does not exist (month 13)"),
        ("R0.1.1", "R0.1.1: an era year starts at 1 (元年)"),
        ("1999-12-31", "1999-12-31 is outside 2000年1月1日–2099年12月31日"),
        ("2026-11", "2026-11 is not a date: type it as 2026-11-10, 2026/11/10, R8.11.10, 令和8年11月10日"),
        ("昨日", "昨日 is not a date: type it as 2026-11-10, 2026/11/10, R8.11.10, 令和8年11月10日"),
    ],
)
def test_a_date_that_is_not_one_says_why(typed, message):
    from django.utils import translation

    with translation.override("en"):
        with pytest.raises(ValueError) as refused:
            parse_date(typed)
    assert str(refused.value) == message


def test_a_month_typed_as_another_day_is_refused():
    from django.utils import translation

    with translation.override("en"):
        with pytest.raises(ValueError) as refused:
            parse_month("2027-01-15")
    assert str(refused.value) == (
        "2027-01-15 is not a month: type the month only, as 2027-01, 2027/1, R9.1, 令和9年1月"
    )
