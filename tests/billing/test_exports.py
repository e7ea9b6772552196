"""export_invoices: both layouts as interfaces.md defines them (header, order, cells),
UTF-8 with BOM or CP932, CRLF, spreadsheet formulas neutralised, and a file that is
either complete or not there at all."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from billing import runs
from billing.exports import csvfile
from billing.exports import invoices as exports
from billing.models import AuthCount, Invoice
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import AccountRegistrationFactory, AuthCountFactory, OneTimeChargeFactory, RateCardFactory
from .october import october as issued_october

pytestmark = pytest.mark.django_db

D = dt.date
OCT = D(2026, 10, 1)

LINES_HEADER = [
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "contract_code", "item", "line_type", "description", "quantity", "unit_price", "amount", "tax_rate",
    "invoice_subtotal", "invoice_tax", "invoice_total",
]  # fmt: skip
INVOICES_HEADER = [
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "subtotal", "tax_rate", "tax", "total", "line_count",
]  # fmt: skip


def contract(code, customer, item="enterprise"):
    return ContractFactory(
        code=code,
        customer=customer,
        item=item,
        in_service=True,
        applied_on=D(2026, 8, 20),
        accepted_on=D(2026, 8, 25),
        billing_start_on=D(2026, 9, 1),
    )


@pytest.fixture
def october(db):
    """October 2026, full month, no initial fees (billing started in September):
    C-A: A1 Enterprise, base 1,000, two accounts all month (2.000 × 250 = 500)
         → 1,500 + tax 150 = 1,650
    C-B: B2 Enterprise, base 2,000, no accounts (0.000 × 300 = 0); B1 Service Provider, base 3,000,
         12,345 authentications per unit at 0.35 (4,320.75 → 4,320), a one-time charge
         of 700 → 2,000 + 0 + 3,000 + 4,320 + 700 = 10,020 + tax 1,002 = 11,022"""
    a = CustomerFactory(code="C-A", billing_name="株式会社エー 御中")
    b = CustomerFactory(code="C-B", billing_name="ビー株式会社 御中")
    a1 = contract("A1", a)
    RateCardFactory(contract=a1, base_fee=Decimal("1000"), account_unit_price=Decimal("250"))
    AccountRegistrationFactory(contract=a1, registered_on=D(2026, 9, 1))
    AccountRegistrationFactory(contract=a1, registered_on=D(2026, 9, 1))
    RateCardFactory(contract=contract("B2", b), base_fee=Decimal("2000"))
    b1 = contract("B1", b, item="service_provider")
    RateCardFactory(contract=b1, base_fee=Decimal("3000"), auth_pricing="per_unit", tiers=[(None, "0.35")])
    AuthCountFactory(contract=b1, date=D(2026, 10, 9), success_count=12_345)
    OneTimeChargeFactory(
        contract=b1, description="端末追加設定", amount=Decimal("700"), due_on=D(2026, 10, 9)
    )
    runs.billing_month_compute(month=OCT)


def export_file(tmp_path, *args, month="2026-10"):
    path = tmp_path / "out.csv"
    err = io.StringIO()
    call_command("export_invoices", month, "--output", str(path), *args, stderr=err)
    return path.read_bytes(), err.getvalue()


def rows_of(data, encoding="utf-8-sig"):
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_lines_layout_of_drafts(october, tmp_path):
    data, _ = export_file(tmp_path)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    header, *rows = rows_of(data)
    assert header == LINES_HEADER
    a = ["", "draft", "C-A", "株式会社エー 御中", "2026-10", "", ""]
    b = ["", "draft", "C-B", "ビー株式会社 御中", "2026-10", "", ""]
    # drafts by customer code, then contract code, then line order
    assert rows == [
        [*a, "A1", "enterprise", "base_fee", "月額基本料 2026年10月分", "1", "1000", "1000", "0.10", "1500", "150", "1650"],
        [*a, "A1", "enterprise", "account_fee", "アカウント使用料（登録ID 2件、日割係数の合計）", "2.000", "250", "500",
         "0.10", "1500", "150", "1650"],
        [*b, "B1", "service_provider", "base_fee", "月額基本料 2026年10月分", "1", "3000", "3000", "0.10", "10020",
         "1002", "11022"],
        [*b, "B1", "service_provider", "auth_api_fee", "認証API使用料（単価制）", "12345", "0.35", "4320", "0.10",
         "10020", "1002", "11022"],
        [*b, "B1", "service_provider", "one_time_fee", "端末追加設定", "1", "700", "700", "0.10", "10020", "1002",
         "11022"],
        [*b, "B2", "enterprise", "base_fee", "月額基本料 2026年10月分", "1", "2000", "2000", "0.10", "10020", "1002",
         "11022"],
        [*b, "B2", "enterprise", "account_fee", "アカウント使用料（登録ID 0件、日割係数の合計）", "0.000", "300", "0",
         "0.10", "10020", "1002", "11022"],
    ]  # fmt: skip


def test_invoices_layout_sorted_by_number_with_void_and_replacement(october, tmp_path):
    runs.billing_month_issue(month=OCT, today=D(2026, 11, 2))
    AuthCount.objects.update(success_count=10_000)  # corrected: 10,000 × 0.35 = 3,500
    runs.invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202610-0002"),
        by=None,
        reason="回数の訂正",
        today=D(2026, 11, 20),
    )
    data, _ = export_file(tmp_path, "--layout", "invoices")
    header, *rows = rows_of(data)
    assert header == INVOICES_HEADER
    assert rows == [
        ["SK-202610-0001", "issued", "C-A", "株式会社エー 御中", "2026-10", "2026-11-02", "2026-11-30",
         "1500", "0.10", "150", "1650", "2"],
        ["SK-202610-0002", "void", "C-B", "ビー株式会社 御中", "2026-10", "2026-11-02", "2026-11-30",
         "10020", "0.10", "1002", "11022", "5"],
        # 2,000 + 0 + 3,000 + 3,500 + 700 = 9,200 + tax 920
        ["SK-202610-0003", "issued", "C-B", "ビー株式会社 御中", "2026-10", "2026-11-20", "2026-11-30",
         "9200", "0.10", "920", "10120", "5"],
    ]  # fmt: skip

    lines_data, _ = export_file(tmp_path)
    numbers = [(row[0], row[7], row[9]) for row in rows_of(lines_data)[1:]]
    assert [n for n, *_ in numbers] == ["SK-202610-0001"] * 2 + ["SK-202610-0002"] * 5 + [
        "SK-202610-0003"
    ] * 5
    assert numbers[7:] == [
        ("SK-202610-0003", "B1", "base_fee"),
        ("SK-202610-0003", "B1", "auth_api_fee"),
        ("SK-202610-0003", "B1", "one_time_fee"),
        ("SK-202610-0003", "B2", "base_fee"),
        ("SK-202610-0003", "B2", "account_fee"),
    ]


def test_a_month_without_invoices_is_the_header_alone(db, tmp_path):
    data, _ = export_file(tmp_path, month="2026-01")
    assert data == b"\xef\xbb\xbf" + ",".join(LINES_HEADER).encode() + b"\r\n"


def test_standard_output_without_output_option(october):
    out = io.StringIO()
    call_command("export_invoices", "2026-10", "--layout", "invoices", stdout=out)
    assert out.getvalue().split("\r\n")[:2] == [
        ",".join(INVOICES_HEADER),
        ",draft,C-A,株式会社エー 御中,2026-10,,,1500,0.10,150,1650,2",
    ]


def test_cp932_reports_and_replaces_what_it_cannot_encode(db, tmp_path):
    customer = CustomerFactory(code="C-Y", billing_name="𠮷野家商事株式会社 御中")  # 𠮷 is outside CP932
    RateCardFactory(contract=contract("Y1", customer), base_fee=Decimal("1000"))
    runs.billing_month_compute(month=OCT)
    data, err = export_file(tmp_path, "--encoding", "cp932", "--layout", "invoices")
    assert not data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    header, row = rows_of(data, "cp932")
    assert header == INVOICES_HEADER
    assert row[3] == "?野家商事株式会社 御中"
    assert row[7:11] == ["1000", "0.10", "100", "1100"]
    assert err.startswith(
        "CP932で表せない文字を '?' で出力しました: ,draft,C-Y,𠮷野家商事株式会社 御中,2026-10"
    )

    data, err = export_file(tmp_path, "--encoding", "cp932")
    assert "?野家商事株式会社 御中" in data.decode("cp932")
    assert "月額基本料 2026年10月分" in data.decode("cp932")  # Japanese itself is encoded
    assert err.count("CP932で表せない文字") == 2  # the base fee and account fee lines


def test_cp932_without_unencodable_characters_reports_nothing(october, tmp_path):
    data, err = export_file(tmp_path, "--encoding", "cp932")
    assert err == ""
    assert "ビー株式会社 御中" in data.decode("cp932")
    assert rows_of(data, "cp932")[0] == LINES_HEADER


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_formulas_are_neutralised_and_numbers_are_not(db, tmp_path, prefix):
    customer = CustomerFactory(code="C-F", billing_name=f'{prefix}HYPERLINK("http://x")')
    f1 = contract("F1", customer)
    RateCardFactory(contract=f1, base_fee=Decimal("1000"), account_unit_price=Decimal("250"))
    OneTimeChargeFactory(
        contract=f1, description=f"{prefix}1+2", amount=Decimal("500"), due_on=D(2026, 10, 1)
    )
    runs.billing_month_compute(month=OCT)

    _, *rows = rows_of(export_file(tmp_path)[0])
    assert {row[3] for row in rows} == {f'\'{prefix}HYPERLINK("http://x")'}
    assert [row[10] for row in rows if row[9] == "one_time_fee"] == [f"'{prefix}1+2"]
    # 1000 + 0 + 500 = 1500, tax 150: numeric columns as they are
    assert [row[11:] for row in rows if row[9] == "one_time_fee"] == [
        ["1", "500", "500", "0.10", "1500", "150", "1650"]
    ]
    _, row = rows_of(export_file(tmp_path, "--layout", "invoices")[0])
    assert row[3] == f'\'{prefix}HYPERLINK("http://x")'
    assert row[7:] == ["1500", "0.10", "150", "1650", "3"]


def test_a_failed_export_leaves_no_file_and_keeps_the_previous_one(october, tmp_path, monkeypatch):
    def rows_then_failure(month, cells):
        yield [
            "SK-X",
            "issued",
            "C-A",
            "途中まで",
            "2026-10",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        raise RuntimeError("database connection lost")

    def copied_rows_then_failure(queryset):  # the same, where PostgreSQL writes the rows
        yield memoryview(
            b"SK-X,issued,C-A,\xe9\x80\x94\xe4\xb8\xad\xe3\x81\xbe\xe3\x81\xa7,2026-10" + b"," * 13 + b"\n"
        )
        raise RuntimeError("database connection lost")

    monkeypatch.setattr(exports, "line_rows", rows_then_failure)
    monkeypatch.setattr(csvfile, "_copy_out", copied_rows_then_failure)
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 1)  # that row handed out before the failure
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        call_command("export_invoices", "2026-10", "--output", str(target))
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one

    target.write_bytes(b"last month's good file")
    with pytest.raises(RuntimeError):
        call_command("export_invoices", "2026-10", "--output", str(target))
    assert target.read_bytes() == b"last month's good file"
    assert list(tmp_path.iterdir()) == [target]


def test_a_complete_export_replaces_the_previous_file(october, tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    call_command("export_invoices", "2026-10", "--output", str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbfinvoice_number,")
    assert list(tmp_path.iterdir()) == [target]


def test_bad_arguments_are_clear_errors(db, tmp_path):
    with pytest.raises(CommandError, match="'2026-13' は年月ではありません（YYYY-MM）。"):
        call_command("export_invoices", "2026-13")
    with pytest.raises(CommandError, match="はディレクトリではありません。"):
        call_command("export_invoices", "2026-10", "--output", str(tmp_path / "missing" / "out.csv"))


def test_credit_notes_and_adjustments_appear_in_the_month_they_correct(tmp_path):
    """interfaces.md: a credit note is in the export of the month of the invoice it
    credits, as a row of status credit_note with negative amounts; an adjustment line
    names its closed month and original invoice and may be negative."""
    issued_october(tmp_path, issue=True)
    runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=Decimal("12345"),
        reason="単価の誤り",
        by=None,
        today=D(2026, 12, 3),
    )
    lines = rows_of(export_file(tmp_path)[0])
    # 12,345 returned, tax floor(1,234.5) = 1,234, 13,579 in all
    assert lines[-1] == [
        "CN-202612-0001", "credit_note", "C1", "株式会社アルファ 経理部 御中", "2026-10", "2026-12-03", "",
        "", "", "credit_note", "単価の誤り", "1", "", "-12345", "0.10", "-12345", "-1234", "-13579",
    ]  # fmt: skip
    invoices = rows_of(export_file(tmp_path, "--layout", "invoices")[0])
    assert invoices[-1] == [
        "CN-202612-0001", "credit_note", "C1", "株式会社アルファ 経理部 御中", "2026-10", "2026-12-03", "",
        "-12345", "0.10", "-1234", "-13579", "1",
    ]  # fmt: skip
    assert [row[0] for row in invoices[1:]] == [
        "SK-202610-0001",
        "SK-202610-0002",
        "SK-202610-0003",
        "CN-202612-0001",
    ]

    # S1's count of 10-01 lowered by 100 after issue: 149,900 in its graduated table is
    # 100,000 × 0.50 + 49,900 × 0.30 = 64,970 against 65,000 billed: −30 on November
    count = AuthCount.objects.get(contract__code="S1", date=D(2026, 10, 1))
    count.success_count = 9900
    count.save()
    runs.billing_month_compute(month=D(2026, 11, 1))
    november = rows_of(export_file(tmp_path, month="2026-11")[0])
    assert [(row[2], row[7], row[9], row[10], row[13]) for row in november if row[9] == "adjustment"] == [
        ("C1", "S1", "adjustment", "2026年10月分 認証API使用料の調整（元請求書 SK-202610-0001）", "-30")
    ]


# --- the same rows as an Excel workbook (issue 14) ------------------------------------------


def workbook_rows(path):
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    return sheet.title, [[cell for cell in row] for row in sheet.iter_rows()]


def test_the_workbook_keeps_codes_as_text_dates_as_dates_and_amounts_as_numbers(october, tmp_path):
    runs.billing_month_issue(month=OCT, today=D(2026, 11, 2))
    path = tmp_path / "october.xlsx"
    call_command(
        "export_invoices", "2026-10", "--format", "xlsx", "--layout", "invoices", "--output", str(path)
    )
    title, rows = workbook_rows(path)
    assert title == "2026-10"
    assert [c.value for c in rows[0]] == INVOICES_HEADER
    first = rows[1]
    assert [c.value for c in first] == [
        "SK-202610-0001",
        "issued",
        "C-A",
        "株式会社エー 御中",
        "2026-10",
        dt.datetime(2026, 11, 2),
        dt.datetime(2026, 11, 30),
        1500,
        0.1,
        150,
        1650,
        2,
    ]  # fmt: skip (a workbook's numbers are read back as Excel keeps them: doubles)
    assert [c.data_type for c in first] == ["s", "s", "s", "s", "s", "d", "d", "n", "n", "n", "n", "n"]
    assert first[5].number_format == "yyyy/mm/dd"
    assert [c.value for c in rows[2]][7:11] == [10020, 0.1, 1002, 11022]


def test_the_workbook_lines_carry_fractional_quantities_and_prices_as_numbers(october, tmp_path):
    path = tmp_path / "lines.xlsx"
    call_command("export_invoices", "2026-10", "--format", "xlsx", "--output", str(path))
    _title, rows = workbook_rows(path)
    by_type = {(r[7].value, r[9].value): r for r in rows[1:]}
    account = by_type[("A1", "account_fee")]
    assert (account[11].value, account[12].value, account[13].value) == (2, 250, 500)
    auth = by_type[("B1", "auth_api_fee")]
    assert (auth[11].value, auth[12].value, auth[13].value) == (12345, 0.35, 4320)
    assert auth[12].data_type == "n"
    # a draft has no number and no dates: empty cells, not the text "None"
    assert (auth[0].value, auth[5].value, auth[6].value) == (None, None, None)


def test_a_code_with_leading_zeros_and_a_text_like_a_formula_stay_text(db, tmp_path):
    customer = CustomerFactory(code="0070", billing_name="=HYPERLINK(1) 御中")
    RateCardFactory(contract=contract("007", customer), base_fee=Decimal("1000"))
    runs.billing_month_compute(month=OCT)
    path = tmp_path / "codes.xlsx"
    call_command("export_invoices", "2026-10", "--format", "xlsx", "--output", str(path))
    _title, rows = workbook_rows(path)
    row = rows[1]
    assert (row[2].value, row[3].value, row[7].value) == ("0070", "=HYPERLINK(1) 御中", "007")
    assert (row[2].data_type, row[3].data_type, row[7].data_type) == ("s", "s", "s")


def test_a_workbook_needs_a_file(october):
    with pytest.raises(CommandError, match="--output"):
        call_command("export_invoices", "2026-10", "--format", "xlsx", stdout=io.StringIO())


def test_the_workbook_from_the_runs_page(october, client, tmp_path):
    from django.urls import reverse

    from billing.models import BillingRun

    from .october import staff_with

    staff_with(client, "accountant", "billing.view_billingrun", "billing.export_invoices")
    run = BillingRun.objects.get(month=OCT)
    page = client.get(reverse("admin:billing_billingrun_changelist")).content.decode()
    assert "?format=xlsx" in page and "Excel: " in page
    response = client.get(
        reverse("admin:billing_billingrun_export", args=[run.pk, "invoices"]), {"format": "xlsx"}
    )
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="invoices-2026-10-invoices.xlsx"' in response["Content-Disposition"]
    path = tmp_path / "admin.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    _title, rows = workbook_rows(path)
    assert [c.value for c in rows[1]][2:4] == ["C-A", "株式会社エー 御中"]


_CELLS = st.one_of(
    st.text(alphabet='ab あ,"\r\n=', max_size=6),
    st.integers(-5, 5),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
)


@given(rows=st.lists(st.lists(_CELLS, max_size=5), max_size=6))
def test_csv_text_is_the_csv_writers_whatever_the_cells(rows):
    """``csv_lines`` joins rows that need no quoting instead of writing them; either way
    the text is exactly what ``csv.writer`` writes (commas, quotes, line breaks, a row of
    one empty cell, empty rows, cells that are not text)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    lines = csvfile.csv_lines()
    assert lines(rows) == buffer.getvalue()
    assert lines(rows) == buffer.getvalue()  # the writer's buffer is emptied between calls


def test_csv_text_of_plain_rows_is_joined():
    assert csvfile.csv_lines()([["SK-202610-0001", "株式会社アルファ", "120859"], ["", "", "0"]]) == (
        "SK-202610-0001,株式会社アルファ,120859\r\n,,0\r\n"
    )
    assert csvfile.csv_lines()([["a,b", 'c"d'], [""]]) == '"a,b","c""d"\r\n""\r\n'
