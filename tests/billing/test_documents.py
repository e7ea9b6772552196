"""The invoice document (適格請求書, R12): every qualified-invoice item on the page and
in the PDF, drafts and void invoices marked, staff only. Amounts are those worked out
by hand in tests/e2e (customer C1, October 2026)."""

import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from billing import runs
from billing.models import Invoice
from tests.conftest import count_queries

from .october import october, staff_with

pytestmark = pytest.mark.django_db


def page(client, invoice) -> str:
    response = client.get(reverse("admin:billing_invoice_document", args=[invoice.pk]))
    assert response.status_code == 200
    return response.content.decode()


def pdf_text(client, invoice) -> str:
    response = client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    return re.sub(r"\s+", "", text)  # table cells wrap: compare without white space


QUALIFIED_ITEMS = [
    "適格請求書",
    # issuer and registration number (snapshot taken at issue)
    "株式会社インターネットイニシアティブ",
    "登録番号",
    "T2010001034531",
    # recipient (宛名), invoice number, dates
    "株式会社アルファ 経理部 御中",
    "SK-202610-0001",
    "2026年11月2日",  # issue date
    "2026年10月1日〜2026年10月31日",  # transaction period
    "2026年11月30日",  # due: end of the month following the billing month (R18)
    # lines: description, quantity, unit price, amount
    "月額基本料 2026年10月分（日割 21/31日）",
    "20,322",
    "1.192",
    "357",
    "150,000",
    "65,000",
    # amount per tax rate, the rate, tax per rate, total
    "10%対象",
    "¥109,872",
    "消費税（10%）",
    "¥10,987",
    "¥120,859",
]


def test_issued_invoice_page_carries_every_qualified_invoice_item(tmp_path, staff_client):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    html = page(staff_client, invoice)
    for text in QUALIFIED_ITEMS:
        assert text in html, text
    assert "下書き" not in html and "取消" not in html
    assert "@media print" in html  # print CSS: the toolbar is hidden on paper
    assert 'lang="ja"' in html


