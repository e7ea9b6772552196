"""Monthly billing: compute the drafts of a month, issue them, void and replace.

Admin actions and commands call these; they hold no rules themselves. Each service is
one transaction and starts by locking the month's ``BillingRun`` row, so runs of one
month never interleave (PostgreSQL waits on the row lock; SQLite serialises writers).
A partial unique index on live invoices (customer, month) backs this up in the database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from contracts import periods
from contracts.csvimport import bulk_insert, bulk_insert_returning_ids
from contracts.models import CONDITIONS, Contract, Customer, IIJIDContract, Item, ItemChange
from contracts.progress import Progress, report_every

from . import calculation
from .models import (
    AuthTier,
    BillingRun,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineType,
    OneTimeCharge,
    PricingMode,
    RateCard,
    RunException,
    RunStatus,
)
from .qualified_invoice import issuer
from .usage_queries import AuthTotals, account_day_histograms, auth_count_totals

#: invoices and their descriptions are Japanese documents, whoever runs the month
DOCUMENT_LANGUAGE = "ja"
#: every amount is in Japanese yen (django-money's currency column)
CURRENCY = "JPY"


class BillingRefused(Exception):
    """The month cannot be (re)computed or issued; the message says why and what to do."""


# --- plain results -------------------------------------------------------------------


@dataclass
class LineDraft:
    contract: Contract
    line_type: str
    item: str
    description: str
    #: None only while an account fee is to be settled (``_AccountFeeToSettle``)
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None
    rate_card: RateCard | None = None


@dataclass
class ExceptionDraft:
    contract: Contract | None
    rule: str
    code: str
    message: str
    action: str
    billed: bool


@dataclass
class InvoiceDraft:
    customer: Customer
    lines: list[LineDraft] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return calculation.consumption_tax(self.subtotal)


@dataclass
class RunSummary:
    run: BillingRun
    invoices: int
    total: Decimal
    exceptions: list[RunException]


# --- computing a month ----------------------------------------------------------------


def _contracts_billable_in(month: dt.date, customer_ids=None) -> list[Contract]:
    """The contracts to bill in ``month`` (in service on one of its days, or with a
    one-time charge due in it), in invoice order, with everything ``_bill_contract``
    reads attached: six queries, whatever the number of contracts."""
    first, last = periods.month_start(month), periods.month_end(month)
    charges_due = OneTimeCharge.objects.filter(contract=OuterRef("pk"), due_on__range=(first, last))
    first_charge = (
        OneTimeCharge.objects.filter(contract=OuterRef("pk")).order_by("due_on").values("due_on")[:1]
    )
    in_service = Q(billing_start_on__lte=last) & (
        Q(termination__effective_on__isnull=True) | Q(termination__effective_on__gte=first)
    )
    billable = Contract.objects.filter(accepted_on__isnull=False).filter(in_service | Exists(charges_due))
    if customer_ids is not None:
        billable = billable.filter(customer_id__in=customer_ids)
    contracts = list(
        billable.annotate(first_charge_on=Subquery(first_charge))
        .select_related("customer", "termination")
        .defer(*_NOT_BILLED_FROM)
        .order_by("customer__code", "code")
    )
    _attach_billing_relations(contracts, billable, month)
    return contracts


#: columns of the contracts and their customers that billing never reads: not loaded
#: (thousands of rows, a dozen dates each)
_NOT_BILLED_FROM = (
    *(field for condition in CONDITIONS for field in (condition.date_field, condition.by_field)),
    "applied_on",
    "terms_version",
    "created_at",
    "updated_at",
    "customer__name",
    "customer__email",
    "customer__created_at",
    "customer__updated_at",
    "termination__created_at",
    "termination__updated_at",
)


def _attach_billing_relations(contracts: list[Contract], billable, month: dt.date) -> None:
    """Load the related rows billing reads, one query per relation, and attach them to the
    contracts: item changes as the prefetch cache the model methods read (as
    ``prefetch_related`` would), the rest as plain attributes: ``billing_cards`` (the rate
    cards covering the month, each with ``billing_tiers``), ``iijid_periods`` (the
    customer's IIJ ID Service contracts as (start, end) pairs) and ``charges_this_month``.
    Each query selects its rows with a subquery of ``billable`` rather than a list of ids;
    tiers and IIJ ID periods are read as plain values, not model instances: with thousands
    of contracts both cost more than the queries themselves."""
    first, last = periods.month_start(month), periods.month_end(month)
    ids = billable.values("pk")
    changes = _by(ItemChange.objects.filter(contract__in=ids).order_by("effective_month"), "contract_id")
    iijid: dict[int, list[tuple]] = defaultdict(list)
    for customer_id, start_on, end_on in (
        IIJIDContract.objects.filter(customer__in=billable.values("customer_id"))
        .order_by("start_on")
        .values_list("customer_id", "start_on", "end_on")
    ):
        iijid[customer_id].append((start_on, end_on))
    cards = RateCard.objects.covering(first).filter(contract__in=ids)
    tiers: dict[int, list[calculation.Tier]] = defaultdict(list)
    for card_id, up_to, unit_price, flat_fee in (
        AuthTier.objects.filter(rate_card__in=cards.values("pk"))
        .order_by("rate_card_id", *AuthTier._meta.ordering)
        .values_list("rate_card_id", "up_to", "unit_price", "flat_fee")
    ):
        tiers[card_id].append(calculation.Tier(up_to, unit_price, flat_fee))
    cards = _by(cards.order_by("valid_from").defer("created_at", "updated_at"), "contract_id")
    charges = _by(
        OneTimeCharge.objects.filter(contract__in=ids, due_on__range=(first, last)).order_by("due_on", "pk"),
        "contract_id",
    )
    for contract_cards in cards.values():
        for card in contract_cards:
            card.billing_tiers = tiers.get(card.pk, [])
    for contract in contracts:
        contract._prefetched_objects_cache = {"item_changes": changes.get(contract.pk, [])}
        contract.billing_cards = cards.get(contract.pk, [])
        contract.iijid_periods = iijid.get(contract.customer_id, [])
        contract.charges_this_month = charges.get(contract.pk, [])


def _by(queryset, key: str) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for obj in queryset:
        grouped[getattr(obj, key)].append(obj)
    return grouped


@dataclass
class _AccountFeeToSettle:
    """R10: an Enterprise contract's account fee line, made with the contract's other
    lines and settled once the month's days of use are read (on PostgreSQL they are read
    on a second connection meanwhile: see ``_account_days_reader``)."""

    line: LineDraft
    service_days: int
    days_in_month: int

    def settle(self, histogram: dict[int, int], texts: dict[str, str]) -> list[ExceptionDraft]:
        """Fill in the line from ``histogram`` ({days of use: accounts}); returns the
        exception to report, if any."""
        found = []
        too_long = {days: n for days, n in histogram.items() if days > self.service_days}
        if too_long:
            found.append(
                ExceptionDraft(
                    self.line.contract,
                    "R10",
                    "overlapping_registrations",
                    _("%(count)d account(s) have overlapping registration periods.")
                    % {"count": sum(too_long.values())},
                    _(
                        "Correct the accounts' registration periods; their days were capped at the service days."
                    ),
                    billed=True,
                )
            )
            capped: dict[int, int] = defaultdict(int)
            for days, n in histogram.items():
                capped[min(days, self.service_days)] += n
            histogram = dict(capped)
        fee = calculation.account_fee(histogram, self.days_in_month, self.line.unit_price)
        self.line.description = texts["account_fee"] % {"accounts": fee.accounts}
        self.line.quantity = fee.coefficient_sum
        self.line.amount = fee.amount
        return found


def _uncovered_days(first: dt.date, last: dt.date, intervals) -> int:
    """Days of [first, last] not covered by any (start, end-or-None) interval."""
    uncovered = 0
    day = first
    for start, end in sorted(intervals, key=lambda interval: interval[0]):  # an end may be None
        if end is not None and end < day:
            continue
        if start > last:
            break
        if start > day:
            uncovered += (min(start, last + dt.timedelta(days=1)) - day).days
        day = last + dt.timedelta(days=1) if end is None else max(day, end + dt.timedelta(days=1))
        if day > last:
            return uncovered
    return uncovered + max((last - day).days + 1, 0)


def _month_label(month: dt.date) -> str:
    return _("%(year)d-%(month)02d") % {"year": month.year, "month": month.month}


def _line_texts(month: dt.date) -> dict[str, str]:
    """The descriptions of a month's lines in the active language, translated once per
    run rather than once per contract (thousands of lookups in a large month)."""
    return {
        "initial_fee": _("Initial fee"),
        "base_fee": _("Monthly base fee %(month)s") % {"month": _month_label(month)},
        "prorated": _(" (prorated %(days)d/%(month_days)d days)"),
        "account_fee": _(
            "Account usage fee (registered IDs: %(accounts)d, sum of daily proration coefficients)"
        ),
        **{
            f"auth_api_fee:{mode}": _("Authentication API usage fee (%(pricing)s)") % {"pricing": label}
            for mode, label in PricingMode.choices
        },
    }


def _bill_contract(
    contract: Contract,
    month: dt.date,
    auth: dict[int, AuthTotals],
    texts: dict[str, str],
    to_settle: list[_AccountFeeToSettle],
):
    """Lines and exceptions of one contract for one month (R7-R11), described with
    ``texts`` (``_line_texts``). An Enterprise contract's account fee line is added to
    ``to_settle``: its amount is None until then."""
    lines: list[LineDraft] = []
    exceptions: list[ExceptionDraft] = []
    first, last = periods.month_start(month), periods.month_end(month)
    days_in_month = periods.days_in_month(month)
    service_days = contract.service_days_in_month(month)
    charges = contract.charges_this_month
    item = contract.item_for_month(month)

    def exception(rule, code, message, action, billed):
        exceptions.append(ExceptionDraft(contract, rule, code, message, action, billed))

    card = None
    if service_days:
        card = contract.billing_cards[0] if contract.billing_cards else None
        problem = None
        if card is None:
            problem = ("no_rate_card", _("no rate card covers %(month)s") % {"month": _month_label(month)})
            action = _("Enter the rate card shown to the contractor, have it approved, and re-run the month.")
        elif card.approved_by_id is None:
            problem = ("rate_card_not_approved", _("the rate card is not approved"))
            action = _(
                "Have a staff member other than its author approve the rate card, then re-run the month."
            )
        elif card.notified_on is None:
            problem = ("rate_card_not_notified", _("the rate card has no notification date"))
            action = _("Record the day the amounts were shown to the contractor, then re-run the month.")
        elif card.missing_component(item) or (item == Item.SERVICE_PROVIDER and not card.billing_tiers):
            problem = (
                "rate_card_incomplete",
                _("the rate card lacks %(what)s")
                % {"what": card.missing_component(item) or _("authentication price tiers")},
            )
            action = _("Enter a rate card with the component the item needs, then re-run the month.")
        if problem:
            exception(
                "R8",
                problem[0],
                _("%(problem)s: nothing is billed for this contract this month.") % {"problem": problem[1]},
                action,
                billed=False,
            )
            return [], exceptions

    if not service_days and not charges:
        return [], exceptions

    # R3: bill, but flag days without an IIJ ID Service contract
    billed_first = max(first, contract.billing_start_on) if service_days else None
    if service_days:
        billed_last = min(last, contract.termination_effective_on or last)
        missing = _uncovered_days(billed_first, billed_last, contract.iijid_periods)
        if missing:
            exception(
                "R3",
                "iijid_lapsed",
                _("the customer had no IIJ ID Service contract on %(days)d billed day(s) of %(month)s.")
                % {"days": missing, "month": _month_label(month)},
                _("Check the customer's IIJ ID Service contract (Art. 3); the month was billed as usual."),
                billed=True,
            )

    termination = contract.termination_notice
    if termination is not None and not termination.on_prescribed_form:
        exception(
            "R6",
            "termination_form_missing",
            _(
                "a termination notice was received on %(date)s without the prescribed form; it has no effect yet."
            )
            % {"date": termination.notice_received_on.isoformat()},
            _("Obtain the prescribed termination form (解約申込書); billing continues until then."),
            billed=True,
        )

    # R7: the initial fee (0 yen, Annex 1) is shown on the contract's first invoice
    first_invoice_month = min(
        d for d in (contract.billing_start_on, contract.first_charge_on) if d is not None
    )
    if periods.month_start(first_invoice_month) == first:
        lines.append(
            LineDraft(
                contract,
                LineType.INITIAL_FEE,
                item,
                texts["initial_fee"],
                Decimal("1"),
                calculation.INITIAL_FEE,
                calculation.INITIAL_FEE,
            )
        )

    if service_days:
        base = card.base_fee.amount
        description = texts["base_fee"]
        if service_days < days_in_month:
            description += texts["prorated"] % {
                "days": service_days,
                "month_days": days_in_month,
            }
        lines.append(
            LineDraft(
                contract,
                LineType.BASE_FEE,
                item,
                description,
                Decimal("1"),
                base,
                calculation.prorated_base_fee(base, service_days, days_in_month),
                card,
            )
        )
        if item == Item.ENTERPRISE:
            line = LineDraft(
                contract, LineType.ACCOUNT_FEE, item, "", None, card.account_unit_price.amount, None, card
            )
            lines.append(line)
            to_settle.append(_AccountFeeToSettle(line, service_days, days_in_month))
        else:
            totals = auth.get(contract.pk, AuthTotals(0, 0, 0))
            if totals.days_in_service == 0:
                exception(
                    "R11",
                    "no_auth_counts",
                    _("no successful authentications were imported for %(month)s.")
                    % {"month": _month_label(month)},
                    _(
                        "Import the month's authentication counts (auth_counts) and re-run, if any are missing."
                    ),
                    billed=True,
                )
            fee = calculation.auth_fee(totals.in_service, card.auth_pricing, card.billing_tiers)
            lines.append(
                LineDraft(
                    contract,
                    LineType.AUTH_API_FEE,
                    item,
                    texts[f"auth_api_fee:{card.auth_pricing}"],
                    Decimal(totals.in_service),
                    fee.unit_price,
                    fee.amount,
                    card,
                )
            )

    totals = auth.get(contract.pk)
    if totals is not None and totals.days_outside_service:
        exceptions.append(_counts_outside_service(contract, totals.days_outside_service, billed=True))

    for charge in charges:
        lines.append(
            LineDraft(
                contract,
                LineType.ONE_TIME_FEE,
                item,
                charge.description,
                Decimal("1"),
                charge.amount.amount,
                charge.amount.amount,
            )
        )
    return lines, exceptions


def _counts_outside_service(contract: Contract, days: int, *, billed: bool) -> ExceptionDraft:
    return ExceptionDraft(
        contract,
        "R11",
        "auth_counts_outside_service",
        _("authentication counts on %(days)d day(s) outside the service period were not billed.")
        % {"days": days},
        _("Check the counts' dates against the billing start and termination dates."),
        billed,
    )


def _account_days_on_own_connection(month: dt.date, customer_ids=None) -> dict[int, dict[int, int]]:
    try:
        return account_day_histograms(month, customer_ids)
    finally:
        connection.close()  # this thread's own connection (Django's are per thread)


@contextlib.contextmanager
def _account_days_reader(
    month: dt.date, customer_ids=None
) -> Iterator[Callable[[], dict[int, dict[int, int]]]]:
    """Yield a function that returns the month's days of use of every Enterprise
    account (R10), the one large read of a month (of the given customers' only, if
    ``customer_ids`` is given).

    On PostgreSQL, when the caller's transaction is the outermost one, the query starts at
    once on a second connection, so that the database aggregates the accounts while this
    connection deletes the old drafts, loads the contracts and makes the other lines (the
    two overlap on two cores). That transaction has written nothing the query reads (the
    run row and invoices only), so the second connection, which cannot see uncommitted
    rows, reads the same rows; both read committed data, as each statement of this
    transaction does. Inside an enclosing transaction (a test, a request) the accounts may
    be among its uncommitted rows: they are read here, when first asked for."""
    if connection.vendor != "postgresql" or len(connection.atomic_blocks) != 1:
        yield functools.cache(lambda: account_day_histograms(month, customer_ids))
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="billing-account-days") as pool:
        pending = pool.submit(_account_days_on_own_connection, month, customer_ids)
        yield pending.result


def _compute(
    month: dt.date,
    read_account_days: Callable[[], dict[int, dict[int, int]]],
    customer_ids=None,
    progress: Progress | None = None,
) -> tuple[list[InvoiceDraft], list[ExceptionDraft]]:
    invoices: dict[int, InvoiceDraft] = {}
    exceptions: list[ExceptionDraft] = []
    to_settle: list[_AccountFeeToSettle] = []
    contracts = _contracts_billable_in(month, customer_ids)
    auth = auth_count_totals(month)
    tick = report_every(progress, _("contracts"), len(contracts), step=500)
    with translation.override(DOCUMENT_LANGUAGE):
        texts = _line_texts(month)
        for done, contract in enumerate(contracts, start=1):
            tick(done)
            lines, found = _bill_contract(contract, month, auth, texts, to_settle)
            exceptions.extend(found)
            if lines:
                draft = invoices.setdefault(contract.customer_id, InvoiceDraft(contract.customer))
                draft.lines.extend(lines)
        # counts of contracts not billed at all this month (terminated, not started):
        # none of them is billed, and nobody would hear of them otherwise
        billed_ids = {c.pk for c in contracts}
        unbilled = [pk for pk in auth if pk not in billed_ids]
        if unbilled:
            others = Contract.objects.filter(pk__in=unbilled)
            if customer_ids is not None:
                others = others.filter(customer_id__in=customer_ids)
            for contract in others.order_by("code"):
                days = auth[contract.pk].days_outside_service
                exceptions.append(_counts_outside_service(contract, days, billed=False))
        histograms = read_account_days()
        for account_fee in to_settle:
            exceptions.extend(account_fee.settle(histograms.get(account_fee.line.contract.pk, {}), texts))
    return list(invoices.values()), exceptions


def _save_invoices(run: BillingRun, drafts: list[InvoiceDraft], replaces: Invoice | None = None) -> list[int]:
    """Write the drafts as draft invoices with their lines; returns the invoices' ids, in
    the order of ``drafts``. Plain rows, no model instance per invoice or line: on
    PostgreSQL both go in with ``COPY``."""
    now = timezone.now()
    ids = bulk_insert_returning_ids(
        Invoice,
        INVOICE_FIELDS,
        [
            (
                run.pk,
                draft.customer.pk,
                run.month,
                InvoiceStatus.DRAFT.value,
                draft.customer.code,
                draft.customer.billing_name,
                draft.customer.postal_code,
                draft.customer.address,
                "",
                "",
                "",
                draft.subtotal,
                CURRENCY,
                calculation.TAX_RATE,
                draft.tax,
                CURRENCY,
                draft.subtotal + draft.tax,
                CURRENCY,
                replaces.pk if replaces is not None else None,
                now,
                "",
            )
            for draft in drafts
        ],
    )
    bulk_insert(InvoiceLine, LINE_FIELDS, _line_records(ids, drafts))
    return ids


#: the columns of a new draft invoice, as ``_save_invoices`` gives them (the issuer's
#: snapshot is taken when it is issued)
INVOICE_FIELDS = (
    "run_id",
    "customer_id",
    "billing_month",
    "status",
    "customer_code",
    "billing_name",
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

#: the columns of an invoice line, as ``_line_records`` gives them
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
)


def _line_records(invoice_ids: list[int], drafts: list[InvoiceDraft]):
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
            )


#: the columns of a run exception, as ``_save_exceptions`` gives them
EXCEPTION_FIELDS = ("run_id", "contract_id", "rule", "code", "message", "action", "billed")


def _save_exceptions(run: BillingRun, exceptions: list[ExceptionDraft]) -> None:
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


def _drafts_delete(run: BillingRun) -> None:
    """Delete the run's draft invoices and their lines, in a fixed number of queries.

    ``QuerySet.delete()`` sends a post_delete signal per invoice, on which the audit trail
    (django-simple-history) writes one INSERT each: thousands of queries in a large month.
    The same historical records (type "-", the user of the request if any) are written
    here with one bulk insert of the drafts' values; then lines and invoices go with one
    statement each. No invoice refers to a draft (a replacement refers to the voided
    invoice), and lines have no history."""
    drafts = Invoice.objects.filter(run=run, status=InvoiceStatus.DRAFT).order_by("pk")
    InvoiceLine.objects.filter(invoice__in=drafts).delete()
    historical = Invoice.history.model
    tracked = tuple(f.attname for f in historical.tracked_fields)
    user = historical.get_default_history_user(Invoice())
    record = (timezone.now(), "-", user.pk if user is not None else None, None)
    bulk_insert(
        historical,
        (*tracked, "history_date", "history_type", "history_user_id", "history_change_reason"),
        [values + record for values in drafts.values_list(*tracked)],
    )
    drafts._raw_delete(drafts.db)


def _locked_run(month: dt.date, *, create: bool) -> BillingRun:
    """The month's run row, locked until the transaction ends."""
    if create:
        BillingRun.objects.get_or_create(month=month)
    try:
        return BillingRun.objects.select_for_update().get(month=month)
    except BillingRun.DoesNotExist:
        raise BillingRefused(
            _("%(month)s has not been computed yet: run bill_month %(month)s first and review the drafts.")
            % {"month": periods.format_month(month)}
        ) from None


