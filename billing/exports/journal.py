"""The month's issued invoices as a sales journal for Japanese accounting software.

Format ``yayoi``: 弥生会計's import format for journal data (弥生インポート形式, 25
columns, "弥生会計 05以降"), as documented by Yayoi:
  - 仕訳日記帳のインポートデータの記述形式 (columns, flags, widths):
    https://support.yayoi-kk.co.jp/subcontents.html?page_id=18545
  - 弥生会計 オンライン, 取引データ (the same columns; 借方金額 is the tax-included amount):
    https://support.yayoi-kk.co.jp/faq_Subcontents.html?grade_id=Kaikei&page_id=27184
  - インポートデータの税区分 ("課税売上内10%": 課税売上, 税抜・内税, 10%):
    https://support.yayoi-kk.co.jp/faq_Subcontents.html?page_id=1430
A text file, one journal line per row in the documented column order, no header row,
comma separated, Shift_JIS (CP932), CRLF; dates YYYY/MM/DD; amounts whole yen.

One journal entry per invoice (識別フラグ 2000, a one-line entry): debit 売掛金
(accounts receivable, sub-account: the customer), credit 売上高 (sales) with tax
category 課税売上内10% for the invoice's total, tax included, and its consumption tax
as 貸方税金額. So each row ties to one invoice: 借方金額 = 貸方金額 = total,
貸方税金額 = tax (computed once per invoice, R12); the month's rows add up to the
month's issued totals.

Which invoices: the month's issued invoices; a voided invoice is left out, its
replacement (issued, in the same month's series) is in. The entry is dated on the last
day of the billing month (the end of the transaction period, when the sales are
recognised), whatever day the invoice was issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from billing.formatting import cut, yen_cell
from billing.models import Invoice, InvoiceStatus
from contracts import periods

from .csvfile import EncodingReport, encoded_csv

FORMATS = ("yayoi",)

#: account names; settings can rename them to the names of the company's chart of accounts
RECEIVABLE_ACCOUNT = getattr(settings, "JOURNAL_RECEIVABLE_ACCOUNT", "売掛金")
SALES_ACCOUNT = getattr(settings, "JOURNAL_SALES_ACCOUNT", "売上高")

# --- 弥生インポート形式 --------------------------------------------------------------------

YAYOI_COLUMNS = (
    "識別フラグ", "伝票No.", "決算", "取引日付",
    "借方勘定科目", "借方補助科目", "借方部門", "借方税区分", "借方金額", "借方税金額",
    "貸方勘定科目", "貸方補助科目", "貸方部門", "貸方税区分", "貸方金額", "貸方税金額",
    "摘要", "番号", "期日", "タイプ", "生成元", "仕訳メモ", "付箋1", "付箋2", "調整",
)  # fmt: skip
#: 識別フラグ of a journal entry written on one line ("伝票以外の仕訳データ")
YAYOI_ONE_LINE_ENTRY = "2000"
#: 税区分 of the sales: 課税売上, tax-included amount with its tax (内税), rate 10% (R12)
YAYOI_SALES_TAX_CATEGORY = "課税売上内10%"
YAYOI_NO_TAX = "対象外"
#: タイプ 0 = 仕訳データ; 付箋 0 = none; 調整 "no" = not an adjusting entry
YAYOI_TYPE, YAYOI_NO_TAG, YAYOI_NOT_ADJUSTMENT = "0", "0", "no"
#: documented widths in half-width characters (a full-width character counts 2);
#: longer text is cut by the importer, so we cut it first and keep what matters in front
YAYOI_ACCOUNT_WIDTH = 24
YAYOI_SUMMARY_WIDTH = 64


@dataclass(frozen=True)
class JournalEntry:
    """One invoice as a sales entry: receivable / sales, tax included."""

    invoice_number: str
    date: dt.date
    customer_name: str
    total: int
    tax: int
    summary: str
    memo: str


def issued_invoices(month: dt.date):
    """The month's issued invoices (void ones excluded, replacements included), by number."""
    return (
        Invoice.objects.filter(billing_month=periods.month_start(month), status=InvoiceStatus.ISSUED)
        .select_related("customer", "replaces")
        .order_by("number")
    )


def journal_entries(month: dt.date) -> Iterator[JournalEntry]:
    month = periods.month_start(month)
    booked_on = periods.month_end(month)
    label = f"{month.year}年{month.month}月分"
    for invoice in issued_invoices(month).iterator(chunk_size=2000):
        memo = f"{invoice.number} {invoice.customer_code}"
        if invoice.replaces_id is not None:
            memo += f" {invoice.replaces.number}の訂正"
        yield JournalEntry(
            invoice_number=invoice.number,
            date=booked_on,
            customer_name=invoice.customer.name,
            total=int(invoice.total.amount),
            tax=int(invoice.tax.amount),
            summary=f"{invoice.number} {label} IIJ SmartKey {invoice.customer.name}",
            memo=memo,
        )


def yayoi_row(entry: JournalEntry) -> list[str]:
    row = {
        "識別フラグ": YAYOI_ONE_LINE_ENTRY,
        "伝票No.": "",
        "決算": "",
        "取引日付": entry.date.strftime("%Y/%m/%d"),
        "借方勘定科目": RECEIVABLE_ACCOUNT,
        "借方補助科目": cut(entry.customer_name, YAYOI_ACCOUNT_WIDTH),
        "借方部門": "",
        "借方税区分": YAYOI_NO_TAX,
        "借方金額": yen_cell(entry.total),
        "借方税金額": "0",
        "貸方勘定科目": SALES_ACCOUNT,
        "貸方補助科目": "",
        "貸方部門": "",
        "貸方税区分": YAYOI_SALES_TAX_CATEGORY,
        "貸方金額": yen_cell(entry.total),
        "貸方税金額": yen_cell(entry.tax),
        "摘要": cut(entry.summary, YAYOI_SUMMARY_WIDTH),
        "番号": "",
        "期日": "",
        "タイプ": YAYOI_TYPE,
        "生成元": "",
        "仕訳メモ": entry.memo,
        "付箋1": YAYOI_NO_TAG,
        "付箋2": YAYOI_NO_TAG,
        "調整": YAYOI_NOT_ADJUSTMENT,
    }
    return [row[column] for column in YAYOI_COLUMNS]


def export_journal(
    month: dt.date, fmt: str = "yayoi", report: EncodingReport | None = None
) -> Iterator[bytes]:
    """The journal file's bytes, a chunk per row."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown journal format {fmt!r}")
    rows = (yayoi_row(entry) for entry in journal_entries(month))
    # 弥生インポート形式 has no header row; Shift_JIS is what the importer reads
    return encoded_csv(rows, None, "cp932", report or EncodingReport())


def filename(month: dt.date, fmt: str) -> str:
    return f"journal-{periods.format_month(month)}-{fmt}.csv"
