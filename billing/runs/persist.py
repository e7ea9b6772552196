"""Writing a run: drafts, lines and exceptions as plain rows (COPY on PostgreSQL), the
month's run row locked while a run writes or numbers, and the run's summary."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import calculation
from billing.models import BillingRun, CreditNote, Invoice, InvoiceLine, InvoiceStatus, RunException
from contracts import periods
from contracts.csvimport import bulk_insert, bulk_insert_returning_ids, insert_history_of

from .drafts import CURRENCY, BillingRefused, ExceptionDraft, InvoiceDraft, RunSummary


def save_invoices(
    run: BillingRun, drafts: list[InvoiceDraft], replaces: Invoice | None = None, by=None
) -> list[int]:
    """Write the drafts as draft invoices with their lines; returns the invoices' ids, in
    the order of ``drafts``. Plain rows, no model instance per invoice or line: on
    PostgreSQL both go in with ``COPY``."""
    now = timezone.now()
    records = []
    for draft in drafts:
        customer, subtotal = draft.customer, draft.subtotal  # summed once per draft
        tax = calculation.consumption_tax(subtotal)  # = draft.tax
        records.append(
            (
                run.pk,
                customer.pk,
                run.month,
                InvoiceStatus.DRAFT.value,
                customer.code,
                customer.billing_name,
                customer.name,
                customer.postal_code,
                customer.address,
                "",
                "",
                "",
                subtotal,
                CURRENCY,
                calculation.TAX_RATE,
                tax,
                CURRENCY,
                subtotal + tax,
                CURRENCY,
                replaces.pk if replaces is not None else None,
                now,
                "",
            )
        )
    ids = bulk_insert_returning_ids(Invoice, INVOICE_FIELDS, records)
    bulk_insert(InvoiceLine, LINE_FIELDS, line_records(ids, drafts))
    # the audit trail of each new draft, copied from the rows just written (lines have
    # none); the run's rows in the range of the new ids are these drafts: the run is
    # locked, and the ids are new
    if ids:
        written = Invoice.objects.filter(run=run, pk__range=(min(ids), max(ids)))
        insert_history_of(written, "+", user=by or request_user())
    return ids


#: the columns of a new draft invoice, as ``save_invoices`` gives them (the issuer's
#: snapshot is taken when it is issued)
INVOICE_FIELDS = (
    "run_id",
    "customer_id",
    "billing_month",
    "status",
    "customer_code",
    "billing_name",
    "customer_name",
    "postal_code",
    "address",
    "issuer_name",
    "issuer_address",
    "issuer_registration_number",
    "subtotal",
    "subtotal_currency",
    "tax_rate",
    "tax",
    "tax_currency",
    "total",
    "total_currency",
    "replaces_id",
    "created_at",
    "void_reason",
)

#: the columns of an invoice line, as ``line_records`` gives them
LINE_FIELDS = (
    "invoice_id",
    "contract_id",
    "position",
    "line_type",
    "item",
    "description",
    "quantity",
    "unit_price",
    "unit_price_currency",
    "amount",
    "amount_currency",
    "tax_rate",
    "rate_card_id",
    "adjusted_month",
    "adjusted_line_type",
    "adjusted_invoice_id",
    "adjusted_basis",
    "adjusted_basis_currency",
)


def line_records(invoice_ids: list[int], drafts: list[InvoiceDraft]):
    """The invoices' lines as plain rows (``LINE_FIELDS``), numbered per contract."""
    for invoice_id, draft in zip(invoice_ids, drafts, strict=True):
        positions: dict[int, int] = defaultdict(int)
        for line in draft.lines:
            positions[line.contract.pk] += 1
            yield (
                invoice_id,
                line.contract.pk,
                positions[line.contract.pk],
                line.line_type,
                line.item,
                line.description[:300],
                line.quantity,
                line.unit_price,
                CURRENCY,
                line.amount,
                CURRENCY,
                calculation.TAX_RATE,
                line.rate_card.pk if line.rate_card is not None else None,
                *(line.adjusts.columns() if line.adjusts is not None else (None, "", None, None, CURRENCY)),
            )


#: the columns of a run exception, as ``save_exceptions`` gives them
EXCEPTION_FIELDS = ("run_id", "contract_id", "rule", "code", "message", "action", "billed")


