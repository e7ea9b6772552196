"""Customers and their IIJ ID Service contracts, the eligibility of Art. 3."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import VisibleTextModel


def email_addresses(text: str) -> list[str]:
    """The addresses of a field that may hold several, separated by commas or semicolons."""
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def validate_email_list(text: str) -> None:
    for address in email_addresses(text):
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                _("%(address)s is not an email address."), code="invalid", params={"address": address}
            ) from None


class Customer(VisibleTextModel):
    code = models.CharField(_("customer code"), max_length=32, unique=True)
    name = models.CharField(_("customer name"), max_length=200)
    billing_name = models.CharField(
        _("billing name"),
        max_length=200,
        help_text=_("The addressee (宛名) printed on invoices."),
    )
    #: where invoices and credit notes are sent (R19): one address or several
    email = models.CharField(
        _("email"),
        max_length=500,
        blank=True,
        validators=[validate_email_list],
        help_text=_("Where invoices are sent; several addresses separated by commas."),
    )
    email_cc = models.CharField(
        _("email (CC)"),
        max_length=500,
        blank=True,
        validators=[validate_email_list],
        help_text=_("Copied on every invoice sent; several addresses separated by commas."),
    )
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

    def mail_recipients(self) -> tuple[list[str], list[str]]:
        """(to, cc) of the documents sent to the customer."""
        return email_addresses(self.email), email_addresses(self.email_cc)

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
