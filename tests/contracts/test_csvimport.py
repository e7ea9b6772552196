"""The import engine's cell parsers and decoder on their own: the edge cases the bad-input
corpus (tests/e2e/test_bad_input.py) found, with their exact messages."""

import datetime as dt
import io
from decimal import Decimal
from unittest import mock

import pytest
from django.db import IntegrityError, OperationalError
from hypothesis import given
from hypothesis import strategies as st

from contracts.csvimport import (
    CellError,
    ImportRejected,
    decode,
    decoding,
    file_lines,
    parse_date,
    parse_decimal,
    parse_month,
    parse_text,
    parse_whole,
    run_import,
    text_lines,
)
from contracts.imports import CustomerKind


def refusal(parse, value) -> str:
    with pytest.raises(CellError) as error:
        parse(value)
    return str(error.value)


class TestDatesAndMonths:
    @pytest.mark.parametrize("value", ["0000-01-01", "0000-02-30", "0000/13/01"])
    def test_year_zero_is_outside_the_range_not_a_crash(self, value):
        assert refusal(parse_date, value) == f"{value} は 2000年1月1日〜2099年12月31日 の範囲外です"

    def test_month_of_year_zero(self):
        assert refusal(parse_month, "0000-01") == "0000-01 は 2000年1月1日〜2099年12月31日 の範囲外です"

    @pytest.mark.parametrize("value", ["２０２６-０１-０１", "٢٠٢٦-٠١-٠١", "2026-0１-01"])
    def test_only_ascii_digits_make_a_date(self, value):
        assert refusal(parse_date, value) == f"{value!r} は日付ではありません（YYYY-MM-DD または YYYY/MM/DD）"

    def test_only_ascii_digits_make_a_month(self):
        assert refusal(parse_month, "２０２６-１０") == "'２０２６-１０' は年月ではありません（YYYY-MM）"

    def test_good_values_still_parse(self):
        assert parse_date("2028/2/29") == dt.date(2028, 2, 29)
        assert parse_month("2099-12") == dt.date(2099, 12, 1)


class TestNumbers:
    amount = staticmethod(parse_decimal(places=0, max_value=Decimal("9999999999")))
    count = staticmethod(parse_whole(max_value=10**12))

    @pytest.mark.parametrize("value", ["１０００", "٣٠٠٠", "1,000", "1_000"])
    def test_only_ascii_digits_make_an_amount(self, value):
        assert refusal(self.amount, value) == (
            f"{value!r} は金額ではありません（数字と小数点のみ。桁区切りは使えません）"
        )

    def test_only_ascii_digits_make_a_count(self):
        assert refusal(self.count, "１２") == "'１２' は整数ではありません"

    def test_a_count_longer_than_int_converts_is_too_large_not_a_crash(self):
        assert refusal(self.count, "9" * 5000) == f"{'9' * 40} は上限 1000000000000 を超えています"
        assert refusal(self.count, "0" * 4999 + "7" * 13).endswith("は上限 1000000000000 を超えています")
        assert self.count("0" * 5000 + "12") == 12

    @pytest.mark.parametrize("parse", [amount, count])
    def test_negative_only_for_a_negative_number(self, parse):
        assert "負の数" in refusal(parse, "-5")
        message = refusal(parse, "-1\n2")  # the value is shown as repr: one line
        assert "\n" not in message and "'-1\\n2'" in message
        assert "負の数" not in refusal(parse, "-abc")


