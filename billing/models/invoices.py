"""Monthly runs and invoices (R12, qualified invoice system)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from billing import calculation
from contracts import periods
from contracts.models import Contract, Customer, Item, VisibleTextModel

from .fields import PriceField, YenField
from .rates import RateCard


class RunStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


class BillingRun(VisibleTextModel):
    """The billing of one month: its drafts, exceptions, and once issued the counter of
    its gapless invoice numbers. One row per month; its row lock serialises runs."""

    month = models.DateField(_("billing month"), unique=True, help_text=_("First day of the month."))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.DRAFT)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("computed by"),
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    #: the last number given in this month's invoice series (gapless: see Invoice.number)
    last_invoice_number = models.PositiveIntegerField(_("last invoice number"), default=0, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-month"]
        permissions = [
            ("run_billing", _("Can compute a month's draft invoices")),
            ("issue_billing", _("Can issue a month's invoices")),
            ("export_invoices", _("Can download the month's invoice CSV")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="billing_run_first_of_month",
                violation_error_message=_("A billing month starts on its first day."),
            ),
            models.CheckConstraint(
                condition=Q(status=RunStatus.DRAFT, issued_at__isnull=True)
                | Q(status=RunStatus.ISSUED, issued_at__isnull=False),
                name="billing_run_issue_recorded",
                violation_error_message=_("An issued month records when it was issued."),
            ),
        ]

    def __str__(self) -> str:
        return self.month_label

    @property
    def month_label(self) -> str:
        """The month as screens and messages show it (2026年10月); files are named with
        ``periods.format_month`` (2026-10)."""
        return periods.japanese_month(self.month)

    def save(self, *args, **kwargs):
        # R12, checked against the stored row whichever path saves (PostgreSQL's triggers
        # hold the same): a run keeps its month, its invoice counter never goes back (the
        # numbers given stay given), and an issued month never returns to draft.
        if self.pk is not None:
            stored = (
                BillingRun.objects.filter(pk=self.pk).values("month", "status", "last_invoice_number").first()
            )
            if stored is not None and (
                stored["month"] != self.month
                or self.last_invoice_number < stored["last_invoice_number"]
                or (stored["status"] == RunStatus.ISSUED and self.status != RunStatus.ISSUED)
            ):
                raise ValidationError(
                    _("R12: a billing run keeps its month, its invoice numbers and, once issued, its issue."),
                    code="run_is_final",
                )
        super().save(*args, **kwargs)


#: rules.md's codes as the screens name them: the regulation's article, or the product's
#: policy for the rules after the invoice (R15–R19)
RULE_ARTICLES = {
    "R1": _("Art. 1 (items)"),
    "R2": _("Art. 2 (no minimum period)"),
    "R3": _("Art. 3 (IIJ ID Service contract)"),
    "R4": _("Art. 4 (item change)"),
    "R5": _("Art. 5 (conditions of use)"),
    "R6": _("Art. 6 (termination)"),
    "R7": _("Art. 7 (when fees fall due)"),
    "R8": _("Annex 1 (rate card)"),
    "R9": _("Annex 1 (monthly base fee)"),
    "R10": _("Annex 1 note 1 (account usage fee)"),
    "R11": _("Annex 1 note 2 (authentication API usage fee)"),
    "R12": _("consumption tax and qualified invoices"),
    "R13": _("dates in Japan"),
    "R14": _("Supplementary provisions (terms versions)"),
    "R15": _("changes after the month closed"),
    "R16": _("credit notes"),
    "R17": _("payments"),
    "R18": _("due dates"),
    "R19": _("delivery and retention"),
}


class RunException(VisibleTextModel):
    """Something the monthly run could not settle by itself and a person must act on."""

    run = models.ForeignKey(
        BillingRun, on_delete=models.CASCADE, related_name="exceptions", verbose_name=_("run")
    )
    contract = models.ForeignKey(
        Contract,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contract"),
    )
    rule = models.CharField(_("rule"), max_length=10, help_text=_("The rule of rules.md, e.g. R8."))
    code = models.CharField(_("code"), max_length=40)
    message = models.TextField(_("what happened"))
    action = models.TextField(_("what to do"))
    billed = models.BooleanField(
        _("billed anyway"), help_text=_("Whether the contract was billed this month.")
    )

    class Meta:
        verbose_name = _("run exception")
        verbose_name_plural = _("run exceptions")
        ordering = ["run", "contract__code", "rule"]

    def __str__(self) -> str:
        return f"{self.contract or '—'} {self.rule}: {self.message}"

    @property
    def article(self) -> str:
        """Where the rule comes from, as staff know it (別紙1, 第3条), not rules.md's code."""
        return str(RULE_ARTICLES.get(self.rule, self.rule))


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    VOID = "void", _("Void")


