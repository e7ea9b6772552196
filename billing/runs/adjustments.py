"""R15, settling: a run of month N bills, as ``adjustment`` lines, what the closed months
before N would bill now and their invoices did not: one line per contract, component and
closed month, amount = now − billed.

*Billed* is what the month's live invoice billed for the contract and component, plus the
adjustments already issued for it, less what credit notes of months that netted to a
credit returned of it (their lines keep the month and component, ``CreditNoteLine.
billed_month``). So nothing is billed twice: once an adjustment is issued, recomputing the
same month finds no difference, and a further late change bills only the new one.

Only the (contract, closed month) pairs noted as changed (``late.note_late_changes``) are
recomputed, each month once for all its noted contracts: a run's cost grows with the months
that changed late, not with the months that have passed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, F, Max, Q, Sum, When
from django.utils import translation
from django.utils.translation import gettext as _

from billing.formatting import japanese_date, yen_text
from billing.models import (
    BillingRun,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LateChange,
    LineType,
    OneTimeCharge,
)
from billing.selectors import account_day_histograms
from contracts.models import Contract

from .drafts import DOCUMENT_LANGUAGE, Adjusts, ExceptionDraft, LineDraft
from .fees import month_label

#: the run's notice of a late change it could not settle (R8 refuses the contract)
HELD = "late_change_held"

Pair = tuple[int, dt.date]  # (contract id, closed month)
Key = tuple[int, dt.date, str]  # (contract id, closed month, component)


@dataclass(frozen=True)
class Billed:
    """What a closed month billed for one contract and component, all corrections counted."""

    amount: Decimal
    item: str
    #: the last time an adjustment of it was issued (None: never adjusted)
    adjusted_at: dt.datetime | None = None


NOTHING = Billed(Decimal(0), "")


@dataclass(frozen=True)
class LiveInvoice:
    id: int
    number: str
    issued_at: dt.datetime


def read_notes(run: BillingRun) -> set[Pair]:
    """The (contract, closed month) pairs noted as changed, of the months before the run's,
    marked as read by ``run`` before anything they changed is read: issuing the run settles
    them (``settle_notes``). A change noted while the run computes either committed before
    the mark (the run reads its rows) or notes again after it and stays for the next run."""
    notes = LateChange.objects.filter(month__lt=run.month)
    notes.update(read_by=run)
    return set(notes.values_list("contract_id", "month"))


def settle_notes(run: BillingRun) -> int:
    """Issuing ``run``: the notes it read are settled, but those of contracts it could not
    recompute (``late_change_held``), which wait for a later run."""
    held = run.exceptions.filter(code=HELD).values("contract_id")
    deleted, _per_model = LateChange.objects.filter(read_by=run).exclude(contract_id__in=held).delete()
    return deleted


def billed(pairs: Iterable[Pair]) -> dict[Key, Billed]:
    """What each pair's month billed per component: two queries, whatever the pairs."""
    pairs = set(pairs)
    if not pairs:
        return {}
    contracts = {c for c, _m in pairs}
    months = {m for _c, m in pairs}
    is_adjustment = Q(line_type=LineType.ADJUSTMENT)
    rows = (
        InvoiceLine.objects.filter(invoice__status=InvoiceStatus.ISSUED, contract_id__in=contracts)
        .filter(
            is_adjustment & Q(adjusted_month__in=months)
            | ~is_adjustment & Q(invoice__billing_month__in=months)
        )
        .annotate(
            month=Case(When(is_adjustment, then=F("adjusted_month")), default=F("invoice__billing_month")),
            component=Case(When(is_adjustment, then=F("adjusted_line_type")), default=F("line_type")),
        )
        .values("contract_id", "month", "component")
        .annotate(
            total=Sum("amount"),
            last_item=Max("item"),
            adjusted_at=Max(Case(When(is_adjustment, then=F("invoice__issued_at")))),
        )
        .order_by()
    )
    found: dict[Key, Billed] = {}
    for row in rows:
        if (row["contract_id"], row["month"]) in pairs:
            key = (row["contract_id"], row["month"], row["component"])
            found[key] = Billed(row["total"], row["last_item"], row["adjusted_at"])
    returned = (
        CreditNoteLine.objects.filter(contract_id__in=contracts, billed_month__in=months)
        .values("contract_id", "billed_month", "billed_line_type")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in returned:
        key = (row["contract_id"], row["billed_month"], row["billed_line_type"])
        if key[:2] in pairs:
            before = found.get(key, NOTHING)
            found[key] = Billed(before.amount - row["total"], before.item, before.adjusted_at)
    return found


def live_invoices(pairs: Iterable[Pair], customer_of: dict[int, int]) -> dict[Pair, LiveInvoice]:
    """The live issued invoice of each pair's customer and month, if it had one (one
    query); ``customer_of`` maps each contract to its customer."""
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = Invoice.objects.filter(
        status=InvoiceStatus.ISSUED,
        billing_month__in={m for _c, m in pairs},
        customer_id__in={customer_of[c] for c, _m in pairs},
    ).values_list("customer_id", "billing_month", "pk", "number", "issued_at")
    found = {(customer, month): LiveInvoice(pk, number, at) for customer, month, pk, number, at in rows}
    return {
        (contract_id, month): found[(customer_of[contract_id], month)]
        for contract_id, month in pairs
        if (customer_of[contract_id], month) in found
    }


@dataclass
class Adjustments:
    lines: list[LineDraft]
    notices: list[ExceptionDraft]


def adjust(pairs: Iterable[Pair]) -> Adjustments:
    """The adjustment lines of ``pairs`` (contract, closed month) and the run's notices
    about them, in customer, contract, month order. Per closed month among the pairs: one
    recomputation of its noted contracts (``compute``, as the month's own run computes);
    then three queries for all months together (what was billed, the live invoices, the
    one-time charges changed since)."""
    from .compute import compute

    pairs = set(pairs)
    if not pairs:
        return Adjustments([], [])
    by_month: dict[dt.date, list[int]] = defaultdict(list)
    for contract_id, month in sorted(pairs):
        by_month[month].append(contract_id)
    now: dict[Key, list[LineDraft]] = defaultdict(list)
    held: dict[Pair, ExceptionDraft] = {}
    for month, contract_ids in sorted(by_month.items()):
        drafts, exceptions = compute(
            month,
            lambda m=month, ids=contract_ids: account_day_histograms(m, contract_ids=ids),
            contract_ids=contract_ids,
        )
        for draft in drafts:
            for line in draft.lines:
                now[(line.contract.pk, month, line.line_type)].append(line)
        for exception in exceptions:
            if exception.refuses_billing:
                held[(exception.contract.pk, month)] = exception
    was = billed(pairs)
    contracts = Contract.objects.select_related("customer").in_bulk({c for c, _m in pairs})
    invoices = live_invoices(pairs, {pk: contract.customer_id for pk, contract in contracts.items()})
    keys = sorted(
        {k for k in [*now, *was] if k[:2] not in held},
        key=lambda k: (contracts[k[0]].customer.code, contracts[k[0]].code, k[1], _COMPONENT_ORDER[k[2]]),
    )
    charges = _changed_charges(
        [k[:2] for k in keys if k[2] == LineType.ONE_TIME_FEE], was, invoices, by_month
    )
    result = Adjustments([], [])
    with translation.override(DOCUMENT_LANGUAGE):
        for key in keys:
            contract_id, month, component = key
            lines = now.get(key, [])
            amount_now = sum((line.amount for line in lines), Decimal(0))
            before = was.get(key, NOTHING)
            difference = amount_now - before.amount
            if not difference:
                continue
            contract = contracts[contract_id]
            invoice = invoices.get((contract_id, month))
            detail = charges.get((contract_id, month), "") if component == LineType.ONE_TIME_FEE else ""
            result.lines.append(
                LineDraft(
                    contract,
                    LineType.ADJUSTMENT,
                    lines[0].item if lines else before.item,
                    describe(month, component, invoice.number if invoice else None, detail),
                    Decimal(1),
                    difference,
                    difference,
                    adjusts=Adjusts(month, component, before.amount, invoice.id if invoice else None),
                )
            )
            result.notices.append(_notice(contract, month, component, before.amount, amount_now, invoice))
        for (contract_id, month), refusal in sorted(
            held.items(), key=lambda h: (contracts[h[0][0]].code, h[0][1])
        ):
            result.notices.append(_held(contracts[contract_id], month, refusal))
    return result


_COMPONENT_ORDER = {value: position for position, value in enumerate(LineType.values)}


def describe(month: dt.date, component: str, invoice_number: str | None, detail: str = "") -> str:
    """The adjustment's description: the closed month, the component (with what changed of a
    one-time fee) and the original invoice number."""
    values = {"month": month_label(month), "component": LineType(component).label, "detail": detail}
    if invoice_number:
        values["invoice"] = invoice_number
        if detail:
            return (
                _("Adjustment for %(month)s: %(component)s, %(detail)s (original invoice %(invoice)s)")
                % values
            )
        return _("Adjustment for %(month)s: %(component)s (original invoice %(invoice)s)") % values
    if detail:
        return _("Adjustment for %(month)s: %(component)s, %(detail)s (no invoice that month)") % values
    return _("Adjustment for %(month)s: %(component)s (no invoice that month)") % values


def _changed_charges(
    pairs: list[Pair], was: dict[Key, Billed], invoices: dict[Pair, LiveInvoice], by_month
) -> dict[Pair, str]:
    """For each (contract, closed month): the one-time charges due in the month entered,
    changed or withdrawn since the month was last billed (its live invoice, or its last
    adjustment), from their audit trail: one query."""
    if not pairs:
        return {}
    issued_at = dict(
        BillingRun.objects.filter(month__in={m for _c, m in pairs}).values_list("month", "issued_at")
    )
    since: dict[Pair, dt.datetime] = {}
    for contract_id, month in pairs:
        adjusted = was.get((contract_id, month, LineType.ONE_TIME_FEE), NOTHING).adjusted_at
        invoice = invoices.get((contract_id, month))
        since[(contract_id, month)] = max(
            t for t in (adjusted, invoice.issued_at if invoice else None, issued_at.get(month)) if t
        )
    history = (
        OneTimeCharge.history.filter(
            contract_id__in={c for c, _m in pairs}, history_date__gte=min(since.values())
        )
        .order_by("due_on", "description", "history_date")
        .values_list("contract_id", "due_on", "description", "history_type", "history_date")
    )
    changed: dict[Pair, dict[tuple, str]] = defaultdict(dict)
    for contract_id, due_on, description, kind, when in history:
        pair = (contract_id, dt.date(due_on.year, due_on.month, 1))
        if pair in since and when > since[pair]:
            changed[pair][(due_on, description)] = kind
    texts = {}
    for pair, charges in changed.items():
        texts[pair] = _(", ").join(
            (
                _("%(description)s due %(date)s, withdrawn")
                if kind == "-"
                else _("%(description)s due %(date)s")
            )
            % {"description": description, "date": japanese_date(due_on)}
            for (due_on, description), kind in sorted(charges.items())
        )
    return texts


def _notice(
    contract, month, component, was: Decimal, now: Decimal, invoice: LiveInvoice | None
) -> ExceptionDraft:
    return ExceptionDraft(
        contract,
        "R15",
        "late_change_adjusted",
        _(
            "%(month)s was closed; what it bills for %(component)s changed afterwards: "
            "billed %(was)s yen, now %(now)s yen (original invoice %(invoice)s)."
        )
        % {
            "month": month_label(month),
            "component": LineType(component).label,
            "was": yen_text(was),
            "now": yen_text(now),
            "invoice": invoice.number if invoice else "—",
        },
        _(
            "The difference of %(amount)s yen is on this month's invoice as an adjustment; check it before issuing."
        )
        % {"amount": yen_text(now - was)},
        billed=True,
    )


def _held(contract, month, refusal: ExceptionDraft) -> ExceptionDraft:
    return ExceptionDraft(
        contract,
        "R15",
        HELD,
        _("%(month)s changed after it was closed, but cannot be recomputed: %(problem)s")
        % {"month": month_label(month), "problem": refusal.message},
        _("%(action)s The change stays noted and is settled by the first run after that.")
        % {"action": refusal.action},
        billed=False,
    )


def draft_adjustments(run: BillingRun):
    """The adjustment lines of ``run``'s draft invoices (R15), for its page: contract,
    closed month, component, amount and description, one query."""
    return (
        InvoiceLine.objects.filter(
            invoice__run=run, invoice__status=InvoiceStatus.DRAFT, line_type=LineType.ADJUSTMENT
        )
        .select_related("contract", "invoice")
        .order_by("invoice__customer_code", "contract__code", "adjusted_month", "position")
    )
