"""R16: credit notes (適格返還請求書) against issued invoices: their own gapless series, tax
once per credit note, never beyond what the invoice leaves, never changed."""

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from billing.models import CreditNote, CreditNoteLine, Invoice
from billing.models.credit_notes import CreditNoteImmutable
from billing.runs import (
    billing_month_compute,
    billing_month_issue,
    credit_note_issue,
    invoice_void_and_replace,
)
from tests.contracts.factories import ContractFactory, CustomerFactory

from .factories import RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date
OCT = D(2026, 10, 1)


@pytest.fixture
def invoice():
    """October 2026 issued on 11-02: one Enterprise contract, base fee 30,000 (tax 3,000)."""
    customer = CustomerFactory(code="C-CN", billing_name="株式会社シーエヌ 御中")
    RateCardFactory(
        contract=ContractFactory(
            in_service=True, customer=customer, code="E-CN", billing_start_on=D(2026, 3, 25)
        ),
        base_fee=Decimal("30000"),
        account_unit_price=Decimal("0"),
    )
    billing_month_compute(month=OCT)
    billing_month_issue(month=OCT, today=D(2026, 11, 2))
    issued = Invoice.objects.get()
    assert (issued.number, issued.subtotal.amount, issued.total.amount) == ("SK-202610-0001", 30000, 33000)
    return issued


def test_the_rules_example_tax_once_truncated(invoice):
    keiri = UserFactory(username="keiri")
    note = credit_note_issue(
        invoice=invoice, amount=Decimal("12345"), reason="単価の誤り", by=keiri, today=D(2026, 12, 3)
    )
    assert (note.number, note.subtotal.amount, note.tax.amount, note.total.amount) == (
        "CN-202612-0001",
        12345,
        1234,
        13579,
    )
    assert (note.issue_date, note.issued_by, note.invoice, note.billing_name) == (
        D(2026, 12, 3),
        keiri,
        invoice,
        "株式会社シーエヌ 御中",
    )
    assert note.issuer_registration_number == "T2010001034531"
    assert [(line.line_type, line.description, line.amount.amount) for line in note.lines.all()] == [
        ("credit_note", "単価の誤り", 12345)
    ]
    assert note.history.get().history_user == keiri


def test_numbers_are_gapless_per_month_of_issue(invoice):
    numbers = [
        credit_note_issue(invoice=invoice, amount=Decimal(1000), reason="値引き", by=None, today=day).number
        for day in (D(2026, 12, 3), D(2026, 12, 28), D(2027, 1, 5), D(2027, 1, 31))
    ]
    assert numbers == ["CN-202612-0001", "CN-202612-0002", "CN-202701-0001", "CN-202701-0002"]


def test_never_beyond_what_the_invoice_and_its_credit_notes_leave(invoice):
    credit_note_issue(
        invoice=invoice, amount=Decimal(20000), reason="一部返品", by=None, today=D(2026, 12, 3)
    )
    with pytest.raises(ValidationError, match=r"10,000円.*10,001円"):
        credit_note_issue(
            invoice=invoice, amount=Decimal(10001), reason="追加値引き", by=None, today=D(2026, 12, 4)
        )
    credit_note_issue(
        invoice=invoice, amount=Decimal(10000), reason="追加値引き", by=None, today=D(2026, 12, 4)
    )
    with pytest.raises(ValidationError, match="0円"):
        credit_note_issue(invoice=invoice, amount=Decimal(1), reason="さらに", by=None, today=D(2026, 12, 5))
    assert CreditNote.objects.count() == 2


@pytest.mark.parametrize("amount", ["0", "-1", "100.5"])
def test_a_whole_positive_amount_and_a_reason(invoice, amount):
    with pytest.raises(ValidationError, match="R16"):
        credit_note_issue(
            invoice=invoice, amount=Decimal(amount), reason="値引き", by=None, today=D(2026, 12, 3)
        )
    with pytest.raises(ValidationError, match="R16"):
        credit_note_issue(invoice=invoice, amount=Decimal(100), reason="  ", by=None, today=D(2026, 12, 3))
    assert not CreditNote.objects.exists()


def test_refused_on_drafts_and_voided_invoices(invoice):
    billing_month_compute(month=D(2026, 11, 1))
    draft = Invoice.objects.get(billing_month=D(2026, 11, 1))
    with pytest.raises(ValidationError, match=r"R16: .*下書き"):
        credit_note_issue(invoice=draft, amount=Decimal(100), reason="値引き", by=None, today=D(2026, 12, 3))
    invoice_void_and_replace(invoice=invoice, by=UserFactory(), reason="宛名の誤り", today=D(2026, 11, 20))
    with pytest.raises(ValidationError, match=r"R16: .*取消"):
        credit_note_issue(
            invoice=invoice, amount=Decimal(100), reason="値引き", by=None, today=D(2026, 12, 3)
        )