def _summary(run: BillingRun) -> RunSummary:
    live = Invoice.objects.filter(run=run).live().aggregate(invoices=Count("pk"), total=Sum("total"))
    return RunSummary(
        run=run,
        invoices=live["invoices"],
        total=live["total"] or Decimal("0"),
        exceptions=list(run.exceptions.select_related("contract")),
    )


@transaction.atomic
def billing_month_compute(*, month: dt.date, by=None, progress: Progress | None = None) -> RunSummary:
    """Compute (or recompute) the draft invoices of ``month``: one per customer, one line
    per contract and fee component. Replaces the month's drafts; refuses an issued month.
    ``progress(stage, done, total)`` hears how far the contracts are."""
    month = periods.month_start(month)
    run = _locked_run(month, create=True)
    if run.status == RunStatus.ISSUED:
        raise BillingRefused(
            _(
                "%(month)s is issued and its invoices never change. To correct an invoice, void it "
                "and issue a replacement from the admin."
            )
            % {"month": periods.format_month(month)}
        )
    with _account_days_reader(month) as read_account_days:
        _drafts_delete(run)
        run.exceptions.all().delete()
        drafts, exceptions = _compute(month, read_account_days, progress=progress)
    _save_invoices(run, drafts)
    _save_exceptions(run, exceptions)
    run.computed_at = timezone.now()
    run.computed_by = by
    run.save(update_fields=["computed_at", "computed_by"])
    return _summary(run)


