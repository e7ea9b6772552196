"""Customers and their IIJ ID Service contracts, the eligibility of Art. 3."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import VisibleTextModel


class Customer(VisibleTextModel):
    code = models.CharField(_("customer code"), max_length=32, unique=True)
    name = models.CharField(_("customer name"), max_length=200)
    billing_name = models.CharField(
        _("billing name"),
        max_length=200,
        help_text=_("The addressee (宛名) printed on invoices."),
    )
    email = models.EmailField(_("email"), blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(
        _("payment terms (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Days from the issue date to the due date. Empty: the end of the month following the issue date."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def has_active_iijid_contract_on(self, day: dt.date) -> bool:
        """Art. 3: whether an IIJ ID Service contract of the customer is active on ``day``."""
        return any(c.is_active_on(day) for c in self.iijid_contracts.all())


class IIJIDContract(VisibleTextModel):
    """An IIJ ID Service contract: the eligibility condition of Art. 3."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="iijid_contracts",
        verbose_name=_("customer"),
    )
    code = models.CharField(_("IIJ ID Service contract code"), max_length=32, unique=True)
    start_on = models.DateField(_("start date"))
    end_on = models.DateField(
        _("end date"), null=True, blank=True, help_text=_("Last day of the contract. Empty: open.")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("IIJ ID Service contract")
        verbose_name_plural = _("IIJ ID Service contracts")
        ordering = ["customer__code", "start_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=models.F("start_on")),
                name="iijid_end_not_before_start",
                violation_error_message=_(
                    "Art. 3: the end date of an IIJ ID Service contract cannot be before its start date."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def is_active_on(self, day: dt.date) -> bool:
        return self.start_on <= day and (self.end_on is None or day <= self.end_on)
