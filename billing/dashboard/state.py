"""The state of the month at a glance (admin index) and a contract's usage by month
(contract page). Every figure is aggregated in SQL: a constant number of queries,
one per chart, whatever the number of invoices, accounts or days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.admin.usage import breakdown_url
from billing.exports import receivables
from billing.models import (
    AccountRegistration,
    AuthCount,
    BillingRun,
    InvoiceLine,
    InvoiceStatus,
    RateCard,
    RunException,
    RunStatus,
)
from billing.models.invoices import LIVE_STATUSES
from billing.runs import late
from contracts import periods
from contracts.models import Contract, Item

from . import charts

#: months shown by the charts, the last being the current month
CHART_MONTHS = 12
#: exceptions listed on the dashboard; the run's page lists them all
EXCEPTIONS_SHOWN = 15
ITEM_COLORS = {Item.ENTERPRISE: "#417690", Item.SERVICE_PROVIDER: "#e0a030"}


def _today() -> dt.date:
    """Today in Japan (R13); one place, so that tests can pin it."""
    return timezone.localdate()


def chart_months(today: dt.date, count: int = CHART_MONTHS) -> list[dt.date]:
    current = periods.month_start(today)
    return [periods.add_months(current, k) for k in range(-count + 1, 1)]


# --- admin index ----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthState:
    month: dt.date
    label: str
    role: str
    run: BillingRun | None
    status: str
    invoices: int
    total: Decimal
    exceptions: int
    url: str
    #: the journal file, once the month is issued
    journal_url: str = ""
    #: when the drafts were computed, and whether data they read has changed since
    computed_at: dt.datetime | None = None
    changed_since: bool = False


def month_states(today: dt.date) -> list[MonthState]:
    """The previous month (the one usually being billed) and the current month, with
    their run's state. One query."""
    current = periods.month_start(today)
    previous = periods.add_months(current, -1)
    live = Q(invoices__status__in=LIVE_STATUSES)
    # exceptions counted in a subquery: a second join would multiply the invoice sums
    exception_count = (
        RunException.objects.filter(run=OuterRef("pk"))
        .order_by()
        .values("run")
        .annotate(n=Count("pk"))
        .values("n")
    )
    runs = {
        run.month: run
        for run in BillingRun.objects.filter(month__in=[previous, current]).annotate(
            invoice_count=Count("invoices", filter=live),
            billed_total=Sum("invoices__total", filter=live),
            exception_count=Coalesce(Subquery(exception_count, output_field=IntegerField()), 0),
            data_changed=ExpressionWrapper(late.changed_since_computed(), output_field=BooleanField()),
        )
    }
    states = []
    for month, role in ((previous, _("usually being billed")), (current, _("current month"))):
        run = runs.get(month)
        if run is None:
            status, url = _("not computed"), reverse("admin:billing_billingrun_run")
        else:
            status = run.get_status_display()
            url = reverse("admin:billing_billingrun_change", args=[run.pk])
        states.append(
            MonthState(
                month=month,
                label=charts.full_month_label(month),
                role=role,
                run=run,
                status=status,
                invoices=run.invoice_count if run else 0,
                total=(run.billed_total or Decimal(0)) if run else Decimal(0),
                exceptions=run.exception_count if run else 0,
                url=url,
                journal_url=(
                    reverse("admin:billing_billingrun_journal", args=[run.pk, "yayoi"])
                    if run is not None and run.status == RunStatus.ISSUED
                    else ""
                ),
                computed_at=run.computed_at if run else None,
                changed_since=bool(run is not None and run.status == RunStatus.DRAFT and run.data_changed),
            )
        )
    return states


def open_exceptions(today: dt.date, limit: int = EXCEPTIONS_SHOWN) -> list[RunException]:
    """The exceptions of the previous and current months' runs, those that left a
    contract unbilled first. One query."""
    current = periods.month_start(today)
    months = [periods.add_months(current, -1), current]
    return list(
        RunException.objects.filter(run__month__in=months)
        .select_related("run", "contract")
        .order_by("billed", "-run__month", "contract__code", "rule")[:limit]
    )


