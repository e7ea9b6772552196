"""Annex 1 fees, pure: every worked example of rules.md (R9-R12) as literals worked out
by hand, and properties over days, counts and tier boundaries."""

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from billing.calculation import (
    PricingMode,
    Tier,
    TierError,
    account_coefficient,
    account_fee,
    auth_fee,
    consumption_tax,
    prorated_base_fee,
    truncate_coefficient,
    truncate_yen,
    validate_tiers,
)

D = Decimal

R11_TIERS = [Tier(100_000, D("0.50")), Tier(1_000_000, D("0.30")), Tier(None, D("0.10"))]


class TestRounding:
    def test_truncate_yen_never_rounds_up(self):
        assert truncate_yen(D("19285.714")) == D("19285")
        assert truncate_yen(D("0.9999")) == D("0")
        assert truncate_yen(D("406.2")) == D("406")

    def test_truncate_coefficient_keeps_three_decimals(self):
        assert truncate_coefficient(D("0.32258")) == D("0.322")
        assert truncate_coefficient(D("0.9999")) == D("0.999")


class TestBaseFee:
    @pytest.mark.parametrize(
        ("base", "days", "month_days", "expected"),
        [
            (D("30000"), 18, 28, D("19285")),  # R9 example: 2026-02-11 start
            (D("30000"), 28, 28, D("30000")),
            (D("30000"), 1, 31, D("967")),  # 967.74…
            (D("30000"), 0, 30, D("0")),
            (D("10000"), 29, 29, D("10000")),  # February 2028, full
            (D("10000"), 28, 29, D("9655")),  # 9655.17…
            (D("1234.5678"), 10, 30, D("411")),  # 411.5226
            (D("31"), 1, 31, D("1")),  # exact: never 0.99999…
            (D("93"), 10, 31, D("30")),
        ],
    )
    def test_examples(self, base, days, month_days, expected):
        assert prorated_base_fee(base, days, month_days) == expected

    @given(
        base=st.decimals(min_value=0, max_value=10_000_000, places=0),
        month_days=st.sampled_from([28, 29, 30, 31]),
        data=st.data(),
    )
    def test_monotonic_and_bounded(self, base, month_days, data):
        days = data.draw(st.integers(min_value=0, max_value=month_days - 1))
        fewer, more = prorated_base_fee(base, days, month_days), prorated_base_fee(base, days + 1, month_days)
        assert D(0) <= fewer <= more <= base
        # a month split in two never bills more than the whole month
        assert fewer + prorated_base_fee(base, month_days - days, month_days) <= base

    def test_days_outside_the_month_are_refused(self):
        with pytest.raises(ValueError):
            prorated_base_fee(D("100"), 32, 31)


class TestAccountFee:
    @pytest.mark.parametrize(
        ("days", "month_days", "expected"),
        [
            (31, 31, "1.000"),
            (10, 31, "0.322"),
            (1, 31, "0.032"),
            (14, 28, "0.500"),
            (14, 29, "0.482"),
            (29, 29, "1.000"),
            (0, 30, "0.000"),
            (30, 31, "0.967"),
        ],
    )
    def test_coefficient_examples(self, days, month_days, expected):
        assert account_coefficient(days, month_days) == D(expected)

    def test_r10_example_three_accounts_in_october(self):
        fee = account_fee({31: 1, 10: 1, 1: 1}, 31, D("300"))
        assert fee.coefficient_sum == D("1.354")
        assert fee.accounts == 3
        assert fee.amount == D("406")  # 300 + 96.6 + 9.6 = 406.2, truncated once

    def test_r10_example_february(self):
        assert account_fee({14: 1}, 28, D("300")).amount == D("150")

    def test_truncated_once_per_contract_not_per_account(self):
        # 7 accounts × 0.032 × 300 = 67.2 → 67 (per account truncation would give 7 × 9 = 63)
        assert account_fee({1: 7}, 31, D("300")).amount == D("67")

    def test_fractional_unit_price(self):
        # 0.500 × 123.4567 = 61.72835 → 61
        assert account_fee({14: 1}, 28, D("123.4567")).amount == D("61")

    def test_accounts_with_no_days_cost_nothing(self):
        fee = account_fee({0: 5}, 30, D("300"))
        assert (fee.coefficient_sum, fee.accounts, fee.amount) == (D("0"), 0, D("0"))

    @given(month_days=st.sampled_from([28, 29, 30, 31]), data=st.data())
    def test_coefficient_in_unit_interval_and_monotonic(self, month_days, data):
        days = data.draw(st.integers(min_value=0, max_value=month_days))
        coefficient = account_coefficient(days, month_days)
        assert D(0) <= coefficient <= D(1)
        assert coefficient.as_tuple().exponent == -3
        if days < month_days:
            assert account_coefficient(days + 1, month_days) >= coefficient
        assert (coefficient == 1) == (days == month_days)

    @given(
        month_days=st.sampled_from([28, 29, 30, 31]),
        histogram=st.dictionaries(st.integers(1, 28), st.integers(1, 1000), max_size=10),
        price=st.decimals(min_value=0, max_value=10_000, places=4),
        extra=st.integers(1, 28),
    )
    def test_fee_monotonic_in_days_and_accounts(self, month_days, histogram, price, extra):
        base = account_fee(histogram, month_days, price).amount
        with_account = dict(histogram)
        with_account[extra] = with_account.get(extra, 0) + 1
        assert account_fee(with_account, month_days, price).amount >= base
        if histogram:
            days = max(histogram)
            assume(days < month_days)
            longer = dict(histogram)
            longer[days] -= 1
            longer[days + 1] = longer.get(days + 1, 0) + 1
            assert account_fee(longer, month_days, price).amount >= base


