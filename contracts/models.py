"""Customers and SmartKey Management Service contracts (Articles 1-6 of the regulation).

The rules of ``../shared/regulation/rules.md`` live here: a rule the database can
hold is a constraint (named after its article), a rule that needs other rows is in
``clean()``, and the questions billing asks (item of a month, service period, days
in service) are model methods. Methods that read related rows iterate over
``.all()`` so that a caller's ``prefetch_related`` keeps them free of queries.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import periods
from .text import invisible_character, refusal_message


class VisibleTextModel(models.Model):
    """Refuses invisible characters in every text field of the model, whichever form,
    command or shell session validates it (``full_clean``)."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        errors: dict[str, list] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            if (exclude and field.name in exclude) or field.name in errors:
                continue
            value = getattr(self, field.attname)
            if not isinstance(value, str):
                continue
            char = invisible_character(value, multiline=isinstance(field, models.TextField))
            if char is not None:
                errors.setdefault(field.name, []).append(
                    ValidationError(refusal_message(char), code="invisible_character")
                )
        if errors:
            raise ValidationError(errors)


class Item(models.TextChoices):
    """Art. 1: the two items of the service."""

    ENTERPRISE = "enterprise", _("Enterprise")
    SERVICE_PROVIDER = "service_provider", _("Service Provider")


class TermsVersion(models.TextChoices):
    """Supplementary provisions: the text a contract was accepted under (R14)."""

    V2016 = "2016-03-01", _("2016-03-01 (original text)")
    V2018 = "2018-01-01", _("2018-01-01 (amended text)")


CURRENT_TERMS_VERSION = TermsVersion.V2018


class ContractStatus(models.TextChoices):
    """Where a contract stands on a given day (derived, never stored)."""

    APPLIED = "applied", _("Applied (not yet accepted)")
    ACCEPTED = "accepted", _("Accepted (before billing start)")
    IN_SERVICE = "in_service", _("In service")
    TERMINATING = "terminating", _("In service, termination scheduled")
    TERMINATED = "terminated", _("Terminated")


@dataclass(frozen=True)
class Condition:
    """One condition of use of Art. 5, stored as ``<key>_confirmed_on`` / ``<key>_confirmed_by``."""

    key: str
    label: str
    article: str

    @property
    def date_field(self) -> str:
        return f"{self.key}_confirmed_on"

    @property
    def by_field(self) -> str:
        return f"{self.key}_confirmed_by"


#: Art. 5(1) items 1-5 and the licence terms of Art. 5(2), in the regulation's order.
CONDITIONS: tuple[Condition, ...] = (
    Condition("devices_prepared", _("Mobile wireless devices prepared"), "5(1)(1)"),
    Condition("devices_configured", _("Devices configured"), "5(1)(2)"),
    Condition("software_obtained", _("IIJ SmartKey (software) obtained"), "5(1)(3)"),
    Condition("settings_made", _("Settings required by the company made"), "5(1)(4)"),
    Condition("other_conditions_met", _("Other matters specified by the company met"), "5(1)(5)"),
    Condition("licence_accepted", _("Software licence terms accepted"), "5(2)"),
)


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


def in_service_during_q(first: dt.date, last: dt.date) -> Q:
    """R7, for querysets: in service on some day of ``[first, last]``: billing started on
    or before ``last`` and the termination, if any, takes effect on or after ``first``."""
    return Q(billing_start_on__lte=last) & (
        Q(termination__effective_on__isnull=True) | Q(termination__effective_on__gte=first)
    )


class ContractQuerySet(models.QuerySet):
    def in_service_during(self, first: dt.date, last: dt.date):
        """R7: the contracts in service on some day of ``[first, last]``."""
        return self.filter(in_service_during_q(first, last))

    def with_service_window(self, month: dt.date):
        """R7, the one definition that every read of a month's usage builds on: the
        contracts in service in ``month``, annotated with their window in it,
        ``window_first`` (billing start or the 1st) to ``window_last`` (termination
        effective date or the month's last day), both inclusive. ``Contract.service_window``
        is the same rule for one row."""
        first, last = periods.month_start(month), periods.month_end(month)
        day = functools.partial(models.Value, output_field=models.DateField())
        return self.in_service_during(first, last).annotate(
            window_first=Greatest("billing_start_on", day(first)),
            window_last=Least(Coalesce("termination__effective_on", day(last)), day(last)),
        )

    def with_billing_relations(self):
        """What the billing questions read, prefetched: customer, IIJ ID contracts,
        item changes and termination notice."""
        return self.select_related("customer", "termination").prefetch_related(
            "item_changes", "customer__iijid_contracts"
        )

    def with_current_item(self, today: dt.date | None = None):
        """Annotate ``current_item``: the item in force on ``today`` (R4), in SQL."""
        today = today or timezone.localdate()
        latest_change = (
            ItemChange.objects.filter(contract=models.OuterRef("pk"), effective_month__lte=today)
            .order_by("-effective_month")
            .values("item")[:1]
        )
        return self.annotate(
            current_item=models.functions.Coalesce(models.Subquery(latest_change), models.F("item"))
        )

    def with_status(self, status: str, today: dt.date | None = None):
        """Contracts in ``status`` (a ``ContractStatus``) on ``today``."""
        today = today or timezone.localdate()
        in_service = in_service_during_q(today, today)
        started = Q(billing_start_on__isnull=False, billing_start_on__lte=today)
        ended = Q(termination__effective_on__lt=today)
        scheduled = Q(termination__effective_on__gte=today)
        conditions = {
            ContractStatus.APPLIED: Q(accepted_on__isnull=True),
            ContractStatus.ACCEPTED: Q(accepted_on__isnull=False) & ~started & ~ended,
            ContractStatus.IN_SERVICE: in_service & ~scheduled,
            ContractStatus.TERMINATING: in_service & scheduled,
            ContractStatus.TERMINATED: Q(accepted_on__isnull=False) & ended,
        }
        return self.filter(conditions[status])


