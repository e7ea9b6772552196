"""The month's run: its drafts computed and written, with the adjustments of the closed
months before it (R15)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import RunStatus
from contracts import periods
from contracts.progress import Progress

from . import adjustments, persist
from .compute import account_days_reader, compute, reads_on_second_connection
from .drafts import BillingRefused, RunSummary, with_adjustments


def billing_month_compute(*, month: dt.date, by=None, progress: Progress | None = None) -> RunSummary:
    """Compute (or recompute) the draft invoices of ``month``: one per customer, one line
    per contract and fee component. Replaces the month's drafts; refuses an issued month.
    ``progress(stage, done, total)`` hears how far the contracts are."""
    with cyclic_gc_paused():
        return _billing_month_compute(month=month, by=by, progress=progress)


@contextlib.contextmanager
def cyclic_gc_paused():
    """Python's cycle collector paused for the run, then resumed as it was.

    A run makes tens of thousands of objects that live until it ends (contracts, lines,
    drafts, the rows it writes): they trigger the collector's full collections, each of
    which walks every object of the process, Django's included (at the ``small`` size of
    ``benchmark_billing``, one full collection of 0.06-0.11 s in a run of about 0.4 s).
    Reference counting frees nearly all of them when the run ends; the few cycles among
    them are collected after it. Another thread of the same process goes without the
    collector meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@transaction.atomic
def _billing_month_compute(*, month: dt.date, by, progress: Progress | None) -> RunSummary:
    month = periods.month_start(month)
    run = persist.locked_run(month, create=True)
    if run.status == RunStatus.ISSUED:
        raise BillingRefused(
            _(
                "%(month)s is issued and its invoices never change. To correct an invoice, void it "
                "and issue a replacement from the admin."
            )
            % {"month": periods.japanese_month(month)}
        )
    with account_days_reader(month) as read_account_days:
        persist.drafts_delete(run, by=by)
        run.exceptions.all().delete()
        if reads_on_second_connection():
            # while the days of use are read: not at COMMIT, after the writes
            persist.check_references_to_deleted_invoices()
        drafts, exceptions = compute(month, read_account_days, progress=progress)
    # R15: what the closed months before it would bill now and did not
    late = adjustments.adjust(adjustments.read_notes(run))
    persist.save_invoices(run, with_adjustments(drafts, late.lines), by=by)
    persist.save_exceptions(run, [*exceptions, *late.notices])
    run.computed_at = timezone.now()
    run.computed_by = by
    run._history_user = by  # the run's history names who computed, from the commands too
    run.save(update_fields=["computed_at", "computed_by"])
    return persist.summary(run)
