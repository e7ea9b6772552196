"""Fee calculation of Annex 1, as pure functions over plain values (no database).

Rounding happens only here, through ``truncate_yen`` and ``truncate_coefficient``,
exactly where ``rules.md`` says: the base fee is prorated and truncated to the yen
(R9); each account's coefficient is truncated to 3 decimals and the account fee is
truncated to the yen once per contract-month (R10); the authentication fee is
truncated to the yen (R11); consumption tax is computed once per invoice and
truncated to the yen (R12). All arithmetic is exact (integers or ``Decimal``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext as _

YEN = Decimal("1")
COEFFICIENT_PLACES = Decimal("0.001")
#: R12: the consumption tax rate (standard rate; no reduced-rate items in this service)
TAX_RATE = Decimal("0.10")
#: Annex 1 §1: the initial fee of both items
INITIAL_FEE = Decimal("0")
#: unit prices may carry up to 4 decimals (R8)
PRICE_PLACES = 4


class PricingMode:
    """R11: how an authentication price table prices the month's count."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    ALL = (PER_UNIT, GRADUATED, VOLUME)


def truncate_yen(amount: Decimal) -> Decimal:
    """Truncate to the whole yen (切り捨て). Amounts here are never negative."""
    return amount.quantize(YEN, rounding=ROUND_DOWN)


def truncate_coefficient(value: Decimal) -> Decimal:
    """Annex 1 note 1: truncate at the fourth decimal place, keeping three."""
    return value.quantize(COEFFICIENT_PLACES, rounding=ROUND_DOWN)


# --- R9: monthly base fee ------------------------------------------------------------


