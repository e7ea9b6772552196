"""R17: importing a file of deposits (Zengin or CSV), matching them, and the accountants'
own applications and reversals. A file is checked whole before anything is written; it is
written in one transaction or not at all; a deposit already imported is left as it is."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.imports.rate_cards import MAX_YEN
from billing.models import (
    Application,
    Deposit,
    DepositSource,
    Invoice,
    InvoiceStatus,
    MatchRule,
    PaymentRefused,
)
from billing.runs.drafts import CURRENCY
from contracts.csvimport import (
    CellError,
    Column,
    ImportRejected,
    Problem,
    Problems,
    bulk_insert_history,
    bulk_insert_returning_ids,
    decode,
    described,
    parse_date,
    parse_decimal,
    parse_text,
    read_rows,
)

from . import matching, zengin

FORMATS = ("auto", "zengin", "csv")

_parse_yen = parse_decimal(places=0, max_value=MAX_YEN)


def _positive_yen(value: str) -> Decimal:
    amount = _parse_yen(value)
    if amount <= 0:
        raise CellError(_("a deposit is more than 0 yen"))
    return amount


class PaymentsCsv:
    """The CSV form of ``import_payments`` (interfaces.md), read by the import engine's own
    reader (same header checks and messages as ``import_csv``)."""

    name = "payments"
    columns = (
        Column("received_on", parse_date),
        Column("amount", described(_positive_yen, "whole yen, more than 0, no separators")),
        Column("payer_name", parse_text(120)),
        Column("reference", parse_text(120), required=False, default=""),
        Column("deposit_id", parse_text(100)),
    )
    key = ("deposit_id",)


@dataclass(frozen=True)
class Incoming:
    line: int
    source: str
    source_id: str
    received_on: dt.date
    amount: Decimal
    payer_name: str
    reference: str
    bank_name: str = ""


@dataclass
class PaymentImportResult:
    new: int = 0
    unchanged: int = 0
    matched: int = 0
    partial: int = 0
    unmatched: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        return _(
            "%(new)d new deposits (%(unchanged)d already imported): %(matched)d matched, "
            "%(partial)d partly matched, %(unmatched)d unmatched"
        ) % {
            "new": self.new,
            "unchanged": self.unchanged,
            "matched": self.matched,
            "partial": self.partial,
            "unmatched": self.unmatched,
        }


def read_file(data: bytes, file_format: str = "auto", *, today: dt.date | None = None) -> list[Incoming]:
    """The deposits of a file, or ``ImportRejected`` with every problem of the file."""
    if file_format not in FORMATS:
        raise ImportRejected([Problem(1, None, _("unknown format %(format)r") % {"format": file_format})])
    if file_format == "auto":
        file_format = "zengin" if zengin.is_zengin(data) else "csv"
    problems = Problems()
    if file_format == "zengin":
        found = zengin.parse(data, problems, today=today)
        incoming = [
            Incoming(
                d.line,
                DepositSource.ZENGIN,
                d.source_id,
                d.received_on,
                d.amount,
                d.payer_name,
                d.reference,
                d.bank_name,
            )
            for d in found
        ]
        first: dict[str, int] = {}
        for item in incoming:
            if item.source_id in first:
                problems.add(
                    item.line,
                    "照会番号",
                    _("the same deposit as line %(line)d (照会番号 and 勘定日)")
                    % {"line": first[item.source_id]},
                )
            first.setdefault(item.source_id, item.line)
    else:
        rows = read_rows(PaymentsCsv, decode(data, "auto"), problems)
        incoming = [
            Incoming(
                row.line,
                DepositSource.CSV,
                f"csv:{row['deposit_id']}",
                row["received_on"],
                row["amount"],
                row["payer_name"],
                row["reference"],
            )
            for row in rows
        ]
    if problems:
        raise problems.rejected()
    return incoming


def _lock_payments() -> None:
    """Two imports at once on PostgreSQL: the second waits, then finds the deposits of the
    first and leaves them (SQLite serialises writers itself)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(b"smartkey import payments")])


def payments_import(
    *, data: bytes, file_format: str = "auto", dry_run: bool = False, user=None, today: dt.date | None = None
) -> PaymentImportResult:
    """R17: the file's new deposits, matched (``matching``); a constant number of queries
    whatever the size of the file."""
    incoming = read_file(data, file_format, today=today)
    result = PaymentImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            _lock_payments()
            known = set(
                Deposit.objects.filter(source_id__in=[i.source_id for i in incoming]).values_list(
                    "source_id", flat=True
                )
            )
            new = [i for i in incoming if i.source_id not in known]
            result.unchanged = len(incoming) - len(new)
            result.new = len(new)
            books = matching.load(new)
            now = timezone.now()
            user_id = user.pk if user is not None else None
            deposits, placements = [], []
            for item in new:
                placement = matching.place(item.amount, item.payer_name, item.reference, books)
                placements.append(placement)
                setattr(result, placement.outcome, getattr(result, placement.outcome) + 1)
                deposits.append(
                    (
                        item.source,
                        item.source_id,
                        item.received_on,
                        CURRENCY,
                        item.amount,
                        item.payer_name,
                        item.reference,
                        item.bank_name,
                        placement.customer_id,
                        placement.candidate_customer_id,
                        now,
                        user_id,
                    )
                )
            _write(deposits, placements, now=now, user=user)
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as error:
        raise ImportRejected(
            [
                Problem(
                    1,
                    None,
                    _("the database refused the import, nothing was written: %(error)s")
                    % {"error": " ".join(str(error).split())},
                )
            ]
        ) from error
    return result


