"""What is used: registered accounts (Enterprise, R10), daily successful authentications
(Service Provider, R11), and one-time charges (Art. 7)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts import periods
from contracts.models import Contract, VisibleTextModel

from .fields import YenField


class AccountRegistration(VisibleTextModel):
    """One registration period of a registered ID (登録ID) of an Enterprise contract.

    An account may have several periods; the periods of one account never overlap (held
    by an exclusion constraint on PostgreSQL and by the import), so its days of use in a
    month are the sum of its periods' days (R10: distinct days)."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="account_registrations", verbose_name=_("contract")
    )
    account_id = models.CharField(_("registered ID"), max_length=128)
    registered_on = models.DateField(_("registered on"))
    deregistered_on = models.DateField(
        _("deregistered on"),
        null=True,
        blank=True,
        help_text=_("The last registered day (inclusive). Empty: still registered."),
    )

    class Meta:
        verbose_name = _("account registration")
        verbose_name_plural = _("account registrations")
        ordering = ["contract__code", "account_id", "registered_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "account_id", "registered_on"],
                name="account_registration_unique",
                violation_error_message=_("This registration of the account is already recorded."),
            ),
            models.CheckConstraint(
                condition=Q(deregistered_on__isnull=True) | Q(deregistered_on__gte=F("registered_on")),
                name="account_deregistered_after_registered",
                violation_error_message=_(
                    "Annex 1 note 1: an account cannot be deregistered before it was registered."
                ),
            ),
        ]
        indexes = [
            models.Index(
                fields=["contract", "registered_on", "deregistered_on"], name="account_reg_billing_idx"
            ),
        ]

    def __str__(self) -> str:
        until = periods.japanese_date(self.deregistered_on) if self.deregistered_on else ""
        return f"{self.contract} {self.account_id} {periods.japanese_date(self.registered_on)}〜{until}"

    def clean(self) -> None:
        """R10: the periods of one account never overlap, also when entered one by one
        (the import checks whole files with the same rule; PostgreSQL refuses them too)."""
        if self.contract_id is None or not self.account_id or self.registered_on is None:
            return
        account = (self.contract_id, self.account_id)
        stored = (
            AccountRegistration.objects.filter(contract_id=self.contract_id, account_id=self.account_id)
            .exclude(pk=self.pk)
            .values_list("registered_on", "deregistered_on")
        )
        periods = [
            (account, self.registered_on, self.deregistered_on, self),
            *((account, *p, None) for p in stored),
        ]
        for earlier, later in overlapping_periods(periods):
            if self in (earlier[3], later[3]):
                other = earlier if later[3] is self else later
                raise ValidationError({"registered_on": overlap_error(self.account_id, other[1], other[2])})


def overlapping_periods(periods):
    """R10: the registration periods of one account never overlap or share a day (a
    period starting the day after another ends is fine). ``periods`` are tuples
    ``(account, registered_on, deregistered_on or None, anything)``; yields the pairs
    ``(earlier, later)`` that break the rule, each later period with the earlier one of
    its account that reaches furthest. The model (``AccountRegistration.clean``) and the
    import (whole files against stored periods) both check with this."""
    reach = None
    for period in sorted(periods, key=lambda p: (p[0], p[1])):
        account, first, last = period[:3]
        if reach is not None and reach[0] == account and first <= (reach[2] or dt.date.max):
            yield reach, period
        if reach is None or reach[0] != account or (last or dt.date.max) > (reach[2] or dt.date.max):
            reach = period


def overlap_error(account_id: str, start: dt.date, end: dt.date | None) -> ValidationError:
    return ValidationError(
        _("account %(account)s is already registered from %(start)s until %(end)s (periods never overlap)"),
        code="overlap",
        params={
            "account": account_id,
            "start": periods.japanese_date(start),
            "end": periods.japanese_date(end) if end else "",
        },
    )


class AuthCount(VisibleTextModel):
    """The successful authentications (認証成功回数) of one Service Provider contract on one
    day. A re-import of a day replaces its count (R11)."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="auth_counts", verbose_name=_("contract")
    )
    date = models.DateField(_("date"))
    success_count = models.BigIntegerField(_("successful authentications"))

    class Meta:
        verbose_name = _("successful authentications (day)")
        verbose_name_plural = _("successful authentications (days)")
        ordering = ["contract__code", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "date"],
                name="auth_count_one_per_day",
                violation_error_message=_("Annex 1 note 2: one count per contract and day."),
            ),
            models.CheckConstraint(
                condition=Q(success_count__gte=0),
                name="auth_count_not_negative",
                violation_error_message=_("Annex 1 note 2: a count cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {periods.japanese_date(self.date)}: {self.success_count:,}"


class OneTimeCharge(VisibleTextModel):
    """A one-time fee (一時費用, Art. 7), billed in the month of its due date."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="one_time_charges", verbose_name=_("contract")
    )
    description = models.CharField(_("description"), max_length=200)
    amount = YenField(_("amount"))
    due_on = models.DateField(
        _("due on"),
        help_text=_(
            "Art. 7: the day the change causing it was accepted, or the day of the event for "
            "matters needing no acceptance."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("one-time charge")
        verbose_name_plural = _("one-time charges")
        ordering = ["contract__code", "due_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "due_on", "description"],
                name="one_time_charge_unique",
                violation_error_message=_("This one-time charge is already recorded."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="one_time_charge_not_negative",
                violation_error_message=_("Art. 7: a one-time fee cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {periods.japanese_date(self.due_on)} {self.description}"
