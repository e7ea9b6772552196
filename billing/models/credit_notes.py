"""Credit notes (適格返還請求書, R16): a return of part of an issued invoice, with its own
gapless series ``CN-YYYYMM-NNNN`` (the month of issue); like an invoice, it never
changes once issued."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from billing import calculation
from contracts.models import Contract, Customer, VisibleTextModel

from .fields import YenField
from .invoices import Invoice, LineType


class CreditNoteImmutable(ValidationError):
    """R16: an issued credit note never changes."""

    @classmethod
    def changed(cls) -> CreditNoteImmutable:
        return cls(_("R16: an issued credit note never changes or goes away."), code="immutable")


class CreditNoteQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.exists():
            raise CreditNoteImmutable.changed()
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        if self.exists():
            raise CreditNoteImmutable.changed()
        return super().delete()

    delete.queryset_only = True


class CreditNoteSeries(models.Model):
    """The counter of one month's series of credit-note numbers; its row is locked while
    a number is given, so that the series stays gapless under concurrent requests."""

    month = models.DateField(_("month of issue"), unique=True)
    last_number = models.PositiveIntegerField(_("last credit note number"), default=0)

    class Meta:
        verbose_name = _("credit note series")
        verbose_name_plural = _("credit note series")
        constraints = [
            models.CheckConstraint(condition=Q(month__day=1), name="credit_note_series_first_of_month")
        ]

    def __str__(self) -> str:
        return f"CN-{self.month:%Y%m}"


class CreditNote(VisibleTextModel):
    """R16: returns part of an issued, live invoice: an amount (tax excluded) up to what
    the invoice and its earlier credit notes leave, its tax computed once and truncated."""

    class Origin(models.TextChoices):
        MANUAL = "manual", _("issued by an accountant")
        NEGATIVE_MONTH = "negative_month", _("a month whose adjustments net to a credit (R15)")

    number = models.CharField(_("credit note number"), max_length=20, unique=True)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("credited invoice")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="credit_notes", verbose_name=_("customer")
    )
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices, default=Origin.MANUAL)
    #: the month whose run made it, for a month that netted to a credit
    billing_month = models.DateField(_("billing month of the run"), null=True, blank=True)
    issue_date = models.DateField(_("issue date"))
    reason = models.TextField(_("reason"))
    subtotal = YenField(_("credited amount (tax excluded)"))
    tax_rate = models.DecimalField(
        _("tax rate"), max_digits=4, decimal_places=2, default=calculation.TAX_RATE
    )
    tax = YenField(_("consumption tax"))
    total = YenField(_("total"))
    # recipient and issuer as they stood when it was issued (qualified invoice items)
    customer_code = models.CharField(_("customer code"), max_length=32)
    customer_name = models.CharField(_("customer name"), max_length=200)
    billing_name = models.CharField(_("billing name"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    issuer_name = models.CharField(_("issuer"), max_length=200)
    issuer_address = models.CharField(_("issuer address"), max_length=300)
    issuer_registration_number = models.CharField(_("registration number"), max_length=14)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )

    objects = CreditNoteQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-issue_date", "-number"]
        permissions = [("issue_creditnote", _("Can issue a credit note against an issued invoice"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal__gt=0) & Q(tax__gte=0) & Q(total=F("subtotal") + F("tax")),
                name="credit_note_amounts",
                violation_error_message=_(
                    "R16: a credit note returns a positive amount; total = amount + tax."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        # R16: written once, when issued (``billing.runs.credit_notes.credit_note_issue``)
        if self.pk is not None or not getattr(self, "_issuing", False):
            raise CreditNoteImmutable.changed()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise CreditNoteImmutable.changed()

    @property
    def transaction_period(self) -> tuple[dt.date, dt.date]:
        """The original transaction's period: the credited invoice's billing month."""
        return self.invoice.period


class CreditNoteLine(models.Model):
    """What a credit note returns, line by line (positive: credited). A credit note by an
    accountant has one line, its reason; a month that netted to a credit has the month's
    lines, each with its sign turned (R15)."""

    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.CASCADE, related_name="lines", verbose_name=_("credit note")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contract"),
    )
    line_type = models.CharField(_("line type"), max_length=20, choices=LineType.choices)
    description = models.CharField(_("description"), max_length=300)
    amount = YenField(_("credited amount"))
    # a month that netted to a credit (R15): the month and component the line billed, so
    # that later adjustments count what this credit note settled
    billed_month = models.DateField(_("billed month"), null=True, blank=True)
    billed_line_type = models.CharField(
        _("billed component"), max_length=20, choices=LineType.choices, blank=True, db_default=""
    )

    class Meta:
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        ordering = ["credit_note", "position"]
        constraints = [
            models.UniqueConstraint(fields=["credit_note", "position"], name="credit_note_line_position")
        ]

    def __str__(self) -> str:
        return f"{self.credit_note} {self.position}"

    def save(self, *args, **kwargs):
        # written with its credit note, in bulk, when it is issued
        raise CreditNoteImmutable.changed()

    def delete(self, *args, **kwargs):
        raise CreditNoteImmutable.changed()
