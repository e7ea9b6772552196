"""The sales journal for 弥生会計, freee and マネーフォワード: one entry per issued invoice,
the void of an invoice and a credit note as reversing entries (debit and credit swapped,
never a negative amount), and ``--since-last`` files that, each imported once, book every
entry once. Totals worked out by hand in tests/e2e (October 2026): C1 109,872 + tax 10,987
= 120,859; C2 92,000 + 9,200 = 101,200; C4 1,000 + 100 = 1,100 (223,159 in all)."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from billing import runs
from billing.exports.journal import FREEE_COLUMNS, MF_COLUMNS, YAYOI_COLUMNS, Entry, EntryType
from billing.exports.journal.files import encode
from billing.exports.journal.layouts import sub_accounts
from billing.formatting import cut
from billing.models import (
    BillingRun,
    CreditNote,
    Invoice,
    InvoiceStatus,
    IssuedName,
    JournalEntryExport,
    JournalExport,
)
from contracts.models import Customer

from .october import OCTOBER, october, staff_with

pytestmark = pytest.mark.django_db

NOVEMBER = dt.date(2026, 11, 1)


def journal(tmp_path, *args, month="2026-10") -> bytes:
    path = tmp_path / "journal.csv"
    call_command("export_journal", month, "--output", str(path), *args, stderr=io.StringIO())
    return path.read_bytes()


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))


def recompute_and_issue():
    """October recomputed (the names are kept on the invoices as they are computed), then issued."""
    runs.billing_month_compute(month=OCTOBER)
    runs.billing_month_issue(month=OCTOBER, today=dt.date(2026, 11, 2))


#: (debit account, debit amount, credit account, credit amount) of each layout's row
SIDES = {
    "yayoi": lambda row: (row[4], row[8], row[10], row[14]),
    "freee": lambda row: (row[3], row[6], row[8], row[11]),
    "mf": lambda row: (row[2], row[8], row[10], row[16]),
}


def receivable(data: bytes, fmt: str) -> int:
    """What a file adds to 売掛金: debits less credits."""
    rows = rows_of(data)[(0 if fmt == "yayoi" else 1) :]
    total = 0
    for row in rows:
        debit, debit_amount, credit, credit_amount = SIDES[fmt](row)
        assert int(debit_amount) >= 0 and int(credit_amount) >= 0  # never negative
        total += int(debit_amount) if debit == "売掛金" else 0
        total -= int(credit_amount) if credit == "売掛金" else 0
    return total


def live_documents() -> int:
    """What the live documents leave receivable: issued invoices less credit notes."""
    invoices = sum(i.total.amount for i in Invoice.objects.filter(status=InvoiceStatus.ISSUED))
    notes = sum(n.total.amount for n in CreditNote.objects.all())
    return int(invoices - notes)


# --- 弥生インポート形式 --------------------------------------------------------------------


def test_yayoi_rows_one_entry_per_issued_invoice(tmp_path):
    october(tmp_path, issue=True)
    data = journal(tmp_path, "--format", "yayoi")
    assert not data.startswith(b"\xef\xbb\xbf")  # Shift_JIS, no BOM, no header row
    assert data.count(b"\r\n") == 3 and b"\n" not in data.replace(b"\r\n", b"")
    rows = rows_of(data)
    assert len(YAYOI_COLUMNS) == 25 and all(len(row) == 25 for row in rows)
    assert rows[0] == [
        "2000", "", "", "2026/10/31",
        "売掛金", "株式会社アルファ", "", "対象外", "120859", "0",
        "売上高", "", "", "課税売上内10%", "120859", "10987",
        "SK-202610-0001 2026年10月分 IIJ SmartKey 株式会社アルファ", "", "", "0", "",
        "SK-202610-0001 C1", "0", "0", "no",
    ]  # fmt: skip
    assert [(r[16].split()[0], r[5], r[8], r[14], r[15]) for r in rows] == [
        ("SK-202610-0001", "株式会社アルファ", "120859", "120859", "10987"),
        ("SK-202610-0002", "ベータ商事株式会社", "101200", "101200", "9200"),
        ("SK-202610-0003", "デルタ株式会社", "1100", "1100", "100"),
    ]
    assert receivable(data, "yayoi") == 223159


def test_a_void_is_the_reversing_entry_and_the_replacement_a_new_one(tmp_path):
    october(tmp_path, issue=True)
    c2 = Invoice.objects.get(number="SK-202610-0002")
    runs.invoice_void_and_replace(
        invoice=c2, by=None, reason="宛名の誤り\n（部署名）", today=dt.date(2026, 11, 9)
    )
    rows = rows_of(journal(tmp_path))
    assert [r[16].split()[0] for r in rows] == [
        "SK-202610-0001",
        "SK-202610-0002",
        "SK-202610-0003",
        "SK-202610-0004",
        "SK-202610-0002",
    ]
    assert rows[3][21] == "SK-202610-0004 C2 SK-202610-0002の訂正"
    assert rows[3][3] == "2026/10/31"  # booked in the billing month, whatever the issue day
    voided_on = timezone.localdate()
    assert rows[4] == [
        "2000", "", "", voided_on.strftime("%Y/%m/%d"),
        "売上高", "", "", "課税売上内10%", "101200", "9200",
        "売掛金", "ベータ商事株式会社", "", "対象外", "101200", "0",
        "SK-202610-0002 取消 2026年10月分 ベータ商事株式会社", "", "", "0", "",
        "SK-202610-0002 C2 取消: 宛名の誤り （部署名）", "0", "0", "no",
    ]  # fmt: skip
    # 223,159 + 101,200 (the replacement) − 101,200 (the void)
    assert receivable(journal(tmp_path), "yayoi") == 223159


def test_a_credit_note_is_a_reversing_entry_on_its_own_date(tmp_path):
    october(tmp_path, issue=True)
    runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=Decimal("12345"),
        reason="単価の誤り",
        by=None,
        today=dt.date(2026, 12, 3),
    )
    rows = rows_of(journal(tmp_path))
    # 12,345 + tax 1,234 = 13,579, sales / receivable
    assert rows[-1][3:16] == [
        "2026/12/03", "売上高", "", "", "課税売上内10%", "13579", "1234",
        "売掛金", "株式会社アルファ", "", "対象外", "13579", "0",
    ]  # fmt: skip
    assert rows[-1][16] == "CN-202612-0001 返還 SK-202610-0001 2026年10月分 株式会社アルファ"
    assert rows[-1][21] == "CN-202612-0001 C1 SK-202610-0001の返還: 単価の誤り"
    assert receivable(journal(tmp_path), "yayoi") == 223159 - 13579


@override_settings(JOURNAL_YAYOI_TAX_CATEGORY="課税売上込10%", JOURNAL_SALES_ACCOUNT="売上高（SmartKey）")
def test_account_names_and_tax_category_are_settings(tmp_path):
    """A company keeping its books tax-included (税込経理) names its own category."""
    october(tmp_path, issue=True)
    row = rows_of(journal(tmp_path))[0]
    assert (row[10], row[13]) == ("売上高（SmartKey）", "課税売上込10%")


# --- freee and マネーフォワード --------------------------------------------------------------


def test_freee_journal_import_layout(tmp_path):
    october(tmp_path, issue=True)
    data = journal(tmp_path, "--format", "freee")
    rows = rows_of(data)
    assert tuple(rows[0]) == FREEE_COLUMNS
    assert rows[1] == [
        "2026/10/31", "", "",
        "売掛金", "株式会社アルファ", "対象外", "120859", "0",
        "売上高", "", "課税売上10%", "120859", "10987",
        "SK-202610-0001 2026年10月分 IIJ SmartKey 株式会社アルファ", "SK-202610-0001 C1",
    ]  # fmt: skip
    assert len(rows) == 4 and receivable(data, "freee") == 223159


def test_money_forward_journal_layout(tmp_path):
    october(tmp_path, issue=True)
    data = journal(tmp_path, "--format", "mf")
    rows = rows_of(data)
    assert tuple(rows[0]) == MF_COLUMNS and len(MF_COLUMNS) == 27  # A–AA
    assert rows[1] == [
        "1", "2026/10/31",
        "売掛金", "株式会社アルファ", "", "", "対象外", "", "120859", "0",
        "売上高", "", "", "", "課税売上 10%", "", "120859", "10987",
        "SK-202610-0001 2026年10月分 IIJ SmartKey 株式会社アルファ", "SK-202610-0001 C1",
        "", "", "", "", "", "", "",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    assert receivable(data, "mf") == 223159


# --- --since-last: every entry once ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yayoi", "freee", "mf"])
def test_importing_every_since_last_file_once_equals_the_live_documents(tmp_path, fmt):
    """The month close of the issue, to the yen: October issued and journaled; a charge
    entered late (settled on November), a credit note and a void and replacement, with a
    --since-last file after each; every file imported once books what the live documents
    say, and nothing twice."""
    october(tmp_path, issue=True)
    files = [journal(tmp_path, "--format", fmt, "--since-last")]
    assert receivable(files[-1], fmt) == 223159

    call_command(
        "import_csv",
        "one_time_charges",
        str(
            _file(
                tmp_path, "contract_code,description,amount,due_on\nE1,オンサイト導入支援,50000,2026-10-20\n"
            )
        ),
        "--user",
        "nyuryoku",
        stdout=io.StringIO(),
    )
    runs.billing_month_compute(month=NOVEMBER)
    runs.billing_month_issue(month=NOVEMBER, today=dt.date(2026, 12, 2))
    c1_november = Invoice.objects.get(billing_month=NOVEMBER, customer_code="C1")
    assert c1_november.lines.get(line_type="adjustment").amount.amount == 50000
    files.append(journal(tmp_path, "--format", fmt, "--since-last", month="2026-11"))

    runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=Decimal("12345"),
        reason="単価の誤り",
        by=None,
        today=dt.date(2026, 12, 3),
    )
    files.append(journal(tmp_path, "--format", fmt, "--since-last"))
    assert receivable(files[-1], fmt) == -13579  # the credit note alone

    runs.invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202610-0003"),
        by=None,
        reason="住所変更",
        today=dt.date(2026, 12, 4),
    )
    files.append(journal(tmp_path, "--format", fmt, "--since-last"))
    assert receivable(files[-1], fmt) == 0  # the replacement (+1,100) and the void (−1,100)
    assert len(rows_of(files[-1])) == 2 + (fmt != "yayoi")

    # nothing new: the files carry no entry (only their header)
    assert receivable(journal(tmp_path, "--format", fmt, "--since-last"), fmt) == 0
    assert len(rows_of(journal(tmp_path, "--format", fmt, "--since-last"))) == (fmt != "yayoi")

    october_total = 223159 - 13579
    assert sum(receivable(data, fmt) for data in files) == live_documents()
    assert sum(receivable(data, fmt) for data in [files[0], *files[2:]]) == october_total
    # one export of everything says the same as all the --since-last files together
    assert receivable(journal(tmp_path, "--format", fmt), fmt) == october_total
    assert JournalExport.objects.filter(format=fmt).count() == 4  # empty files are not recorded
    # each layout keeps its own record: the others have exported nothing yet
    assert not JournalEntryExport.objects.exclude(format=fmt).exists()


def _file(tmp_path, text):
    path = tmp_path / "late.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_since_last_says_when_there_is_nothing_new(tmp_path):
    october(tmp_path, issue=True)
    journal(tmp_path, "--since-last")
    err = io.StringIO()
    call_command("export_journal", "2026-10", "--since-last", "--output", str(tmp_path / "x.csv"), stderr=err)
    assert (
        "2026年10月の仕訳で、これまでの --since-last のファイルに含まれていないものはありません。"
        in err.getvalue()
    )
    assert (tmp_path / "x.csv").read_bytes() == b""


def test_a_file_that_cannot_be_written_records_nothing(tmp_path):
    october(tmp_path, issue=True)
    with pytest.raises(CommandError):
        call_command(
            "export_journal", "2026-10", "--since-last", "--output", str(tmp_path / "no" / "such.csv")
        )
    assert not JournalExport.objects.exists() and not JournalEntryExport.objects.exists()
    assert len(rows_of(journal(tmp_path, "--since-last"))) == 3  # still to export


# --- names ----------------------------------------------------------------------------


def test_text_is_cut_to_the_documented_width_and_never_altered(tmp_path):
    assert cut("株式会社アルファベータガンマデルタ", 24) == "株式会社アルファベータガ"  # 12 × 2 bytes
    assert cut("ABC株式会社", 6) == "ABC株"  # never half a character
    october(tmp_path, issue=False)
    Customer.objects.filter(code="C4").update(name="=SUM(A1)株式会社")
    recompute_and_issue()
    rows = rows_of(journal(tmp_path))
    # an accounting program reads a journal, not a spreadsheet: the name is kept as it is
    assert rows[2][5] == "=SUM(A1)株式会社"


@given(
    text=st.text(alphabet="aZ9 ｱｶﾞ株式会社アルファ①㈱髙﨑😀é\u3000〜～", max_size=30),
    width=st.integers(min_value=0, max_value=40),
)
def test_a_cut_is_the_longest_prefix_that_fits(text, width):
    def units(part):  # Shift_JIS bytes; a character it cannot hold is written "?", one unit
        return sum(len(char.encode("cp932")) if char not in "😀é" else 1 for char in part)

    result = cut(text, width)
    assert text.startswith(result)
    assert units(result) <= width or result == text == ""
    if result != text:  # one character more would not fit
        assert units(text[: len(result) + 1]) > width


def test_the_names_issued_documents_carry_are_kept_by_the_database(tmp_path):
    """Triggers (billing 0021) keep every (name, code) pair an issued document carried,
    whatever wrote it: drafts add nothing, issuing adds the month's pairs, a credit note
    its own; an invoice that kept no name (made before billing 0008) adds none."""
    october(tmp_path, issue=False)
    runs.billing_month_compute(month=OCTOBER)
    assert not IssuedName.objects.exists()  # drafts have no number
    nameless = Invoice.objects.get(billing_month=OCTOBER, customer_code="C2")
    Invoice.objects.filter(pk=nameless.pk).update(customer_name="")
    runs.billing_month_issue(month=OCTOBER, today=dt.date(2026, 11, 2))
    issued = set(
        Invoice.objects.filter(number__isnull=False)
        .exclude(customer_code="C2")
        .values_list("customer_name", "customer_code")
    )
    assert len(issued) >= 2 and "" not in {name for name, _code in issued}
    assert set(IssuedName.objects.values_list("customer_name", "customer_code")) == issued

    Customer.objects.filter(code="C2").update(name="ゴルフ株式会社")
    runs.credit_note_issue(
        invoice=Invoice.objects.get(pk=nameless.pk),
        amount=Decimal("100"),
        reason="単価の誤り",
        by=None,
        today=dt.date(2026, 12, 3),
    )
    kept = set(IssuedName.objects.values_list("customer_name", "customer_code"))
    assert kept == issued | {("ゴルフ株式会社", "C2")}


@pytest.mark.postgres
def test_a_kept_name_is_never_changed_or_deleted(tmp_path):
    october(tmp_path, issue=True)
    name = IssuedName.objects.first()
    for change in (lambda: IssuedName.objects.filter(pk=name.pk).delete(),
                   lambda: IssuedName.objects.filter(pk=name.pk).update(customer_name="別名株式会社")):  # fmt: skip
        with (
            pytest.raises(IntegrityError, match="a name an issued document carried is kept"),
            transaction.atomic(),
        ):
            change()
    assert IssuedName.objects.get(pk=name.pk).customer_name == name.customer_name


def test_the_name_on_the_invoice_is_the_sub_account_not_todays(tmp_path):
    october(tmp_path, issue=True)
    Customer.objects.filter(code="C1").update(name="株式会社アルファ・ホールディングス")
    assert rows_of(journal(tmp_path))[0][5] == "株式会社アルファ"


def test_two_customers_never_share_a_sub_account():
    names = [
        ("株式会社アルファベータガンマ東京", "C1"),
        ("株式会社アルファベータガンマ大阪", "C2"),  # the same first 12 characters
        ("デルタ株式会社", "C3"),
        ("デルタ株式会社", "C4"),  # two companies of one name
        ("イプシロン株式会社", "C5"),
    ]
    assert sub_accounts(names, 24) == {
        ("株式会社アルファベータガンマ東京", "C1"): "株式会社アルファベー C1",
        ("株式会社アルファベータガンマ大阪", "C2"): "株式会社アルファベー C2",
        ("デルタ株式会社", "C3"): "デルタ株式会社 C3",
        ("デルタ株式会社", "C4"): "デルタ株式会社 C4",
        ("イプシロン株式会社", "C5"): "イプシロン株式会社",
    }
    assert (
        sub_accounts(names, None)[("株式会社アルファベータガンマ東京", "C1")]
        == "株式会社アルファベータガンマ東京"
    )


def test_a_sub_account_is_the_same_whatever_else_the_file_carries(tmp_path, django_assert_num_queries):
    """The names that make a sub-account carry its code are looked for among the documents
    ever issued, not only this file's: a file of other customers' entries, named as C4's
    October invoice or cut as C2's, still gives them their codes (one query for the names,
    characters that an SQL array or a pattern would treat apart included)."""
    october(tmp_path, issue=False)
    Customer.objects.filter(code="C2").update(name="株式会社アルファベータガンマ東京")
    Customer.objects.filter(code="C4").update(name='デルタ "株式会社", {x}\\%_')  # 25 units
    recompute_and_issue()

    def entry(code, name):
        return Entry(
            EntryType.INVOICE, 0, f"SK-202612-{code}", dt.date(2026, 12, 31), code, name, 1100, 100,
            reversing=False, summary="s", memo="m",
        )  # fmt: skip

    entries = [
        entry("C7", 'デルタ "株式会社", {x}\\%_'),  # C4's name
        entry("C8", "株式会社アルファベータガ"),  # 24 half-width units: C2's name cut to 24
        entry("C9", "株式会社アルファベータガンマ大阪"),  # cut as C2's
        entry("C6", "イプシロン株式会社"),  # nobody else's
    ]
    with django_assert_num_queries(1):
        yayoi = rows_of(encode(entries, "yayoi"))
    assert [row[5] for row in yayoi] == [
        'デルタ "株式会社", {x C7',  # cut to 24 - 3 units: 6 + 1 + 1 + 8 + 1 + 1 + 1 + 2
        "株式会社アルファベー C8",
        "株式会社アルファベー C9",
        "イプシロン株式会社",
    ]
    with django_assert_num_queries(1):
        freee = rows_of(encode(entries, "freee"))[1:]
    # freee keeps whole names: only C4's is another customer's
    assert [row[4] for row in freee] == [
        'デルタ "株式会社", {x}\\%_ C7',
        "株式会社アルファベータガ",
        "株式会社アルファベータガンマ大阪",
        "イプシロン株式会社",
    ]


def test_a_character_shift_jis_cannot_hold_is_an_error_naming_the_invoice(tmp_path, staff_client):
    october(tmp_path, issue=False)
    Customer.objects.filter(code="C2").update(name="𠮷野商事株式会社")
    recompute_and_issue()
    for fmt in ("yayoi", "freee", "mf"):
        with pytest.raises(CommandError, match="SK-202610-0002: 文字「𠮷」（U\\+20BB7）はShift_JIS"):
            journal(tmp_path, "--format", fmt, "--since-last")
    assert not JournalExport.objects.exists()  # nothing recorded either
    run = BillingRun.objects.get(month=OCTOBER)
    response = staff_client.get(
        reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"]), follow=True
    )
    assert (
        response.redirect_chain
        and "SK-202610-0002: 文字「𠮷」（U+20BB7）はShift_JIS" in response.content.decode()
    )


# --- the command and the admin -----------------------------------------------------------


def test_a_month_not_issued_is_refused(tmp_path):
    october(tmp_path)
    with pytest.raises(CommandError, match="2026-10"):
        journal(tmp_path)
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("export_journal", "2026-1")


def test_standard_output(tmp_path):
    october(tmp_path, issue=True)
    out = io.StringIO()
    call_command("export_journal", "2026-10", stdout=out)
    assert out.getvalue().startswith("2000,,,2026/10/31,売掛金,株式会社アルファ,")


def test_admin_download_from_the_issued_run(tmp_path, staff_client):
    october(tmp_path, issue=True)
    run = BillingRun.objects.get(month=OCTOBER)
    html = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    for fmt, label in (
        ("yayoi", "仕訳データ（弥生会計）"),
        ("freee", "仕訳データ（freee会計）"),
        ("mf", "仕訳データ（マネーフォワード）"),
    ):
        url = reverse("admin:billing_billingrun_journal", args=[run.pk, fmt])
        assert url in html and label in html
        response = staff_client.get(url)
        assert response["Content-Type"] == "text/csv; charset=shift_jis"
        assert response["Content-Disposition"] == f'attachment; filename="journal-2026-10-{fmt}.csv"'
        assert response.content == journal(tmp_path, "--format", fmt)
    assert (
        staff_client.get(reverse("admin:billing_billingrun_journal", args=[run.pk, "tkc"])).status_code == 404
    )


def test_admin_since_last_records_the_file_to_download_again(tmp_path, staff_client):
    october(tmp_path, issue=True)
    run = BillingRun.objects.get(month=OCTOBER)
    url = reverse("admin:billing_billingrun_journal_new", args=[run.pk, "freee"])
    assert staff_client.get(url).status_code == 302  # a GET changes nothing
    assert not JournalExport.objects.exists()
    response = staff_client.post(url)
    assert response["Content-Disposition"].startswith('attachment; filename="journal-2026-10-freee-')
    export = JournalExport.objects.get()
    assert (export.format, export.entries, export.exported_by) == ("freee", 3, staff_client.user)
    again = staff_client.post(url, follow=True)
    assert "2026年10月の仕訳はすべて出力済みです。" in again.content.decode()
    listing = staff_client.get(reverse("admin:billing_journalexport_changelist")).content.decode()
    file_url = reverse("admin:billing_journalexport_file", args=[export.pk])
    assert file_url in listing
    assert staff_client.get(file_url).content == response.content == bytes(export.content)


def test_admin_refuses_a_draft_month_and_staff_without_the_csv_permission(tmp_path, client, staff_client):
    october(tmp_path)
    run = BillingRun.objects.get(month=OCTOBER)
    url = reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"])
    response = staff_client.get(url, follow=True)
    assert "2026年10月は発行されていません" in response.content.decode()
    staff_with(client, "sales", "billing.view_billingrun")
    assert client.get(url).status_code == 403
    assert (
        client.post(reverse("admin:billing_billingrun_journal_new", args=[run.pk, "yayoi"])).status_code
        == 403
    )


class _PipeClosedEarly:
    """Standard output read by `| head -c 10`: the first chunk goes through, the next
    finds the pipe closed."""

    def __init__(self):
        self.buffer = self
        self.written = b""

    def write(self, chunk):
        if self.written:
            raise BrokenPipeError(32, "Broken pipe")
        self.written += chunk

    def flush(self):
        pass

    def fileno(self):
        return 99


@pytest.mark.parametrize("command", ["export_journal", "export_invoices"])
def test_a_reader_that_stops_early_ends_the_export_quietly(tmp_path, monkeypatch, command):
    """Both exports share the writing of export_invoices: `| head` is no error of theirs,
    no traceback; standard output is pointed at /dev/null for the interpreter's last flush."""
    october(tmp_path, issue=True)
    redirected = []
    monkeypatch.setattr("os.dup2", lambda fd, target: redirected.append(target))
    monkeypatch.setattr("sys.stdout", _PipeClosedEarly())
    out, err = _PipeClosedEarly(), io.StringIO()
    call_command(command, "2026-10", stdout=out, stderr=err)
    assert out.written and redirected == [99] and err.getvalue() == ""


@pytest.mark.postgres(reason="the plan of the names' look-up")
def test_the_kept_names_are_looked_up_by_a_hash_not_compared_with_every_name():
    """The file's names are one text parameter, split: PostgreSQL hashes them (an ``= ANY``
    of the array compared each kept name with every name of the file)."""
    from django.db.models import F

    from billing.exports.journal.files import _one_of

    IssuedName.objects.bulk_create(
        IssuedName(customer_name=f"名前{n}", customer_code=f"C{n}") for n in range(50)
    )
    names = {f"名前{n}" for n in range(0, 100, 2)}
    query = IssuedName.objects.filter(_one_of(F("customer_name"), names))
    assert query.count() == 25
    plan = query.explain()
    assert "Hash" in plan or "hashed SubPlan" in plan, plan
