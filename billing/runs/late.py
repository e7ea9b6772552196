"""R15, noting: anything written after a month was issued that would change what that
month bills (usage of the month, a one-time charge due in it, a rate card, an item
change, a termination or a billing start affecting it) is noted as a ``LateChange`` of
the contract and closed month, whatever path wrote it: the admin and the shell (model
signals, with the row as it was before), the imports (the engine's ``rows_written``
signal, with what each row spans). The next run reads the notes and settles them
(``adjustments``); issuing it deletes the notes it read.

The same paths note a ``DraftChange`` of every month that has drafts: the dashboard, the
run's page and its issue confirmation compare it with when the drafts were computed, and
say that the data changed since (issue 15, item 9).

A change is a *span* of days of one contract: ``(contract_id, first, last)``, ``last``
None for "from then on". It is noted for every issued month, and every month with drafts,
it touches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from billing.models import (
    AccountRegistration,
    AuthCount,
    AuthTier,
    BillingRun,
    DraftChange,
    LateChange,
    OneTimeCharge,
    RateCard,
    RunStatus,
)
from contracts import periods
from contracts.csvimport import rows_written
from contracts.models import Contract, ItemChange, Termination

Span = tuple[int, dt.date, dt.date | None]


def note_late_changes(spans: Iterable[Span]) -> int:
    """Note every (contract, issued month) that ``spans`` touch (R15), and every (contract,
    month with drafts) as changed since its drafts (``note_changes``); returns how many late
    changes were noted."""
    return note_changes(spans)[0]


def note_changes(spans: Iterable[Span]) -> tuple[int, int]:
    """What ``spans`` change, whatever wrote it (the admin, the shell, an import): a late
    change of every issued month they touch (R15, settled by the next run), and a change
    since the drafts of every month with drafts they touch (the dashboard then says the
    drafts are out of date). Returns how many of each were noted. At most three queries
    whatever the number of spans: the months with runs, then one upsert of each kind."""
    spans = [s for s in spans if s[0] is not None and s[1] is not None]
    if not spans:
        return 0, 0
    runs = list(BillingRun.objects.values_list("month", "status"))
    issued = sorted(month for month, status in runs if status == RunStatus.ISSUED)
    drafts = sorted(month for month, status in runs if status == RunStatus.DRAFT)
    late, changed = _touched(spans, issued), _touched(spans, drafts)
    now = timezone.now()
    if late:
        LateChange.objects.bulk_create(
            [LateChange(contract_id=c, month=m, noted_at=now, read_by=None) for c, m in late],
            update_conflicts=True,
            unique_fields=["contract", "month"],
            # a run that read the note before has not seen this change: it no longer settles it
            update_fields=["noted_at", "read_by"],
        )
    if changed:
        DraftChange.objects.bulk_create(
            [DraftChange(contract_id=c, month=m, changed_at=now) for c, m in changed],
            update_conflicts=True,
            unique_fields=["contract", "month"],
            update_fields=["changed_at"],
        )
    return len(late), len(changed)


def _touched(spans: list[Span], months: list[dt.date]) -> list[tuple[int, dt.date]]:
    """The (contract, month) of ``months`` that ``spans`` touch, in order."""
    if not months:
        return []
    touched = set()
    for contract_id, first, last in spans:
        start, end = periods.month_start(first), last and periods.month_start(last)
        touched.update(
            (contract_id, month) for month in months if month >= start and (end is None or month <= end)
        )
    return sorted(touched)


# --- what each kind of row spans --------------------------------------------------------


def _spans(instance) -> list[Span]:
    """The days of which contract ``instance`` bills (or did, as stored)."""
    if isinstance(instance, AuthCount):
        return [(instance.contract_id, instance.date, instance.date)]
    if isinstance(instance, AccountRegistration):
        return [(instance.contract_id, instance.registered_on, instance.deregistered_on)]
    if isinstance(instance, OneTimeCharge):
        return [(instance.contract_id, instance.due_on, instance.due_on)]
    if isinstance(instance, RateCard):
        return [(instance.contract_id, instance.valid_from, instance.valid_until)]
    if isinstance(instance, AuthTier):
        card = RateCard.objects.filter(pk=instance.rate_card_id).values_list(
            "contract_id", "valid_from", "valid_until"
        )
        return list(card)
    if isinstance(instance, ItemChange):
        return [(instance.contract_id, instance.effective_month, None)]
    if isinstance(instance, Termination):
        # the days between the notice and the (old or new) effective date may change
        return [(instance.contract_id, instance.notice_received_on, None)]
    if isinstance(instance, Contract):
        start = instance.billing_start_on or instance.accepted_on
        return [(instance.pk, start, None)] if start else []
    return []


TRACKED = (
    AuthCount,
    AccountRegistration,
    OneTimeCharge,
    RateCard,
    AuthTier,
    ItemChange,
    Termination,
    Contract,
)


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    stored = sender._default_manager.filter(pk=instance.pk).first()
    instance._late_spans_before = _spans(stored) if stored is not None else []


def _after_save(sender, instance, raw=False, **kwargs):
    if raw:
        return
    note_changes([*getattr(instance, "_late_spans_before", []), *_spans(instance)])
    instance._late_spans_before = []


def _after_delete(sender, instance, **kwargs):
    note_changes(_spans(instance))


def _rows_written(sender, spans, **kwargs):
    """The imports' one hook: one call per import, whatever the number of rows."""
    note_changes(spans)


