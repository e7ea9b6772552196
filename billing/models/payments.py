"""Payments and receivables (R17, 入金消込): deposits from bank files and manual entry,
their applications to issued invoices (partial allowed, a transfer fee accepted, each
reversal kept), and the names customers pay under. An invoice's balance and status are
derived from these by ``InvoiceQuerySet.with_balance`` (``billing.models.invoices``), never
stored: a payment is not a change of the invoice."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts.models import Customer, VisibleTextModel

from .fields import YenField
from .invoices import Invoice


class DepositSource(models.TextChoices):
    ZENGIN = "zengin", _("Zengin bank file")
    CSV = "csv", _("CSV file")
    MANUAL = "manual", _("manual entry")


class MatchRule(models.TextChoices):
    """Which step of R17's matching placed the money (each application records it)."""

    INVOICE_NUMBER = "invoice_number", _("R17-1: invoice number in the EDI information or payer name")
    ONE_INVOICE = "one_invoice", _("R17-3: the one invoice whose balance equals the amount")
    OLDEST_INVOICES = "oldest_invoices", _("R17-3: the oldest open invoices adding up to the amount")
    FEE_TOLERANCE = "fee_tolerance", _("R17-3: one invoice, less the payer's transfer fee")
    ALL_OPEN = "all_open", _("R17-4: every open invoice, the rest kept as credit")
    MANUAL = "manual", _("applied by an accountant")


class PaymentRefused(ValidationError):
    """R17: an application that would break the books (beyond the deposit or the balance)."""


class Deposit(VisibleTextModel):
    """Money received into the company's account (R17): one transfer of a bank file, a line
    of a CSV file, or an entry by an accountant. ``source_id`` identifies it (a Zengin
    deposit by bank, branch, account, 照会番号 and 勘定日), so that a file imported again
    changes nothing. ``customer`` is set once the money is known to be that customer's;
    what is not applied to invoices is then the customer's credit (前受金)."""

    source = models.CharField(_("source"), max_length=10, choices=DepositSource.choices)
    source_id = models.CharField(
        _("deposit identifier"),
        max_length=120,
        unique=True,
        help_text=_(
            "Bank, branch, account, 照会番号 and 勘定日 for a bank file; the file's deposit_id for CSV."
        ),
    )
    received_on = models.DateField(_("received on"), help_text=_("勘定日: the day the money arrived."))
    amount = YenField(_("amount"))
    payer_name = models.CharField(
        _("payer name"), max_length=120, blank=True, help_text=_("振込依頼人名 as the bank printed it.")
    )
    reference = models.CharField(
        _("EDI information / reference"), max_length=120, blank=True, help_text=_("EDI情報, or a reference.")
    )
    bank_name = models.CharField(_("remitting bank"), max_length=40, blank=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deposits",
        verbose_name=_("customer"),
        help_text=_("Whose money it is; what is not applied is that customer's credit (前受金)."),
    )
    #: the customer the payer name or invoice number pointed to when the amount did not fit:
    #: a suggestion for the accountant, not a decision
    candidate_customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suggested customer"),
    )
    created_at = models.DateTimeField(_("imported at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        ordering = ["-received_on", "source_id"]
        permissions = [
            ("apply_deposit", _("Can apply deposits to invoices (入金消込) and import bank files"))
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="deposit_amount_positive",
                violation_error_message=_("R17: a deposit is a positive amount of yen."),
            ),
        ]
        indexes = [models.Index(fields=["customer", "received_on"], name="deposit_customer_idx")]

    def __str__(self) -> str:
        return f"{self.received_on:%Y-%m-%d} {self.payer_name or '—'} {self.amount.amount:,.0f}"

    def save(self, *args, **kwargs):
        # R17: what arrived is kept as it arrived; only whose money it is gets decided later
        if self.pk is not None:
            stored = Deposit.objects.filter(pk=self.pk).values("source_id", "received_on", "amount").first()
            if stored is not None and (
                stored["source_id"] != self.source_id
                or stored["received_on"] != self.received_on
                or stored["amount"] != self.amount.amount
            ):
                raise ValidationError(
                    _("R17: a deposit keeps its identifier, date and amount."), code="deposit_is_final"
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("R17: a deposit is never deleted; reverse its applications."), code="kept")


class ApplicationQuerySet(models.QuerySet):
    def live(self):
        return self.filter(reversed_at__isnull=True)

    def delete(self):
        raise ValidationError(_("R17: an application is reversed, never deleted."), code="kept")

    delete.queryset_only = True


class Application(models.Model):
    """Part of a deposit applied to an invoice (R17): ``amount`` of the deposit's money,
    and ``fee``, the payer's transfer fee (振込手数料) accepted as paid (支払手数料), so the
    invoice's balance goes down by amount + fee. Reversed, never deleted: a reversal keeps
    who, when and why, and the money returns to the deposit."""

    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, related_name="applications", verbose_name=_("deposit")
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="applications", verbose_name=_("invoice")
    )
    amount = YenField(_("applied amount"))
    fee = YenField(_("transfer fee accepted"), default=0, help_text=_("振込手数料 borne by the company."))
    rule = models.CharField(_("matched by"), max_length=20, choices=MatchRule.choices)
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied by"),
        help_text=_("Empty: matched automatically on import."),
    )
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reversed by"),
    )
    reversal_reason = models.TextField(_("reason for reversal"), blank=True)

    objects = ApplicationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["deposit", "applied_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(fee__gte=0),
                name="application_amount_positive",
                violation_error_message=_(
                    "R17: an application is a positive amount; a fee is never negative."
                ),
            ),
            models.CheckConstraint(
                condition=Q(reversed_at__isnull=True) | ~Q(reversal_reason=""),
                name="application_reversal_explained",
                violation_error_message=_("R17: a reversal says why."),
            ),
        ]
        indexes = [models.Index(fields=["invoice", "reversed_at"], name="application_invoice_idx")]

    def __str__(self) -> str:
        return f"{self.deposit} → {self.invoice}"

    def save(self, *args, **kwargs):
        # R17: an application keeps its deposit, invoice and amounts; only its reversal is added
        if self.pk is not None:
            stored = (
                Application.objects.filter(pk=self.pk)
                .values("deposit_id", "invoice_id", "amount", "fee", "reversed_at")
                .first()
            )
            if stored is not None and (
                stored["deposit_id"] != self.deposit_id
                or stored["invoice_id"] != self.invoice_id
                or stored["amount"] != self.amount.amount
                or stored["fee"] != self.fee.amount
                or stored["reversed_at"] is not None
            ):
                raise ValidationError(
                    _("R17: an application is never changed; reverse it and apply again."), code="kept"
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("R17: an application is reversed, never deleted."), code="kept")

    @property
    def is_live(self) -> bool:
        return self.reversed_at is None


