"""R17: deposits imported from bank files and matched in R17's order; balances and
statuses derived from applications and credit notes; the accountants' applications and
reversals. Expected amounts are worked out by hand in ``payments_world``."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Application, Deposit, Invoice, MatchRule, PayerName
from billing.payments.service import application_reverse, deposit_apply, payments_import
from billing.runs import credit_note_issue
from contracts.csvimport import ImportRejected

from .payments_world import build_books, invoice
from .zengin_files import end, statement, statement_header, statement_trailer, transfer_file

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def books(db):
    return build_books()


def run(data, **kwargs):
    return payments_import(data=data, today=D(2026, 12, 1), **kwargs)


def applications(number):
    return [
        (a.amount.amount, a.fee.amount, a.rule)
        for a in Application.objects.filter(invoice__number=number, reversed_at__isnull=True).order_by("id")
    ]


class TestMatchingInR17sOrder:
    def test_1_the_invoice_number_in_the_edi_information(self, books):
        result = run(transfer_file((1, "081201", 55000, "ｻﾝﾊﾞﾝｼﾖｳﾃﾝ", "SK2026100003")))
        assert (result.new, result.matched, result.partial, result.unmatched) == (1, 1, 0, 0)
        assert applications("SK-202610-0003") == [(Decimal(55000), Decimal(0), MatchRule.INVOICE_NUMBER)]
        paid = invoice("SK-202610-0003")
        assert (paid.paid, paid.balance, paid.payment_status) == (Decimal(55000), Decimal(0), "paid")
        assert Deposit.objects.get().customer == books["C3"]

    def test_1_the_invoice_number_in_the_payer_name_with_hyphens(self, books):
        run(transfer_file((1, "081201", 55000, "SK-202610-0003 ｻﾝﾊﾞﾝ")))
        assert applications("SK-202610-0003") == [(Decimal(55000), Decimal(0), MatchRule.INVOICE_NUMBER)]

    def test_1_less_than_the_named_invoice_is_a_partial_payment(self, books):
        result = run(transfer_file((1, "081201", 20000, "ｻﾝﾊﾞﾝ", "SK2026100003")))
        assert (result.matched, result.partial) == (0, 1)
        partly = invoice("SK-202610-0003")
        assert (partly.paid, partly.balance, partly.payment_status) == (
            Decimal(20000),
            Decimal(35000),
            "partial",
        )

    def test_1_more_than_the_named_invoice_leaves_the_rest_as_credit(self, books):
        run(transfer_file((1, "081201", 60000, "ｻﾝﾊﾞﾝ", "SK2026100003")))
        assert applications("SK-202610-0003") == [(Decimal(55000), Decimal(0), MatchRule.INVOICE_NUMBER)]
        deposit = Deposit.objects.get()
        assert deposit.customer == books["C3"]  # 5,000 yen of 前受金

    def test_2_3_payer_name_then_the_one_invoice_equal_to_the_amount(self, books):
        # the October invoice, although September is older: its balance equals the amount
        run(transfer_file((1, "081201", 22000, "ﾌﾞﾗﾎﾞ-ｺｳｷﾞｮｳ(ｶ")))
        assert applications("SK-202610-0001") == [(Decimal(22000), Decimal(0), MatchRule.ONE_INVOICE)]
        assert applications("SK-202609-0001") == []

    def test_2_3_the_oldest_invoices_adding_up_exactly(self, books):
        run(transfer_file((1, "081201", 33000, "ｶﾌﾞｼｷｶﾞｲｼﾔ ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")))
        assert applications("SK-202609-0001") == [(Decimal(11000), Decimal(0), MatchRule.OLDEST_INVOICES)]
        assert applications("SK-202610-0001") == [(Decimal(22000), Decimal(0), MatchRule.OLDEST_INVOICES)]

    def test_2_3_within_the_bank_fee_tolerance(self, books):
        # 110,000 − 880 = 109,120: paid, 880 yen accepted as the payer's transfer fee
        result = run(transfer_file((1, "081201", 109120, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")))
        assert result.matched == 1
        assert applications("SK-202610-0002") == [(Decimal(109120), Decimal(880), MatchRule.FEE_TOLERANCE)]
        paid = invoice("SK-202610-0002")
        assert (paid.paid, paid.balance, paid.payment_status) == (Decimal(110000), Decimal(0), "paid")

    def test_4_one_yen_beyond_the_tolerance_stays_unmatched_with_its_customer_suggested(self, books):
        result = run(transfer_file((1, "081201", 109119, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")))
        assert (result.matched, result.partial, result.unmatched) == (0, 0, 1)
        deposit = Deposit.objects.get()
        assert (deposit.customer, deposit.candidate_customer) == (None, books["C2"])
        assert not Application.objects.exists()

    @pytest.mark.parametrize("settings_value", [1000])
    def test_the_tolerance_is_a_setting(self, books, settings, settings_value):
        settings.PAYMENT_FEE_TOLERANCE = settings_value
        run(transfer_file((1, "081201", 109000, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")))
        assert applications("SK-202610-0002") == [(Decimal(109000), Decimal(1000), MatchRule.FEE_TOLERANCE)]

    def test_4_an_unknown_payer_stays_unmatched(self, books):
        result = run(transfer_file((1, "081201", 55000, "ﾀﾞﾚｶ")))
        assert result.unmatched == 1
        assert Deposit.objects.get().customer is None

    def test_4_two_customers_with_one_payer_name_is_no_match(self, books):
        PayerName.objects.create(customer=books["C3"], payer_name="ﾁﾖﾀﾞ ｼﾖｳｼﾞ")
        result = run(transfer_file((1, "081201", 110000, "ﾁﾖﾀﾞｼﾖｳｼﾞ")))
        assert result.unmatched == 1

    def test_4_more_than_every_open_balance_pays_them_all_and_keeps_the_rest(self, books):
        run(transfer_file((1, "081201", 40000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")))
        assert applications("SK-202609-0001") == [(Decimal(11000), Decimal(0), MatchRule.ALL_OPEN)]
        assert applications("SK-202610-0001") == [(Decimal(22000), Decimal(0), MatchRule.ALL_OPEN)]
        assert Deposit.objects.get().customer == books["C1"]  # 7,000 yen of 前受金

    def test_deposits_of_one_file_see_what_the_earlier_ones_paid(self, books):
        # the first pays October; the second, 11,000, finds September the one equal invoice
        run(transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081201", 11000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")))
        assert applications("SK-202610-0001") == [(Decimal(22000), Decimal(0), MatchRule.ONE_INVOICE)]
        assert applications("SK-202609-0001") == [(Decimal(11000), Decimal(0), MatchRule.ONE_INVOICE)]

    def test_a_statement_file_is_matched_the_same_way(self, books):
        data = b"\r\n".join(
            [
                statement_header(),
                statement(1, "081201", 55000, "ｻﾝﾊﾞﾝ", "SK2026100003"),
                statement(2, "081201", 3000, "ｼﾞﾄﾞｳﾋｷｵﾄｼ", credit=False),
                statement_trailer(1, 55000, 1, 3000, 2),
                end(),
            ]
        )
        result = run(data)
        assert (result.new, result.matched) == (1, 1)

    def test_a_credit_note_reduces_what_the_amount_is_matched_against(self, books):
        credit_note_issue(
            invoice=Invoice.objects.get(number="SK-202610-0002"), amount=10000, reason="値引き", by=None,
            today=D(2026, 11, 20),
        )  # fmt: skip
        # credited 10,000 + tax 1,000 = 11,000; balance 110,000 − 11,000 = 99,000
        run(transfer_file((1, "081201", 99000, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")))
        paid = invoice("SK-202610-0002")
        assert (paid.total.amount, paid.paid, paid.credited, paid.balance) == (
            Decimal(110000), Decimal(99000), Decimal(11000), Decimal(0),
        )  # fmt: skip
        assert paid.payment_status == "paid"

    def test_a_credit_note_after_payment_makes_the_invoice_overpaid(self, books):
        run(transfer_file((1, "081201", 55000, "ｻﾝﾊﾞﾝ", "SK2026100003")))
        credit_note_issue(
            invoice=Invoice.objects.get(number="SK-202610-0003"), amount=1000, reason="値引き", by=None,
            today=D(2026, 12, 2),
        )  # fmt: skip
        over = invoice("SK-202610-0003")
        assert (over.balance, over.payment_status) == (Decimal(-1100), "overpaid")


class TestTheImport:
    def test_importing_the_same_file_again_changes_nothing(self, books):
        data = transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081201", 5, "ﾀﾞﾚｶ"))
        run(data)
        before = list(Application.objects.values_list("id", "amount", "rule"))
        again = run(data)
        assert (again.new, again.unchanged) == (0, 2)
        assert list(Application.objects.values_list("id", "amount", "rule")) == before
        assert Deposit.objects.count() == 2

    def test_a_dry_run_writes_nothing(self, books):
        result = run(transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")), dry_run=True)
        assert (result.new, result.matched) == (1, 1)
        assert not Deposit.objects.exists() and not Application.objects.exists()

    def test_a_file_with_a_problem_writes_nothing(self, books):
        data = transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081332", 5, "ﾀﾞﾚｶ"))
        with pytest.raises(ImportRejected) as rejected:
            run(data)
        assert [str(p) for p in rejected.value.problems] == [
            "line 3, column 勘定日: '081332' は令和・平成のどの日でもありません（和暦 YYMMDD）"
        ]
        assert not Deposit.objects.exists()

    def test_paying_leaves_the_invoice_as_it_was_issued(self, books):
        issued = Invoice.objects.get(number="SK-202610-0002")
        history = issued.history.count()
        run(transfer_file((1, "081201", 110000, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ")))
        after = Invoice.objects.get(number="SK-202610-0002")
        assert after.history.count() == history
        assert {f.attname: getattr(after, f.attname) for f in Invoice._meta.concrete_fields} == {
            f.attname: getattr(issued, f.attname) for f in Invoice._meta.concrete_fields
        }

    def test_the_number_of_queries_does_not_grow_with_the_file(self, books):
        def queries(count):
            transfers = [(n, "081201", 22000 + n, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ" if n % 2 else "ﾀﾞﾚｶ") for n in range(count)]
            with CaptureQueriesContext(connection) as ctx:
                run(transfer_file(*transfers, account=f"{count:07d}"))
            return len(ctx.captured_queries)

        assert queries(3) == queries(30)

    def test_the_csv_form(self, books):
        data = (
            "received_on,amount,payer_name,reference,deposit_id\r\n"
            "2026-12-01,22000,ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ,,B-1\r\n"
            "2026-12-02,55000,ｻﾝﾊﾞﾝ,SK-202610-0003,B-2\r\n"
        ).encode("cp932")
        result = run(data)
        assert (result.new, result.matched) == (2, 2)
        assert Deposit.objects.get(source_id="csv:B-2").received_on == D(2026, 12, 2)
        assert run(data).unchanged == 2

    def test_the_csv_form_refuses_by_line_and_column(self, books):
        data = b"received_on,amount,payer_name,deposit_id\n2026-12-01,0,X,B-1\n2026-13-01,5,X,B-2\n"
        with pytest.raises(ImportRejected) as rejected:
            run(data)
        assert [(p.line, p.column) for p in rejected.value.problems] == [(2, "amount"), (3, "received_on")]

    def test_the_command_prints_the_counts(self, books, tmp_path):
        path = tmp_path / "furikomi.txt"
        path.write_bytes(
            transfer_file(
                (1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"),
                (2, "081201", 20000, "ｻﾝﾊﾞﾝ", "SK2026100003"),
                (3, "081201", 777, "ﾀﾞﾚｶ"),
            )
        )
        out = io.StringIO()
        call_command("import_payments", str(path), stdout=out)
        assert (
            out.getvalue().strip()
            == "新しい入金 3 件（取込済み 0 件）: 消込済み 1 件、一部消込 1 件、未消込 1 件"
        )

    def test_the_command_refuses_a_corrupt_file_with_its_lines(self, books, tmp_path):
        path = tmp_path / "broken.txt"
        path.write_bytes(transfer_file((1, "081201", 22000, "ｱ"))[:-30])
        err = io.StringIO()
        with pytest.raises(CommandError, match="取り込んでいません"):
            call_command("import_payments", str(path), stderr=err)
        assert "line 4: " in err.getvalue()


class TestByHand:
    def unmatched(self, amount=30000):
        run(transfer_file((1, "081201", amount, "ﾀﾞﾚｶ")))
        return Deposit.objects.get()

    def test_an_accountant_applies_an_unmatched_deposit_to_two_invoices(self, books, django_user_model):
        accountant = django_user_model.objects.create_user("keiri")
        deposit = self.unmatched()
        sept, octo = (
            Invoice.objects.get(number="SK-202609-0001"),
            Invoice.objects.get(number="SK-202610-0001"),
        )
        deposit_apply(deposit=deposit, allocations=[(sept, 11000, 0), (octo, 19000, 0)], by=accountant)
        assert applications("SK-202609-0001") == [(Decimal(11000), Decimal(0), MatchRule.MANUAL)]
        assert invoice("SK-202610-0001").balance == Decimal(3000)
        deposit.refresh_from_db()
        assert deposit.customer == books["C1"]
        assert Application.objects.filter(applied_by=accountant).count() == 2

    def test_refused_beyond_the_deposit_and_beyond_the_balance(self, books):
        deposit = self.unmatched(30000)
        octo = Invoice.objects.get(number="SK-202610-0001")
        with pytest.raises(ValidationError, match="R17"):
            deposit_apply(deposit=deposit, allocations=[(octo, 22001, 0)], by=None)
        big = Invoice.objects.get(number="SK-202610-0002")
        with pytest.raises(ValidationError, match="R17"):
            deposit_apply(deposit=deposit, allocations=[(big, 30001, 0)], by=None)
        with pytest.raises(ValidationError, match="R17"):
            deposit_apply(
                deposit=deposit,
                allocations=[(octo, 1, 0), (Invoice.objects.get(number="SK-202610-0003"), 1, 0)],
                by=None,
            )
        assert not Application.objects.exists()

    def test_undo_keeps_the_application_reversed_and_the_balance_returns(self, books, django_user_model):
        accountant = django_user_model.objects.create_user("keiri")
        run(transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")))
        application = Application.objects.get()
        application_reverse(application=application, by=accountant, reason="別の請求書の入金")
        application.refresh_from_db()
        assert (application.reversed_by, application.reversal_reason) == (accountant, "別の請求書の入金")
        assert invoice("SK-202610-0001").balance == Decimal(22000)
        with pytest.raises(ValidationError):
            application_reverse(application=application, by=accountant, reason="二度目")
        with pytest.raises(ValidationError):
            application.delete()
        assert application.history.count() == 2  # applied, reversed

    def test_overdue_as_of_a_date(self, books):
        octo = Invoice.objects.with_balance(as_of=D(2026, 11, 30)).get(number="SK-202610-0001")
        assert not octo.is_overdue  # due 2026-11-30
        octo = Invoice.objects.with_balance(as_of=D(2026, 12, 1)).get(number="SK-202610-0001")
        assert octo.is_overdue

    def test_a_payment_counts_as_of_the_day_it_arrived(self, books):
        run(transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ")))
        before = Invoice.objects.with_balance(as_of=D(2026, 11, 30)).get(number="SK-202610-0001")
        assert (before.balance, before.payment_status) == (Decimal(22000), "unpaid")


class TestPayerNamesKind:
    def test_import_csv_payer_names(self, books, tmp_path):
        path = tmp_path / "payers.csv"
        path.write_bytes("customer_code,payer_name\r\nC3,ｻﾝﾊﾞﾝｼﾖｳﾃﾝ\r\nC1,ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ\r\n".encode("cp932"))
        out = io.StringIO()
        call_command("import_csv", "payer_names", str(path), stdout=out)
        # C1's name is registered already (the same after normalisation): unchanged
        assert out.getvalue().strip() == "payer_names: 2行: 新規 1件、更新 0件、変更なし 1件"
        assert PayerName.objects.get(customer=books["C3"]).normalized == "サンバンシヨウテン"
        result = run(transfer_file((1, "081201", 55000, "ｻﾝﾊﾞﾝ ｼﾖｳﾃﾝ")))
        assert result.matched == 1

    def test_an_unknown_customer_is_refused_by_line(self, books, tmp_path):
        path = tmp_path / "payers.csv"
        path.write_bytes(b"customer_code,payer_name\nNOPE,X\n")
        err = io.StringIO()
        with pytest.raises(CommandError):
            call_command("import_csv", "payer_names", str(path), stderr=err)
        assert err.getvalue().startswith("line 2, column customer_code: ")


def test_the_tolerance_setting_defaults_to_880_yen_and_is_read_from_the_environment():
    """README, Production: PAYMENT_FEE_TOLERANCE (880)."""
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    code = "import django; django.setup(); from django.conf import settings; print(settings.PAYMENT_FEE_TOLERANCE)"
    env = {k: v for k, v in os.environ.items() if k != "PAYMENT_FEE_TOLERANCE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                             cwd=django_settings.BASE_DIR)  # fmt: skip
    changed = subprocess.run([sys.executable, "-c", code], env={**env, "PAYMENT_FEE_TOLERANCE": "660"},
                             capture_output=True, text=True, check=True, cwd=django_settings.BASE_DIR)  # fmt: skip
    assert (default.stdout.strip(), changed.stdout.strip()) == ("880", "660")


def test_the_demo_bank_file_pays_the_books_and_leaves_work_for_a_person(books):
    from billing.devtools.demo_payments import demo_zengin_file

    data = demo_zengin_file(received_on=D(2026, 12, 1))
    assert all(len(line) == 200 for line in data.split(b"\r\n")[:-1])
    result = run(data)
    # four open invoices (SK-202609-0001, 202610-0001, -0002, -0003): all four paid by their
    # number in the EDI情報; the fifth transfer, from an unregistered payer, waits
    assert (result.new, result.matched, result.partial, result.unmatched) == (5, 4, 0, 1)
    assert Invoice.objects.open_items().count() == 0


def test_the_demo_bank_file_command(books, tmp_path):
    path = tmp_path / "furikomi.txt"
    out = io.StringIO()
    call_command("demo_bank_file", str(path), "--received-on", "2026-12-01", stdout=out)
    assert out.getvalue().strip() == f"{path}: 5 件の振込"
    call_command("import_payments", str(path), stdout=out)
    assert "新しい入金 5 件" in out.getvalue()
