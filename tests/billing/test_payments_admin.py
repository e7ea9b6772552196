"""R17 in the admin, for accountants: deposits unmatched first, the 入金消込 screen, undo,
bank files imported here, the invoice list's balance and status, the receivables file."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import Application, Deposit, Invoice
from billing.payments.service import payments_import
from tests.conftest import count_queries

from .payments_world import build_books, invoice
from .zengin_files import transfer_file

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def books(db):
    return build_books()


def imported(*transfers):
    payments_import(data=transfer_file(*transfers), today=D(2026, 12, 1))


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def test_deposits_unmatched_first_and_by_state(staff_client, books):
    imported((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"), (2, "081130", 777, "ﾀﾞﾚｶ"))
    url = reverse("admin:billing_deposit_changelist")
    page = staff_client.get(url).content.decode()
    assert page.index("ﾀﾞﾚｶ") < page.index("ﾌﾞﾗﾎﾞｰ")  # the unmatched one first, though older
    assert "2026年11月30日" in page
    unmatched = staff_client.get(url, {"state": "unmatched"}).content.decode()
    assert "ﾀﾞﾚｶ" in unmatched and "ﾌﾞﾗﾎﾞｰ" not in unmatched


def test_the_deposit_list_costs_the_same_queries_for_more_deposits(staff_client, books):
    url = reverse("admin:billing_deposit_changelist")
    imported(*((n, "081201", 100 + n, "ﾀﾞﾚｶ") for n in range(3)))
    few = count_queries(staff_client, url)
    payments_import(
        data=transfer_file(*((n, "081202", 100 + n, "ﾀﾞﾚｶ") for n in range(30))), today=D(2026, 12, 2)
    )
    assert count_queries(staff_client, url) == few


def test_apply_an_unmatched_deposit_to_a_customers_invoices(staff_client, books):
    imported((1, "081201", 30000, "ﾌﾞﾗﾎﾞｰ ｹｲﾘ"))
    deposit = Deposit.objects.get()
    url = reverse("admin:billing_deposit_apply", args=[deposit.pk])
    page = staff_client.get(url, {"customer": "C1"}).content.decode()
    assert "SK-202609-0001" in page and "SK-202610-0001" in page
    sept, octo = Invoice.objects.get(number="SK-202609-0001"), Invoice.objects.get(number="SK-202610-0001")
    response = staff_client.post(
        url,
        {"customer": "C1", f"amount_{sept.pk}": "11000", f"amount_{octo.pk}": "19000", f"fee_{octo.pk}": ""},
    )
    assert response.status_code == 302
    assert messages_of(response) == ["2件の消込を記録しました。入金の残りは 0円です。"]
    assert invoice("SK-202610-0001").balance == Decimal(3000)
    assert Deposit.objects.get().customer.code == "C1"


def test_the_screen_refuses_more_than_the_deposit_in_japanese(staff_client, books):
    imported((1, "081201", 30000, "ﾌﾞﾗﾎﾞｰ ｹｲﾘ"))
    deposit = Deposit.objects.get()
    big = Invoice.objects.get(number="SK-202610-0002")
    response = staff_client.post(
        reverse("admin:billing_deposit_apply", args=[deposit.pk]),
        {"customer": "C2", f"amount_{big.pk}": "30001"},
    )
    assert response.status_code == 200
    assert messages_of(response) == ["R17: 30,001円は入金の残り 30,000円を超えています。"]
    assert not Application.objects.exists()


def test_the_suggested_invoice_comes_first(staff_client, books):
    imported((1, "081201", 22000, "ﾌﾞﾗﾎﾞｰ ｹｲﾘ"))
    page = staff_client.get(
        reverse("admin:billing_deposit_apply", args=[Deposit.objects.get().pk]), {"customer": "C1"}
    ).content.decode()
    # October's balance equals the deposit: ranked before the older September
    assert page.index("SK-202610-0001") < page.index("SK-202609-0001")
    assert "候補" in page


def test_undo_an_application(staff_client, books):
    imported((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"))
    application = Application.objects.get()
    response = staff_client.post(
        reverse("admin:billing_deposit_reverse", args=[application.pk]), {"reason": "別の顧客の入金"}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.reversal_reason == "別の顧客の入金"
    assert invoice("SK-202610-0001").balance == Decimal(22000)


def test_import_a_bank_file_from_the_admin(staff_client, books):
    url = reverse("admin:billing_deposit_import")
    data = transfer_file((1, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"))
    response = staff_client.post(url, {"file": SimpleUploadedFile("f.txt", data), "format": "auto"})
    assert response.status_code == 302
    assert messages_of(response) == [
        "新しい入金 1 件（取込済み 0 件）: 消込済み 1 件、一部消込 0 件、未消込 0 件"
    ]


def test_a_corrupt_bank_file_in_the_admin_shows_its_lines(staff_client, books):
    data = transfer_file((1, "081201", 22000, "ｱ"))[:-30]
    response = staff_client.post(
        reverse("admin:billing_deposit_import"),
        {"file": SimpleUploadedFile("f.txt", data), "format": "zengin"},
    )
    assert response.status_code == 200
    assert "line 4: レコードが172バイトです。全銀協形式のレコードは200バイトです" in response.content.decode()
    assert not Deposit.objects.exists()


def test_the_invoice_list_shows_balance_and_status_with_filters(staff_client, books):
    imported((1, "081201", 20000, "ｻﾝﾊﾞﾝ", "SK2026100003"))
    url = reverse("admin:billing_invoice_changelist")
    page = staff_client.get(url, {"payment": "partial"}).content.decode()
    assert "SK-202610-0003" in page and "35,000" in page and "一部入金" in page
    assert "SK-202610-0001" not in page
    overdue = staff_client.get(url, {"overdue": "yes"}).content.decode()
    assert "SK-202609-0001" in overdue  # due 2026-10-30, unpaid


def test_the_invoice_list_costs_the_same_queries_with_payments(staff_client, books):
    url = reverse("admin:billing_invoice_changelist")
    few = count_queries(staff_client, url)
    imported((1, "081201", 20000, "ｻﾝﾊﾞﾝ", "SK2026100003"), (2, "081201", 22000, "ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ"))
    assert count_queries(staff_client, url) == few


def test_the_receivables_download(staff_client, books):
    response = staff_client.get(reverse("admin:billing_deposit_receivables"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.startswith("customer_code,billing_name,invoice_number,")
    assert "SK-202610-0002" in text


def test_a_deposit_entered_by_hand(staff_client, books):
    response = staff_client.post(
        reverse("admin:billing_deposit_add"),
        {
            "received_on": "2026-12-03",
            "amount_0": "22000",
            "amount_1": "JPY",
            "payer_name": "ﾌﾞﾗﾎﾞｰ ｹﾞﾝｷﾝ",
            "reference": "窓口入金",
            "customer": "",
        },
    )
    assert response.status_code == 302
    deposit = Deposit.objects.get()
    assert (deposit.source, deposit.received_on, deposit.amount.amount) == (
        "manual",
        D(2026, 12, 3),
        Decimal(22000),
    )
    assert deposit.source_id.startswith("manual:") and deposit.created_by == staff_client.user
