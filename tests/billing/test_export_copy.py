"""export_invoices on PostgreSQL: the database writes the cells and the rows (COPY ... TO
STDOUT, FORMAT csv, ``billing.exports.sqlcells``), byte for byte the file that Python's
``csv.writer`` writes from the values (``line_rows``, ``invoice_rows``): quoting, empty
cells, neutralised formulas, dates, amounts, negative credit notes, CP932 and its report."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billing import runs
from billing.exports import csvfile
from billing.exports import invoices as exports
from billing.exports.cells import CSV_CELLS
from billing.models import AuthCount, Invoice
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import OneTimeChargeFactory, RateCardFactory
from .october import october

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = dt.date


@pytest.fixture
def months(tmp_path):
    """October issued with a credit note against it, November with a negative
    adjustment, and a customer whose texts need every rule of the CSV file."""
    customer = CustomerFactory(code="=C9", billing_name='エー, "引用"\r\n改行\t𠮷 御中')
    contract = ContractFactory(
        code="-K1",
        customer=customer,
        item="enterprise",
        in_service=True,
        applied_on=D(2026, 8, 20),
        accepted_on=D(2026, 8, 25),
        billing_start_on=D(2026, 9, 1),
    )
    RateCardFactory(contract=contract, base_fee=Decimal("1000"), account_unit_price=Decimal("0.35"))
    OneTimeChargeFactory(
        contract=contract, description='@1+2, "x"\nnext', amount=Decimal("500"), due_on=D(2026, 10, 1)
    )
    OneTimeChargeFactory(contract=contract, description="", amount=Decimal("1"), due_on=D(2026, 10, 2))
    october(tmp_path, issue=True)
    runs.credit_note_issue(
        invoice=Invoice.objects.get(customer_code="C1", billing_month=D(2026, 10, 1)),
        amount=Decimal("12345"),
        reason="単価の誤り",
        by=None,
        today=D(2026, 12, 3),
    )
    count = AuthCount.objects.get(contract__code="S1", date=D(2026, 10, 1))
    count.success_count = 9900
    count.save()
    runs.billing_month_compute(month=D(2026, 11, 1))


def python_file(month, layout, encoding):
    report = csvfile.EncodingReport()
    header, rows = exports._layout(month, layout, CSV_CELLS)
    return b"".join(csvfile.encoded_csv(rows, header, encoding, report)), report.replaced


@pytest.mark.parametrize("layout", exports.LAYOUTS)
@pytest.mark.parametrize("encoding", csvfile.ENCODINGS)
@pytest.mark.parametrize("month", [D(2026, 10, 1), D(2026, 11, 1)])
def test_the_database_writes_the_bytes_python_writes(months, layout, encoding, month):
    report = csvfile.EncodingReport()
    data = b"".join(exports.export(month, layout=layout, encoding=encoding, report=report))
    expected, replaced = python_file(month, layout, encoding)
    assert data == expected
    assert report.replaced == replaced
    text = data.decode(encoding)
    if month.month == 10:  # what the comparison covers is there
        assert '"エー, ""引用""\r\n改行\t' in text  # quoted, quotes doubled, CRLF kept inside
        assert ",'=C9," in text  # a formula neutralised
        assert ("-12345" in text) and ("credit_note" in text)
        if layout == "lines":
            assert ",'-K1," in text and '"\'@1+2, ""x""\nnext"' in text
            assert ",,one_time_fee,,1,1,1," in text.replace("enterprise,one_time_fee", ",one_time_fee")
    if encoding == "cp932":
        assert replaced  # 𠮷 written as '?' and reported


def test_two_queries_and_chunks_of_many_rows(months, django_assert_num_queries):
    with django_assert_num_queries(2):  # the lines, the credit notes' lines
        chunks = list(exports.export(D(2026, 10, 1)))
    assert len(chunks) == 2  # the header, then the rows gathered (CHUNK_BYTES)


def test_a_stream_closed_half_way_leaves_the_connection_usable(months, monkeypatch):
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 1)
    chunks = exports.export(D(2026, 10, 1))
    next(chunks), next(chunks)  # the header, the first line: the COPY is under way
    chunks.close()  # the reader went away (`| head`, a download cancelled)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
