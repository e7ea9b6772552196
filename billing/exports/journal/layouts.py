"""The journal entries as each accounting program imports them. One function per layout
turns an entry (receivable / sales, or reversed) into its row; each says its source.

Account names and tax categories are settings (``JOURNAL_*``, validated at start-up):
a company that keeps its books tax-included (税込経理) or on the simplified method
(簡易課税) sets the names its program expects, e.g. 弥生's ``課税売上込10%`` or
``課税売上内四10%``.

- ``yayoi``: 弥生インポート形式 (25 columns, "弥生会計 05以降"), no header row:
  - 仕訳日記帳のインポートデータの記述形式 (columns, flags, widths):
    https://support.yayoi-kk.co.jp/subcontents.html?page_id=18545
  - 弥生会計 オンライン, 取引データ (the same columns; 借方金額 is the tax-included
    amount, never negative): https://support.yayoi-kk.co.jp/faq_Subcontents.html?grade_id=Kaikei&page_id=27184
  - インポートデータの税区分 ("課税売上内10%": 課税売上, 税抜・内税, 10%):
    https://support.yayoi-kk.co.jp/faq_Subcontents.html?page_id=1430
- ``freee``: freee会計's 仕訳インポート (汎用形式, one row per entry with 借方 and 貸方
  columns, imported as 振替伝票), "その他の会計ソフトから仕訳データを移行する":
  https://support.freee.co.jp/hc/ja/articles/204847430 . Not the 取引インポート
  (https://support.freee.co.jp/hc/ja/articles/202847320): a 取引 has no debit and
  credit, so the reversing entry of a void or a credit note cannot be written without a
  negative total (freee's 赤伝, which needs its own settings); the receivables are kept
  here (R17), freee needs only the journal.
- ``mf``: マネーフォワード クラウド会計's 仕訳帳 import, the columns A–AA of its
  template (interfaces.md), header row, amounts tax-included with their tax.

All three: CP932 (Shift_JIS), CRLF, amounts whole yen and never negative, dates
YYYY/MM/DD. Text is written as it is: an accounting program is not a spreadsheet, so a
name starting with "=" keeps it (no apostrophe), and a character CP932 cannot hold is an
error naming the document (``files``), never a "?".
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings

from billing.formatting import cp932_width, cut

from .entries import Entry

# --- 弥生インポート形式 --------------------------------------------------------------------

YAYOI_COLUMNS = (
    "識別フラグ", "伝票No.", "決算", "取引日付",
    "借方勘定科目", "借方補助科目", "借方部門", "借方税区分", "借方金額", "借方税金額",
    "貸方勘定科目", "貸方補助科目", "貸方部門", "貸方税区分", "貸方金額", "貸方税金額",
    "摘要", "番号", "期日", "タイプ", "生成元", "仕訳メモ", "付箋1", "付箋2", "調整",
)  # fmt: skip
#: 識別フラグ of a journal entry written on one line ("伝票以外の仕訳データ")
YAYOI_ONE_LINE_ENTRY = "2000"
YAYOI_NO_TAX = "対象外"
#: タイプ 0 = 仕訳データ; 付箋 0 = none; 調整 "no" = not an adjusting entry
YAYOI_TYPE, YAYOI_NO_TAG, YAYOI_NOT_ADJUSTMENT = "0", "0", "no"
#: documented widths in half-width characters (a full-width character counts 2);
#: longer text is cut by the importer, so we cut it first and keep what matters in front
YAYOI_ACCOUNT_WIDTH = 24
YAYOI_SUMMARY_WIDTH = 64

# --- freee 仕訳インポート (汎用形式) ----------------------------------------------------------

FREEE_COLUMNS = (
    "日付", "伝票番号", "決算整理仕訳",
    "借方勘定科目", "借方取引先", "借方税区分", "借方金額", "借方税額",
    "貸方勘定科目", "貸方取引先", "貸方税区分", "貸方金額", "貸方税額",
    "摘要", "備考",
)  # fmt: skip
FREEE_NO_TAX = "対象外"

# --- マネーフォワード クラウド会計 仕訳帳 --------------------------------------------------------

MF_COLUMNS = (
    "取引No", "取引日",
    "借方勘定科目", "借方補助科目", "借方部門", "借方取引先", "借方税区分", "借方インボイス", "借方金額(円)", "借方税額",
    "貸方勘定科目", "貸方補助科目", "貸方部門", "貸方取引先", "貸方税区分", "貸方インボイス", "貸方金額(円)", "貸方税額",
    "摘要", "仕訳メモ", "タグ", "MF仕訳タイプ", "決算整理仕訳", "作成日時", "作成者", "最終更新日時", "最終更新者",
)  # fmt: skip
MF_NO_TAX = "対象外"


class Side(NamedTuple):
    """One side of an entry: account, sub-account (the customer), tax category, amounts.
    A tuple: two are made per entry, and a frozen dataclass's ``__init__`` cost more than
    the rest of a row (issue 16)."""

    account: str
    sub_account: str
    tax_category: str
    amount: int
    tax: int


@functools.lru_cache(maxsize=64)
def _slashed(day: dt.date) -> str:
    """2026/10/31, as the three programs read a date; a month's entries share a few dates,
    so each is written once (``strftime`` was a tenth of a row)."""
    return day.strftime("%Y/%m/%d")


class Accounts(NamedTuple):
    """The settings' account names and the layout's tax category, read once per file
    (a setting read through ``django.conf.settings`` costs more than a cell, issue 16)."""

    receivable: str
    sales: str
    tax_category: str
    no_tax: str


def accounts(fmt: str) -> Accounts:
    tax_category, no_tax = {
        "yayoi": (settings.JOURNAL_YAYOI_TAX_CATEGORY, YAYOI_NO_TAX),
        "freee": (settings.JOURNAL_FREEE_TAX_CATEGORY, FREEE_NO_TAX),
        "mf": (settings.JOURNAL_MF_TAX_CATEGORY, MF_NO_TAX),
    }[fmt]
    return Accounts(settings.JOURNAL_RECEIVABLE_ACCOUNT, settings.JOURNAL_SALES_ACCOUNT, tax_category, no_tax)


def sides(entry: Entry, sub_account: str, books: Accounts) -> tuple[Side, Side]:
    """(debit, credit): receivable / sales for a sale, sales / receivable reversed; a
    receipt's own accounts (R17), no tax, the customer on the sides that carry it."""
    no_tax = books.no_tax
    if entry.debit_account:
        return (
            Side(entry.debit_account, sub_account if entry.debit_sub else "", no_tax, entry.total, 0),
            Side(entry.credit_account, sub_account if entry.credit_sub else "", no_tax, entry.total, 0),
        )
    receivable = Side(books.receivable, sub_account, no_tax, entry.total, 0)
    sales = Side(books.sales, "", books.tax_category, entry.total, entry.tax)
    return (sales, receivable) if entry.reversing else (receivable, sales)