DEPOSIT_FIELDS = (
    "source",
    "source_id",
    "received_on",
    "amount_currency",
    "amount",
    "payer_name",
    "reference",
    "bank_name",
    "customer_id",
    "candidate_customer_id",
    "created_at",
    "created_by_id",
)
APPLICATION_FIELDS = (
    "deposit_id",
    "invoice_id",
    "amount_currency",
    "amount",
    "fee_currency",
    "fee",
    "rule",
    "applied_at",
    "applied_by_id",
    "reversed_at",
    "reversed_by_id",
    "reversal_reason",
)


def _write(deposits: list[tuple], placements: list[matching.Placement], *, now, user) -> None:
    """The file's deposits and the applications matching made, with their audit trail:
    six statements whatever the size of the file (on PostgreSQL: the new keys and a
    ``COPY`` for each table, a ``COPY`` for each audit trail;
    ``bulk_create_with_history`` spent 1.8 ms a deposit preparing each value through its
    field)."""
    ids = bulk_insert_returning_ids(Deposit, DEPOSIT_FIELDS, deposits)
    applications = [
        (deposit_id, invoice_id, CURRENCY, amount, CURRENCY, fee, rule, now, None, None, None, "")
        for deposit_id, placement in zip(ids, placements, strict=True)
        for invoice_id, amount, fee, rule in placement.applications
    ]
    application_ids = bulk_insert_returning_ids(Application, APPLICATION_FIELDS, applications)
    for model, fields, rows, made in (
        (Deposit, DEPOSIT_FIELDS, deposits, ids),
        (Application, APPLICATION_FIELDS, applications, application_ids),
    ):
        bulk_insert_history(
            model,
            [
                ("+", {"id": pk, **dict(zip(fields, row, strict=True))})
                for pk, row in zip(made, rows, strict=True)
            ],
            user=user,
        )


# --- by hand, in the admin ------------------------------------------------------------


def unapplied(deposit: Deposit) -> Decimal:
    """What of a deposit is not applied to any invoice (the customer's credit, 前受金, once
    the customer is known)."""
    applied = deposit.applications.live().aggregate(s=Sum("amount"))["s"] or Decimal(0)
    return deposit.amount.amount - applied


@transaction.atomic
def deposit_apply(
    *, deposit: Deposit, allocations: list[tuple[Invoice, Decimal, Decimal]], by
) -> list[Application]:
    """R17, by an accountant: parts of ``deposit`` applied to open invoices of one customer
    (invoice, amount, transfer fee accepted). Refused beyond what the deposit leaves, beyond
    an invoice's balance, on an invoice that is not issued, or across customers."""
    deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
    allocations = [(i, Decimal(a), Decimal(f or 0)) for i, a, f in allocations if a or f]
    if not allocations:
        raise PaymentRefused(_("R17: enter an amount for at least one invoice."), code="nothing")
    invoices = {
        i.pk: i
        for i in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=[i.pk for i, _a, _f in allocations])
        .with_balance()
    }
    customers = {i.customer_id for i in invoices.values()}
    if len(customers) != 1 or (deposit.customer_id and deposit.customer_id not in customers):
        raise PaymentRefused(
            _("R17: a deposit is applied to invoices of one customer, its own."), code="customer"
        )
    total = sum((a for _i, a, _f in allocations), Decimal(0))
    left = unapplied(deposit)
    if total > left:
        raise PaymentRefused(
            _("R17: %(total)s yen is more than the %(left)s yen the deposit leaves.")
            % {"total": f"{total:,.0f}", "left": f"{left:,.0f}"},
            code="beyond_deposit",
        )
    made = []
    for invoice, amount, fee in allocations:
        stored = invoices[invoice.pk]
        if stored.status != InvoiceStatus.ISSUED:
            raise PaymentRefused(_("R17: only an issued invoice is paid."), code="not_issued")
        if amount <= 0 or fee < 0:
            raise PaymentRefused(_("R17: an amount applied is more than 0 yen."), code="amount")
        if amount + fee > stored.balance:
            raise PaymentRefused(
                _("R17: %(amount)s yen is more than the %(balance)s yen invoice %(number)s leaves.")
                % {
                    "amount": f"{amount + fee:,.0f}",
                    "balance": f"{stored.balance:,.0f}",
                    "number": stored.number,
                },
                code="beyond_balance",
            )
        application = Application(
            deposit=deposit, invoice=stored, amount=amount, fee=fee, rule=MatchRule.MANUAL, applied_by=by
        )
        application._history_user = by
        application.save()
        made.append(application)
    if deposit.customer_id is None:
        deposit.customer_id = customers.pop()
        deposit.candidate_customer = None
        deposit._history_user = by
        deposit.save(update_fields=["customer", "candidate_customer"])
    return made


@transaction.atomic
def application_reverse(*, application: Application, by, reason: str) -> Application:
    """R17: undo an application; it stays, reversed, with who, when and why, and its money
    returns to the deposit."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if application.reversed_at is not None:
        raise PaymentRefused(_("R17: the application is reversed already."), code="reversed")
    if not reason.strip():
        raise PaymentRefused(_("R17: say why the application is reversed."), code="reason_required")
    application.reversed_at = timezone.now()
    application.reversed_by = by
    application.reversal_reason = reason.strip()
    application._history_user = by
    application.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    return application
