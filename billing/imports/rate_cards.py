"""The rate_cards import kind (R8, interfaces.md): cards entered by the person running the
import, approvals only as that person's own act, change requests for approved cards."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import calculation
from billing.models import AuthTier, RateCard
from billing.models.rates import PRICE_FIELDS, PricingMode
from contracts.csvimport import (
    CellError,
    Column,
    Counts,
    ModelImportKind,
    Problems,
    Row,
    described,
    parse_choice,
    parse_code,
    parse_date,
    parse_decimal,
    parse_month,
    parse_text,
    register,
)
from contracts.imports import ContractReferenceMixin
from contracts.periods import japanese_date

MAX_YEN = Decimal("9999999999")
MAX_PRICE = Decimal("9999999999.9999")
MAX_COUNT = 10**12


def parse_tiers(value: str) -> list[calculation.Tier]:
    """``UP_TO:UNIT_PRICE[:FLAT_FEE]`` joined by ``;``, the last with an empty UP_TO."""
    price = parse_decimal(places=4, max_value=MAX_PRICE)
    flat = parse_decimal(places=0, max_value=MAX_YEN)
    tiers = []
    for number, part in enumerate(value.split(";"), start=1):
        pieces = part.strip().split(":")
        if len(pieces) not in (2, 3):
            raise CellError(
                _("tier %(n)d %(part)r is not UP_TO:UNIT_PRICE[:FLAT_FEE]") % {"n": number, "part": part[:40]}
            )
        up_to_text, price_text, *flat_text = (p.strip() for p in pieces)
        try:
            # ASCII digits only: int() also takes "1_000", "+100" and full-width "１００"
            if up_to_text and not (up_to_text.isascii() and up_to_text.isdigit()):
                raise ValueError
            up_to = int(up_to_text) if up_to_text else None
            if up_to is not None and not 1 <= up_to <= MAX_COUNT:
                raise ValueError
        except ValueError:
            raise CellError(
                _("tier %(n)d: UP_TO %(value)r is not a count") % {"n": number, "value": up_to_text[:40]}
            ) from None
        try:
            tiers.append(
                calculation.Tier(
                    up_to, price(price_text), flat(flat_text[0]) if flat_text and flat_text[0] else Decimal(0)
                )
            )
        except CellError as error:
            raise CellError(_("tier %(n)d: %(error)s") % {"n": number, "error": error}) from None
    return tiers


described(parse_tiers, "tiers `UP_TO:UNIT_PRICE[:FLAT_FEE]` joined by `;`, the last with an empty UP_TO")


@register
class RateCardKind(ContractReferenceMixin, ModelImportKind):
    """Rate cards (R8). Four-eyes, as company policy has it: the file is imported by a
    named staff member (``--user``), the author of the cards it creates; an approval in
    the file is the act of that same person, on cards someone else entered, dated the day
    of the import; an approved card's prices never change, and a new last month or
    notification date of an approved card becomes a change request that another staff
    member approves."""

    name = "rate_cards"
    model = RateCard
    key = ("contract_code", "valid_from")
    columns = (
        Column("contract_code", parse_code()),
        Column("valid_from", parse_month),
        Column("valid_until", parse_month, required=False),
        Column("base_fee", parse_decimal(places=0, max_value=MAX_YEN)),
        Column("account_unit_price", parse_decimal(places=4, max_value=MAX_PRICE), required=False),
        Column("auth_pricing", parse_choice(PricingMode.values), required=False, default=""),
        Column("auth_tiers", parse_tiers, required=False, default=()),
        Column("approved_by", parse_text(150), required=False, default=""),
        Column("approved_on", parse_date, required=False),
        Column("notified_on", parse_date, required=False),
    )
    field_columns = {
        "contract": "contract_code",
        "__all__": "valid_from",
        "requested_valid_until": "valid_until",
        "requested_notified_on": "notified_on",
    }

    def lookup(self, rows):
        codes = {row["contract_code"] for row in rows}
        return {
            (card.contract.code, card.valid_from): card
            for card in RateCard.objects.filter(contract__code__in=codes)
            .select_related("contract", "approved_by")
            .prefetch_related("tiers")
        }

    def resolve(self, rows, problems):
        if self.user is None:
            problems.add(
                1,
                None,
                _(
                    "rate cards are imported by a named staff member: run import_csv rate_cards "
                    "with --user USERNAME (the author of new cards, who cannot also approve them)"
                ),
            )
        self.today = timezone.localdate()
        self.resolve_contracts(rows, problems)
        for contract in self.contracts.values():
            contract._prefetched_objects_cache["rate_cards"] = list(contract.rate_cards.all())
        for row in rows:
            self.check_row(row, problems)

    def check_row(self, row: Row, problems: Problems) -> None:
        if row["approved_on"] and not row["approved_by"]:
            problems.add(row.line, "approved_on", _("approved_on is given but approved_by is empty"))
        if bool(row["auth_pricing"]) != bool(row["auth_tiers"]):
            problems.add(row.line, "auth_tiers", _("auth_pricing and auth_tiers go together"))
        elif row["auth_pricing"]:
            try:
                calculation.validate_tiers(row["auth_pricing"], row["auth_tiers"])
            except calculation.TierError as error:
                problems.add(row.line, "auth_tiers", str(error))

    def assign(self, row, instance):
        stored = None
        if instance.pk is not None:
            stored = {
                "prices": self._prices(instance),
                "valid_until": instance.valid_until,
                "notified_on": instance.notified_on,
            }
        instance.contract = self.contracts[row["contract_code"]]
        if instance.pk is None:
            instance.created_by = self.user
        instance.valid_from = row["valid_from"]
        instance.base_fee = row["base_fee"]
        instance.account_unit_price = row["account_unit_price"]
        instance.auth_pricing = row["auth_pricing"]
        new_tiers = list(row["auth_tiers"])
        old_tiers = instance.calculation_tiers() if instance.pk else []
        instance._tiers_to_write = None if new_tiers == old_tiers else new_tiers
        if instance.approved_by_id is not None:
            self._assign_to_approved(row, instance)
        else:
            instance.valid_until = row["valid_until"]
            instance.notified_on = row["notified_on"]
            changes_amounts = stored is not None and (
                stored["prices"] != self._prices(instance) or instance._tiers_to_write is not None
            )
            self._assign_approval(row, instance, changes_amounts)

    @staticmethod
    def _prices(card) -> tuple:
        return tuple(getattr(getattr(card, name), "amount", getattr(card, name)) for name in PRICE_FIELDS)

    def _assign_to_approved(self, row, instance) -> None:
        """An approved card: its approval is never changed by a file (an empty approval
        column says nothing); a new last month or notification date becomes a request."""
        if instance._tiers_to_write is not None:
            raise ValidationError(
                {
                    "auth_tiers": _(
                        "Annex 1: an approved rate card does not change; enter a new card from a later month."
                    )
                }
            )
        approver, approved_on = instance.approved_by, instance.approved_on
        if row["approved_by"] and (
            row["approved_by"] != approver.get_username() or row["approved_on"] not in (None, approved_on)
        ):
            raise ValidationError(
                {
                    "approved_by": _(
                        "Annex 1: this rate card is approved (%(by)s, %(on)s); a file cannot "
                        "withdraw or change an approval. Repeat the approval in the file, or "
                        "leave the approval columns empty."
                    )
                    % {"by": approver.get_username(), "on": japanese_date(approved_on)}
                }
            )
        valid_until, notified_on = row["valid_until"], row["notified_on"]
        if instance.notified_on is None and notified_on is not None:
            instance.notified_on = notified_on  # the first notification needs no approval
        if not instance.needs_approval_to_set(valid_until=valid_until, notified_on=notified_on):
            return
        if instance.has_change_request and (
            instance.requested_valid_until,
            instance.requested_notified_on,
        ) == (
            valid_until,
            notified_on,
        ):
            return  # the same request again: unchanged
        instance.propose_change(by=self.user, on=self.today, valid_until=valid_until, notified_on=notified_on)

    def _assign_approval(self, row, instance, changes_amounts: bool) -> None:
        """An approval in the file is the act of the staff member running the import."""
        instance._approve = False
        name = row["approved_by"]
        if not name or self.user is None:
            return
        if name != self.user.get_username():
            raise ValidationError(
                {
                    "approved_by": _(
                        "an approval is the act of the approving staff member: %(name)s approves "
                        "by running this import as --user %(name)s, or in the admin"
                    )
                    % {"name": name}
                }
            )
        if row["approved_on"] not in (None, self.today):
            raise ValidationError(
                {
                    "approved_on": _(
                        "an approval is dated the day it is given: leave approved_on empty or "
                        "enter today's date (%(today)s)"
                    )
                    % {"today": japanese_date(self.today)}
                }
            )
        if instance.pk is None:
            raise ValidationError(
                {
                    "approved_by": _(
                        "Company policy (four-eyes): you are entering this rate card; another "
                        "staff member must approve it."
                    )
                }
            )
        if changes_amounts:
            raise ValidationError(
                {
                    "approved_by": _(
                        "Company policy (four-eyes): this row changes the card's amounts and approves "
                        "it; the approver must not change the amounts."
                    )
                }
            )
        if not self.user.has_perm("billing.approve_ratecard"):
            raise ValidationError({"approved_by": _("%(name)s may not approve rate cards") % {"name": name}})
        refusal = instance.approval_refusal(self.user)
        if refusal is not None:
            raise ValidationError({"approved_by": refusal.messages})
        instance._approve = True

    def snapshot(self, instance):
        state = super().snapshot(instance)
        state["tiers"] = getattr(instance, "_tiers_to_write", None)
        state["approve"] = getattr(instance, "_approve", False)
        return state

    def before_validation(self):
        for contract in self.contracts.values():
            merged = {c.valid_from: c for c in contract.rate_cards.all()}
            for _row, instance, _state in self.instances:
                if instance.contract.code == contract.code:
                    merged[instance.valid_from] = instance
            contract._prefetched_objects_cache["rate_cards"] = sorted(
                merged.values(), key=lambda c: c.valid_from
            )

    def write(self, rows) -> Counts:
        counts = super().write(rows)
        for _row, instance, state in self.instances:
            if state == "unchanged":
                continue
            tiers = getattr(instance, "_tiers_to_write", None)
            if tiers is not None:
                # one by one, so that the audit trail records the importer for each tier
                for old in instance.tiers.all():
                    old._history_user = self.user
                    old.delete()
                for tier in tiers:
                    new = AuthTier(
                        rate_card=instance,
                        up_to=tier.up_to,
                        unit_price=tier.unit_price,
                        flat_fee=tier.flat_fee,
                    )
                    new._history_user = self.user
                    new.save()
            if getattr(instance, "_approve", False):
                instance.approve(by=self.user, on=self.today)
        return counts
