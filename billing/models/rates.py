"""Rate cards: the "amount shown separately to the contractor" of Annex 1 (R8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from billing import calculation
from billing.formatting import price_text
from contracts import periods
from contracts.models import Contract, Item, VisibleTextModel

from .fields import PriceField, YenField


class PricingMode(models.TextChoices):
    PER_UNIT = calculation.PricingMode.PER_UNIT, _("Per unit")
    GRADUATED = calculation.PricingMode.GRADUATED, _("Graduated (each tier prices its own part)")
    VOLUME = calculation.PricingMode.VOLUME, _("Volume (the tier reached prices every authentication)")


def missing_component(item: str, account_unit_price, auth_pricing: str) -> str | None:
    """R8: the component ``item`` needs that a rate card with ``account_unit_price`` (None:
    none) and ``auth_pricing`` ("": none) lacks, as a message; None if complete.
    ``RateCard.missing_component`` and billing (which reads cards as values) call it."""
    if item == Item.ENTERPRISE and account_unit_price is None:
        return str(_("an account unit price (アカウント使用料) for Enterprise"))
    if item == Item.SERVICE_PROVIDER and not auth_pricing:
        return str(_("an authentication price table (認証API使用料) for Service Provider"))
    return None


class RateCardQuerySet(models.QuerySet):
    def covering(self, month: dt.date):
        return self.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=month), valid_from__lte=month)

    def billable(self):
        return self.filter(approved_by__isnull=False, notified_on__isnull=False)


class RateCard(VisibleTextModel):
    """A contract's prices from one month on (R8). Billable only once approved by a second
    staff member and notified to the contractor."""

    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="rate_cards", verbose_name=_("contract")
    )
    valid_from = models.DateField(
        _("valid from (month)"), help_text=_("First day of the first month covered.")
    )
    valid_until = models.DateField(
        _("valid until (month)"),
        null=True,
        blank=True,
        help_text=_("First day of the last month covered. Empty: open-ended."),
    )
    base_fee = YenField(_("monthly base fee"), help_text=_("月額基本料, whole yen per month."))
    account_unit_price = PriceField(
        _("account unit price"),
        null=True,
        blank=True,
        help_text=_("アカウント使用料 per account and month (Enterprise), up to 4 decimals."),
    )
    auth_pricing = models.CharField(
        _("authentication pricing"),
        max_length=10,
        choices=PricingMode.choices,
        blank=True,
        help_text=_("How the authentication API usage fee is priced (Service Provider)."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    notified_on = models.DateField(
        _("notified to the contractor on"),
        null=True,
        blank=True,
        help_text=_("The day the amounts were shown to the contractor (別途契約者に示す金額)."),
    )
    # A change of an approved card's period or notification date waits here for a second
    # staff member's approval (R8); billing reads valid_until and notified_on, never these.
    change_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("change requested by"),
    )
    change_requested_on = models.DateField(_("change requested on"), null=True, blank=True)
    requested_valid_until = models.DateField(
        _("requested valid until (month)"),
        null=True,
        blank=True,
        help_text=_("The last month the card should cover once the change is approved. Empty: open-ended."),
    )
    requested_notified_on = models.DateField(
        _("requested notification date"),
        null=True,
        blank=True,
        help_text=_("The notification date the card should have once the change is approved."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RateCardQuerySet.as_manager()

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rate card")
        verbose_name_plural = _("rate cards")
        ordering = ["contract__code", "valid_from"]
        permissions = [("approve_ratecard", _("Can approve rate cards (second staff member)"))]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "valid_from"],
                name="rate_card_one_start_per_month",
                violation_error_message=_("Annex 1: this contract already has a rate card from that month."),
            ),
            models.CheckConstraint(
                condition=Q(valid_from__day=1) & (Q(valid_until__isnull=True) | Q(valid_until__day=1)),
                name="rate_card_whole_months",
                violation_error_message=_("Annex 1: a rate card covers whole months (first days)."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="rate_card_until_not_before_from",
                violation_error_message=_("Annex 1: the last month cannot be before the first month."),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | Q(created_by__isnull=True)
                | ~Q(approved_by=F("created_by")),
                name="rate_card_four_eyes",
                violation_error_message=_(
                    "Annex 1: a rate card is approved by a staff member other than its author."
                ),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True, approved_on__isnull=True)
                | Q(approved_by__isnull=False, approved_on__isnull=False),
                name="rate_card_approval_complete",
                violation_error_message=_("Annex 1: an approval records both who and when."),
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | Q(created_by__isnull=False),
                name="rate_card_approval_needs_author",
                violation_error_message=_(
                    "Company policy (four-eyes): a rate card whose author is not recorded cannot be approved."
                ),
            ),
            models.CheckConstraint(
                condition=Q(change_requested_by__isnull=True, change_requested_on__isnull=True)
                | Q(
                    change_requested_by__isnull=False,
                    change_requested_on__isnull=False,
                    approved_by__isnull=False,
                ),
                name="rate_card_change_request_complete",
                violation_error_message=_(
                    "Company policy (four-eyes): a change request records who and when, on an approved card."
                ),
            ),
            models.CheckConstraint(
                condition=Q(requested_valid_until__isnull=True) | Q(requested_valid_until__day=1),
                name="rate_card_requested_until_first_day",
                violation_error_message=_("Annex 1: a rate card covers whole months (first days)."),
            ),
            models.CheckConstraint(
                condition=Q(base_fee__gte=0)
                & (Q(account_unit_price__isnull=True) | Q(account_unit_price__gte=0)),
                name="rate_card_prices_not_negative",
                violation_error_message=_("Annex 1: prices cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(auth_pricing__in=["", *PricingMode.values]),
                name="rate_card_pricing_valid",
                violation_error_message=_("Annex 1: unknown authentication pricing."),
            ),
        ]

    def __str__(self) -> str:
        # months as screens and refusals show them (the overlap refusal names the card)
        until = periods.japanese_month(self.valid_until) if self.valid_until else ""
        return f"{self.contract} {periods.japanese_month(self.valid_from)}〜{until}"

    @property
    def is_billable(self) -> bool:
        """R8: approved by a second staff member and notified to the contractor."""
        return self.approved_by_id is not None and self.notified_on is not None

    def calculation_tiers(self) -> list[calculation.Tier]:
        return [calculation.Tier(t.up_to, t.unit_price.amount, t.flat_fee.amount) for t in self.tiers.all()]

    def missing_component(self, item: str) -> str | None:
        """The component the item needs that this card lacks, as a message; None if complete."""
        return missing_component(item, self.account_unit_price, self.auth_pricing)

    def items_covered(self) -> set[str]:
        """The items of the contract in the months this card covers (R4: changes from
        first days only, so checking the first month and each change inside is enough)."""
        contract = self.contract
        items = {contract.item_on(self.valid_from)}
        for change in contract.item_changes.all():
            if change.effective_month > self.valid_from and (
                self.valid_until is None or change.effective_month <= self.valid_until
            ):
                items.add(change.item)
        return items

    # --- state changes ----------------------------------------------------------------

    @property
    def has_change_request(self) -> bool:
        return self.change_requested_by_id is not None

    def amount_editors(self) -> set[int]:
        """Ids of the staff who entered or changed this card's amounts: its author, and
        every user recorded by the audit trail for a change of a price field or of a
        tier. Four-eyes (company policy): none of them may approve it."""
        editors = {self.created_by_id} - {None}
        if self.pk is None:
            return editors
        previous = None
        for record in (
            RateCard.history.filter(id=self.pk)
            .order_by("history_date", "history_id")
            .values("history_user_id", *PRICE_COLUMNS)
        ):
            prices = tuple(record[name] for name in PRICE_COLUMNS)
            if previous is None or prices != previous:
                editors.add(record["history_user_id"])
            previous = prices
        editors.update(
            AuthTier.history.filter(rate_card_id=self.pk).values_list("history_user_id", flat=True)
        )
        return editors - {None}

    def approve(self, *, by, on: dt.date) -> None:
        """R8: the second pair of eyes, on the card (refused to its author, to anyone who
        changed its amounts, on a card without a recorded author, and a second time) or on
        its requested change of period or notification date (refused to the requester)."""
        refusal = self.approval_refusal(by)
        if refusal is not None:
            raise refusal
        if self.has_change_request:
            # the card keeps its approval; the audit trail records who approved the change
            requester = self.change_requested_by
            self.valid_until = self.requested_valid_until
            self.notified_on = self.requested_notified_on
            self.change_requested_by = None
            self.change_requested_on = None
            self.requested_valid_until = None
            self.requested_notified_on = None
            fields = [*REQUEST_FIELDS, "valid_until", "notified_on", "updated_at"]
            self.full_clean(exclude=["contract", "created_by", "approved_by"])
            self._change_reason = _("change requested by %(requester)s approved on %(date)s") % {
                "requester": requester.get_username(),
                "date": periods.japanese_date(on),
            }
        else:
            self.approved_by = by
            self.approved_on = on
            fields = ["approved_by", "approved_on", "updated_at"]
        self._history_user = by  # the audit trail records who approved, and when
        self._approving = True
        try:
            self.save(update_fields=fields)
        finally:
            self._approving = False

    def approval_refusal(self, by) -> ValidationError | None:
        """Why ``by`` may not approve this card now, or None."""
        if self.has_change_request:
            # the change is the requester's: its second pair of eyes is anyone else
            if by.pk == self.change_requested_by_id:
                return ValidationError(
                    _(
                        "Company policy (four-eyes): you requested this change; another staff member "
                        "must approve it."
                    ),
                    code="four_eyes_requester",
                )
            return None
        if self.approved_by_id is not None:
            return ValidationError(_("Annex 1: this rate card is already approved."), code="already_approved")
        if self.created_by_id is None:
            return ValidationError(
                _(
                    "Company policy (four-eyes): the author of this rate card is not recorded, so no "
                    "one can approve it as a second person. Record who entered it first."
                ),
                code="author_unknown",
            )
        if by.pk == self.created_by_id:
            return ValidationError(
                _(
                    "Company policy (four-eyes): you entered this rate card; another staff member must approve it."
                ),
                code="four_eyes",
            )
        if by.pk in self.amount_editors():
            return ValidationError(
                _(
                    "Company policy (four-eyes): you changed this rate card's amounts; a staff member "
                    "who did not must approve it."
                ),
                code="four_eyes_editor",
            )
        return None

    def request_change(
        self, *, by, on: dt.date, valid_until: dt.date | None, notified_on: dt.date | None
    ) -> None:
        """R8: an approved card's last month or notification date changes only once a second
        staff member approves the change (``approve``); until then billing uses the
        approved values. A notification date entered for the first time needs no approval
        (the normal order: approve, then notify)."""
        self.propose_change(by=by, on=on, valid_until=valid_until, notified_on=notified_on)
        self.full_clean(exclude=["contract", "created_by", "approved_by", "change_requested_by"])
        self.save(update_fields=[*REQUEST_FIELDS, "updated_at"])

    def propose_change(
        self, *, by, on: dt.date, valid_until: dt.date | None, notified_on: dt.date | None
    ) -> None:
        """``request_change`` without validating or saving (an import validates whole files
        first and writes afterwards)."""
        if self.approved_by_id is None:
            raise ValidationError(
                _("Only an approved rate card takes change requests; change the card itself."),
                code="not_approved",
            )
        self.change_requested_by = by
        self.change_requested_on = on
        self.requested_valid_until = valid_until
        self.requested_notified_on = notified_on
        self._history_user = by

    def needs_approval_to_set(self, *, valid_until: dt.date | None, notified_on: dt.date | None) -> bool:
        """Whether giving this (stored, approved) card these values is a change that needs a
        second person's approval (see ``request_change``)."""
        if self.approved_by_id is None:
            return False
        return valid_until != self.valid_until or (
            self.notified_on is not None and notified_on != self.notified_on
        )

    def save(self, *args, **kwargs):
        # R8: checked against the stored row, whichever path saves: an approved card's
        # period and notification date change only through an approved change request.
        if self.pk is not None and not getattr(self, "_approving", False):
            stored = (
                RateCard.objects.filter(pk=self.pk, approved_by__isnull=False)
                .values("valid_until", "notified_on")
                .first()
            )
            if stored is not None and (
                self.valid_until != stored["valid_until"]
                or (stored["notified_on"] is not None and self.notified_on != stored["notified_on"])
            ):
                raise ValidationError(
                    _(
                        "Company policy (four-eyes): the last month and the notification date of an "
                        "approved rate card change only once another staff member approves the change "
                        "(request_change, then approve)."
                    ),
                    code="approved_period_is_final",
                )
        super().save(*args, **kwargs)

    # --- validation -------------------------------------------------------------------

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.valid_from and self.valid_from.day != 1:
            errors.setdefault("valid_from", []).append(
                ValidationError(
                    _("Annex 1: a rate card starts on the first day of a month."), code="not_first"
                )
            )
        if self.valid_until and self.valid_until.day != 1:
            errors.setdefault("valid_until", []).append(
                ValidationError(
                    _("Annex 1: enter the first day of the last month covered."), code="not_first"
                )
            )
        if self.requested_valid_until and self.requested_valid_until.day != 1:
            errors.setdefault("requested_valid_until", []).append(
                ValidationError(
                    _("Annex 1: enter the first day of the last month covered."), code="not_first"
                )
            )
        elif self.requested_valid_until and self.valid_from and self.requested_valid_until < self.valid_from:
            errors.setdefault("requested_valid_until", []).append(
                ValidationError(
                    _("Annex 1: the last month cannot be before the first month."), code="until_before_from"
                )
            )
        if self.contract_id is not None and self.valid_from:
            self._clean_against_contract(errors)
        if self.pk is not None:
            self._clean_approved_is_unchanged(errors)
        if errors:
            raise ValidationError(errors)

    def _clean_against_contract(self, errors: dict[str, list]) -> None:
        # a requested last month is checked now, so that its approval cannot fail later
        until = self.requested_valid_until if self.has_change_request else self.valid_until
        for other in self.contract.rate_cards.all():
            if other is self or (self.pk is not None and other.pk == self.pk):
                continue
            if _overlap(self.valid_from, until, other.valid_from, other.valid_until):
                errors.setdefault("valid_from", []).append(
                    ValidationError(
                        _(
                            "Annex 1: the periods of one contract's rate cards never overlap (overlaps %(card)s)."
                        ),
                        code="overlap",
                        params={"card": str(other)},
                    )
                )
        for item in sorted(self.items_covered()):
            missing = self.missing_component(item)
            if missing:
                field = "account_unit_price" if item == Item.ENTERPRISE else "auth_pricing"
                errors.setdefault(field, []).append(
                    ValidationError(
                        _(
                            "Annex 1: the contract is %(item)s in a month this card covers, so it needs %(what)s."
                        ),
                        code="missing_component",
                        params={"item": Item(item).label, "what": missing},
                    )
                )

    def _clean_approved_is_unchanged(self, errors: dict[str, list]) -> None:
        """The stored approval is what counts: clearing the approval in the same change
        does not open an approved card's prices."""
        stored = RateCard.objects.filter(pk=self.pk, approved_by__isnull=False).values(*PRICE_FIELDS).first()
        if stored is None:
            return
        current = {name: _amount(getattr(self, name)) for name in PRICE_FIELDS}
        if any(current[name] != stored[name] for name in PRICE_FIELDS):
            errors.setdefault("__all__", []).append(
                ValidationError(
                    _(
                        "Annex 1: an approved rate card does not change. Enter a new card from a "
                        "later month, or end this one (valid until)."
                    ),
                    code="approved_is_final",
                )
            )