def connect() -> None:
    """Called once, from the app's ``ready``."""
    for model in TRACKED:
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"late-before-{model.__name__}")
        post_save.connect(_after_save, sender=model, dispatch_uid=f"late-after-{model.__name__}")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=f"late-delete-{model.__name__}")
    rows_written.connect(_rows_written, dispatch_uid="late-rows-written")


def waiting_by_month() -> list[dict]:
    """What the accountants still have to act on (R15), for the run page and the dashboard,
    in one query: per closed month, how many contracts have a late change that no run has
    read yet (``waiting``: the next run bills it) and how many a draft has read (``in_draft``:
    its adjustments are on that draft, billed when it is issued)."""
    from django.db.models import Count, Q

    return list(
        LateChange.objects.order_by("month")
        .values("month")
        .annotate(
            waiting=Count("pk", filter=Q(read_by__isnull=True)),
            in_draft=Count("pk", filter=Q(read_by__isnull=False)),
        )
    )


# --- changes since the drafts (issue 15, item 9) -----------------------------------------

#: what a month's drafts read that the spans above do not cover, and whose every write the
#: audit trail records (the admin, the shell and the imports alike): a customer's names and
#: address, and its IIJ ID Service contracts (Art. 3), for every contract of the customer
CUSTOMER_TRAILS = (("contracts", "customer", "id"), ("contracts", "iijidcontract", "customer_id"))


def _customer_changes(computed_at):
    """Per audit trail of ``CUSTOMER_TRAILS``, its rows written after ``computed_at`` (a
    value or an ``OuterRef``) and the column naming their customer."""
    from django.apps import apps

    return [
        (apps.get_model(app, model).history.model.objects.filter(history_date__gt=computed_at), column)
        for app, model, column in CUSTOMER_TRAILS
    ]


def changed_since_computed():
    """An expression true for a draft run whose data was written after its drafts were
    computed: a change noted for its month (``DraftChange``), or a customer with contracts
    written since (its audit trail, indexed by date). For the runs' own query; a few index
    lookups per run, whatever the number of contracts."""
    from django.db.models import Exists, OuterRef, Q

    noted = DraftChange.objects.filter(month=OuterRef("month"), changed_at__gt=OuterRef("computed_at"))
    expression = Q(Exists(noted))
    for written, column in _customer_changes(OuterRef("computed_at")):
        with_contracts = written.filter(Exists(Contract.objects.filter(customer_id=OuterRef(column))))
        expression |= Q(Exists(with_contracts))
    return expression


def contracts_changed_since(run: BillingRun):
    """The contracts whose data was written after ``run``'s drafts were computed (see
    ``changed_since_computed``), by code: one query to read them. None for an issued run
    (its month's changes are late changes) or one never computed."""
    from django.db.models import Q

    if run.status != RunStatus.DRAFT or run.computed_at is None:
        return Contract.objects.none()
    noted = DraftChange.objects.filter(month=run.month, changed_at__gt=run.computed_at)
    changed = Q(pk__in=noted.values("contract_id"))
    for written, column in _customer_changes(run.computed_at):
        changed |= Q(customer_id__in=written.values(column))
    return Contract.objects.filter(changed).order_by("code")