def test_an_invoice_with_credit_notes_is_not_voided(invoice):
    credit_note_issue(invoice=invoice, amount=Decimal(100), reason="値引き", by=None, today=D(2026, 12, 3))
    with pytest.raises(ValidationError, match=r"R16: .*返還請求書"):
        invoice_void_and_replace(invoice=invoice, by=UserFactory(), reason="宛名の誤り", today=D(2026, 12, 4))
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"


def test_an_issued_credit_note_never_changes(invoice):
    note = credit_note_issue(
        invoice=invoice, amount=Decimal(500), reason="値引き", by=None, today=D(2026, 12, 3)
    )
    note.reason = "書き換え"
    with pytest.raises(CreditNoteImmutable):
        note.save()
    with pytest.raises(CreditNoteImmutable):
        note.delete()
    with pytest.raises(CreditNoteImmutable):
        CreditNote.objects.filter(pk=note.pk).update(subtotal=1)
    with pytest.raises(CreditNoteImmutable):
        CreditNote.objects.all().delete()
    line = note.lines.get()
    with pytest.raises(CreditNoteImmutable):
        line.save()
    with pytest.raises(CreditNoteImmutable):
        line.delete()
    note.refresh_from_db()
    assert (note.reason, note.subtotal.amount) == ("値引き", 500)


@pytest.mark.postgres
def test_the_database_refuses_changes_and_numbers_out_of_the_series(invoice):
    note = credit_note_issue(
        invoice=invoice, amount=Decimal(500), reason="値引き", by=None, today=D(2026, 12, 3)
    )
    for sql in (
        f"UPDATE billing_creditnote SET subtotal = 1, total = 1 WHERE id = {note.pk}",
        f"DELETE FROM billing_creditnote WHERE id = {note.pk}",
        f"UPDATE billing_creditnoteline SET amount = 1 WHERE credit_note_id = {note.pk}",
        "UPDATE billing_creditnoteseries SET last_number = 0",
        # numbered beyond the series' counter, or in another month's series
        "INSERT INTO billing_creditnote (number, invoice_id, customer_id, origin, issue_date, reason, subtotal,"
        " subtotal_currency, tax_rate, tax, tax_currency, total, total_currency, customer_code, customer_name,"
        " billing_name, postal_code, address, issuer_name, issuer_address, issuer_registration_number, issued_at)"
        f" SELECT 'CN-202612-0002', {invoice.pk}, customer_id, 'manual', '2026-12-03', 'x', 1, 'JPY', 0.10, 0,"
        " 'JPY', 1, 'JPY', '', '', '', '', '', '', '', '', now() FROM billing_invoice LIMIT 1",
    ):
        with pytest.raises(IntegrityError, match="R16"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_command_prints_the_number_and_refuses_clearly(invoice):
    UserFactory(username="keiri")
    out = io.StringIO()
    call_command(
        "credit_note",
        "SK-202610-0001",
        "--amount",
        "1200",
        "--reason",
        "誤請求の返還",
        "--user",
        "keiri",
        stdout=out,
    )
    note = CreditNote.objects.get()
    assert out.getvalue() == f"{note.number}\n"
    assert note.issued_by.username == "keiri"
    with pytest.raises(CommandError, match="SK-209912-0001"):
        call_command("credit_note", "SK-209912-0001", "--amount", "1", "--reason", "x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="R16"):
        call_command(
            "credit_note", "SK-202610-0001", "--amount", "999999", "--reason", "x", stdout=io.StringIO()
        )
    with pytest.raises(CommandError):
        call_command(
            "credit_note", "SK-202610-0001", "--amount", "abc", "--reason", "x", stdout=io.StringIO()
        )
    assert CreditNote.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_credit_notes_at_once_get_consecutive_numbers():
    customer = CustomerFactory(code="C-RACE")
    RateCardFactory(
        contract=ContractFactory(in_service=True, customer=customer, billing_start_on=D(2026, 3, 25)),
        base_fee=Decimal("30000"),
        account_unit_price=Decimal("0"),
    )
    billing_month_compute(month=OCT)
    billing_month_issue(month=OCT, today=D(2026, 11, 2))
    invoice = Invoice.objects.get()
    barrier, numbers, errors = threading.Barrier(2), [], []

    def issue():
        try:
            barrier.wait(timeout=10)
            numbers.append(
                credit_note_issue(
                    invoice=invoice, amount=Decimal(1000), reason="同時", by=None, today=D(2026, 12, 3)
                ).number
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(numbers) == ["CN-202612-0001", "CN-202612-0002"]
    assert CreditNoteLine.objects.count() == 2