# Each row is one list display: appending a side at a time was most of a row's cost
# (issue 16). Amounts are whole yen already (``Entry``), so a cell is ``str`` of them.


def yayoi_row(entry: Entry, sub_account: str, _number: int, books: Accounts) -> list[str]:
    debit, credit = sides(entry, sub_account, books)
    return [
        YAYOI_ONE_LINE_ENTRY, "", "", _slashed(entry.date),
        debit.account, debit.sub_account, "", debit.tax_category, str(debit.amount), str(debit.tax),
        credit.account, credit.sub_account, "", credit.tax_category, str(credit.amount), str(credit.tax),
        cut(entry.summary, YAYOI_SUMMARY_WIDTH), "", "", YAYOI_TYPE, "", entry.memo,
        YAYOI_NO_TAG, YAYOI_NO_TAG, YAYOI_NOT_ADJUSTMENT,
    ]  # fmt: skip


def freee_row(entry: Entry, sub_account: str, _number: int, books: Accounts) -> list[str]:
    debit, credit = sides(entry, sub_account, books)
    return [
        _slashed(entry.date), "", "",
        debit.account, debit.sub_account, debit.tax_category, str(debit.amount), str(debit.tax),
        credit.account, credit.sub_account, credit.tax_category, str(credit.amount), str(credit.tax),
        entry.summary, entry.memo,
    ]  # fmt: skip


def mf_row(entry: Entry, sub_account: str, number: int, books: Accounts) -> list[str]:
    debit, credit = sides(entry, sub_account, books)
    return [
        str(number), _slashed(entry.date),
        debit.account, debit.sub_account, "", "", debit.tax_category, "", str(debit.amount), str(debit.tax),
        credit.account, credit.sub_account, "", "", credit.tax_category, "", str(credit.amount), str(credit.tax),
        entry.summary, entry.memo, "", "", "", "", "", "", "",
    ]  # fmt: skip


@dataclass(frozen=True)
class Layout:
    name: str
    header: tuple[str, ...] | None
    row: Callable[[Entry, str, int, Accounts], list[str]]
    #: the sub-account's width in half-width units (None: the program takes any length)
    sub_account_width: int | None


LAYOUTS = {
    "yayoi": Layout("yayoi", None, yayoi_row, YAYOI_ACCOUNT_WIDTH),
    "freee": Layout("freee", FREEE_COLUMNS, freee_row, None),
    "mf": Layout("mf", MF_COLUMNS, mf_row, None),
}
COLUMNS = {"yayoi": YAYOI_COLUMNS, "freee": FREEE_COLUMNS, "mf": MF_COLUMNS}


def sub_accounts(names: Iterable[tuple[str, str]], width: int | None) -> dict[tuple[str, str], str]:
    """The sub-account (補助科目, or freee's 取引先) of each (customer name, customer code)
    among ``names`` (every name any document ever carried, so that a customer's
    sub-account is the same in every file): the name, cut at a character boundary to
    ``width``; but never one two customers share. A name that would (two customers of
    one name, or two long names cut alike) carries its customer code: "アルファ C1"."""
    names = set(names)
    fitted = {pair: (cut(pair[0], width) if width else pair[0]) for pair in names}
    codes_of: dict[str, set[str]] = defaultdict(set)
    for (_name, code), text in fitted.items():
        codes_of[text].add(code)
    result = {}
    for (name, code), text in fitted.items():
        if len(codes_of[text]) > 1:
            suffix = f" {code}"
            room = width - cp932_width(suffix) if width else None
            text = (cut(name, room) if room else name) + suffix
        result[(name, code)] = text
    return result
