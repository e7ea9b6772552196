"""R17 on PostgreSQL: two imports of one bank file at once leave one set of deposits, and
the database itself refuses applications beyond their deposit, changed or deleted."""

import datetime as dt
import threading

import pytest
from django.db import DatabaseError, connection, transaction

from billing.models import Application, Deposit
from billing.payments.service import payments_import

from .payments_world import build_books
from .zengin_files import transfer_file

D = dt.date


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_leave_one_set_of_deposits():
    build_books()
    data = transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081201", 55000, "ｻﾝﾊﾞﾝ", "SK2026100003"))
    barrier, results, errors = threading.Barrier(2), [], []

    def one():
        try:
            barrier.wait(timeout=10)
            results.append(payments_import(data=data, today=D(2026, 12, 1)))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted((r.new, r.unchanged) for r in results) == [(0, 2), (2, 0)]
    assert Deposit.objects.count() == 2
    assert Application.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
class TestTheDatabaseHoldsTheBooks:
    @pytest.fixture
    def paid(self):
        build_books()
        payments_import(data=transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")), today=D(2026, 12, 1))
        return Application.objects.get()

    def sql(self, statement, params=()):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)

    def test_applications_never_exceed_their_deposit(self, paid):
        with pytest.raises(DatabaseError, match="R17: deposit"):
            self.sql(
                "INSERT INTO billing_application (deposit_id, invoice_id, amount, amount_currency, fee,"
                " fee_currency, rule, applied_at, reversal_reason)"
                " SELECT deposit_id, invoice_id, 1, 'JPY', 0, 'JPY', 'manual', now(), ''"
                " FROM billing_application WHERE id = %s",
                [paid.pk],
            )

    def test_an_application_is_neither_changed_nor_deleted(self, paid):
        with pytest.raises(DatabaseError, match="R17: an application is never changed"):
            self.sql("UPDATE billing_application SET amount = 1 WHERE id = %s", [paid.pk])
        with pytest.raises(DatabaseError, match="R17: DELETE of billing_application"):
            self.sql("DELETE FROM billing_application WHERE id = %s", [paid.pk])

    def test_a_deposit_keeps_its_amount(self, paid):
        with pytest.raises(DatabaseError, match="R17: UPDATE of billing_deposit"):
            self.sql("UPDATE billing_deposit SET amount = 1")
        self.sql("UPDATE billing_deposit SET customer_id = NULL")  # whose money it is may change
