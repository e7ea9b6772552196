"""What changes a contract after acceptance: item changes, only from the first day of a
later month (Art. 4), and the termination notice with its effective date (Art. 6)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts import periods
from contracts.periods import japanese_date, japanese_month

from .base import VisibleTextModel
from .contracts import Contract, Item


class ItemChange(VisibleTextModel):
    """Art. 4: a change of item, only ever from the first day of a calendar month."""

    contract = models.ForeignKey(
        Contract,
        on_delete=models.CASCADE,
        related_name="item_changes",
        verbose_name=_("contract"),
    )
    item = models.CharField(_("new item"), max_length=20, choices=Item.choices)
    effective_month = models.DateField(
        _("effective month"),
        help_text=_(
            "First day of the month from which the new item applies; later than the month "
            "in which the change is accepted."
        ),
    )
    requested_on = models.DateField(_("request date"))
    accepted_on = models.DateField(_("acceptance date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("item change")
        verbose_name_plural = _("item changes")
        ordering = ["contract__code", "effective_month"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "effective_month"],
                name="item_change_one_per_month",
                violation_error_message=_("Art. 4: a contract changes item at most once a month."),
            ),
            models.CheckConstraint(
                condition=Q(item__in=Item.values),
                name="item_change_item_valid",
                violation_error_message=_("Art. 1: the item must be Enterprise or Service Provider."),
            ),
            models.CheckConstraint(
                condition=Q(effective_month__day=1),
                name="item_change_first_of_month",
                violation_error_message=_("Art. 4: an item change takes effect on the first day of a month."),
            ),
            models.CheckConstraint(
                condition=Q(effective_month__gt=models.F("accepted_on")),
                name="item_change_after_acceptance_month",
                violation_error_message=_(
                    "Art. 4: an item change takes effect in a month later than the month in "
                    "which it is accepted."
                ),
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__gte=models.F("requested_on")),
                name="item_change_accepted_after_requested",
                violation_error_message=_("Art. 4: a change cannot be accepted before it was requested."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} → {self.get_item_display()} ({japanese_month(self.effective_month)})"

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.effective_month and self.effective_month.day != 1:
            errors.setdefault("effective_month", []).append(
                ValidationError(
                    _("Art. 4: an item change takes effect on the first day of a month."),
                    code="art4_not_first_of_month",
                )
            )
        if (
            self.effective_month
            and self.accepted_on
            and self.effective_month <= periods.month_end(self.accepted_on)
        ):
            errors.setdefault("effective_month", []).append(
                ValidationError(
                    _(
                        "Art. 4: the change is accepted on %(accepted)s, so it can take effect "
                        "from %(earliest)s at the earliest (a month that has begun is never changed)."
                    ),
                    code="art4_month_begun",
                    params={
                        "accepted": japanese_date(self.accepted_on),
                        "earliest": japanese_month(periods.next_month(self.accepted_on)),
                    },
                )
            )
        if self.requested_on and self.accepted_on and self.accepted_on < self.requested_on:
            errors.setdefault("accepted_on", []).append(
                ValidationError(
                    _("Art. 4: a change cannot be accepted before it was requested."),
                    code="art4_accepted_before_requested",
                )
            )
        if self.contract_id is not None and self.effective_month:
            self._clean_against_contract(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_against_contract(self, errors: dict[str, list]) -> None:
        contract = self.contract
        if contract.accepted_on is None:
            errors.setdefault("contract", []).append(
                ValidationError(
                    _("Art. 4: only an accepted contract can change item."),
                    code="art4_contract_not_accepted",
                )
            )
            return
        if self.accepted_on and self.accepted_on < contract.accepted_on:
            errors.setdefault("accepted_on", []).append(
                ValidationError(
                    _("Art. 4: a change cannot be accepted before the contract itself (%(date)s)."),
                    code="art4_before_contract",
                    params={"date": japanese_date(contract.accepted_on)},
                )
            )
        end = contract.termination_effective_on
        if end is not None and self.effective_month > end:
            errors.setdefault("effective_month", []).append(
                ValidationError(
                    _("Art. 6: the contract ends on %(date)s, before this change would take effect."),
                    code="art6_change_after_termination",
                    params={"date": japanese_date(end)},
                )
            )
        others = [
            c for c in contract.item_changes.all() if c is not self and (c.pk is None or c.pk != self.pk)
        ]
        earlier = [c for c in others if c.effective_month < self.effective_month]
        previous = max(earlier, key=lambda c: c.effective_month).item if earlier else contract.item
        if self.item == previous:
            errors.setdefault("item", []).append(
                ValidationError(
                    _("Art. 4: the item in force before %(month)s is already %(item)s."),
                    code="art4_same_item",
                    params={
                        "month": japanese_month(self.effective_month),
                        "item": Item(self.item).label,
                    },
                )
            )


class Termination(VisibleTextModel):
    """Art. 6: a termination notice and the day it takes effect."""

    contract = models.OneToOneField(
        Contract,
        on_delete=models.CASCADE,
        related_name="termination",
        verbose_name=_("contract"),
    )
    on_prescribed_form = models.BooleanField(
        _("on the prescribed termination form"),
        help_text=_(
            "Whether the notice came on the company's prescribed termination form (解約申込書). "
            "Without it the notice is recorded but takes no effect."
        ),
    )
    notice_received_on = models.DateField(
        _("notice received on"), help_text=_("The day the notice reached the company.")
    )
    requested_on = models.DateField(
        _("requested effective date"),
        null=True,
        blank=True,
        help_text=_("The effective date the contractor designated in the notice, if any."),
    )
    effective_on = models.DateField(
        _("effective date"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Computed (Art. 6): the later of 30 days after the notice arrived and the requested "
            "date; the last day of service and of billing. Empty until the prescribed form arrives."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("termination notice")
        verbose_name_plural = _("termination notices")
        ordering = ["contract__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_prescribed_form=False, effective_on__isnull=True)
                | Q(
                    on_prescribed_form=True,
                    effective_on__gt=models.F("notice_received_on"),
                )
                & (Q(requested_on__isnull=True) | Q(effective_on__gte=models.F("requested_on"))),
                name="termination_effective_date_consistent",
                violation_error_message=_(
                    "Art. 6: the effective date is the later of 30 days after arrival and the "
                    "requested date, and exists only for a notice on the prescribed form."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} ({japanese_date(self.effective_on) if self.effective_on else '—'})"

    def save(self, *args, **kwargs):
        # A derived column of this row only; kept in the table so that billing can
        # read the service period in SQL. PostgreSQL recomputes it in a trigger too.
        self.effective_on = self.compute_effective_on()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "effective_on"}
        super().save(*args, **kwargs)

    def compute_effective_on(self) -> dt.date | None:
        """R6: no effective date without the prescribed form."""
        if not self.on_prescribed_form or self.notice_received_on is None:
            return None
        return periods.termination_effective_on(self.notice_received_on, self.requested_on)

    def clean(self) -> None:
        # the computed date is kept only once the notice passes: a refused notice shows
        # no effective date beside its error
        effective_on = self.compute_effective_on()
        self._refuse(effective_on)
        self.effective_on = effective_on

    def _refuse(self, effective_on: dt.date | None) -> None:
        if self.contract_id is None or self.notice_received_on is None:
            return
        contract = self.contract
        if contract.accepted_on is None:
            raise ValidationError(
                {
                    "contract": ValidationError(
                        _("Art. 6: only an accepted contract can be terminated."),
                        code="art6_not_accepted",
                    )
                }
            )
        if self.notice_received_on < contract.accepted_on:
            raise ValidationError(
                {
                    "notice_received_on": ValidationError(
                        _("Art. 6: the notice cannot arrive before the contract was accepted (%(date)s)."),
                        code="art6_notice_before_acceptance",
                        params={"date": japanese_date(contract.accepted_on)},
                    )
                }
            )
        last_change = max((c.effective_month for c in contract.item_changes.all()), default=None)
        if effective_on is not None and last_change is not None and last_change > effective_on:
            raise ValidationError(
                {
                    "requested_on": ValidationError(
                        _(
                            "Art. 6: an item change takes effect on %(month)s, after this "
                            "termination; withdraw the item change first."
                        ),
                        code="art6_item_change_after_end",
                        params={"month": japanese_month(last_change)},
                    )
                }
            )