@dataclass(frozen=True)
class RateCardsToAct:
    awaiting_approval: int
    awaiting_notification: int
    approval_url: str
    notification_url: str


def rate_cards_to_act() -> RateCardsToAct:
    """R8: cards that cannot be billed yet. One query."""
    counts = RateCard.objects.aggregate(
        unapproved=Count("pk", filter=Q(approved_by__isnull=True)),
        unnotified=Count("pk", filter=Q(approved_by__isnull=False, notified_on__isnull=True)),
    )
    changelist = reverse("admin:billing_ratecard_changelist")
    return RateCardsToAct(
        counts["unapproved"],
        counts["unnotified"],
        f"{changelist}?billable=unapproved",
        f"{changelist}?billable=unnotified",
    )


def billed_by_item_chart(today: dt.date) -> charts.BarChart:
    """Billed amounts (tax excluded: tax is computed per invoice, not per item) of the
    issued invoices of the last 12 months, by item: drafts are not billed yet. One query."""
    months = chart_months(today)
    rows = (
        InvoiceLine.objects.filter(
            invoice__status=InvoiceStatus.ISSUED, invoice__billing_month__range=(months[0], months[-1])
        )
        .order_by()
        .values("invoice__billing_month", "item")
        .annotate(total=Sum("amount"))
    )
    totals = {(row["invoice__billing_month"], row["item"]): row["total"] for row in rows}
    series = [
        charts.Series(
            str(item.label),
            [Decimal(totals.get((month, item.value)) or 0) for month in months],
            ITEM_COLORS[item],
        )
        for item in Item
    ]
    return charts.bar_chart(
        title=_("Billed by item, last 12 months (yen, tax excluded)"),
        months=months,
        series=series,
        fmt=lambda v: f"¥{int(v):,}",
    )


@dataclass(frozen=True)
class NeverBilled:
    contract_id: int
    code: str
    months: list[str]


def never_billed(today: dt.date, limit: int = EXCEPTIONS_SHOWN) -> tuple[list[NeverBilled], int]:
    """Contracts in service in issued months of the last 12 that no issued invoice of those
    months billed (entered after the month was issued, or held by an exception): the first
    ``limit`` by code, and how many in all. Three queries."""
    window = chart_months(today)[:-1]
    issued = sorted(
        BillingRun.objects.filter(status=RunStatus.ISSUED, month__range=(window[0], window[-1])).values_list(
            "month", flat=True
        )
    )
    if not issued:
        return [], 0
    billed = set(
        InvoiceLine.objects.filter(invoice__status=InvoiceStatus.ISSUED, invoice__billing_month__in=issued)
        .order_by()
        .values_list("contract_id", "invoice__billing_month")
        .distinct()
    )
    contracts = (
        Contract.objects.filter(
            billing_start_on__isnull=False, billing_start_on__lte=periods.month_end(issued[-1])
        )
        .exclude(termination__effective_on__lt=issued[0])
        .order_by("code")
        .values_list("pk", "code", "billing_start_on", "termination__effective_on")
    )
    found, total = [], 0
    for pk, code, start, end in contracts.iterator():
        missing = [
            month
            for month in issued
            if periods.month_end(month) >= start
            and (end is None or month <= end)
            and (pk, month) not in billed
        ]
        if missing:
            total += 1
            if len(found) < limit:
                found.append(NeverBilled(pk, code, [charts.full_month_label(month) for month in missing]))
    return found, total


@dataclass(frozen=True)
class Collection:
    """What the invoices due in ``month`` billed and what was collected of it (R17)."""

    month: str
    billed: int
    collected: int

    @property
    def rate(self) -> int | None:
        """Percent collected, truncated (None when nothing was due)."""
        return self.collected * 100 // self.billed if self.billed else None


def collection_of_last_month(today: dt.date) -> Collection:
    last = periods.add_months(periods.month_start(today), -1)
    billed, collected = receivables.collection(last, periods.month_end(last), today)
    return Collection(charts.full_month_label(last), billed, collected)


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    months: list[MonthState]
    exceptions: list[RunException]
    exceptions_total: int
    rate_cards: RateCardsToAct
    chart: charts.BarChart
    never_billed: list[NeverBilled]
    never_billed_total: int
    #: R15: per closed month, the contracts whose late changes wait for a run or are on a draft
    late_changes: list[dict]
    #: R17: the open balances by aging bucket, and what was collected of last month's due invoices
    receivables: list[tuple[str, int]]
    collection: Collection


