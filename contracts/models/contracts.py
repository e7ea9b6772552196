"""SmartKey Management Service contracts: items (Art. 1, R1), conditions of use (Art. 5),
acceptance (Art. 3), terms versions (R14), the service period (R7) and the item of a
month (R4)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from contracts import periods
from contracts.periods import japanese_date

from .base import VisibleTextModel
from .customers import Customer


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
    Condition("devices_prepared", _("Mobile wireless devices prepared"), _("Art. 5(1)(1)")),
    Condition("devices_configured", _("Devices configured"), _("Art. 5(1)(2)")),
    Condition("software_obtained", _("IIJ SmartKey (software) obtained"), _("Art. 5(1)(3)")),
    Condition("settings_made", _("Settings required by the company made"), _("Art. 5(1)(4)")),
    Condition("other_conditions_met", _("Other matters specified by the company met"), _("Art. 5(1)(5)")),
    Condition("licence_accepted", _("Software licence terms accepted"), _("Art. 5(2)")),
)


def in_service_during_q(first: dt.date, last: dt.date) -> Q:
    """R7, for querysets: in service on some day of ``[first, last]``: billing started on
    or before ``last`` and the termination, if any, takes effect on or after ``first``."""
    return Q(billing_start_on__lte=last) & (
        Q(termination__effective_on__isnull=True) | Q(termination__effective_on__gte=first)
    )


# --- the rules of one contract on plain values: the model methods below and billing
# (``billing.runs.loading`` reads contracts as values) both call these ---------------


def item_on(item: str, changes, day: dt.date) -> str:
    """Art. 4: the item in effect on ``day``, of a contract applied for as ``item`` with
    the item changes ``changes`` (anything with ``effective_month`` and ``item``): the
    latest change effective on or before it, else the item applied for."""
    effective = [c for c in changes if c.effective_month <= day]
    if not effective:
        return item
    return max(effective, key=lambda c: c.effective_month).item


def item_for_month(item: str, billing_start_on: dt.date | None, changes, month: dt.date) -> str:
    """R4: the item of a month is the item in effect on its first day, or on the
    billing start date in the month billing starts."""
    first = periods.month_start(month)
    if billing_start_on and periods.month_start(billing_start_on) == first:
        first = billing_start_on
    return item_on(item, changes, first)


def service_window(
    billing_start_on: dt.date | None, termination_effective_on: dt.date | None, month: dt.date
) -> tuple[dt.date, dt.date] | None:
    """R7: the first and last day of ``month`` on which a contract billed from
    ``billing_start_on`` and terminated on ``termination_effective_on`` (None: not) is in
    service (inclusive), or None; the same rule as ``ContractQuerySet.with_service_window``."""
    if billing_start_on is None:
        return None
    first = max(periods.month_start(month), billing_start_on)
    last = (
        periods.month_end(month)
        if termination_effective_on is None
        else min(periods.month_end(month), termination_effective_on)
    )
    return (first, last) if first <= last else None


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
            self.model.item_changes.rel.related_model.objects.filter(
                contract=models.OuterRef("pk"), effective_month__lte=today
            )
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
        return item_on(self.item, self.item_changes.all(), day)

    def item_for_month(self, month: dt.date) -> str:
        """R4: the item of a month (``item_for_month``)."""
        return item_for_month(self.item, self.billing_start_on, self.item_changes.all(), month)

    # --- Art. 6 / Art. 7: service period --------------------------------------------

    @property
    def termination_notice(self):
        try:
            return self.termination
        except ObjectDoesNotExist:
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
        return service_window(self.billing_start_on, self.termination_effective_on, month)

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

    def _art3_refusal(self) -> ValidationError:
        """Art. 3, saying when the customer's IIJ ID Service contract starts if one starts later."""
        later = sorted(
            (c for c in self.customer.iijid_contracts.all() if c.start_on > self.accepted_on),
            key=lambda c: c.start_on,
        )
        if later:
            return ValidationError(
                _(
                    "Art. 3: the customer's IIJ ID Service contract %(code)s starts on %(start)s, after "
                    "%(date)s: the application can be accepted from %(start)s."
                ),
                code="art3_no_iijid_contract",
                params={
                    "code": later[0].code,
                    "start": japanese_date(later[0].start_on),
                    "date": japanese_date(self.accepted_on),
                },
            )
        return ValidationError(
            _(
                "Art. 3: the customer has no IIJ ID Service contract active on "
                "%(date)s, so the application cannot be accepted."
            ),
            code="art3_no_iijid_contract",
            params={"date": japanese_date(self.accepted_on)},
        )

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if (
            self.accepted_on is not None
            and self.customer_id is not None
            and not self.customer.has_active_iijid_contract_on(self.accepted_on)
        ):
            errors.setdefault("accepted_on", []).append(self._art3_refusal())
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