class PayerName(VisibleTextModel):
    """A name a customer's transfers arrive under (振込依頼人名, R17), as the bank prints it;
    ``normalized`` is what matching compares (``billing.payments.names.normalize_payer_name``)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="payer_names", verbose_name=_("customer")
    )
    payer_name = models.CharField(
        _("payer name"), max_length=120, help_text=_("振込依頼人名 as the bank prints it, e.g. ｶ)ﾌﾞﾗﾎﾞｰｺｳｷﾞﾖｳ.")
    )
    normalized = models.CharField(_("normalised name"), max_length=120, editable=False, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("payer name")
        verbose_name_plural = _("payer names")
        ordering = ["customer__code", "payer_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "normalized"],
                name="payer_name_once_per_customer",
                violation_error_message=_("R17: the customer has this payer name already."),
            )
        ]

    def __str__(self) -> str:
        return self.payer_name

    def clean(self):
        from billing.payments.names import normalize_payer_name

        self.normalized = normalize_payer_name(self.payer_name)
        if not self.normalized:
            raise ValidationError(
                {"payer_name": _("R17: the payer name has no letters to match on.")}, code="empty"
            )

    def save(self, *args, **kwargs):
        from billing.payments.names import normalize_payer_name

        self.normalized = normalize_payer_name(self.payer_name)
        super().save(*args, **kwargs)


def days_overdue(due_date: dt.date | None, as_of: dt.date) -> int:
    """R17: days past the due date as of a day (0 when not yet due)."""
    if due_date is None or as_of <= due_date:
        return 0
    return (as_of - due_date).days


class Reminder(models.Model):
    """A reminder (督促, R17) sent to a customer: the overdue invoices it listed as of a day,
    to whom, and how it went. ``state`` fingerprints what it listed (each invoice and its
    balance), so that nobody is reminded twice for the same state; kept as written."""

    class Result(models.TextChoices):
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("customer")
    )
    as_of = models.DateField(_("as of"))
    state = models.CharField(_("state reminded of"), max_length=64)
    #: [{"number", "due_date", "balance", "days_overdue"}] as the reminder listed them
    invoices = models.JSONField(_("overdue invoices"))
    #: what it asked for: the sum of the balances it listed (the amount the search finds it by, R19)
    total = YenField(_("total overdue"), default=0)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    to = models.CharField(_("to"), max_length=1000, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    error = models.TextField(_("error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at"]
        permissions = [("send_reminder", _("Can send reminders (督促) of overdue invoices"))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "state"],
                condition=Q(result="sent"),
                name="reminder_once_per_state",
                violation_error_message=_("R17: this customer was reminded of these invoices already."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.as_of:%Y-%m-%d}"