LIVE_STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED)


class LineType(models.TextChoices):
    INITIAL_FEE = "initial_fee", _("Initial fee")
    BASE_FEE = "base_fee", _("Monthly base fee")
    ACCOUNT_FEE = "account_fee", _("Account usage fee")
    AUTH_API_FEE = "auth_api_fee", _("Authentication API usage fee")
    ONE_TIME_FEE = "one_time_fee", _("One-time fee")
    ADJUSTMENT = "adjustment", _("Adjustment")
    #: a credit note's own line (R16), never on an invoice
    CREDIT_NOTE = "credit_note", _("Credit note")


class InvoiceImmutable(ValidationError):
    """R12: an issued invoice never changes."""

    @classmethod
    def changed(cls) -> InvoiceImmutable:
        return cls(
            _("R12: an issued invoice never changes; void it and issue a replacement."), code="immutable"
        )

    @classmethod
    def deleted(cls) -> InvoiceImmutable:
        return cls(_("R12: an issued invoice is never deleted; void it instead."), code="immutable")


class PaymentStatus(models.TextChoices):
    """R17: an issued invoice's state of payment, derived from its applications and credit
    notes (``InvoiceQuerySet.with_balance``), never stored."""

    UNPAID = "unpaid", _("unpaid")
    PARTIAL = "partial", _("partly paid")
    PAID = "paid", _("paid in full")
    OVERPAID = "overpaid", _("overpaid")


_YEN = models.DecimalField(max_digits=14, decimal_places=0)


class InvoiceQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=LIVE_STATUSES)

    def with_balance(self, as_of: dt.date | None = None):
        """R17, in the database: ``paid`` (payments applied and transfer fees accepted, of
        live applications, of deposits received by ``as_of`` if given), ``credited`` (credit
        notes' totals with tax, issued by ``as_of`` if given), ``balance`` = total − paid −
        credited, ``payment_status`` and ``is_overdue`` (a balance remains after the due
        date, as of ``as_of``, default today in Japan). One query whatever the number of invoices."""
        from .credit_notes import CreditNote
        from .payments import Application

        applications = Application.objects.filter(invoice=models.OuterRef("pk"), reversed_at__isnull=True)
        credit_notes = CreditNote.objects.filter(invoice=models.OuterRef("pk"))
        if as_of is not None:
            applications = applications.filter(deposit__received_on__lte=as_of)
            credit_notes = credit_notes.filter(issue_date__lte=as_of)
        as_of = as_of or timezone.localdate()
        paid = (
            applications.order_by()
            .values("invoice")
            .annotate(s=models.Sum(models.F("amount") + models.F("fee"), output_field=_YEN))
            .values("s")
        )
        credited = (
            credit_notes.order_by()
            .values("invoice")
            .annotate(s=models.Sum("total", output_field=_YEN))
            .values("s")
        )
        zero = models.Value(0, output_field=_YEN)
        return self.annotate(
            paid=Coalesce(models.Subquery(paid, output_field=_YEN), zero),
            credited=Coalesce(models.Subquery(credited, output_field=_YEN), zero),
        ).annotate(
            balance=models.ExpressionWrapper(F("total") - F("paid") - F("credited"), output_field=_YEN),
            payment_status=models.Case(
                models.When(balance__lt=0, then=models.Value(PaymentStatus.OVERPAID)),
                models.When(balance=0, then=models.Value(PaymentStatus.PAID)),
                models.When(paid=0, then=models.Value(PaymentStatus.UNPAID)),
                default=models.Value(PaymentStatus.PARTIAL),
                output_field=models.CharField(),
            ),
            is_overdue=models.ExpressionWrapper(
                Q(balance__gt=0, due_date__lt=as_of), output_field=models.BooleanField()
            ),
        )

    def open_items(self, as_of: dt.date | None = None):
        """R17: issued invoices with a balance left, oldest due first."""
        return (
            self.filter(status=InvoiceStatus.ISSUED)
            .with_balance(as_of)
            .filter(balance__gt=0)
            .order_by("due_date", "issue_date", "number")
        )

    def update(self, **kwargs):
        if self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.changed()
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        if self.exclude(status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.deleted()
        return super().delete()

    delete.queryset_only = True


class Invoice(VisibleTextModel):
    """One invoice per customer and month (R12). Drafts are replaced by each run;
    issued invoices never change; a correction voids one and issues a replacement.

    Numbers: ``SK-YYYYMM-NNNN``, the billing month and a gapless sequence within that
    month's series, given in customer-code order when the month is issued and continued
    by replacements (the counter lives on the month's ``BillingRun`` row, which is locked
    while numbers are given, so a rolled-back issue leaves no gap)."""

    run = models.ForeignKey(
        BillingRun, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("run")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", verbose_name=_("customer")
    )
    billing_month = models.DateField(_("billing month"))
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(_("invoice number"), max_length=20, unique=True, null=True, blank=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)

    # recipient (宛名) as it stood when the invoice was made
    customer_code = models.CharField(_("customer code"), max_length=32)
    billing_name = models.CharField(_("billing name"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    # issuer as it stood when the invoice was issued (qualified invoice items)
    issuer_name = models.CharField(_("issuer"), max_length=200, blank=True)
    issuer_address = models.CharField(_("issuer address"), max_length=300, blank=True)
    issuer_registration_number = models.CharField(_("registration number"), max_length=14, blank=True)
    # the customer's own name as it stood when the invoice was made: the journals' 補助科目
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True, db_default="")
    #: the account to pay into (振込先, R18) as it stood when the invoice was issued:
    #: {"bank", "branch", "type", "number", "holder"}
    payee = models.JSONField(_("pay into"), null=True, blank=True)

    subtotal = YenField(_("subtotal (taxable, 10%)"))
    tax_rate = models.DecimalField(
        _("tax rate"), max_digits=4, decimal_places=2, default=calculation.TAX_RATE
    )
    tax = YenField(_("consumption tax"))
    total = YenField(_("total"))

    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
        help_text=_("The voided invoice this one corrects."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("voided by"),
    )
    void_reason = models.TextField(_("reason for voiding"), blank=True)

    objects = InvoiceQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-billing_month", "number", "customer_code"]
        permissions = [("void_invoice", _("Can void an invoice and issue its replacement"))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "billing_month"],
                condition=Q(status__in=LIVE_STATUSES),
                name="invoice_one_live_per_customer_month",
                violation_error_message=_(
                    "R12: a customer has one live invoice per month (void the issued one first)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT, number__isnull=True, issue_date__isnull=True)
                | Q(
                    status__in=[InvoiceStatus.ISSUED, InvoiceStatus.VOID],
                    number__isnull=False,
                    issue_date__isnull=False,
                    due_date__isnull=False,
                ),
                name="invoice_number_iff_issued",
                violation_error_message=_(
                    "R12: an issued invoice has a number, an issue date and a due date."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status=InvoiceStatus.VOID) | Q(voided_at__isnull=False),
                name="invoice_void_recorded",
                violation_error_message=_("R12: a voided invoice records when it was voided."),
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") + F("tax"))
                & (Q(subtotal__gte=0, tax__gte=0) | Q(status=InvoiceStatus.DRAFT)),
                name="invoice_total_is_subtotal_plus_tax",
                violation_error_message=_(
                    "R12: total = subtotal + consumption tax, never below zero once issued (a month that "
                    "nets to a credit is issued as a credit note, R15)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(billing_month__day=1),
                name="invoice_month_first_day",
                violation_error_message=_("A billing month starts on its first day."),
            ),
        ]
        indexes = [
            models.Index(fields=["billing_month", "status"], name="invoice_month_status_idx"),
            # the changelist's order (issue 16): a page reads its rows, never sorts the table
            models.Index(fields=["-billing_month", "number", "customer_code"], name="invoice_list_order_idx"),
        ]

    def __str__(self) -> str:
        return (
            self.number or f"{_('draft')} {self.customer_code} {periods.japanese_month(self.billing_month)}"
        )

    def save(self, *args, **kwargs):
        # R12: once issued, only the move to "void" may touch the row. Checked against the
        # stored row so that no caller (admin, shell, command) can bypass it.
        if self.pk is not None:
            stored = Invoice.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == InvoiceStatus.VOID or (
                stored == InvoiceStatus.ISSUED and not getattr(self, "_voiding", False)
            ):
                raise InvoiceImmutable.changed()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        # Checked against the stored row too, as in save(): a draft instance loaded before
        # the month was issued must not delete the issued invoice.
        if (
            self.status != InvoiceStatus.DRAFT
            or Invoice.objects.filter(pk=self.pk).exclude(status=InvoiceStatus.DRAFT).exists()
        ):
            raise InvoiceImmutable.deleted()
        return super().delete(*args, **kwargs)

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """The transaction period (取引期間): the billing month."""
        return self.billing_month, periods.month_end(self.billing_month)

    def issue(
        self, *, number: str, on: dt.date, due_date: dt.date, by, issuer: dict[str, str], save: bool = True
    ) -> None:
        """R12: a draft becomes an invoice: its number, issue and due dates, the issuer's
        snapshot (name, address, registration number) and who issued it, together. The run
        gives the number (``billing.runs.issue``); ``save=False`` leaves the write to a
        caller that issues many at once."""
        if self.status != InvoiceStatus.DRAFT:
            raise ValidationError(_("R12: only a draft invoice is issued."), code="not_draft")
        self.status = InvoiceStatus.ISSUED
        self.number = number
        self.issue_date = on
        self.due_date = due_date
        self.issued_at = timezone.now()
        self.issued_by = by
        for name, value in issuer.items():
            setattr(self, name, value)
        self._history_user = by
        if save:
            self.save(update_fields=[*ISSUE_FIELDS, *issuer])

    def void(self, *, by, reason: str) -> None:
        """R12: a correction voids the issued invoice; it stays visible with its reason."""
        if self.status != InvoiceStatus.ISSUED:
            raise ValidationError(_("R12: only an issued invoice can be voided."), code="not_issued")
        if self.credit_notes.exists():
            raise ValidationError(
                _(
                    "R16: invoice %(number)s has credit notes, which stay against it; correct it with "
                    "another credit note instead of voiding it."
                )
                % {"number": self.number},
                code="has_credit_notes",
            )
        if not reason.strip():
            raise ValidationError(_("R12: say why the invoice is voided."), code="reason_required")
        self.status = InvoiceStatus.VOID
        self.voided_at = timezone.now()
        self.voided_by = by
        self.void_reason = reason.strip()
        self._history_user = by
        self._voiding = True
        try:
            self.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
        finally:
            self._voiding = False


#: what ``Invoice.issue`` sets, the issuer's snapshot aside
ISSUE_FIELDS = ("status", "number", "issue_date", "due_date", "issued_at", "issued_by")


class InvoiceLineQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.exclude(invoice__status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.changed()
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        if self.exclude(invoice__status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.changed()
        return super().delete()

    delete.queryset_only = True


class InvoiceLine(VisibleTextModel):
    """One line per contract and fee component (R12)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", verbose_name=_("invoice")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="+", verbose_name=_("contract")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    line_type = models.CharField(_("line type"), max_length=20, choices=LineType.choices)
    item = models.CharField(_("item"), max_length=20, choices=Item.choices)
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3)
    unit_price = PriceField(_("unit price"), null=True, blank=True)
    amount = YenField(_("amount"))
    tax_rate = models.DecimalField(
        _("tax rate"), max_digits=4, decimal_places=2, default=calculation.TAX_RATE
    )
    rate_card = models.ForeignKey(
        RateCard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rate card"),
    )
    # R15: an adjustment settles a late change of a closed month, for one component
    adjusted_month = models.DateField(
        _("adjusted month"), null=True, blank=True, help_text=_("The closed month this adjustment corrects.")
    )
    adjusted_line_type = models.CharField(
        _("adjusted component"), max_length=20, choices=LineType.choices, blank=True, db_default=""
    )
    adjusted_invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("original invoice"),
        help_text=_("The live invoice of the adjusted month, if the customer had one."),
    )
    #: what the adjusted month had billed for the component when the adjustment was
    #: computed; issuing checks it is still so (a difference is never billed twice)
    adjusted_basis = YenField(_("billed before the adjustment"), null=True, blank=True)

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "contract__code", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "contract", "position"], name="invoice_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) | Q(line_type=LineType.ADJUSTMENT),
                name="invoice_line_amount_not_negative",
                violation_error_message=_("Only an adjustment can be negative."),
            ),
            models.CheckConstraint(
                condition=Q(
                    line_type=LineType.ADJUSTMENT, adjusted_month__isnull=False, adjusted_basis__isnull=False
                )
                & ~Q(adjusted_line_type="")
                | ~Q(line_type=LineType.ADJUSTMENT) & Q(adjusted_month__isnull=True, adjusted_line_type=""),
                name="invoice_line_adjustment_names_its_month",
                violation_error_message=_(
                    "R15: an adjustment names the closed month and the component it corrects."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice} {self.contract} {self.get_line_type_display()}"

    def save(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.invoice_id).exclude(status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.changed()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.invoice_id).exclude(status=InvoiceStatus.DRAFT).exists():
            raise InvoiceImmutable.changed()
        return super().delete(*args, **kwargs)
