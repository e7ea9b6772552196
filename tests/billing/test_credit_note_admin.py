"""Credit notes from the admin (R16): issued from an issued invoice's page by the
accountant who asks, refused beyond what the invoice leaves, listed on the invoice with
their documents; never changed."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import runs
from billing.models import CreditNote, Invoice
from tests.html_forms import form_data

from .october import october, staff_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(tmp_path):
    october(tmp_path, issue=True)
    return Invoice.objects.get(number="SK-202610-0001")  # 109,872 + 10,987 = 120,859


def accountant(client):
    return staff_with(
        client, "keiri", "billing.view_invoice", "billing.view_creditnote", "billing.issue_creditnote"
    )


def test_an_accountant_issues_a_credit_note_from_the_invoice_page(issued, client):
    accountant(client)
    invoice_page = client.get(reverse("admin:billing_invoice_change", args=[issued.pk])).content.decode()
    url = reverse("admin:billing_creditnote_issue", args=[issued.pk])
    assert url in invoice_page and "適格返還請求書を発行" in invoice_page
    form = client.get(url).content.decode()
    assert "109,872円" in form  # what the invoice leaves to credit, tax excluded
    data = form_data(form)
    data.update(amount="12345", reason="単価の誤り")
    response = client.post(url, data)
    note = CreditNote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:billing_creditnote_change", args=[note.pk]
    )
    assert (note.number, note.total.amount, note.issued_by.username) == (
        f"CN-{timezone.localdate():%Y%m}-0001",
        13579,
        "keiri",
    )
    invoice_page = client.get(reverse("admin:billing_invoice_change", args=[issued.pk])).content.decode()
    assert note.number in invoice_page
    assert reverse("admin:billing_creditnote_document", args=[note.pk]) in invoice_page
    assert reverse("admin:billing_creditnote_pdf", args=[note.pk]) in invoice_page


def test_beyond_what_the_invoice_leaves_is_refused_with_the_rule(issued, client):
    accountant(client)
    runs.credit_note_issue(
        invoice=issued, amount=100000, reason="値引き", by=None, today=dt.date(2026, 12, 3)
    )
    url = reverse("admin:billing_creditnote_issue", args=[issued.pk])
    data = form_data(client.get(url).content.decode())
    data.update(amount="9873", reason="追加の値引き")
    html = client.post(url, data).content.decode()
    assert "R16: 請求書 SK-202610-0001 で返還できるのは残り 9,872円" in html
    assert CreditNote.objects.count() == 1


def test_a_voided_invoice_is_not_credited(issued, client):
    accountant(client)
    runs.invoice_void_and_replace(invoice=issued, by=None, reason="宛名", today=dt.date(2026, 11, 9))
    response = client.post(
        reverse("admin:billing_creditnote_issue", args=[issued.pk]), {"amount": "1", "reason": "x"}
    )
    assert response.status_code == 302
    assert not CreditNote.objects.exists()


def test_staff_without_the_permission_cannot_issue(issued, client):
    staff_with(client, "viewer", "billing.view_invoice", "billing.view_creditnote")
    url = reverse("admin:billing_creditnote_issue", args=[issued.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"amount": "1", "reason": "x"}).status_code == 403
    assert (
        "適格返還請求書を発行"
        not in client.get(reverse("admin:billing_invoice_change", args=[issued.pk])).content.decode()
    )