class Contract(VisibleTextModel):
    """A SmartKey Management Service contract."""

    code = models.CharField(_("contract code"), max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("customer")
    )
    item = models.CharField(
        _("item"),
        max_length=20,
        choices=Item.choices,
        help_text=_("The item applied for. Later changes are recorded as item changes (Art. 4)."),
    )
    applied_on = models.DateField(_("application date"))
    accepted_on = models.DateField(
        _("acceptance date"),
        null=True,
        blank=True,
        help_text=_(
            "The day the company accepted the application. Requires an IIJ ID Service "
            "contract active that day (Art. 3). The initial fee falls due on this day (Art. 7)."
        ),
    )
    terms_version = models.CharField(
        _("terms version"),
        max_length=10,
        choices=TermsVersion.choices,
        default=CURRENT_TERMS_VERSION,
        help_text=_("The text of the regulation the contract was accepted under."),
    )
    billing_start_on = models.DateField(
        _("billing start date"),
        null=True,
        blank=True,
        help_text=_(
            "First day of service and of monthly fees (Art. 7). Only once every condition "
            "of use is confirmed (Art. 5(3))."
        ),
    )

    devices_prepared_confirmed_on = models.DateField(
        _("devices prepared: confirmed on"), null=True, blank=True
    )
    devices_prepared_confirmed_by = models.CharField(
        _("devices prepared: confirmed by"), max_length=150, blank=True
    )
    devices_configured_confirmed_on = models.DateField(
        _("devices configured: confirmed on"), null=True, blank=True
    )
    devices_configured_confirmed_by = models.CharField(
        _("devices configured: confirmed by"), max_length=150, blank=True
    )
    software_obtained_confirmed_on = models.DateField(
        _("software obtained: confirmed on"), null=True, blank=True
    )
    software_obtained_confirmed_by = models.CharField(
        _("software obtained: confirmed by"), max_length=150, blank=True
    )
    settings_made_confirmed_on = models.DateField(_("settings made: confirmed on"), null=True, blank=True)
    settings_made_confirmed_by = models.CharField(
        _("settings made: confirmed by"), max_length=150, blank=True
    )
    other_conditions_met_confirmed_on = models.DateField(
        _("other matters met: confirmed on"), null=True, blank=True
    )
    other_conditions_met_confirmed_by = models.CharField(
        _("other matters met: confirmed by"), max_length=150, blank=True
    )
    licence_accepted_confirmed_on = models.DateField(
        _("licence terms accepted: confirmed on"), null=True, blank=True
    )
    licence_accepted_confirmed_by = models.CharField(
        _("licence terms accepted: confirmed by"), max_length=150, blank=True
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ContractQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SmartKey contract")
        verbose_name_plural = _("SmartKey contracts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(item__in=Item.values),
                name="contract_item_valid",
                violation_error_message=_("Art. 1: the item must be Enterprise or Service Provider."),
            ),
            models.CheckConstraint(
                condition=Q(terms_version__in=TermsVersion.values),
                name="contract_terms_version_valid",
                violation_error_message=_("Supplementary provisions: unknown terms version."),
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True) | Q(accepted_on__gte=models.F("applied_on")),
                name="contract_accepted_after_applied",
                violation_error_message=_("Art. 7: an application cannot be accepted before it was made."),
            ),
            models.CheckConstraint(
                condition=Q(billing_start_on__isnull=True)
                | Q(accepted_on__isnull=False, billing_start_on__gte=models.F("accepted_on")),
                name="contract_billing_start_after_acceptance",
                violation_error_message=_("Art. 7: billing can start only on or after the acceptance date."),
            ),
            models.CheckConstraint(
                condition=Q(billing_start_on__isnull=True)
                | Q(**{f"{c.date_field}__isnull": False for c in CONDITIONS}),
                name="contract_billing_start_needs_conditions",
                violation_error_message=_(
                    "Art. 5(3): the service cannot start while a condition of use is unconfirmed."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    # --- Art. 5: conditions of use -------------------------------------------------

    def missing_conditions(self) -> list[Condition]:
        return [c for c in CONDITIONS if getattr(self, c.date_field) is None]

    def confirm_conditions(self, *, on: dt.date, by: str) -> None:
        """Record every unconfirmed condition of Art. 5 as confirmed ``on`` by ``by``."""
        for condition in self.missing_conditions():
            setattr(self, condition.date_field, on)
            setattr(self, condition.by_field, by)

    # --- Art. 4: items --------------------------------------------------------------

    def item_on(self, day: dt.date) -> str:
        """The item in effect on ``day``: the latest change effective on or before it,
        else the item applied for."""
        effective = [c for c in self.item_changes.all() if c.effective_month <= day]
        if not effective:
            return self.item
        return max(effective, key=lambda c: c.effective_month).item

    def item_for_month(self, month: dt.date) -> str:
        """R4: the item of a month is the item in effect on its first day, or on the
        billing start date in the month billing starts."""
        first = periods.month_start(month)
        if self.billing_start_on and periods.month_start(self.billing_start_on) == first:
            first = self.billing_start_on
        return self.item_on(first)

    # --- Art. 6 / Art. 7: service period --------------------------------------------

    @property
    def termination_notice(self) -> Termination | None:
        try:
            return self.termination
        except Termination.DoesNotExist:
            return None

    @property
    def termination_effective_on(self) -> dt.date | None:
        notice = self.termination_notice
        return notice.effective_on if notice else None

    def service_period(self) -> tuple[dt.date, dt.date | None] | None:
        """R7: (billing start, termination effective date or None), both inclusive;
        None before a billing start date is set."""
        if self.billing_start_on is None:
            return None
        return self.billing_start_on, self.termination_effective_on

    def is_in_service_on(self, day: dt.date) -> bool:
        period = self.service_period()
        if period is None:
            return False
        return period[0] <= day and (period[1] is None or day <= period[1])

    def service_window(self, month: dt.date) -> tuple[dt.date, dt.date] | None:
        """R7: the first and last day of ``month`` on which the contract is in service
        (inclusive), or None; the same rule as ``ContractQuerySet.with_service_window``."""
        period = self.service_period()
        if period is None:
            return None
        first = max(periods.month_start(month), period[0])
        last = periods.month_end(month) if period[1] is None else min(periods.month_end(month), period[1])
        return (first, last) if first <= last else None

    def service_days_in_month(self, month: dt.date) -> int:
        """Number of days of ``month`` on which the contract is in service (R7)."""
        window = self.service_window(month)
        return (window[1] - window[0]).days + 1 if window else 0

    def status_on(self, day: dt.date) -> str:
        if self.accepted_on is None:
            return ContractStatus.APPLIED
        end = self.termination_effective_on
        if end is not None and end < day:
            return ContractStatus.TERMINATED
        if self.billing_start_on is None or self.billing_start_on > day:
            return ContractStatus.ACCEPTED
        return ContractStatus.IN_SERVICE if end is None else ContractStatus.TERMINATING

    # --- validation -----------------------------------------------------------------

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if (
            self.accepted_on is not None
            and self.customer_id is not None
            and not self.customer.has_active_iijid_contract_on(self.accepted_on)
        ):
            errors.setdefault("accepted_on", []).append(
                ValidationError(
                    _(
                        "Art. 3: the customer has no IIJ ID Service contract active on "
                        "%(date)s, so the application cannot be accepted."
                    ),
                    code="art3_no_iijid_contract",
                    params={"date": self.accepted_on.isoformat()},
                )
            )
        missing = self.missing_conditions()
        if self.billing_start_on is not None and missing:
            errors.setdefault("billing_start_on", []).append(
                ValidationError(
                    _(
                        "Art. 5(3): billing cannot start while these conditions of use are "
                        "unconfirmed: %(conditions)s."
                    ),
                    code="art5_conditions_unconfirmed",
                    params={"conditions": "、".join(f"{c.label} ({c.article})" for c in missing)},
                )
            )
        if errors:
            raise ValidationError(errors)


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
        return f"{self.contract} → {self.get_item_display()} ({periods.format_month(self.effective_month)})"

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
                        "accepted": self.accepted_on.isoformat(),
                        "earliest": periods.format_month(periods.next_month(self.accepted_on)),
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
                    params={"date": contract.accepted_on.isoformat()},
                )
            )
        end = contract.termination_effective_on
        if end is not None and self.effective_month > end:
            errors.setdefault("effective_month", []).append(
                ValidationError(
                    _("Art. 6: the contract ends on %(date)s, before this change would take effect."),
                    code="art6_change_after_termination",
                    params={"date": end.isoformat()},
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
                        "month": periods.format_month(self.effective_month),
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
        return f"{self.contract} ({self.effective_on or '—'})"

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
        self.effective_on = self.compute_effective_on()
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
                        params={"date": contract.accepted_on.isoformat()},
                    )
                }
            )
        last_change = max((c.effective_month for c in contract.item_changes.all()), default=None)
        if self.effective_on is not None and last_change is not None and last_change > self.effective_on:
            raise ValidationError(
                {
                    "requested_on": ValidationError(
                        _(
                            "Art. 6: an item change takes effect on %(month)s, after this "
                            "termination; withdraw the item change first."
                        ),
                        code="art6_item_change_after_end",
                        params={"month": last_change.isoformat()},
                    )
                }
            )
