"""R19: invoices and credit notes sent by email, tried against a real SMTP server the test
starts on 127.0.0.1 (aiosmtpd): the kept PDF attached byte for byte, Japanese subject and
body from the accountants' template, every attempt recorded, nothing sent twice unless
resent; a refused recipient and a server that is down fail that document only, clearly."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from billing import runs
from billing.models import DocumentSend, Invoice, MailTemplate, StoredDocument
from contracts.models import Customer

from .october import october
from .smtp import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(tmp_path):
    """October issued: C1 keiri@alpha.example.jp; C2 two addresses and a CC; C4 none."""
    october(tmp_path, issue=True)
    Customer.objects.filter(code="C2").update(
        email="seikyu@beta.example.jp, keiri@beta.example.jp", email_cc="eigyo@iij.example.jp"
    )


def send(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("send_invoices", "2026-10", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), str(error)
    return out.getvalue(), err.getvalue(), None


def test_each_document_goes_to_its_customer_with_the_kept_pdf(issued, smtp):
    out, err, error = send()
    assert "送信: 2、送信済みのため省略: 0、失敗: 1" in out
    assert "SK-202610-0003: 顧客にメールアドレスがありません" in err  # C4
    assert (
        error
        == "1件の書類を送信できませんでした。失敗はそれぞれ記録されています。原因を直してもう一度実行してください。"
    )
    assert len(smtp.messages) == 2
    (to1, first), (to2, second) = smtp.messages
    assert to1 == ["keiri@alpha.example.jp"]
    assert sorted(to2) == ["eigyo@iij.example.jp", "keiri@beta.example.jp", "seikyu@beta.example.jp"]
    assert second["To"] == "seikyu@beta.example.jp, keiri@beta.example.jp"
    assert second["Cc"] == "eigyo@iij.example.jp"
    # Python's email package folds a long encoded subject onto the next line ("Subject:\n =?utf-8?b?…")
    # and its parser keeps that folding space; mail clients drop it
    assert first["Subject"].lstrip() == "【請求書】2026年10月分 IIJ SmartKey ご利用料金（SK-202610-0001）"
    body = first.get_body(("plain",)).get_content()
    assert "株式会社アルファ 経理部 御中" in body and "ご請求金額（税込）: 120,859円" in body
    assert "お支払期限: 2026年11月30日" in body and "みずほ銀行 飯田橋支店 普通 1234567" in body
    (attachment,) = list(first.iter_attachments())
    assert attachment.get_filename() == "invoice-SK-202610-0001.pdf"
    kept = StoredDocument.objects.get(number="SK-202610-0001")
    assert attachment.get_content() == kept.read()
    record = DocumentSend.objects.get(document=kept)
    assert (record.result, record.to, record.message_id) == (
        "sent",
        "keiri@alpha.example.jp",
        first["Message-ID"],
    )
    failed = DocumentSend.objects.get(document__number="SK-202610-0003")
    assert (failed.result, failed.to) == ("failed", "")


def test_nothing_is_sent_twice_unless_resent(issued, smtp):
    send()
    out, _err, _error = send()
    assert "送信: 0、送信済みのため省略: 2、失敗: 1" in out
    assert len(smtp.messages) == 2
    out, _err, error = send("--resend", "SK-202610-0001")
    assert error is None and "送信: 1、送信済みのため省略: 0、失敗: 0" in out
    assert len(smtp.messages) == 3
    assert DocumentSend.objects.filter(document__number="SK-202610-0001", resend=True).count() == 1
    _out, _err, error = send("--resend", "SK-202610-0099")
    assert error == "SK-202610-0099は2026年10月の発行済み書類ではありません。"


def test_a_refused_recipient_fails_that_document_only(issued, smtp):
    Customer.objects.filter(code="C1").update(email="refused@alpha.example.jp")
    _out, err, error = send()
    assert (
        "SK-202610-0001: メールサーバーが宛先を受け付けませんでした: refused@alpha.example.jp (550 5.1.1 no such mailbox)"
        in err
    )
    assert error is not None
    assert [sorted(to) for to, _message in smtp.messages] == [
        ["eigyo@iij.example.jp", "keiri@beta.example.jp", "seikyu@beta.example.jp"]
    ]
    assert DocumentSend.objects.get(document__number="SK-202610-0002").result == "sent"


def test_the_server_down_is_one_clear_error_per_document_recorded(issued, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    _out, err, error = send()
    assert "SK-202610-0001: メールサーバーに接続できません: " in err
    assert "Traceback" not in err and error is not None
    assert set(DocumentSend.objects.values_list("result", flat=True)) == {"failed"}
    assert DocumentSend.objects.count() == 3


def test_dry_run_lists_and_sends_nothing(issued, smtp):
    out, _err, error = send("--dry-run")
    assert error is None
    assert (
        "SK-202610-0002 → 宛先: seikyu@beta.example.jp, keiri@beta.example.jp CC: eigyo@iij.example.jp" in out
    )
    assert "送信予定 3件、送信済みのため省略 0件。" in out
    assert smtp.messages == [] and not DocumentSend.objects.exists()


def test_the_accountants_template_and_credit_notes(issued, smtp):
    template = MailTemplate.objects.get(kind="invoice")
    template.subject = "{請求月}分のご請求 {書類番号}"
    template.full_clean()
    template.save()
    runs.credit_note_issue(
        invoice=Invoice.objects.get(number="SK-202610-0001"),
        amount=Decimal("12345"),
        reason="値引き",
        by=None,
        today=dt.date(2026, 12, 3),
    )
    send()
    subjects = [message["Subject"].lstrip() for _to, message in smtp.messages]
    # by document number: the credit note's CN- first
    assert subjects == [
        "【適格返還請求書】CN-202612-0001（SK-202610-0001）",
        "2026年10月分のご請求 SK-202610-0001",
        "2026年10月分のご請求 SK-202610-0002",
    ]
    bad = MailTemplate(kind="invoice", subject="{請求番号}", body="x")
    with pytest.raises(ValidationError, match=r"使えない差し込み項目: \{請求番号\}"):
        bad.clean()


def test_the_demo_says_where_its_mail_goes_and_the_file_backend_keeps_it(issued, settings, tmp_path):
    """The README's demo: mail is written under sent-mail/ unless EMAIL_URL names a server."""
    from config.settings import environment

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "sent-mail")
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    assert (
        f"デモから送信した請求書は {tmp_path / 'sent-mail'} にファイルとして書き出されます" in out.getvalue()
    )
    _out, _err, error = send()
    assert error is not None  # C4 has no address; the two others are written
    (written,) = (tmp_path / "sent-mail").iterdir()  # one file per connection, every message in it
    text = written.read_text()
    assert text.count("Content-Type: multipart/mixed") == 2
    assert "invoice-SK-202610-0001.pdf" in text and "invoice-SK-202610-0002.pdf" in text
    # the default EMAIL_URL of the demo, as base settings read it
    config = environment.email_url(default=f"filemail://{tmp_path}/x")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert config["EMAIL_FILE_PATH"] == f"{tmp_path}/x"
