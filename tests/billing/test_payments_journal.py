"""R17: the receipts journal (export_journal --kind receipts): each deposit received in the
month and its applications, as entries that never change once booked, so that
--since-last books each once; an undone application is booked reversed."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.exports.journal import journal_file
from billing.models import Application
from billing.payments.service import application_reverse, payments_import

from .payments_world import build_books
from .zengin_files import transfer_file

pytestmark = pytest.mark.django_db

D = dt.date
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
HEADER = "日付,伝票番号,決算整理仕訳,借方勘定科目,借方取引先,借方税区分,借方金額,借方税額,貸方勘定科目,貸方取引先,貸方税区分,貸方金額,貸方税額,摘要,備考"


@pytest.fixture
def december(db):
    build_books()
    payments_import(
        data=transfer_file(
            (1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"),
            (2, "081202", 109120, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ"),
            (3, "081203", 60000, "ｻﾝﾊﾞﾝ", "SK2026100003"),
            (4, "081203", 777, "ﾀﾞﾚｶ"),
        ),
        today=D(2026, 12, 3),
    )


def rows(data):
    return [line.split(",")[:13] for line in data.decode("cp932").split("\r\n")[1:-1]]


def test_the_receipts_of_december(december):
    file = journal_file(D(2026, 12, 1), "freee", kind="receipts")
    assert file.data.decode("cp932").split("\r\n")[0] == HEADER
    bravo, chiyoda, sanban = "ブラボー工業株式会社", "千代田商事株式会社", "三番商店"
    assert rows(file.data) == [
        ["2026/12/01", "", "", "普通預金", "", "対象外", "22000", "0", "前受金", bravo, "対象外", "22000", "0"],
        ["2026/12/01", "", "", "前受金", bravo, "対象外", "22000", "0", "売掛金", bravo, "対象外", "22000", "0"],
        ["2026/12/02", "", "", "普通預金", "", "対象外", "109120", "0", "前受金", chiyoda, "対象外", "109120", "0"],
        ["2026/12/02", "", "", "前受金", chiyoda, "対象外", "109120", "0", "売掛金", chiyoda, "対象外", "109120", "0"],
        ["2026/12/02", "", "", "支払手数料", "", "対象外", "880", "0", "売掛金", chiyoda, "対象外", "880", "0"],
        ["2026/12/03", "", "", "普通預金", "", "対象外", "60000", "0", "前受金", sanban, "対象外", "60000", "0"],
        ["2026/12/03", "", "", "前受金", sanban, "対象外", "55000", "0", "売掛金", sanban, "対象外", "55000", "0"],
    ]  # fmt: skip
    # the unmatched 777 yen is not booked until a person settles it; 5,000 stays on 前受金


def test_since_last_books_each_entry_once_and_an_undo_reversed(december, monkeypatch):
    first = journal_file(D(2026, 12, 1), "freee", kind="receipts", since_last=True)
    assert first.entries == 7
    assert journal_file(D(2026, 12, 1), "freee", kind="receipts", since_last=True).entries == 0
    monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 12, 4, 10, 0, tzinfo=TOKYO))
    application_reverse(
        application=Application.objects.get(invoice__number="SK-202610-0001"), by=None, reason="誤り"
    )
    again = journal_file(D(2026, 12, 1), "freee", kind="receipts", since_last=True)
    bravo = "ブラボー工業株式会社"
    assert rows(again.data) == [
        ["2026/12/04", "", "", "売掛金", bravo, "対象外", "22000", "0", "前受金", bravo, "対象外", "22000", "0"],
    ]  # fmt: skip


def test_the_command_writes_the_receipts_in_yayoi(december, tmp_path):
    output = tmp_path / "receipts.csv"
    call_command(
        "export_journal", "2026-12", "--kind", "receipts", "--output", str(output), stdout=io.StringIO()
    )
    first = output.read_bytes().decode("cp932").split("\r\n")[0].split(",")
    assert first[:10] == ["2000", "", "", "2026/12/01", "普通預金", "", "", "対象外", "22000", "0"]
