"""R17 at scale: a bank file of 10,000 transfers matched against 100,000 open invoices
(10,000 customers, ten issued months each) in the same number of queries as a file of five,
each rule of R17 finding what it should. PostgreSQL only: the production database, whose
bulk inserts are one statement whatever their size (SQLite splits them by its limit on
parameters, so there the count grows with the file by design)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from billing.devtools.payments_scale import bank_transfers, open_books
from billing.models import Application, Deposit, Invoice, InvoiceStatus
from billing.payments.service import payments_import

from .zengin_files import transfer_file

D = dt.date
FIRST_MONTH = D(2025, 12, 1)  # ten months: 2025-12 to 2026-09, all open on 2026-12-01
DAY = "081201"  # 令和8年12月1日


def file_of(transfers) -> bytes:
    return transfer_file(*((number, DAY, int(amount), name, edi) for number, amount, name, edi in transfers))


def imported(data: bytes):
    with CaptureQueriesContext(connection) as queries:
        result = payments_import(data=data, today=D(2026, 12, 1))
    return result, len(queries)


@pytest.mark.postgres(reason="the production database's one-statement bulk writes; SQLite batches them")
@pytest.mark.django_db
def test_ten_thousand_transfers_against_a_hundred_thousand_open_invoices_in_constant_queries():
    open_books(customers=10_000, months=10, first_month=FIRST_MONTH)
    assert Invoice.objects.filter(status=InvoiceStatus.ISSUED).count() == 100_000
    transfers = bank_transfers(customers=10_000, first_month=FIRST_MONTH)

    # the first five customers (one transfer of each rule), then everybody else
    few, few_queries = imported(file_of(transfers[:5]))
    assert (few.new, few.matched, few.unmatched) == (5, 4, 1)
    everything, queries = imported(file_of(transfers))
    assert (everything.new, everything.unchanged) == (9_995, 5)
    assert (everything.matched, everything.partial, everything.unmatched) == (7_996, 0, 1_999)
    assert queries == few_queries, (queries, few_queries)

    # each rule as the books were built: 2,000 customers each (see payments_scale)
    by_rule = {
        row["rule"]: (row["n"], row["amount"], row["fee"])
        for row in Application.objects.values("rule").annotate(
            n=Count("id"), amount=Sum("amount"), fee=Sum("fee")
        )
    }
    assert by_rule == {
        # the oldest invoice, 11,000 yen, named in the EDI情報
        "invoice_number": (2_000, Decimal(22_000_000), Decimal(0)),
        # the third oldest, 13,200 yen, by amount
        "one_invoice": (2_000, Decimal(26_400_000), Decimal(0)),
        # the two oldest, 11,000 + 12,100 yen
        "oldest_invoices": (4_000, Decimal(46_200_000), Decimal(0)),
        # 11,000 yen less the payer's 660-yen fee
        "fee_tolerance": (2_000, Decimal(20_680_000), Decimal(1_320_000)),
    }
    assert Deposit.objects.filter(customer__isnull=True).count() == 2_000
    # what is left open: 100,000 invoices less the 10,000 paid
    assert Invoice.objects.open_items(as_of=D(2026, 12, 1)).count() == 90_000