def due_date_for(customer: Customer, issue_date: dt.date) -> dt.date:
    """R12: the end of the month following the issue date, unless the customer has terms."""
    if customer.payment_terms_days is not None:
        return issue_date + dt.timedelta(days=customer.payment_terms_days)
    return periods.month_end(periods.next_month(issue_date))


def _next_number(run: BillingRun) -> str:
    run.last_invoice_number += 1
    return f"SK-{run.month.year:04d}{run.month.month:02d}-{run.last_invoice_number:04d}"


def _issue(invoices: list[Invoice], *, run: BillingRun, by, today: dt.date) -> None:
    """Give drafts their numbers (in the given order), dates and issuer snapshot. The
    history of each invoice records the issue (django-simple-history).

    The run's counter is written first: on PostgreSQL an invoice is issued only with a
    number the counter has already reached (0007). The caller saves the run afterwards
    as before (its status, and the audit trail's record of the run)."""
    issuer_fields = issuer()
    now = timezone.now()
    for invoice in invoices:
        invoice.status = InvoiceStatus.ISSUED
        invoice.number = _next_number(run)
        invoice.issue_date = today
        invoice.due_date = due_date_for(invoice.customer, today)
        invoice.issued_at = now
        invoice.issued_by = by
        for name, value in issuer_fields.items():
            setattr(invoice, name, value)
    BillingRun.objects.filter(pk=run.pk).update(last_invoice_number=run.last_invoice_number)
    bulk_update_with_history(
        invoices,
        Invoice,
        ["status", "number", "issue_date", "due_date", "issued_at", "issued_by", *issuer_fields],
        batch_size=1000,
        default_user=by,
    )


