"""R19 in the admin: the issued documents found again by date range, amount range and
counterparty, each alone and combined (電子帳簿保存法's search requirements); each with
its hash and sending history; emailed from the list to a real SMTP server; the month's
zip, whose manifest matches its files; the mail templates accountants edit."""

import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing import runs
from billing.documents.store import store_month
from billing.models import DocumentSend, Invoice, MailTemplate, StoredDocument
from billing.roles import ACCOUNTING, VIEWER
from contracts.models import Customer

from .october import october

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:billing_storeddocument_changelist"


@pytest.fixture
def kept(tmp_path):
    """October issued and kept; then a credit note of 12,345 + tax on SK-202610-0001 on
    2026-12-03. The documents (hand-checked against tests/e2e's October):
    SK-202610-0001 2026-11-02 120,859 株式会社アルファ C1
    SK-202610-0002 2026-11-02 101,200 ベータ商事株式会社 C2
    SK-202610-0003 2026-11-02   1,100 デルタ株式会社 C4
    CN-202612-0001 2026-12-03  13,579 株式会社アルファ C1 (12,345 + 1,234)"""
    october(tmp_path, issue=True)
    store_month(dt.date(2026, 10, 1))  # as bill_month --issue and the admin's issue action do
    runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=Decimal("12345"),
        reason="値引き",
        by=None,
        today=dt.date(2026, 12, 3),
    )
    Customer.objects.filter(code="C2").update(email="seikyu@beta.example.jp")


def staff(client, role):
    user = get_user_model().objects.create_user(role.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def found(client, **query):
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return sorted(d.number for d in response.context["cl"].result_list)


ALL = ["CN-202612-0001", "SK-202610-0001", "SK-202610-0002", "SK-202610-0003"]
NOVEMBER = {"issue_date__gte": "2026-11-01", "issue_date__lte": "2026-11-30"}
HUNDRED_THOUSANDS = {"amount__gte": "100000", "amount__lte": "200000"}
ALPHA = {"q": "アルファ"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ALL),
        (NOVEMBER, ["SK-202610-0001", "SK-202610-0002", "SK-202610-0003"]),
        (HUNDRED_THOUSANDS, ["SK-202610-0001", "SK-202610-0002"]),
        (ALPHA, ["CN-202612-0001", "SK-202610-0001"]),
        ({**NOVEMBER, **HUNDRED_THOUSANDS}, ["SK-202610-0001", "SK-202610-0002"]),
        ({**NOVEMBER, **ALPHA}, ["SK-202610-0001"]),
        ({**HUNDRED_THOUSANDS, **ALPHA}, ["SK-202610-0001"]),
        ({"issue_date__gte": "2026/12/01", "amount__lte": "20000", **ALPHA}, ["CN-202612-0001"]),
        ({"amount__gte": "1100", "amount__lte": "1100"}, ["SK-202610-0003"]),  # both ends included
        ({"q": "C2"}, ["SK-202610-0002"]),  # by customer code
        ({"q": "SK-202610-0003"}, ["SK-202610-0003"]),  # by number
        ({"issue_date__lte": "2026-11-01"}, []),
    ],
)
def test_search_by_date_amount_and_counterparty_alone_and_combined(client, kept, query, expected):
    staff(client, ACCOUNTING)
    assert found(client, **query) == expected


def test_an_unreadable_bound_is_said_and_not_applied(client, kept):
    staff(client, VIEWER)
    response = client.get(reverse(CHANGELIST), {"issue_date__gte": "2026-13-01", **ALPHA})
    assert response.status_code == 200
    assert "日付を正しく入力してください。" in response.content.decode()
    assert sorted(d.number for d in response.context["cl"].result_list) == [
        "CN-202612-0001",
        "SK-202610-0001",
    ]


def test_the_list_costs_the_same_queries_for_one_document_as_for_all(client, kept):
    staff(client, ACCOUNTING)
    url = reverse(CHANGELIST)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url, {"q": "SK-202610-0003"}).status_code == 200
    with CaptureQueriesContext(connection) as every:
        assert client.get(url).status_code == 200
    assert len(one) == len(every)


def test_each_document_shows_its_hash_and_its_sends_and_hands_out_the_kept_bytes(client, kept, smtp):
    with pytest.raises(CommandError):  # C4 has no address: that one fails, the others go
        call_command("send_invoices", "2026-10", stdout=io.StringIO(), stderr=io.StringIO())
    staff(client, VIEWER)
    document = StoredDocument.objects.get(number="SK-202610-0002")
    page = client.get(reverse("admin:billing_storeddocument_change", args=[document.pk])).content.decode()
    assert document.sha256 in page and "seikyu@beta.example.jp" in page and "送信済み" in page
    response = client.get(reverse("admin:billing_storeddocument_pdf", args=[document.pk]))
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert hashlib.sha256(data).hexdigest() == document.sha256
    listing = client.get(reverse(CHANGELIST), {"q": "SK-202610-0003"}).content.decode()
    assert "失敗（2026年" in listing  # the last attempt's result and its day


def post_action(client, action, numbers):
    pks = StoredDocument.objects.filter(number__in=numbers).values_list("pk", flat=True)
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [str(pk) for pk in pks]}, follow=True
    )


