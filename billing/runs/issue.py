"""Issuing a month and correcting an issued invoice (R12): gapless numbers from the
month's run row, due dates, the issuer's snapshot; void and replace."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from billing.bank import payee
from billing.models import BillingRun, Invoice, InvoiceStatus, RunStatus
from billing.models.invoices import ISSUE_FIELDS
from billing.qualified_invoice import issuer
from contracts import periods
from contracts.models import Customer

from . import persist
from .compute import account_days_reader, compute
from .drafts import BillingRefused, RunSummary


def due_date_for(customer: Customer, billing_month: dt.date, issue_date: dt.date) -> dt.date:
    """R18: the last day of the month after the billing month (月末締め翌月末払い), or after
    the issue date when that day has already passed; the issue date plus the customer's
    ``payment_terms_days`` when it has terms. A day on which banks are closed moves to the
    bank business day before it (the setting ``DUE_DATE_ROLL`` may say "next")."""
    if customer.payment_terms_days is not None:
        due = issue_date + dt.timedelta(days=customer.payment_terms_days)
    else:
        due = periods.month_end(periods.next_month(billing_month))
        if due < issue_date:
            due = periods.month_end(periods.next_month(issue_date))
    return periods.bank_business_day(due, roll=settings.DUE_DATE_ROLL)


def invoice_number(month: dt.date, sequence: int) -> str:
    """``SK-YYYYMM-NNNN``: the billing month and the number's place in its series."""
    return f"SK-{month.year:04d}{month.month:02d}-{sequence:04d}"


def _issue(invoices: list[Invoice], *, run: BillingRun, by, today: dt.date) -> None:
    """Give drafts the next numbers of the run's series, in the given order; the history
    of each invoice records the issue. The run's counter is written first: PostgreSQL
    issues an invoice only with a number the counter has already reached (billing 0007).
    The caller saves the run afterwards (its status, and the audit trail's record of it)."""
    # the issuer and the account to pay into, as they stand today (R12, R18)
    seller = {**issuer(), "payee": payee()}
    first = run.last_invoice_number + 1
    run.last_invoice_number += len(invoices)
    BillingRun.objects.filter(pk=run.pk).update(last_invoice_number=run.last_invoice_number)
    for sequence, invoice in enumerate(invoices, start=first):
        invoice.issue(
            number=invoice_number(run.month, sequence),
            on=today,
            due_date=due_date_for(invoice.customer, run.month, today),
            by=by,
            issuer=seller,
            save=False,
        )
    bulk_update_with_history(invoices, Invoice, [*ISSUE_FIELDS, *seller], batch_size=1000, default_user=by)


@transaction.atomic
def billing_month_issue(*, month: dt.date, by=None, today: dt.date | None = None) -> RunSummary:
    """Issue the month's drafts: gapless numbers in customer-code order, issue and due
    dates, issuer snapshot. Afterwards the month refuses every re-run."""
    month = periods.month_start(month)
    today = today or timezone.localdate()
    run = persist.locked_run(month, create=False)
    label = periods.format_month(month)
    if run.status == RunStatus.ISSUED:
        raise BillingRefused(_("%(month)s is already issued.") % {"month": label})
    if today <= periods.month_end(month):
        raise BillingRefused(
            _("%(month)s has not ended yet; it can be issued from %(date)s.")
            % {"month": label, "date": periods.next_month(month).isoformat()}
        )
    drafts = list(
        Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT)
        .select_related("customer")
        .order_by("customer_code")
    )
    if not drafts:
        raise BillingRefused(_("%(month)s has no draft invoices to issue.") % {"month": label})
    _issue(drafts, run=run, by=by, today=today)
    # issued after its invoices: PostgreSQL refuses new numbers in an issued month but
    # for replacements (billing 0007)
    run.status = RunStatus.ISSUED
    run.issued_at = timezone.now()
    run.issued_by = by
    run.save(update_fields=["status", "issued_at", "issued_by", "last_invoice_number"])
    return persist.summary(run)


@transaction.atomic
def invoice_void_and_replace(
    *, invoice: Invoice, by, reason: str, today: dt.date | None = None
) -> Invoice | None:
    """R12: void an issued invoice and issue its replacement, computed from the data as
    it stands now, with the next number of the month's series. Both stay visible.
    Returns the replacement, or None when nothing is billable any more."""
    today = today or timezone.localdate()
    run = persist.locked_run(invoice.billing_month, create=False)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.void(by=by, reason=reason)
    with account_days_reader(invoice.billing_month, [invoice.customer_id]) as read_account_days:
        drafts, exceptions = compute(
            invoice.billing_month, read_account_days, customer_ids=[invoice.customer_id]
        )
    # the customer's exceptions are recomputed with the replacement: they replace the old ones
    run.exceptions.filter(contract__customer_id=invoice.customer_id).delete()
    persist.save_exceptions(run, exceptions)
    if not drafts:
        return None
    # lines go in while the replacement is a draft (PostgreSQL refuses lines on an
    # issued invoice); then it is issued with the month's next number
    (replacement_id,) = persist.save_invoices(run, drafts, replaces=invoice, by=by)
    replacement = Invoice.objects.select_related("customer").get(pk=replacement_id)
    _issue([replacement], run=run, by=by, today=today)
    run.save(update_fields=["last_invoice_number"])
    return replacement
