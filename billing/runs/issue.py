"""Issuing a month and correcting an issued invoice (R12): gapless numbers from the
month's run row, due dates, the issuer's snapshot; void and replace."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.bank import payee
from billing.documents.store import stored_invoice
from billing.formatting import japanese_date, yen_text
from billing.models import (
    BillingRun,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineType,
    RunStatus,
)
from billing.models.invoices import ISSUE_FIELDS
from billing.qualified_invoice import issuer
from contracts import periods
from contracts.csvimport import bulk_insert_history
from contracts.models import Customer

from . import adjustments, persist
from .compute import account_days_reader, compute
from .credit_notes import CreditLine, creditable, issue_credit_note
from .drafts import BillingRefused, RunSummary, with_adjustments
from .fees import month_label


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
    issued_at = timezone.now()
    for sequence, invoice in enumerate(invoices, start=first):
        invoice.issue(
            number=invoice_number(run.month, sequence),
            on=today,
            due_date=due_date_for(invoice.customer, run.month, today),
            by=by,
            issuer=seller,
            save=False,
        )
        invoice.issued_at = issued_at  # one moment for the whole month
    _write_issued(invoices, same=[f for f in (*ISSUE_FIELDS, *seller) if f not in ("number", "due_date")])
    # the history of each invoice records the issue, as written (COPY on PostgreSQL)
    tracked = tuple(f.attname for f in Invoice.history.model.tracked_fields)
    issued = Invoice.objects.filter(run=run, status=InvoiceStatus.ISSUED, issued_at=issued_at)
    bulk_insert_history(
        Invoice,
        [("~", dict(zip(tracked, values, strict=True))) for values in issued.values_list(*tracked)],
        user=by or persist.request_user(),
    )


def _write_issued(invoices: list[Invoice], *, same: list[str]) -> None:
    """The issued drafts written in one statement (a batch per SQLite's parameter limit):
    the number and due date of each from a VALUES list, the fields ``same`` for every
    invoice (status, issue date, time, who, the issuer's snapshot) as one value each.
    ``bulk_update`` built a CASE of every field for every invoice: 12.7 s for 2,000 invoices
    against the database's 0.1 s. Only drafts are written; a row that is not one any more
    refuses the whole issue."""
    if not invoices:
        return
    table = connection.ops.quote_name(Invoice._meta.db_table)
    fields = [Invoice._meta.get_field(name) for name in same]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    constants = [f.get_db_prep_save(getattr(invoices[0], f.attname), connection) for f in fields]
    number, due = (
        connection.ops.quote_name(Invoice._meta.get_field(n).column) for n in ("number", "due_date")
    )
    limit = connection.features.max_query_params
    batch = len(invoices) if limit is None else max(1, (limit - len(constants)) // 3)
    with connection.cursor() as cursor:
        for start in range(0, len(invoices), batch):
            chunk = invoices[start : start + batch]
            cursor.execute(
                # VALUES names its columns column1, column2… on both databases (no WITH:
                # Python's sqlite3 counts the rows of a statement only if it starts as one)
                f"UPDATE {table} SET {assignments}, {number} = v.column2, {due} = v.column3 "
                f"FROM (VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))}) AS v "
                f"WHERE {table}.id = v.column1 AND {table}.status = %s",
                [
                    *constants,
                    *(value for i in chunk for value in (i.pk, i.number, i.due_date)),
                    InvoiceStatus.DRAFT,
                ],
            )
            if cursor.rowcount != len(chunk):
                raise BillingRefused(_("R12: only draft invoices are issued; the month changed meanwhile."))


@dataclass(frozen=True)
class IssuePlan:
    """What issuing the month will do, worked out before anything is written: the drafts
    that get numbers (customer-code order), the months that net to a credit with the
    invoice each credit note goes against (R15), and the numbers the series will give."""

    run: BillingRun
    numbered: list[Invoice]
    credits: list[tuple[Invoice, Invoice, list[InvoiceLine]]]

    @property
    def first_number(self) -> str | None:
        return invoice_number(self.run.month, self.run.last_invoice_number + 1) if self.numbered else None

    @property
    def last_number(self) -> str | None:
        if not self.numbered:
            return None
        return invoice_number(self.run.month, self.run.last_invoice_number + len(self.numbered))

    @property
    def total(self) -> Decimal:
        """The tax-included total of the invoices that get numbers."""
        return sum((draft.total.amount for draft in self.numbered), Decimal(0))


def _issue_plan(run: BillingRun, *, today: dt.date) -> IssuePlan:
    """Every refusal of issuing the month, in the order issuing meets them; the plan when
    none applies. The confirmation page and the issue itself both come through here, so
    what the page says will be refused is what issuing refuses."""
    label = periods.japanese_month(run.month)
    if run.status == RunStatus.ISSUED:
        raise BillingRefused(_("%(month)s is already issued.") % {"month": label})
    if today <= periods.month_end(run.month):
        raise BillingRefused(
            _("%(month)s has not ended yet; it can be issued from %(date)s.")
            % {"month": label, "date": japanese_date(periods.next_month(run.month))}
        )
    drafts = list(
        Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT)
        .select_related("customer")
        .order_by("customer_code")
    )
    if not drafts:
        raise BillingRefused(_("%(month)s has no draft invoices to issue.") % {"month": label})
    _refuse_stale_adjustments(run)
    negative = [draft for draft in drafts if draft.subtotal.amount < 0]
    return IssuePlan(
        run=run,
        numbered=[draft for draft in drafts if draft.subtotal.amount >= 0],
        credits=_credits_for_months_that_net_to_a_credit(run, negative),
    )


@transaction.atomic
def billing_month_issue_preview(*, month: dt.date, today: dt.date | None = None) -> IssuePlan:
    """What ``billing_month_issue`` would do today, nothing written: the confirmation an
    accountant reads before numbering the month. Refused (``BillingRefused``) exactly
    when issuing would be."""
    run = persist.locked_run(periods.month_start(month), create=False)
    return _issue_plan(run, today=today or timezone.localdate())


@transaction.atomic
def billing_month_issue(*, month: dt.date, by=None, today: dt.date | None = None) -> RunSummary:
    """Issue the month's drafts: gapless numbers in customer-code order, issue and due
    dates, issuer snapshot. Afterwards the month refuses every re-run."""
    month = periods.month_start(month)
    today = today or timezone.localdate()
    run = persist.locked_run(month, create=False)
    plan = _issue_plan(run, today=today)
    _credit_months_that_net_to_a_credit(run, plan.credits, by=by, today=today)
    _issue(plan.numbered, run=run, by=by, today=today)
    adjustments.settle_notes(run)
    # issued after its invoices: PostgreSQL refuses new numbers in an issued month but
    # for replacements (billing 0007)
    run.status = RunStatus.ISSUED
    run.issued_at = timezone.now()
    run.issued_by = by
    run._history_user = by  # the run's history names who issued, from the commands too
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
    _refuse_replacing_an_adjusted_month(invoice)
    # the adjustments the voided invoice carried, recomputed: once it is void they are
    # no longer billed (R15)
    adjusted = set(
        invoice.lines.filter(line_type=LineType.ADJUSTMENT).values_list("contract_id", "adjusted_month")
    )
    if invoice.number is not None:  # a draft is refused by void() below
        stored_invoice(invoice)  # R19: the copy as it was issued is kept before it is voided
    invoice.void(by=by, reason=reason)
    with account_days_reader(invoice.billing_month, [invoice.customer_id]) as read_account_days:
        drafts, exceptions = compute(
            invoice.billing_month, read_account_days, customer_ids=[invoice.customer_id]
        )
    late = adjustments.adjust(adjusted)
    drafts = with_adjustments(drafts, late.lines)
    # the customer's exceptions are recomputed with the replacement: they replace the old ones
    run.exceptions.filter(contract__customer_id=invoice.customer_id).delete()
    persist.save_exceptions(run, [*exceptions, *late.notices])
    if not drafts:
        return None
    if drafts[0].subtotal < 0:
        raise BillingRefused(
            _(
                "R15: the replacement of %(invoice)s would return %(amount)s yen; an invoice never bills "
                "less than nothing. Issue a credit note against the invoice instead of voiding it."
            )
            % {"invoice": invoice.number, "amount": yen_text(-drafts[0].subtotal)}
        )
    # lines go in while the replacement is a draft (PostgreSQL refuses lines on an
    # issued invoice); then it is issued with the month's next number
    (replacement_id,) = persist.save_invoices(run, drafts, replaces=invoice, by=by)
    replacement = Invoice.objects.select_related("customer").get(pk=replacement_id)
    _issue([replacement], run=run, by=by, today=today)
    run.save(update_fields=["last_invoice_number"])
    stored_invoice(replacement)
    return replacement


def _refuse_stale_adjustments(run: BillingRun) -> None:
    """R15: an adjustment bills the difference from what its month had billed when the run
    was computed; if that has changed since (an invoice of the month voided and replaced,
    another run's adjustments issued), the difference would be billed twice: refused."""
    rows = list(
        InvoiceLine.objects.filter(
            invoice__run=run, invoice__status=InvoiceStatus.DRAFT, line_type=LineType.ADJUSTMENT
        ).values_list(
            "contract_id",
            "contract__customer_id",
            "adjusted_month",
            "adjusted_line_type",
            "adjusted_basis",
            "adjusted_invoice_id",
            "invoice__customer_code",
        )
    )
    if not rows:
        return
    pairs = {(contract, month) for contract, _customer, month, *_rest in rows}
    was = adjustments.billed(pairs)
    live = adjustments.live_invoices(pairs, {contract: customer for contract, customer, *_rest in rows})
    stale = sorted(
        {
            (code, month)
            for contract, _customer, month, component, basis, invoice_id, code in rows
            if was.get((contract, month, component), adjustments.NOTHING).amount != basis
            or getattr(live.get((contract, month)), "id", None) != invoice_id
        }
    )
    if stale:
        raise BillingRefused(
            _(
                "R15: what %(months)s billed changed after %(month)s was computed (customers %(customers)s). "
                "Recompute %(month)s and check its adjustments again, so that no difference is billed twice."
            )
            % {
                "months": _(", ").join(sorted({month_label(month) for _code, month in stale})),
                "month": month_label(run.month),
                "customers": ", ".join(sorted({code for code, _month in stale})),
            }
        )


def _credits_for_months_that_net_to_a_credit(
    run: BillingRun, drafts: list[Invoice]
) -> list[tuple[Invoice, Invoice, list[InvoiceLine]]]:
    """R15: a customer whose month nets to a credit gets no invoice; a credit note (R16) of
    the net goes against the latest invoice its negative adjustments correct that leaves
    enough to credit. Each such draft with that invoice and its lines; refused when no
    invoice leaves enough."""
    if not drafts:
        return []
    lines = defaultdict(list)
    for line in InvoiceLine.objects.filter(invoice__in=drafts).order_by(
        "invoice", "contract__code", "position"
    ):
        lines[line.invoice_id].append(line)
    corrected = Invoice.objects.in_bulk(
        {line.adjusted_invoice_id for draft in drafts for line in lines[draft.pk] if line.adjusted_invoice_id}
    )
    credits = []
    for draft in drafts:
        credit = -draft.subtotal.amount
        candidates = sorted(
            {
                corrected[line.adjusted_invoice_id]
                for line in lines[draft.pk]
                if line.adjusted_invoice_id and line.amount.amount < 0
            },
            key=lambda invoice: (invoice.billing_month, invoice.number),
            reverse=True,
        )
        against = next((invoice for invoice in candidates if creditable(invoice) >= credit), None)
        if against is None:
            raise BillingRefused(
                _(
                    "R15: %(customer)s nets to a credit of %(amount)s yen in %(month)s, more than any invoice "
                    "its adjustments correct leaves to credit (R16). Settle it by hand: credit notes against "
                    "the invoices concerned, then recompute the month."
                )
                % {
                    "customer": draft.customer_code,
                    "amount": yen_text(credit),
                    "month": month_label(run.month),
                }
            )
        credits.append((draft, against, lines[draft.pk]))
    return credits


def _credit_months_that_net_to_a_credit(
    run: BillingRun, credits: list[tuple[Invoice, Invoice, list[InvoiceLine]]], *, by, today
) -> None:
    """R15: the credit notes of the months that net to a credit, in place of their
    invoices. Their lines are the month's lines with their sign turned, each keeping the
    month and component it billed, so that later adjustments count what it returned."""
    if not credits:
        return
    for _draft, against, lines in credits:
        issue_credit_note(
            invoice=against,
            lines=[
                CreditLine(
                    line.description,
                    -line.amount.amount,
                    line.line_type,
                    line.contract_id,
                    billed_month=line.adjusted_month or run.month,
                    billed_line_type=line.adjusted_line_type or line.line_type,
                )
                for line in lines
            ],
            reason=_("R15: %(month)s nets to a credit for this customer; no invoice is issued for it.")
            % {"month": month_label(run.month)},
            by=by,
            today=today,
            origin=CreditNote.Origin.NEGATIVE_MONTH,
            billing_month=run.month,
        )
    persist.drafts_delete(run, by=by, only=[draft.pk for draft, _against, _lines in credits])


def _refuse_replacing_an_adjusted_month(invoice: Invoice) -> None:
    """R15: once a later invoice (or credit note) has settled a late change of this
    invoice's month, a replacement, computed from the data as it stands, would bill the
    change a second time: refused; a credit note or a further late change corrects it."""
    month, customer = invoice.billing_month, invoice.customer_id
    later = sorted(
        {
            *InvoiceLine.objects.filter(
                line_type=LineType.ADJUSTMENT,
                adjusted_month=month,
                invoice__status=InvoiceStatus.ISSUED,
                invoice__customer_id=customer,
            ).values_list("invoice__number", flat=True),
            *CreditNoteLine.objects.filter(billed_month=month, credit_note__customer_id=customer).values_list(
                "credit_note__number", flat=True
            ),
        }
    )
    if later:
        raise BillingRefused(
            _(
                "R15: %(numbers)s already settled late changes of %(month)s for this customer; a "
                "replacement of %(invoice)s would bill them again. Correct it with a credit note, or "
                "enter the correction and let the next run adjust it."
            )
            % {"numbers": ", ".join(later), "month": month_label(month), "invoice": invoice.number}
        )