def dashboard(today: dt.date | None = None) -> Dashboard:
    """Everything the admin index shows: seven queries."""
    today = today or _today()
    months = month_states(today)
    unbilled, unbilled_total = never_billed(today)
    return Dashboard(
        never_billed=unbilled,
        never_billed_total=unbilled_total,
        today=today,
        months=months,
        exceptions=open_exceptions(today),
        exceptions_total=sum(m.exceptions for m in months),
        rate_cards=rate_cards_to_act(),
        chart=billed_by_item_chart(today),
        receivables=receivables.aging_totals(today),
        collection=collection_of_last_month(today),
        late_changes=[
            {**row, "month_label": charts.full_month_label(row["month"])} for row in late.waiting_by_month()
        ],
    )


# --- contract page ----------------------------------------------------------------------


def _month_bounds(months: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    return [(m, periods.month_end(m)) for m in months]


def registered_accounts_by_month(contract: Contract, months: list[dt.date]) -> list[int]:
    """R10: distinct registered IDs with a registration on some day of each month (one
    query: one filtered COUNT(DISTINCT) per month)."""
    aggregates = {
        f"m{i}": Count(
            "account_id",
            distinct=True,
            filter=Q(registered_on__lte=last)
            & (Q(deregistered_on__isnull=True) | Q(deregistered_on__gte=first)),
        )
        for i, (first, last) in enumerate(_month_bounds(months))
    }
    counts = AccountRegistration.objects.filter(contract=contract).aggregate(**aggregates)
    return [counts[f"m{i}"] or 0 for i in range(len(months))]


def authentications_by_month(contract: Contract, months: list[dt.date]) -> list[int]:
    """R11: successful authentications (認証成功回数) of each month (one query)."""
    aggregates = {
        f"m{i}": Sum("success_count", filter=Q(date__range=(first, last)))
        for i, (first, last) in enumerate(_month_bounds(months))
    }
    sums = AuthCount.objects.filter(contract=contract, date__range=(months[0], periods.month_end(months[-1])))
    totals = sums.aggregate(**aggregates)
    return [int(totals[f"m{i}"] or 0) for i in range(len(months))]


@dataclass(frozen=True)
class BreakdownLink:
    label: str
    url: str


@dataclass(frozen=True)
class ContractUsage:
    charts: list[charts.BarChart]
    breakdowns: list[BreakdownLink]


def contract_usage(contract: Contract, today: dt.date | None = None) -> ContractUsage:
    """The usage charts of one contract: registered accounts for the months it was
    Enterprise, successful authentications for the months it was Service Provider
    (both if its item changed). One query per chart, plus one for its item changes."""
    today = today or _today()
    months = chart_months(today)
    prefetch_related_objects([contract], "item_changes")
    items = [contract.item_for_month(month) for month in months]
    result = []
    if Item.ENTERPRISE in items:
        result.append(
            charts.bar_chart(
                title=_("Registered IDs by month"),
                months=months,
                series=[
                    charts.Series(
                        _("registered IDs"),
                        registered_accounts_by_month(contract, months),
                        ITEM_COLORS[Item.ENTERPRISE],
                    )
                ],
            )
        )
    if Item.SERVICE_PROVIDER in items:
        result.append(
            charts.bar_chart(
                title=_("Successful authentications by month"),
                months=months,
                series=[
                    charts.Series(
                        _("successful authentications"),
                        authentications_by_month(contract, months),
                        ITEM_COLORS[Item.SERVICE_PROVIDER],
                    )
                ],
            )
        )
    links = [
        BreakdownLink(charts.full_month_label(month), breakdown_url(contract.pk, month))
        for month, item in zip(months, items, strict=True)
        if item == Item.ENTERPRISE and contract.service_days_in_month(month)
    ]
    return ContractUsage(result, list(reversed(links)))