def prorated_base_fee(base_fee: Decimal, service_days: int, days_in_month: int) -> Decimal:
    """``floor(base_fee × service_days / days_in_month)``, exact fraction first (R9)."""
    if not 0 <= service_days <= days_in_month:
        raise ValueError(f"service days {service_days} outside 0..{days_in_month}")
    if service_days == days_in_month:
        return truncate_yen(base_fee)
    # exact: integer arithmetic on the fee scaled to its smallest unit
    scaled = int(base_fee.scaleb(PRICE_PLACES).to_integral_value(rounding=ROUND_DOWN))
    if Decimal(scaled).scaleb(-PRICE_PLACES) != base_fee:
        raise ValueError(f"base fee {base_fee} has more than {PRICE_PLACES} decimals")
    return Decimal(scaled * service_days // (days_in_month * 10**PRICE_PLACES))


# --- R10: account usage fee ----------------------------------------------------------


@functools.cache  # a few hundred (days, month length) pairs, asked for once per account fee line each
def account_coefficient(days_used: int, days_in_month: int) -> Decimal:
    """日割係数: days of use ÷ days in the month, truncated to 3 decimals. Exact: for a
    month of at most 31 days no quotient lies within Decimal's precision of a multiple
    of 0.001, so truncating the 28-digit quotient truncates the true fraction."""
    if not 0 <= days_used <= days_in_month:
        raise ValueError(f"days of use {days_used} outside 0..{days_in_month}")
    return truncate_coefficient(Decimal(days_used) / Decimal(days_in_month))


def capped_days(days_used: int, service_days: int) -> int:
    """R10: an account is used on days the contract is in service only. More days than
    that means overlapping registration periods (refused on entry, but stored data may
    predate the rule): they count as the service days, and the run reports them."""
    return min(days_used, service_days)


@dataclass(frozen=True)
class AccountFee:
    #: Σ of the accounts' coefficients (3 decimals): the line's quantity
    coefficient_sum: Decimal
    accounts: int
    amount: Decimal
    #: accounts whose days of use exceeded the service days and were capped
    capped: int = 0


def account_fee(
    days_histogram: Mapping[int, int],
    days_in_month: int,
    unit_price: Decimal,
    service_days: int | None = None,
) -> AccountFee:
    """R10 for one contract-month: ``days_histogram`` maps days of use to the number of
    accounts with that many days (capped at ``service_days``, if given); the fee is
    Σ(coefficient × unit price), truncated once."""
    limit = days_in_month if service_days is None else service_days
    coefficient_sum, accounts, capped = Decimal("0.000"), 0, 0
    for days, count in days_histogram.items():
        if days > limit:
            capped += count
        days = capped_days(days, limit)
        if days:
            coefficient_sum += account_coefficient(days, days_in_month) * count
            accounts += count
    return AccountFee(coefficient_sum, accounts, truncate_yen(coefficient_sum * unit_price), capped)


# --- R11: authentication API usage fee -----------------------------------------------


@dataclass(frozen=True)
class Tier:
    """Authentications up to ``up_to`` (inclusive; None = no limit) cost ``unit_price``
    each; ``flat_fee`` is added once when the count reaches the tier."""

    up_to: int | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal("0")


class TierError(ValueError):
    pass


def validate_tiers(mode: str, tiers: Sequence[Tier]) -> None:
    """Tiers are contiguous from 1, strictly increasing, the last open-ended (R11);
    a per-unit table has exactly one (open) tier. Raises ``TierError``."""
    if mode not in PricingMode.ALL:
        raise TierError(_("unknown pricing %(mode)r") % {"mode": mode})
    if not tiers:
        raise TierError(_("at least one tier is needed"))
    if mode == PricingMode.PER_UNIT and len(tiers) != 1:
        raise TierError(_("a per-unit price table has exactly one tier"))
    if tiers[-1].up_to is not None:
        raise TierError(_("the last tier must be open-ended (empty UP_TO)"))
    previous = 0
    for tier in tiers[:-1]:
        if tier.up_to is None:
            raise TierError(_("only the last tier may be open-ended"))
        if tier.up_to <= previous:
            raise TierError(
                _("tier limits must increase (got %(limit)d after %(previous)d)")
                % {"limit": tier.up_to, "previous": previous}
            )
        previous = tier.up_to
    for tier in tiers:
        if tier.unit_price < 0 or tier.flat_fee < 0:
            raise TierError(_("prices cannot be negative"))
        if -tier.unit_price.as_tuple().exponent > PRICE_PLACES:
            raise TierError(
                _("unit price %(price)s has more than %(places)d decimals")
                % {"price": tier.unit_price, "places": PRICE_PLACES}
            )


def tier_bounds(tiers: Sequence[Tier]) -> Iterable[tuple[int, int | None, Tier]]:
    """(first, last, tier) for each tier; ``last`` None for the open tier."""
    first = 1
    for tier in tiers:
        yield first, tier.up_to, tier
        if tier.up_to is not None:
            first = tier.up_to + 1


@dataclass(frozen=True)
class AuthFee:
    amount: Decimal
    #: the unit price applied to every authentication, when there is one (per unit, volume)
    unit_price: Decimal | None


def auth_fee(count: int, mode: str, tiers: Sequence[Tier]) -> AuthFee:
    """R11 for one contract-month: ``count`` successful authentications priced by the
    table; thresholds are per calendar month and never prorated."""
    validate_tiers(mode, tiers)
    if count < 0:
        raise ValueError("a count cannot be negative")
    if mode == PricingMode.PER_UNIT:
        tier = tiers[0]
        flat = tier.flat_fee if count else Decimal("0")
        return AuthFee(truncate_yen(count * tier.unit_price + flat), tier.unit_price)
    if mode == PricingMode.GRADUATED:
        total = Decimal("0")
        for first, last, tier in tier_bounds(tiers):
            if count < first:
                break
            inside = (count if last is None else min(count, last)) - first + 1
            total += inside * tier.unit_price + tier.flat_fee
        return AuthFee(truncate_yen(total), None)
    # volume: the tier that the whole count reaches prices every authentication
    if count == 0:
        return AuthFee(Decimal("0"), tiers[0].unit_price)
    for _first, last, tier in tier_bounds(tiers):
        if last is None or count <= last:
            return AuthFee(truncate_yen(count * tier.unit_price + tier.flat_fee), tier.unit_price)
    raise AssertionError("validate_tiers guarantees an open last tier")  # pragma: no cover


# --- R12: consumption tax ------------------------------------------------------------


def consumption_tax(taxable_subtotal: Decimal) -> Decimal:
    """Once per invoice, on the sum of its taxable lines, truncated to the yen."""
    return truncate_yen(taxable_subtotal * TAX_RATE)