class TestText:
    text = staticmethod(parse_text(200))

    @pytest.mark.parametrize(
        "value",
        [
            "a\x01b",
            "a\tb",
            "a\x7fb",  # DEL
            "a\x85b",  # NEL (C1); also what CP932 makes of a stray 0x80 byte: U+0080
            "a\u2028b",  # line separator
            "a\u200bb",  # zero-width space
            "a\ufeffb",  # a BOM inside a cell
            "abc\u202efdp.exe",  # right-to-left override
        ],
    )
    def test_control_and_invisible_characters_are_refused(self, value):
        message = refusal(self.text, value)
        assert message.startswith("目に見えない制御文字（U+") and message.endswith(
            "が含まれています。取り除いてください"
        )

    def test_the_refused_character_is_named(self):
        assert refusal(self.text, "\x1b[31m赤") == (
            "目に見えない制御文字（U+001B）が含まれています。取り除いてください"
        )
        assert "U+202E RIGHT-TO-LEFT OVERRIDE" in refusal(self.text, "abc\u202efdp.exe")

    @pytest.mark.parametrize(
        "value",
        [
            "株式会社アルファ\u3000経理部 御中",  # an ideographic space is a space
            "ｶ)ｱﾙﾌｧ",
            "\ue000商事",  # a user-defined character (外字) of CP932
            "葛\U000e0100飾区",  # an ideographic variation selector
            "Société Générale",
            # names a spreadsheet would read as formulas are names: exports neutralise them
            "@cosme株式会社",
            "+Style株式会社",
            "-ハイフン商会",
            "=SUM(A1)",
        ],
    )
    def test_printed_text_is_kept(self, value):
        assert self.text(value) == value


@pytest.mark.django_db
class TestHeader:
    def problems(self, header: str) -> list[str]:
        with pytest.raises(ImportRejected) as rejected:
            run_import("auth_counts", f"{header}\nS1,2026-10-01,1\n".encode())
        return [str(p) for p in rejected.value.problems]

    def test_a_plain_unknown_name_is_the_column(self):
        assert self.problems("contract_code,date,success_count,remarks") == [
            "line 1, column remarks: 不明な列です（使える列: contract_code, date, success_count）"
        ]

    @pytest.mark.parametrize(
        ("name", "shown"),
        [
            ("note: see below", "'note: see below'"),
            ('"a\nb"', "'a\\nb'"),
            ("x\u200b", "'x\\u200b'"),
            ("", "''"),
            ("c" * 100, repr("c" * 40)),
        ],
    )
    def test_any_other_name_is_shown_in_the_message_and_the_column_is_its_position(self, name, shown):
        (problem,) = self.problems(f"contract_code,date,success_count,{name}")
        assert problem == (
            f"line 1, column #4: 不明な列 {shown} です（使える列: contract_code, date, success_count）"
        )


class TestDecode:
    HEADER = "customer_code,name,billing_name\r\n"

    def problems(self, data: bytes, encoding: str = "auto") -> list[str]:
        with pytest.raises(ImportRejected) as rejected:
            decode(data, encoding)
        return [str(p) for p in rejected.value.problems]

    @pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
    def test_the_line_of_a_bad_byte_whatever_the_line_ends(self, end):
        data = end.join([b"customer_code,name,billing_name", b"C1,a,b", b"C2,\xe9,b", b""])
        assert self.problems(data) == [
            "line 3: バイト 0xe9 を utf-8-sig / cp932 として読めません。UTF-8 または Shift_JIS（CP932）で保存してください"
        ]

    def test_the_line_of_a_nul_byte_with_cr_line_ends(self):
        assert self.problems(b"a\rb\rc\x00\r")[0].startswith("line 3: ファイルにNULバイトが含まれています")

    @pytest.mark.parametrize(("stray", "byte"), [(b"\x80", "0x80"), (b"\xa0", "0xa0"), (b"\xff\xfe", "0xff")])
    @pytest.mark.parametrize("encoding", ["auto", "cp932"])
    def test_bytes_that_are_not_shift_jis_are_refused_although_cp932_maps_them(self, stray, byte, encoding):
        data = (self.HEADER + "C1,ア,b\r\nC2,").encode("cp932") + stray + b",b\r\n"
        (problem,) = self.problems(data, encoding)
        assert problem.startswith(f"line 3: バイト {byte} を ")

    def test_utf8_lines_in_a_cp932_file_are_refused_not_read_as_mojibake(self):
        data = (self.HEADER + "C1,株式会社アルファ,御中\r\n").encode("cp932")
        data += "C2,イプシロン合同会社,御中\r\n".encode()  # decodes as CP932: 繧､繝励す…
        assert self.problems(data) == [
            "line 2: 3行目はUTF-8ですが、この行はUTF-8ではありません。ファイル内で文字コードが混在しています。"
            "ファイル全体をUTF-8またはShift_JIS（CP932）で保存してください"
        ]
        assert "繧､繝励す" in decode(data, "cp932")  # an explicit --encoding cp932 is obeyed

    def test_a_cp932_file_is_still_read(self):
        text = self.HEADER + "C1,株式会社アルファ,ｶ)ﾃｽﾄ\r\nC2,ﾃｽ,髙橋 御中\r\n"
        assert decode(text.encode("cp932")) == text