@transaction.atomic
def billing_month_issue(*, month: dt.date, by=None, today: dt.date | None = None) -> RunSummary:
    """Issue the month's drafts: gapless numbers in customer-code order, issue and due
    dates, issuer snapshot. Afterwards the month refuses every re-run."""
    month = periods.month_start(month)
    today = today or timezone.localdate()
    run = _locked_run(month, create=False)
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
    run.status = RunStatus.ISSUED
    run.issued_at = timezone.now()
    run.issued_by = by
    run.save(update_fields=["status", "issued_at", "issued_by", "last_invoice_number"])
    return _summary(run)


@transaction.atomic
def invoice_void_and_replace(
    *, invoice: Invoice, by, reason: str, today: dt.date | None = None
) -> Invoice | None:
    """R12: void an issued invoice and issue its replacement, computed from the data as
    it stands now, with the next number of the month's series. Both stay visible.
    Returns the replacement, or None when nothing is billable any more."""
    today = today or timezone.localdate()
    run = _locked_run(invoice.billing_month, create=False)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice.void(by=by, reason=reason)
    with _account_days_reader(invoice.billing_month, [invoice.customer_id]) as read_account_days:
        drafts, exceptions = _compute(
            invoice.billing_month, read_account_days, customer_ids=[invoice.customer_id]
        )
    # the customer's exceptions are recomputed with the replacement: they replace the old ones
    run.exceptions.filter(contract__customer_id=invoice.customer_id).delete()
    _save_exceptions(run, exceptions)
    if not drafts:
        return None
    # lines go in while the replacement is a draft (PostgreSQL refuses lines on an
    # issued invoice); then it is issued with the month's next number
    (replacement_id,) = _save_invoices(run, drafts, replaces=invoice)
    replacement = Invoice.objects.select_related("customer").get(pk=replacement_id)
    _issue([replacement], run=run, by=by, today=today)
    run.save(update_fields=["last_invoice_number"])
    return replacement