class TestAuthFee:
    def test_r11_example_graduated_and_volume(self):
        assert auth_fee(250_000, PricingMode.GRADUATED, R11_TIERS).amount == D("95000")
        volume = auth_fee(250_000, PricingMode.VOLUME, R11_TIERS)
        assert volume.amount == D("75000")
        assert volume.unit_price == D("0.30")

    @pytest.mark.parametrize(
        ("count", "graduated", "volume"),
        [
            (0, "0", "0"),
            (1, "0", "0"),  # 0.5 → 0
            (2, "1", "1"),
            (100_000, "50000", "50000"),
            (100_001, "50000", "30000"),  # 50000.3 / 30000.3
            (1_000_000, "320000", "300000"),
            (1_000_001, "320000", "100000"),  # 320000.1 / 100000.1
            (1_000_010, "320001", "100001"),
        ],
    )
    def test_tier_boundaries_are_exact(self, count, graduated, volume):
        assert auth_fee(count, PricingMode.GRADUATED, R11_TIERS).amount == D(graduated)
        assert auth_fee(count, PricingMode.VOLUME, R11_TIERS).amount == D(volume)

    def test_per_unit(self):
        fee = auth_fee(12_345, PricingMode.PER_UNIT, [Tier(None, D("0.35"))])
        assert (fee.amount, fee.unit_price) == (D("4320"), D("0.35"))  # 4320.75

    def test_flat_fees_are_added_for_each_tier_reached(self):
        tiers = [
            Tier(100_000, D("0.50"), D("5000")),
            Tier(1_000_000, D("0.30"), D("1000")),
            Tier(None, D("0.10")),
        ]
        assert auth_fee(250_000, PricingMode.GRADUATED, tiers).amount == D("101000")
        assert auth_fee(250_000, PricingMode.VOLUME, tiers).amount == D("76000")
        assert auth_fee(0, PricingMode.GRADUATED, tiers).amount == D("0")
        assert auth_fee(0, PricingMode.PER_UNIT, [Tier(None, D("1"), D("500"))]).amount == D("0")
        assert auth_fee(1, PricingMode.PER_UNIT, [Tier(None, D("1"), D("500"))]).amount == D("501")

    @pytest.mark.parametrize(
        ("mode", "tiers", "message"),
        [
            ("per_unit", [Tier(10, D("1")), Tier(None, D("1"))], "単価制の料金表は段階が1つだけです"),
            ("graduated", [Tier(10, D("1"))], "最後の段階は上限なし"),
            (
                "graduated",
                [Tier(10, D("1")), Tier(10, D("1")), Tier(None, D("1"))],
                "段階の上限回数は増えていく必要があります（10 の次が 10）",
            ),
            ("graduated", [Tier(None, D("1")), Tier(None, D("1"))], "上限なしにできるのは最後の段階だけです"),
            ("volume", [], "段階が1つ以上必要です"),
            ("volume", [Tier(None, D("0.12345"))], "単価 0.12345 は小数点以下が4桁を超えています"),
            ("tiered", [Tier(None, D("1"))], "不明な認証料金方式"),
        ],
    )
    def test_invalid_tables_are_refused(self, mode, tiers, message):
        with pytest.raises(TierError, match=message):
            validate_tiers(mode, tiers)

    falling_tiers = st.lists(
        st.tuples(st.integers(1, 10_000), st.decimals(min_value=0, max_value=10, places=4)),
        min_size=1,
        max_size=5,
    ).map(
        lambda steps: [
            Tier(
                None if i == len(steps) - 1 else sum(s[0] for s in steps[: i + 1]),
                sorted((s[1] for s in steps), reverse=True)[i],
            )
            for i in range(len(steps))
        ]
    )

    @given(tiers=falling_tiers, count=st.integers(0, 100_000))
    def test_graduated_and_per_unit_are_monotonic_in_the_count(self, tiers, count):
        assert auth_fee(count + 1, "graduated", tiers).amount >= auth_fee(count, "graduated", tiers).amount
        unit = [Tier(None, tiers[0].unit_price)]
        assert auth_fee(count + 1, "per_unit", unit).amount >= auth_fee(count, "per_unit", unit).amount

    @given(tiers=falling_tiers, count=st.integers(0, 100_000))
    def test_volume_never_above_graduated_when_prices_fall_with_volume(self, tiers, count):
        # With prices falling from tier to tier, volume prices every authentication at the
        # lowest price reached, so it can never exceed graduated (R11 example: 75,000 ≤ 95,000).
        assert auth_fee(count, "volume", tiers).amount <= auth_fee(count, "graduated", tiers).amount

    @given(tiers=falling_tiers)
    def test_graduated_at_each_boundary_equals_the_sum_of_full_tiers(self, tiers):
        total, first = D(0), 1
        for tier in tiers[:-1]:
            total += (tier.up_to - first + 1) * tier.unit_price
            assert auth_fee(tier.up_to, "graduated", tiers).amount == truncate_yen(total)
            first = tier.up_to + 1


class TestConsumptionTax:
    def test_r12_example_once_per_invoice(self):
        assert consumption_tax(D("105") * 3) == D("31")  # not 3 × 10 = 30

    @pytest.mark.parametrize(
        ("subtotal", "tax"), [("0", "0"), ("9", "0"), ("19285", "1928"), ("95406", "9540")]
    )
    def test_truncated(self, subtotal, tax):
        assert consumption_tax(D(subtotal)) == D(tax)
