"""R15, noting: anything written after a month was issued that would change what that
month bills (usage of the month, a one-time charge due in it, a rate card, an item
change, a termination or a billing start affecting it) is noted as a ``LateChange`` of
the contract and closed month, whatever path wrote it: the admin and the shell (model
signals, with the row as it was before), the imports (the engine's ``rows_written``
signal, with what each row spans). The next run reads the notes and settles them
(``adjustments``); issuing it deletes the notes it read.

A change is a *span* of days of one contract: ``(contract_id, first, last)``, ``last``
None for "from then on". It is noted for every issued month it touches."""

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
    """Note every (contract, issued month) that ``spans`` touch; returns how many notes.
    Two queries whatever the number of spans: the issued months, then one upsert."""
    spans = [s for s in spans if s[0] is not None and s[1] is not None]
    if not spans:
        return 0
    closed = sorted(BillingRun.objects.filter(status=RunStatus.ISSUED).values_list("month", flat=True))
    if not closed:
        return 0
    touched = set()
    for contract_id, first, last in spans:
        start, end = periods.month_start(first), last and periods.month_start(last)
        touched.update(
            (contract_id, month) for month in closed if month >= start and (end is None or month <= end)
        )
    if not touched:
        return 0
    now = timezone.now()
    LateChange.objects.bulk_create(
        [LateChange(contract_id=c, month=m, noted_at=now, read_by=None) for c, m in sorted(touched)],
        update_conflicts=True,
        unique_fields=["contract", "month"],
        # a run that read the note before has not seen this change: it no longer settles it
        update_fields=["noted_at", "read_by"],
    )
    return len(touched)


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
    note_late_changes([*getattr(instance, "_late_spans_before", []), *_spans(instance)])
    instance._late_spans_before = []


def _after_delete(sender, instance, **kwargs):
    note_late_changes(_spans(instance))


def _rows_written(sender, spans, **kwargs):
    note_late_changes(spans)


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
