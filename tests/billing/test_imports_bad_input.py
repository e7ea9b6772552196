"""Rate card import edge cases found by the bad-input corpus (tests/e2e/test_bad_input.py).
In their own file, beside whatever billing's import tests become."""

from decimal import Decimal

import pytest

from billing.calculation import Tier
from billing.imports import parse_tiers
from contracts.csvimport import CellError


class TestTiers:
    @pytest.mark.parametrize("up_to", ["1_000", "+100", "１００", " 1e3", "9" * 5000])
    def test_a_limit_is_ascii_digits(self, up_to):
        with pytest.raises(CellError) as error:
            parse_tiers(f"{up_to}:0.50;:0.10")
        assert str(error.value) == f"段階1: UP_TO {up_to.strip()[:40]!r} は回数ではありません"

    def test_a_good_table(self):
        assert parse_tiers(" 100000:0.50 ; :0.10:5 ") == [
            Tier(100000, Decimal("0.50"), Decimal(0)),
            Tier(None, Decimal("0.10"), Decimal(5)),
        ]