def test_pdf_has_the_same_content(tmp_path, staff_client):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    text = pdf_text(staff_client, invoice)
    for item in QUALIFIED_ITEMS:
        assert re.sub(r"\s+", "", item) in text, item
    response = staff_client.get(reverse("admin:billing_invoice_pdf", args=[invoice.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="invoice-SK-202610-0001.pdf"'


def test_draft_is_marked_and_shows_the_issuer_of_the_settings(tmp_path, staff_client):
    october(tmp_path)
    invoice = Invoice.objects.get(customer_code="C1")
    html = page(staff_client, invoice)
    assert "適格請求書（下書き）" in html
    assert "（未発行）" in html  # no number, issue date or due date yet
    assert "T2010001034531" in html
    assert "¥120,859" in html
    text = pdf_text(staff_client, invoice)
    assert "下書き" in text and "（未発行）" in text


def test_void_invoice_is_marked_and_points_to_its_replacement(tmp_path, staff_client):
    october(tmp_path, issue=True)
    old = Invoice.objects.get(number="SK-202610-0001")
    issued_pdf = staff_client.get(reverse("admin:billing_invoice_pdf", args=[old.pk])).content
    new = runs.invoice_void_and_replace(
        invoice=old, by=staff_client.user, reason="宛名の誤り", today=dt.date(2026, 11, 10)
    )
    assert new.number == "SK-202610-0004"
    html = page(staff_client, Invoice.objects.get(pk=old.pk))
    assert "適格請求書（取消）" in html
    assert "宛名の誤り" in html
    assert "訂正後の請求書は SK-202610-0004 です。" in html
    # the PDF is the copy the customer received, byte for byte (R19); the page says it is void
    assert staff_client.get(reverse("admin:billing_invoice_pdf", args=[old.pk])).content == issued_pdf

    html = page(staff_client, new)
    assert "取消" not in html.replace("取り消された", "")
    assert "取り消された請求書 SK-202610-0001 を訂正し" in html
    assert "2026年11月10日" in html  # the replacement's own issue date


def test_change_page_links_the_document_and_keeps_the_void_button(tmp_path, staff_client):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    html = staff_client.get(reverse("admin:billing_invoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:billing_invoice_document", args=[invoice.pk]) in html
    assert reverse("admin:billing_invoice_pdf", args=[invoice.pk]) in html
    assert reverse("admin:billing_invoice_void", args=[invoice.pk]) in html
    assert "請求書を表示（印刷）" in html


def test_staff_only_and_view_permission_needed(tmp_path, client):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    document = reverse("admin:billing_invoice_document", args=[invoice.pk])
    pdf = reverse("admin:billing_invoice_pdf", args=[invoice.pk])

    response = client.get(document)  # anonymous: to the login page
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

    staff_with(client, "sales", "billing.view_ratecard")
    assert client.get(document).status_code == 403
    assert client.get(pdf).status_code == 403

    staff_with(client, "accountant", "billing.view_invoice")
    assert client.get(document).status_code == 200
    assert client.get(pdf).status_code == 200


def test_document_costs_the_same_queries_whatever_the_number_of_lines(tmp_path, staff_client):
    october(tmp_path, issue=True)
    five_lines = Invoice.objects.get(customer_code="C1")
    two_lines = Invoice.objects.get(customer_code="C4")
    assert five_lines.lines.count() == 5 and two_lines.lines.count() == 2
    url = "admin:billing_invoice_document"
    assert count_queries(staff_client, reverse(url, args=[five_lines.pk])) == count_queries(
        staff_client, reverse(url, args=[two_lines.pk])
    )


# --- 振込先 (R18) and credit notes (R16) ------------------------------------------------

PAY_INTO = ["お振込先", "みずほ銀行 飯田橋支店", "普通 1234567", "ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ"]


def test_the_invoice_shows_the_account_to_pay_into_as_it_stood_at_issue(tmp_path, staff_client, settings):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.get(number="SK-202610-0001")
    settings.PAYEE_BRANCH = "本店"  # changed after issue: the invoice keeps what it said
    html, text = page(staff_client, invoice), pdf_text(staff_client, invoice)
    for item in PAY_INTO:
        assert item in html, item
        assert re.sub(r"\s+", "", item) in text, item
    assert "本店" not in html


def credit_note_page(client, note) -> str:
    response = client.get(reverse("admin:billing_creditnote_document", args=[note.pk]))
    assert response.status_code == 200
    return response.content.decode()


#: what the qualified invoice system requires of a return invoice (消費税法第57条の4第3項)
RETURN_INVOICE_ITEMS = [
    "適格返還請求書",
    "株式会社インターネットイニシアティブ",  # issuer and registration number
    "T2010001034531",
    "株式会社アルファ 経理部 御中",  # recipient
    "CN-202612-0001",
    "2026年12月3日",  # its own date
    "SK-202610-0001（2026年11月2日）",  # the original invoice and its date
    "2026年10月1日〜2026年10月31日",  # the original transaction's period
    "単価の誤り",  # what is returned, and why
    "10%対象",  # the amount returned per rate, the rate, the tax of the return
    "¥12,345",
    "消費税（10%）",
    "¥1,234",
    "¥13,579",
]


def test_a_credit_note_document_carries_every_item_of_a_return_invoice(tmp_path, staff_client):
    october(tmp_path, issue=True)
    note = runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=12345,
        reason="単価の誤り",
        by=staff_client.user,
        today=dt.date(2026, 12, 3),
    )
    html = credit_note_page(staff_client, note)
    for item in RETURN_INVOICE_ITEMS:
        assert item in html, item
    assert "お振込先" not in html  # nothing to pay
    response = staff_client.get(reverse("admin:billing_creditnote_pdf", args=[note.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="credit-note-CN-202612-0001.pdf"'
    text = re.sub(
        r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    )
    for item in RETURN_INVOICE_ITEMS:
        assert re.sub(r"\s+", "", item) in text, item