def test_accounting_sends_from_the_list_once_then_resends_on_purpose(client, kept, smtp):
    user = staff(client, ACCOUNTING)
    response = post_action(client, "send_selected", ["SK-202610-0001", "SK-202610-0002", "SK-202610-0003"])
    messages = [str(m) for m in response.context["messages"]]
    assert "送信: 2、送信済みのため省略: 0、失敗: 1" in messages
    assert any(m.startswith("SK-202610-0003: 顧客にメールアドレスがありません") for m in messages)
    assert sorted(to[0] for to, _m in smtp.messages) == ["keiri@alpha.example.jp", "seikyu@beta.example.jp"]
    assert set(DocumentSend.objects.filter(result="sent").values_list("sent_by", flat=True)) == {user.pk}
    response = post_action(client, "send_selected", ["SK-202610-0001"])
    assert "送信: 0、送信済みのため省略: 1、失敗: 0" in [str(m) for m in response.context["messages"]]
    assert len(smtp.messages) == 2
    post_action(client, "resend_selected", ["SK-202610-0001"])
    assert len(smtp.messages) == 3
    assert (
        DocumentSend.objects.filter(document__number="SK-202610-0001", resend=True, result="sent").count()
        == 1
    )


def test_a_viewer_cannot_send(client, kept, smtp):
    staff(client, VIEWER)
    post_action(client, "send_selected", ["SK-202610-0001"])
    post_action(client, "resend_selected", ["SK-202610-0001"])
    assert smtp.messages == [] and not DocumentSend.objects.exists()


def read_zip(data: bytes):
    import csv

    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return archive, manifest


def test_the_months_zip_holds_the_kept_bytes_and_a_manifest_that_matches_them(kept, tmp_path):
    # a voided invoice was issued too: its copy is in the zip, beside its replacement
    runs.invoice_void_and_replace(
        invoice=Invoice.objects.get(number="SK-202610-0003"),
        by=None,
        reason="宛名",
        today=dt.date(2026, 11, 9),
    )
    target = tmp_path / "2026-10.zip"
    out = io.StringIO()
    call_command("export_documents", "2026-10", "--output", str(target), stdout=out)
    assert "5件の書類" in out.getvalue()
    archive, manifest = read_zip(target.read_bytes())
    assert [
        (r["number"], r["status"], r["customer_code"], r["issue_date"], r["amount"]) for r in manifest
    ] == [
        ("CN-202612-0001", "credit_note", "C1", "2026-12-03", "13579"),
        ("SK-202610-0001", "issued", "C1", "2026-11-02", "120859"),
        ("SK-202610-0002", "issued", "C2", "2026-11-02", "101200"),
        ("SK-202610-0003", "void", "C4", "2026-11-02", "1100"),
        ("SK-202610-0004", "issued", "C4", "2026-11-09", "1100"),
    ]
    assert sorted(archive.namelist()) == sorted(["manifest.csv", *(r["file"] for r in manifest)])
    for row in manifest:
        data = archive.read(row["file"])
        assert data.startswith(b"%PDF")
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert StoredDocument.objects.get(number=row["number"]).sha256 == row["sha256"]


def test_the_zip_from_the_list_for_accounting_only(client, kept):
    staff(client, ACCOUNTING)
    response = post_action(client, "download_zip", ["SK-202610-0002", "CN-202612-0001"])
    _archive, manifest = read_zip(response.content)
    assert [r["number"] for r in manifest] == ["CN-202612-0001", "SK-202610-0002"]
    client.logout()
    staff(client, VIEWER)
    response = post_action(client, "download_zip", ["SK-202610-0002"])
    assert response.get("Content-Type", "").startswith("text/html")  # no such action for a Viewer


def test_accountants_edit_the_mail_template_and_unknown_placeholders_are_refused(client, kept, smtp):
    staff(client, ACCOUNTING)
    template = MailTemplate.objects.get(kind="invoice")
    url = reverse("admin:billing_mailtemplate_change", args=[template.pk])
    response = client.post(url, {"subject": "{請求番号} のご案内", "body": "本文"})
    assert response.status_code == 200 and "使えない差し込み項目: {請求番号}" in response.content.decode()
    response = client.post(url, {"subject": "{書類番号} のご案内", "body": "{宛名} 様\n{金額}円"})
    assert response.status_code == 302
    with pytest.raises(CommandError):
        call_command("send_invoices", "2026-10", stdout=io.StringIO(), stderr=io.StringIO())
    subjects = sorted(m["Subject"].strip() for _to, m in smtp.messages)
    assert "SK-202610-0002 のご案内" in subjects


def test_sending_from_the_list_reads_the_pdfs_with_their_rows(client, kept, smtp):
    """No query per document: sending three costs what sending one does."""
    staff(client, ACCOUNTING)

    def queries(numbers):
        # resent: every one goes out, whatever was sent before (a send record is never deleted)
        with CaptureQueriesContext(connection) as captured:
            post_action(client, "resend_selected", numbers)
        return len(captured)

    one = queries(["SK-202610-0001"])
    three = queries(["SK-202610-0001", "SK-202610-0002", "CN-202612-0001"])
    assert three == one
