"""Computing a month: the lines and exceptions of every contract (R3–R11), one invoice
per customer (R12). Nothing is written here (``month`` writes the drafts)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.utils import translation
from django.utils.translation import gettext as _

from billing.selectors import AuthTotals, account_day_histograms, auth_count_totals
from contracts import periods
from contracts.models import Contract, Item
from contracts.progress import Progress, report_every

from . import fees
from .drafts import DOCUMENT_LANGUAGE, ExceptionDraft, InvoiceDraft, LineDraft
from .loading import BilledContract, contracts_billable_in

_NO_COUNTS = AuthTotals(0, 0, 0)


def bill_contract(
    contract: BilledContract,
    month: dt.date,
    auth: dict[int, AuthTotals],
    texts: dict[str, str],
    to_settle: list[fees.AccountFeeToSettle],
) -> tuple[list[LineDraft], list[ExceptionDraft]]:
    """Lines and exceptions of one contract for one month, in invoice order, described with
    ``texts`` (``fees.line_texts``). An Enterprise contract's account fee is added to
    ``to_settle``: its amount is None until the month's days of use are read."""
    lines: list[LineDraft] = []
    exceptions: list[ExceptionDraft] = []
    days_in_month = periods.days_in_month(month)
    window = contract.service_window(month)
    service_days = (window[1] - window[0]).days + 1 if window else 0
    item = contract.item_for_month(month)

    def found(exception):
        if exception is not None:
            exceptions.append(exception)

    card = None
    if service_days:
        card = contract.billing_cards[0] if contract.billing_cards else None
        refusal = fees.rate_card_refusal(contract, card, item, month)
        if refusal is not None:
            return [], [refusal]
    elif not contract.charges_this_month:
        return [], []
    if window:
        found(fees.iijid_lapse(contract, window, month))
    found(fees.termination_form_missing(contract))
    initial = fees.initial_fee(contract, month, item, texts)
    if initial is not None:
        lines.append(initial)
    if service_days:
        lines.append(fees.base_fee(contract, card, item, service_days, days_in_month, texts))
        if item == Item.ENTERPRISE:
            account = fees.account_fee(contract, card, item, service_days, days_in_month)
            lines.append(account.line)
            to_settle.append(account)
        else:
            totals = auth.get(contract.pk, _NO_COUNTS)
            line, missing = fees.auth_api_fee(contract, card, item, totals, month, texts)
            lines.append(line)
            found(missing)
    totals = auth.get(contract.pk)
    if totals is not None and totals.days_outside_service:
        exceptions.append(fees.counts_outside_service(contract, totals.days_outside_service, billed=True))
    lines.extend(fees.one_time_fees(contract, item))
    return lines, exceptions


def _account_days_on_own_connection(month: dt.date, customer_ids=None) -> dict[int, dict[int, int]]:
    try:
        return account_day_histograms(month, customer_ids)
    finally:
        connection.close()  # this thread's own connection (Django's are per thread)


def reads_on_second_connection() -> bool:
    """Whether ``account_days_reader`` reads on a second connection while this one works
    (PostgreSQL, this transaction the outermost one)."""
    return connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1


@contextlib.contextmanager
def account_days_reader(
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
    if not reads_on_second_connection():
        yield functools.cache(lambda: account_day_histograms(month, customer_ids))
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="billing-account-days") as pool:
        pending = pool.submit(_account_days_on_own_connection, month, customer_ids)
        yield pending.result


def compute(
    month: dt.date,
    read_account_days: Callable[[], dict[int, dict[int, int]]],
    customer_ids=None,
    progress: Progress | None = None,
    contract_ids=None,
) -> tuple[list[InvoiceDraft], list[ExceptionDraft]]:
    """The drafts and exceptions of ``month`` (of the given customers or contracts only,
    if given)."""
    invoices: dict[int, InvoiceDraft] = {}
    exceptions: list[ExceptionDraft] = []
    to_settle: list[fees.AccountFeeToSettle] = []
    contracts = contracts_billable_in(month, customer_ids, contract_ids)
    auth = auth_count_totals(month, contract_ids)
    tick = report_every(progress, _("contracts"), len(contracts), step=500)
    with translation.override(DOCUMENT_LANGUAGE):
        texts = fees.line_texts(month)
        for done, contract in enumerate(contracts, start=1):
            tick(done)
            lines, found = bill_contract(contract, month, auth, texts, to_settle)
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
                exceptions.append(fees.counts_outside_service(contract, days, billed=False))
        histograms = read_account_days()
        for account_fee in to_settle:
            exceptions.extend(account_fee.settle(histograms.get(account_fee.line.contract.pk, {}), texts))
    return list(invoices.values()), exceptions
