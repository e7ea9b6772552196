"""The sales journal for 弥生会計 (弥生インポート形式): one entry per issued invoice that
ties to its total and tax. Totals worked out by hand in tests/e2e (October 2026):
C1 109,872 + tax 10,987 = 120,859; C2 92,000 + 9,200 = 101,200; C4 1,000 + 100 = 1,100."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from billing import runs
from billing.exports.journal import YAYOI_COLUMNS
from billing.formatting import cut
from billing.models import BillingRun, Invoice, InvoiceStatus
from contracts.models import Customer

from .october import october, staff_with

pytestmark = pytest.mark.django_db


def journal(tmp_path, *args) -> bytes:
    path = tmp_path / "journal.csv"
    call_command("export_journal", "2026-10", "--output", str(path), *args)
    return path.read_bytes()


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))


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


def test_amounts_tie_to_the_issued_invoices(tmp_path):
    october(tmp_path, issue=True)
    rows = rows_of(journal(tmp_path))
    issued = Invoice.objects.filter(billing_month=dt.date(2026, 10, 1), status=InvoiceStatus.ISSUED)
    assert sum(int(r[8]) for r in rows) == sum(int(i.total.amount) for i in issued) == 223159
    assert sum(int(r[14]) for r in rows) == 223159
    assert sum(int(r[15]) for r in rows) == sum(int(i.tax.amount) for i in issued) == 20287


def test_void_excluded_replacement_included(tmp_path):
    october(tmp_path, issue=True)
    c2 = Invoice.objects.get(number="SK-202610-0002")
    runs.invoice_void_and_replace(invoice=c2, by=None, reason="宛名の誤り", today=dt.date(2026, 11, 9))
    rows = rows_of(journal(tmp_path))
    assert [r[16].split()[0] for r in rows] == ["SK-202610-0001", "SK-202610-0003", "SK-202610-0004"]
    assert rows[2][21] == "SK-202610-0004 C2 SK-202610-0002の訂正"
    assert rows[2][3] == "2026/10/31"  # booked in the billing month, whatever the issue day
    assert sum(int(r[8]) for r in rows) == 223159  # same data, same totals


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


def test_text_is_cut_to_the_documented_width_and_never_altered(tmp_path):
    assert cut("株式会社アルファベータガンマデルタ", 24) == "株式会社アルファベータガ"  # 12 × 2 bytes
    assert cut("ABC株式会社", 6) == "ABC株"  # never half a character
    october(tmp_path, issue=False)
    Customer.objects.filter(code="C4").update(name="=SUM(A1)株式会社")
    runs.billing_month_issue(month=dt.date(2026, 10, 1), today=dt.date(2026, 11, 2))
    rows = rows_of(journal(tmp_path))
    # an accounting program reads a journal, not a spreadsheet: the name is kept as it is
    assert rows[2][5] == "=SUM(A1)株式会社"


def test_admin_download_from_the_issued_run(tmp_path, staff_client):
    october(tmp_path, issue=True)
    run = BillingRun.objects.get(month=dt.date(2026, 10, 1))
    url = reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"])
    html = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert url in html and "仕訳データ（弥生会計）" in html
    response = staff_client.get(url)
    assert response["Content-Type"] == "text/csv; charset=shift_jis"
    assert response["Content-Disposition"] == 'attachment; filename="journal-2026-10-yayoi.csv"'
    assert b"".join(response.streaming_content) == journal(tmp_path)
    assert (
        staff_client.get(reverse("admin:billing_billingrun_journal", args=[run.pk, "freee"])).status_code
        == 404
    )


def test_admin_refuses_a_draft_month_and_staff_without_the_csv_permission(tmp_path, client, staff_client):
    october(tmp_path)
    run = BillingRun.objects.get(month=dt.date(2026, 10, 1))
    url = reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"])
    response = staff_client.get(url, follow=True)
    assert "2026-10は発行されていません" in response.content.decode()
    staff_with(client, "sales", "billing.view_billingrun")
    assert client.get(url).status_code == 403


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