def save_exceptions(run: BillingRun, exceptions: list[ExceptionDraft]) -> None:
    bulk_insert(
        RunException,
        EXCEPTION_FIELDS,
        (
            (
                run.pk,
                e.contract.pk if e.contract is not None else None,
                e.rule,
                e.code,
                e.message,
                e.action,
                e.billed,
            )
            for e in exceptions
        ),
    )


def drafts_delete(run: BillingRun, by=None, only=None) -> None:
    """Delete the run's draft invoices (those of the ids ``only``, if given) and their
    lines, in a fixed number of queries.

    ``QuerySet.delete()`` sends a post_delete signal per invoice, on which the audit trail
    (django-simple-history) writes one INSERT each: thousands of queries in a large month.
    The same historical records (type "-", the user of the request if any) are written
    here with one ``INSERT … SELECT`` of the drafts' rows (``insert_history_of``); then
    lines and invoices go with one statement each. No invoice refers to a draft (a replacement refers to the voided
    invoice), and lines have no history."""
    drafts = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).order_by("pk")
    if only is not None:
        drafts = drafts.filter(pk__in=only)
    InvoiceLine.objects.filter(invoice__in=drafts).delete()
    insert_history_of(drafts, "-", user=by or request_user())
    drafts._raw_delete(drafts.db)


def check_references_to_deleted_invoices() -> None:
    """Run now, on PostgreSQL, the checks that deleting invoices queued for COMMIT: for each
    deleted invoice and each foreign key that refers to invoices (its lines, credit notes,
    payments, stored documents, a replacement), that no row still refers to it. The keys
    are ``DEFERRABLE INITIALLY DEFERRED``: ``SET CONSTRAINTS … IMMEDIATE`` runs the checks
    queued for them so far, with the refusal COMMIT would give (an ``IntegrityError``),
    and ``DEFERRED`` gives them back their deferral for the rest of the transaction. The
    same checks on the same rows, only earlier.

    ``billing_month_compute`` runs them right after deleting the old drafts, while the
    month's days of use are read on a second connection (``compute.account_days_reader``):
    this connection waits for that read anyway, and the checks (one index lookup per key
    and deleted draft: six per draft) no longer add to the COMMIT after it."""
    if connection.vendor != "postgresql":
        return
    invoices = connection.ops.quote_name(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            DO $$
            DECLARE
                keys text;
            BEGIN
                SELECT string_agg(format('%I.%I', n.nspname, c.conname), ', ') INTO keys
                FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                WHERE c.contype = 'f' AND c.confrelid = '{invoices}'::regclass AND c.condeferred;
                IF keys IS NOT NULL THEN
                    EXECUTE 'SET CONSTRAINTS ' || keys || ' IMMEDIATE';
                    EXECUTE 'SET CONSTRAINTS ' || keys || ' DEFERRED';
                END IF;
            END
            $$"""
        )


def request_user():
    """The user of the admin request under way, as django-simple-history finds it."""
    return Invoice.history.model.get_default_history_user(Invoice())


def locked_run(month: dt.date, *, create: bool) -> BillingRun:
    """The month's run row, locked until the transaction ends."""
    if create:
        BillingRun.objects.get_or_create(month=month)
    try:
        return BillingRun.objects.select_for_update().get(month=month)
    except BillingRun.DoesNotExist:
        raise BillingRefused(
            _("%(month)s has not been computed yet: run bill_month %(argument)s first and review the drafts.")
            % {"month": periods.japanese_month(month), "argument": periods.format_month(month)}
        ) from None


def summary(run: BillingRun) -> RunSummary:
    live = Invoice.objects.filter(run=run).live().aggregate(invoices=Count("pk"), total=Sum("total"))
    credits = CreditNote.objects.filter(
        billing_month=run.month, origin=CreditNote.Origin.NEGATIVE_MONTH
    ).aggregate(notes=Count("pk"), total=Sum("total"))
    return RunSummary(
        run=run,
        invoices=live["invoices"],
        total=live["total"] or Decimal("0"),
        exceptions=list(run.exceptions.select_related("contract")),
        credit_notes=credits["notes"],
        credited=credits["total"] or Decimal("0"),
    )
