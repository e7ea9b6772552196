"""What is used: registered accounts (Enterprise, R10), daily successful authentications
(Service Provider, R11), and one-time charges (Art. 7)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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
        return f"{self.contract} {self.account_id} {self.registered_on}〜{self.deregistered_on or ''}"

    def clean(self) -> None:
        """R10: the periods of one account never overlap, also when entered one by one
        (the import checks whole files; PostgreSQL refuses them without a message)."""
        if self.contract_id is None or not self.account_id or self.registered_on is None:
            return
        others = AccountRegistration.objects.filter(
            Q(deregistered_on__isnull=True) | Q(deregistered_on__gte=self.registered_on),
            contract_id=self.contract_id,
            account_id=self.account_id,
            registered_on__lte=self.deregistered_on or dt.date.max,
        ).exclude(pk=self.pk)
        other = others.order_by("registered_on").first()
        if other is not None:
            raise ValidationError(
                {
                    "registered_on": ValidationError(
                        _(
                            "account %(account)s is already registered from %(start)s until %(end)s (periods never overlap)"
                        ),
                        code="overlap",
                        params={
                            "account": self.account_id,
                            "start": other.registered_on.isoformat(),
                            "end": other.deregistered_on.isoformat() if other.deregistered_on else "",
                        },
                    )
                }
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
        return f"{self.contract} {self.date}: {self.success_count}"


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
        return f"{self.contract} {self.due_on} {self.description}"
