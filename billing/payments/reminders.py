"""Reminders (督促, R17): one email per customer with overdue invoices, listing each with
its due date, balance and days overdue, as of a day. Every send is recorded (``Reminder``);
a customer already reminded of the same invoices with the same balances is not reminded
again. Sent with Django's email framework (``EMAIL_URL``), as the invoices are (R19)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.translation import gettext as _

from billing.documents.mail import SEND_ERRORS
from billing.formatting import DOCUMENT_LANGUAGE, japanese_date, yen_text
from billing.models import Invoice, InvoiceStatus, Reminder
from billing.models.payments import days_overdue


@dataclass
class Planned:
    customer: object
    as_of: dt.date
    invoices: list[dict]
    state: str
    subject: str = ""
    body: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)


@dataclass
class ReminderSummary:
    sent: list[Planned] = field(default_factory=list)
    skipped: list[Planned] = field(default_factory=list)
    failed: list[tuple[Planned, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return _(
            "%(sent)d reminders sent, %(skipped)d skipped (reminded of the same already), %(failed)d failed"
        ) % {
            "sent": len(self.sent),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
        }


def overdue_customers(as_of: dt.date, customer_ids=None) -> list[Planned]:
    """Each customer (of ``customer_ids`` if given) with issued invoices overdue as of
    ``as_of``: one query."""
    planned: dict[int, Planned] = {}
    invoices = Invoice.objects.filter(status=InvoiceStatus.ISSUED, issue_date__lte=as_of)
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=list(customer_ids))
    rows = (
        invoices.with_balance(as_of)
        .filter(is_overdue=True)
        .select_related("customer")
        .order_by("customer_code", "due_date", "number")
    )
    for invoice in rows:
        item = planned.setdefault(invoice.customer_id, Planned(invoice.customer, as_of, [], ""))
        item.invoices.append(
            {
                "number": invoice.number,
                "billing_name": invoice.billing_name,
                "due_date": invoice.due_date.isoformat(),
                "balance": int(invoice.balance),
                "days_overdue": days_overdue(invoice.due_date, as_of),
            }
        )
    for item in planned.values():
        fingerprint = ";".join(f"{i['number']}:{i['balance']}" for i in item.invoices)
        item.state = hashlib.sha256(fingerprint.encode()).hexdigest()
    return list(planned.values())


def _document(item: Planned) -> tuple[str, str]:
    """The reminder's subject and body (Japanese, the documents' language)."""
    with translation.override(DOCUMENT_LANGUAGE):
        lines = [
            item.invoices[0]["billing_name"],
            "",
            _(
                "As of %(date)s we have not received payment of the invoices below, whose due dates "
                "have passed. Please pay the balances into the account shown on each invoice."
            )
            % {"date": japanese_date(item.as_of)},
            "",
        ]
        for i in item.invoices:
            lines.append(
                _("%(number)s  due %(due)s  balance %(balance)s yen  %(days)d days overdue")
                % {
                    "number": i["number"],
                    "due": japanese_date(dt.date.fromisoformat(i["due_date"])),
                    "balance": yen_text(i["balance"]),
                    "days": i["days_overdue"],
                }
            )
        total = sum(i["balance"] for i in item.invoices)
        lines += [
            "",
            _("Total overdue: %(total)s yen") % {"total": yen_text(total)},
            "",
            settings.ISSUER_NAME,
        ]
        subject = _("Payment reminder (as of %(date)s)") % {"date": japanese_date(item.as_of)}
    return subject, "\n".join(lines)


def reminders_send(*, as_of: dt.date, dry_run: bool = False, customer_ids=None) -> ReminderSummary:
    """R17: remind every customer (of ``customer_ids`` if given) with overdue invoices as of
    ``as_of`` whose state was not reminded of before; each attempt recorded (a dry run sends
    and records nothing)."""
    summary = ReminderSummary()
    planned = overdue_customers(as_of, customer_ids)
    done = set(
        Reminder.objects.filter(
            result=Reminder.Result.SENT, state__in=[p.state for p in planned]
        ).values_list("customer_id", "state")
    )
    to_send = []
    for item in planned:
        if (item.customer.pk, item.state) in done:
            summary.skipped.append(item)
            continue
        item.subject, item.body = _document(item)
        item.to, item.cc = item.customer.mail_recipients()
        to_send.append(item)
    if dry_run:
        summary.sent = to_send
        return summary
    records = []
    with get_connection() as connection:
        for item in to_send:
            error = ""
            if not item.to:
                error = _("the customer has no email address; enter one on the customer's page")
            else:
                message = EmailMessage(
                    item.subject,
                    item.body,
                    settings.DEFAULT_FROM_EMAIL,
                    item.to,
                    cc=item.cc,
                    connection=connection,
                    headers={"Message-ID": make_msgid(domain="smartkey")},
                )
                try:
                    message.send()
                except SEND_ERRORS as failure:
                    error = " ".join(str(failure).split()) or failure.__class__.__name__
            if error:
                summary.failed.append((item, error))
            else:
                summary.sent.append(item)
            records.append(
                Reminder(
                    customer=item.customer,
                    as_of=item.as_of,
                    state=item.state,
                    invoices=item.invoices,
                    total=sum(i["balance"] for i in item.invoices),
                    subject=item.subject,
                    body=item.body,
                    to=", ".join(item.to + item.cc),
                    result=Reminder.Result.FAILED if error else Reminder.Result.SENT,
                    error=error,
                )
            )
    Reminder.objects.bulk_create(records)
    return summary