#: what an approval covers: changing any of these needs a new card
PRICE_FIELDS = ("valid_from", "base_fee", "account_unit_price", "auth_pricing")
#: their columns, as the audit trail stores them
PRICE_COLUMNS = ("contract_id", "valid_from", "base_fee", "account_unit_price", "auth_pricing")
#: a change request of an approved card (``request_change``)
REQUEST_FIELDS = (
    "change_requested_by",
    "change_requested_on",
    "requested_valid_until",
    "requested_notified_on",
)


def _amount(value):
    return getattr(value, "amount", value)


def _overlap(a_from, a_until, b_from, b_until) -> bool:
    return (b_until is None or a_from <= b_until) and (a_until is None or b_from <= a_until)


class AuthTier(VisibleTextModel):
    """One tier of a rate card's authentication price table (R11)."""

    rate_card = models.ForeignKey(
        RateCard, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("rate card")
    )
    up_to = models.BigIntegerField(
        _("up to (authentications)"),
        null=True,
        blank=True,
        help_text=_("Last authentication of the month in this tier, inclusive. Empty: no limit (last tier)."),
    )
    unit_price = PriceField(_("unit price"))
    flat_fee = YenField(_("flat fee"), default=Decimal("0"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("authentication price tier")
        verbose_name_plural = _("authentication price tiers")
        ordering = [F("up_to").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "up_to"],
                name="auth_tier_unique_limit",
                violation_error_message=_("Annex 1: two tiers cannot end at the same count."),
            ),
            models.UniqueConstraint(
                fields=["rate_card"],
                condition=Q(up_to__isnull=True),
                name="auth_tier_one_open_tier",
                violation_error_message=_("Annex 1: only the last tier is open-ended."),
            ),
            models.CheckConstraint(
                condition=(Q(up_to__isnull=True) | Q(up_to__gte=1))
                & Q(unit_price__gte=0)
                & Q(flat_fee__gte=0),
                name="auth_tier_values_valid",
                violation_error_message=_("Annex 1: tier limits start at 1 and prices cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        # the unit price with its fraction of a yen (Money's str rounds it to ¥0)
        limit = f"{self.up_to:,}" if self.up_to else "∞"
        return f"≤{limit}: ¥{price_text(self.unit_price.amount)}"
