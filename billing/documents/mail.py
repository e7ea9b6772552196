"""R19: documents sent to customers by email, with Django's email framework (``EMAIL_URL``).

Each issued invoice and credit note goes to the customer's addresses (``Customer.email``,
several allowed, and ``email_cc``), with the subject and body of its kind's
``MailTemplate`` and the kept PDF attached (the bytes stored at issue, never a new
rendering). Every attempt is recorded (``DocumentSend``: when, to whom, the message id,
the result, the error), so a document is never sent twice unless it is resent on purpose.
A refused recipient or a server that is down fails that document, recorded, and the
others go on; nothing stops at a traceback."""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.formatting import DOCUMENT_LANGUAGE, japanese_date, yen_text
from billing.models import DocumentSend, InvoiceStatus, MailTemplate, StoredDocument
from contracts import periods

from .content import credit_note_filename, document_filename
from .store import store_month

#: what a mail server's refusal or a network failure raises
SEND_ERRORS = (smtplib.SMTPException, OSError)


@dataclass
class Planned:
    document: StoredDocument
    to: list[str]
    cc: list[str]
    problem: str = ""


@dataclass
class SendSummary:
    sent: list[Planned] = field(default_factory=list)
    skipped: list[StoredDocument] = field(default_factory=list)
    failed: list[tuple[Planned, str]] = field(default_factory=list)


def month_documents(month: dt.date):
    """The kept documents of billing month ``month``: its live issued invoices and the credit
    notes against its invoices, by number."""
    month = periods.month_start(month)
    return (
        StoredDocument.objects.filter(
            Q(invoice__billing_month=month, invoice__status=InvoiceStatus.ISSUED)
            | Q(credit_note__invoice__billing_month=month)
        )
        .select_related("customer", "invoice", "credit_note__invoice")
        .order_by("number")
    )


def _already_sent():
    return Exists(DocumentSend.objects.filter(document=OuterRef("pk"), result=DocumentSend.Result.SENT))


class NotADocument(ValueError):
    """``--resend`` names no kept document of the month."""


def plan(
    documents, *, resend: str | None = None, again: bool = False
) -> tuple[list[Planned], list[StoredDocument]]:
    """(what to send, what was sent before and is skipped): one query. ``resend``: that
    document only, sent again; ``again``: every one of ``documents``, sent before or not."""
    if resend is not None:
        documents = documents.filter(number=resend)
        again = True
    to_send, skipped = [], []
    for document in documents.annotate(sent_before=_already_sent()):
        if document.sent_before and not again:
            skipped.append(document)
            continue
        to, cc = document.customer.mail_recipients()
        problem = "" if to else _("the customer has no email address; enter one on the customer's page")
        to_send.append(Planned(document, to, cc, problem))
    return to_send, skipped


def _values(document: StoredDocument) -> dict[str, str]:
    issuer = (document.invoice or document.credit_note).issuer_name
    values = {
        "書類番号": document.number,
        "金額": yen_text(document.amount.amount),
        "発行者": issuer,
        "宛名": (document.invoice or document.credit_note).billing_name,
    }
    if document.invoice is not None:
        invoice = document.invoice
        account = invoice.payee or {}
        values.update(
            請求月=f"{invoice.billing_month.year}年{invoice.billing_month.month}月",
            支払期限=japanese_date(invoice.due_date),
            振込先=" ".join(
                account.get(k, "") for k in ("bank", "branch", "type", "number", "holder")
            ).strip(),
        )
    else:
        original = document.credit_note.invoice
        values.update(
            元請求書番号=original.number,
            請求月=f"{original.billing_month.year}年{original.billing_month.month}月",
        )
    return values


def _message(planned: Planned, templates: dict[str, MailTemplate], connection) -> EmailMessage:
    document = planned.document
    subject, body = templates[document.kind].render(_values(document))
    if document.invoice is not None:
        name = document_filename(document.invoice, "pdf")
    else:
        name = credit_note_filename(document.credit_note, "pdf")
    return EmailMessage(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        planned.to,
        cc=planned.cc,
        attachments=[(name, document.read(), "application/pdf")],
        connection=connection,
        headers={"Message-ID": make_msgid(domain=settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> "))},
    )


def send(planned: list[Planned], *, by=None, resend: bool = False) -> SendSummary:
    """Send each planned document on one connection; record every attempt (one INSERT for
    all). A failure is that document's; the rest go on."""
    summary = SendSummary()
    templates = {template.kind: template for template in MailTemplate.objects.all()}
    records = []
    connection = get_connection(fail_silently=False)
    opened = ""
    try:
        connection.open()
    except SEND_ERRORS as error:
        opened = _("the mail server could not be reached: %(error)s") % {"error": error}
    with translation.override(DOCUMENT_LANGUAGE):
        for item in planned:
            problem = item.problem or opened
            message_id = ""
            if not problem:
                try:
                    message = _message(item, templates, connection)
                    message_id = message.extra_headers["Message-ID"]
                    message.send()
                except SEND_ERRORS as error:
                    problem = _describe(error)
            records.append(
                DocumentSend(
                    document=item.document,
                    to=", ".join(item.to),
                    cc=", ".join(item.cc),
                    sent_at=timezone.now(),
                    message_id=message_id,
                    result=DocumentSend.Result.FAILED if problem else DocumentSend.Result.SENT,
                    error=problem,
                    resend=resend,
                    sent_by=by,
                )
            )
            if problem:
                summary.failed.append((item, problem))
            else:
                summary.sent.append(item)
    try:
        connection.close()
    except SEND_ERRORS:
        pass
    DocumentSend.objects.bulk_create(records)
    return summary


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({code} {text.decode(errors='replace')})"
            for address, (code, text) in error.recipients.items()
        )
        return _("the mail server refused the recipients: %(refused)s") % {"refused": refused}
    return _("the mail could not be sent: %(error)s") % {"error": error}


def send_month(month: dt.date, *, by=None, resend: str | None = None, dry_run: bool = False):
    """Send the month's documents not sent before (``resend``: that number again too).
    Returns (summary or None when dry_run, planned, skipped)."""
    store_month(periods.month_start(month))  # any document not kept yet is kept first
    planned, skipped = plan(month_documents(month), resend=resend)
    if resend is not None and not planned:
        raise NotADocument(
            _("%(number)s is not an issued document of %(month)s.")
            % {"number": resend, "month": periods.japanese_month(periods.month_start(month))}
        )
    if dry_run:
        return None, planned, skipped
    summary = send(planned, by=by, resend=resend is not None)
    summary.skipped = skipped
    return summary, planned, skipped