class TestFilesReadInBlocks:
    """A file is read a block at a time (``detect_encoding``, ``file_lines``): the same
    lines, line numbers and refusals as its whole text, wherever the blocks end (a CRLF, a
    multibyte character or a long line split between two)."""

    @given(
        text=st.text(alphabet="ab,\r\n株ｱ", max_size=80),
        encoding=st.sampled_from(["utf-8", "cp932"]),
        block=st.integers(1, 9),
        limit=st.integers(1, 12),
    )
    def test_the_lines_are_those_of_the_whole_text(self, text, encoding, block, limit):
        codec = "utf-8-sig" if encoding == "utf-8" else encoding
        with mock.patch.object(decoding, "BLOCK_BYTES", block):
            got = list(file_lines(io.BytesIO(text.encode(encoding)), codec, limit))
        lines = list(text_lines(text))
        assert len(got) == len(lines)
        for item, line in zip(got, lines, strict=True):
            # a long line may come whole (it ended within a block) or as its length
            assert item == line or item == len(line.rstrip("\r\n")) > limit

    @pytest.mark.parametrize("block", [1, 2, 3, 5, 8, 1 << 20])
    @pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
    def test_the_line_of_a_bad_byte_wherever_the_blocks_end(self, block, end):
        data = end.join([b"customer_code,name,billing_name", "C1,株,b".encode(), b"C2,\xe9,b", b""])
        with mock.patch.object(decoding, "BLOCK_BYTES", block), pytest.raises(ImportRejected) as rejected:
            decode(data)
        assert str(rejected.value.problems[0]).startswith(
            "line 3: バイト 0xe9 を utf-8-sig / cp932 として読めません"
        )

    @pytest.mark.parametrize("block", [1, 4, 7, 1 << 20])
    def test_utf8_lines_in_a_cp932_file_wherever_the_blocks_end(self, block):
        data = ("h\r\nC1,株式会社アルファ\r\n").encode("cp932") + "C2,イプシロン\r\n".encode()
        with mock.patch.object(decoding, "BLOCK_BYTES", block), pytest.raises(ImportRejected) as rejected:
            decode(data)
        assert str(rejected.value.problems[0]).startswith("line 2: 3行目はUTF-8ですが")

    @pytest.mark.parametrize("block", [1, 3, 1 << 20])
    def test_the_line_of_a_nul_byte_wherever_the_blocks_end(self, block):
        with mock.patch.object(decoding, "BLOCK_BYTES", block), pytest.raises(ImportRejected) as rejected:
            decode(b"a\r\nb\r\nc\x00\r\n")
        assert str(rejected.value.problems[0]).startswith("line 3: ファイルにNULバイトが含まれています")


@pytest.mark.django_db
class TestDatabaseRefusal:
    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            (
                IntegrityError(
                    'duplicate key value violates unique constraint "x"\nDETAIL:  Key (code)=(C1) already exists.\n'
                ),
                "line 1: データベースが取り込みを拒否しました。何も書き込んでいません: "
                'duplicate key value violates unique constraint "x" DETAIL: Key (code)=(C1) already exists.',
            ),
            (
                OperationalError("could not serialize access\nHINT:  retry"),
                "line 1: データベースでエラーが発生しました。何も書き込んでいません: "
                "could not serialize access HINT: retry",
            ),
        ],
    )
    def test_a_database_error_is_one_line(self, monkeypatch, error, expected):
        """Only a concurrent writer gets here (the checks run under the kind's lock);
        PostgreSQL's message then has DETAIL and HINT lines."""

        def write(self, rows):
            raise error

        monkeypatch.setattr(CustomerKind, "write", write)
        with pytest.raises(ImportRejected) as rejected:
            run_import("customers", b"customer_code,name,billing_name\nC1,a,b\n")
        assert [str(p) for p in rejected.value.problems] == [expected]
