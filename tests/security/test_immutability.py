"""Issued invoices are immutable by every path (issue 4, R12): the admin, the model's
save() and delete(), the queryset's update() and delete(), and on PostgreSQL raw SQL,
stopped by the triggers. Voiding is the one change allowed."""

import datetime as dt

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse

from billing.models import BillingRun, Invoice, InvoiceLine, RateCard
from billing.models.invoices import InvoiceImmutable
from billing.runs import billing_month_compute, billing_month_issue
from tests.contracts.factories import ContractFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def issued(django_user_model):
    contract = ContractFactory(in_service=True)
    RateCard.objects.create(
        contract=contract,
        valid_from=D(2026, 3, 1),
        base_fee=31000,
        account_unit_price=100,
        approved_on=D(2026, 3, 2),
        notified_on=D(2026, 3, 3),
        created_by=django_user_model.objects.create_user("author"),
        approved_by=django_user_model.objects.create_user("approver"),
    )
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 2))
    invoice = Invoice.objects.get()
    assert invoice.status == "issued" and invoice.total.amount == 34100  # 31000 + 3100
    return invoice


def unchanged(invoice):
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.status, stored.total.amount, stored.number) == ("issued", 34100, invoice.number)
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 2


def test_model_save_refuses(issued):
    issued.billing_name = "書き換え"
    with pytest.raises(InvoiceImmutable):
        issued.save()
    unchanged(issued)


def test_model_delete_refuses(issued):
    with pytest.raises(InvoiceImmutable):
        issued.delete()
    unchanged(issued)


def test_queryset_update_and_delete_refuse(issued):
    with pytest.raises(InvoiceImmutable):
        Invoice.objects.filter(pk=issued.pk).update(billing_name="書き換え")
    with pytest.raises(InvoiceImmutable):
        Invoice.objects.all().delete()
    unchanged(issued)


def test_lines_refuse_save_and_delete(issued):
    line = InvoiceLine.objects.filter(invoice=issued).first()
    line.description = "書き換え"
    with pytest.raises(InvoiceImmutable):
        line.save()
    with pytest.raises(InvoiceImmutable):
        line.delete()
    unchanged(issued)


def test_admin_has_no_way_to_change_or_delete(staff_client, issued):
    change = reverse("admin:billing_invoice_change", args=[issued.pk])
    page = staff_client.get(change).content.decode()
    assert 'name="billing_name"' not in page  # every field read-only
    staff_client.post(change, {"billing_name": "書き換え", "status": "draft"})
    assert staff_client.get(reverse("admin:billing_invoice_delete", args=[issued.pk])).status_code == 403
    response = staff_client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "delete_selected", "_selected_action": [issued.pk]},
    )
    assert response.status_code in (200, 302)
    unchanged(issued)


def test_voiding_is_the_one_change_allowed(issued, django_user_model):
    accountant = django_user_model.objects.create_user("keiri")
    issued.void(by=accountant, reason="単価の誤り")
    stored = Invoice.objects.get(pk=issued.pk)
    assert (stored.status, stored.voided_by, stored.void_reason) == ("void", accountant, "単価の誤り")
    stored.void_reason = "別の理由"
    with pytest.raises(InvoiceImmutable):
        stored.save()


@pytest.mark.postgres
class TestPostgresqlTriggers:
    """Raw SQL bypasses every Python guard; the database still refuses."""

    def sql(self, statement, params=()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)

    def test_update_of_an_issued_invoice(self, issued):
        with pytest.raises(IntegrityError, match="R12"):
            self.sql("UPDATE billing_invoice SET total = 1, subtotal = 1, tax = 0 WHERE id = %s", [issued.pk])
        unchanged(issued)

    def test_delete_of_an_issued_invoice(self, issued):
        with pytest.raises(DatabaseError, match="R12"):
            self.sql("DELETE FROM billing_invoiceline WHERE invoice_id = %s", [issued.pk])
        with pytest.raises(DatabaseError, match="R12"):
            self.sql("DELETE FROM billing_invoice WHERE id = %s", [issued.pk])
        unchanged(issued)

    def test_lines_cannot_be_added_changed_or_removed(self, issued):
        line = InvoiceLine.objects.filter(invoice=issued).first()
        with pytest.raises(IntegrityError, match="R12"):
            self.sql("UPDATE billing_invoiceline SET amount = 0 WHERE id = %s", [line.pk])
        with pytest.raises(IntegrityError, match="R12"):
            self.sql(
                "INSERT INTO billing_invoiceline (invoice_id, contract_id, position, line_type, item, description,"
                " quantity, amount, amount_currency, tax_rate, adjusted_month, adjusted_line_type, adjusted_basis,"
                " adjusted_basis_currency) VALUES (%s, %s, 9, 'adjustment', 'enterprise', 'x', 1, -1, 'JPY', 0.10,"
                " '2026-09-01', 'base_fee', 1, 'JPY')",
                [issued.pk, line.contract_id],
            )
        unchanged(issued)

    def test_lines_cannot_be_copied_in(self, issued):
        """COPY, as bill_month writes its lines, meets the same check (one per statement)."""
        line = InvoiceLine.objects.filter(invoice=issued).first()
        columns = (
            "invoice_id, contract_id, position, line_type, item, description, quantity, amount, amount_currency,"
            " tax_rate, adjusted_month, adjusted_line_type, adjusted_basis, adjusted_basis_currency"
        )
        with pytest.raises(IntegrityError, match="R12: lines are added to draft invoices only"):
            with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
                with cursor.cursor.copy(f"COPY billing_invoiceline ({columns}) FROM STDIN") as copy:
                    copy.write_row(
                        (
                            issued.pk,
                            line.contract_id,
                            9,
                            "adjustment",
                            "enterprise",
                            "x",
                            1,
                            -1,
                            "JPY",
                            "0.10",
                            "2026-09-01",
                            "base_fee",
                            1,
                            "JPY",
                        )
                    )
        unchanged(issued)

    def test_void_with_any_other_change_is_refused(self, issued):
        with pytest.raises(IntegrityError, match="R12"):
            self.sql(
                "UPDATE billing_invoice SET status = 'void', voided_at = now(), total = 0, subtotal = 0, tax = 0"
                " WHERE id = %s",
                [issued.pk],
            )
        self.sql(
            "UPDATE billing_invoice SET status = 'void', voided_at = now(), void_reason = 'x' WHERE id = %s",
            [issued.pk],
        )
        with pytest.raises(IntegrityError, match="R12"):
            self.sql("UPDATE billing_invoice SET void_reason = 'y' WHERE id = %s", [issued.pk])

    def test_an_issued_month_never_returns_to_draft(self, issued):
        with pytest.raises(IntegrityError, match="R12"):
            self.sql("UPDATE billing_billingrun SET status = 'draft', issued_at = NULL")
        assert BillingRun.objects.get().status == "issued"
