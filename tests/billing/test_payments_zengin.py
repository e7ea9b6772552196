"""R17: Zengin bank files read by their layouts (振込入金通知 01, 入出金取引明細 03), 和暦
dates across the change of era, and corrupt files refused with their line numbers. The
files are written byte by byte in ``zengin_files``."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.payments import zengin
from contracts.csvimport import Problems

from .zengin_files import (
    end,
    statement,
    statement_header,
    statement_trailer,
    transfer,
    transfer_file,
    transfer_header,
    transfer_trailer,
)

D = dt.date
TODAY = D(2026, 12, 1)


@pytest.fixture(autouse=True)
def _english():
    """The messages as written in the code; their Japanese is tested in test_payments.py."""
    with translation.override("en"):
        yield


def parse(data):
    problems = Problems()
    deposits = zengin.parse(data, problems, today=TODAY)
    return deposits, [str(p) for p in problems.items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("310430", D(2019, 4, 30)),  # 平成31年4月30日, the last day of 平成
        ("010501", D(2019, 5, 1)),  # 令和元年5月1日, the first day of 令和
        ("081201", D(2026, 12, 1)),  # 令和8年
        ("300315", D(2018, 3, 15)),  # 平成30年 (令和30年 would be 2048)
        ("011231", D(2019, 12, 31)),  # 令和元年12月31日
        ("090131", D(2027, 1, 31)),  # 令和9年: within a year of today
    ],
)
def test_era_dates(text, expected):
    assert zengin.era_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["310501", "010230", "08120A", "0812"])
def test_era_dates_that_are_no_day(text):
    # 310501: 平成31年5月1日 never was (令和 began), 令和31年 is decades away; 010230: no Feb 30
    with pytest.raises(ValueError):
        zengin.era_date(text, today=TODAY)


def test_a_transfer_notice_with_crlf():
    data = transfer_file(
        (1, "081201", 110000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ", "SK2026100001"),
        (2, "081202", 5500, "ﾔﾏﾀﾞ ﾀﾛｳ"),
    )
    deposits, problems = parse(data)
    assert problems == []
    assert [(d.line, d.received_on, d.amount, d.payer_name, d.reference) for d in deposits] == [
        (2, D(2026, 12, 1), Decimal(110000), "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ", "SK2026100001"),
        (3, D(2026, 12, 2), Decimal(5500), "ﾔﾏﾀﾞ ﾀﾛｳ", ""),
    ]
    # bank 0001, branch 123, 普通 1234567, 照会番号 000001, 勘定日 2026-12-01
    assert deposits[0].source_id == "zengin:0001-123-11234567:000001:20261201"
    assert deposits[0].bank_name == "ﾐﾂｲｽﾐﾄﾓ ﾎﾝﾃﾝ"


def test_the_same_file_without_line_ends_reads_the_same():
    transfers = ((1, "081201", 110000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081202", 5500, "ﾔﾏﾀﾞ ﾀﾛｳ"))
    with_crlf, _ = parse(transfer_file(*transfers))
    without, problems = parse(transfer_file(*transfers, crlf=False) + b"\x1a")
    assert problems == []
    assert [d.source_id for d in without] == [d.source_id for d in with_crlf]
    assert len(without) == 2


def test_dates_across_the_change_of_era():
    data = transfer_file(
        (1, "310430", 1000, "ﾍｲｾｲ"), (2, "010501", 2000, "ﾚｲﾜ"), first="310430", last="010501"
    )
    deposits, problems = parse(data)
    assert problems == []
    assert [d.received_on for d in deposits] == [D(2019, 4, 30), D(2019, 5, 1)]


def test_a_cancelled_notification_is_no_deposit_and_counts_in_its_own_total():
    records = [
        transfer_header(),
        transfer(1, "081201", 1000, "ｱ"),
        transfer(2, "081201", 700, "ｲ", cancelled=True),
        transfer_trailer(1, 1000, 1, 700),
        end(),
    ]
    deposits, problems = parse(b"\r\n".join(records))
    assert problems == []
    assert [d.amount for d in deposits] == [Decimal(1000)]


def test_a_statement_reads_its_credits_only():
    records = [
        statement_header(),
        statement(10, "081201", 33000, "ｶ)ﾌﾞﾗﾎﾞｰ"),
        statement(11, "081201", 9999, "ﾃﾞﾝｷﾀﾞｲ", credit=False),
        statement(12, "081203", 1200, "ﾔﾏﾀﾞ", "SK-202610-0002"),
        statement_trailer(2, 34200, 1, 9999, 3),
        end(),
    ]
    deposits, problems = parse(b"\n".join(records))
    assert problems == []
    assert [(d.line, d.amount, d.reference) for d in deposits] == [
        (2, Decimal(33000), ""),
        (4, Decimal(1200), "SK-202610-0002"),
    ]
    assert deposits[0].source_id == "zengin:0001-123-11234567:00000010:20261201"


class TestCorruptFiles:
    def test_a_short_record(self):
        records = [
            transfer_header(),
            transfer(1, "081201", 1000, "ｱ")[:150],
            transfer_trailer(1, 1000),
            end(),
        ]
        _, problems = parse(b"\r\n".join(records))
        assert problems[0] == "line 2: the record is 150 bytes long; a Zengin record is 200"

    def test_a_short_file_without_line_ends(self):
        data = b"".join(
            [transfer_header(), transfer(1, "081201", 1000, "ｱ"), transfer_trailer(1, 1000), end()]
        )
        _, problems = parse(data[:-10])
        assert problems[0] == "line 4: the record is 190 bytes long; a Zengin record is 200"

    def test_a_trailer_whose_count_and_total_disagree(self):
        records = [transfer_header(), transfer(1, "081201", 1000, "ｱ"), transfer_trailer(2, 1500), end()]
        _, problems = parse(b"\r\n".join(records))
        assert problems == [
            "line 3, column 振込合計件数: the trailer says 2, the records add up to 1",
            "line 3, column 振込合計金額: the trailer says 1,500, the records add up to 1,000",
        ]

    def test_a_statement_trailer_that_disagrees(self):
        records = [
            statement_header(),
            statement(1, "081201", 500, "ｱ"),
            statement_trailer(1, 500, 0, 0, 2),
            end(),
        ]
        _, problems = parse(b"\r\n".join(records))
        assert problems == ["line 3, column データレコード件数: the trailer says 2, the records add up to 1"]

    def test_an_unknown_record_type(self):
        bad = b"7" + transfer(1, "081201", 1000, "ｱ")[1:]
        records = [transfer_header(), bad, transfer_trailer(0, 0), end()]
        _, problems = parse(b"\r\n".join(records))
        assert problems == [
            "line 2, column データ区分: unknown record type '7' (1 header, 2 data, 8 trailer, 9 end)"
        ]

    def test_an_unknown_kind_of_file(self):
        header = transfer_header()
        _, problems = parse(b"\r\n".join([header[:1] + b"21" + header[3:], end()]))
        assert problems == ["line 1, column 種別コード: '21' is not 01 (振込入金通知) or 03 (入出金取引明細)"]

    def test_a_utf8_file(self):
        text = b"\r\n".join(
            [transfer_header(), transfer(1, "081201", 1000, "ｱ"), transfer_trailer(1, 1000), end()]
        ).decode("cp932")
        _, problems = parse(text.encode("utf-8"))
        assert problems == [
            "line 1: the file is UTF-8; a Zengin bank file is Shift_JIS (CP932): download it from the bank again"
        ]

    def test_letters_in_an_amount_and_a_date_that_is_no_day(self):
        good = transfer(1, "081201", 1000, "ｱ")
        bad = good[:19] + b"00000A1000" + good[29:]
        records = [transfer_header(), bad, transfer(2, "081331", 5, "ｲ"), transfer_trailer(2, 1005), end()]
        _, problems = parse(b"\r\n".join(records))
        assert problems == [
            "line 2, column 金額: '00000A1000' is not a number",
            "line 3, column 勘定日: '081331' is no day of 令和 or 平成 (和暦 YYMMDD)",
        ]

    def test_no_end_record_and_data_outside_a_header(self):
        records = [transfer(1, "081201", 1000, "ｱ"), transfer_header(), transfer_trailer(0, 0)]
        _, problems = parse(b"\r\n".join(records))
        assert problems == [
            "line 1, column データ区分: a data record (2) outside a header (1) and trailer (8)",
            "line 3, column データ区分: the file has no end record (9): is it complete?",
        ]
