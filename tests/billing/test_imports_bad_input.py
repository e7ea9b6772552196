"""Rate card import edge cases found by the bad-input corpus (tests/e2e/test_bad_input.py).
In their own file, beside whatever billing's import tests become."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from billing.calculation import Tier
from billing.imports import parse_tiers
from billing.models import RateCard
from contracts.csvimport import CellError, ImportRejected, run_import
from tests.contracts.factories import ContractFactory


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


@pytest.mark.django_db
class TestApprovedCards:
    HEADER = "contract_code,valid_from,valid_until,base_fee,account_unit_price,approved_by,approved_on,notified_on\n"
    APPROVED = "E1,2026-04,,30000,300,shonin,2026-03-28,2026-03-29\n"

    @pytest.fixture(autouse=True)
    def approved_card(self, django_user_model):
        approver = django_user_model.objects.create_user("shonin", password="x", is_staff=True)
        approver.groups.add(Group.objects.get(name="Sales"))  # may approve rate cards
        ContractFactory(code="E1", in_service=True)  # accepted and billed from 2026-03-25
        run_import("rate_cards", (self.HEADER + self.APPROVED).encode())

    def card(self):
        return RateCard.objects.select_related("approved_by").get(contract__code="E1")

    @pytest.mark.parametrize(
        "text",
        [
            HEADER + "E1,2026-04,,30000,300,,,2026-03-29\n",  # the approval left empty
            HEADER + "E1,2026-04,,31000,300,,,2026-03-29\n",  # … and the price changed with it
            "contract_code,valid_from,base_fee,account_unit_price\nE1,2026-04,30000,300\n",  # no such columns
            HEADER + "E1,2026-04,,30000,300,shonin,2026-03-30,2026-03-29\n",  # another date
        ],
    )
    def test_a_file_cannot_withdraw_or_change_an_approval(self, text):
        with pytest.raises(ImportRejected) as rejected:
            run_import("rate_cards", text.encode())
        assert [str(p) for p in rejected.value.problems] == [
            "line 2, column approved_by: 別紙1: この料金表は承認済みです（shonin、2026-03-28）。"
            "ファイルで承認を取り消したり変更したりすることはできません。"
            "ファイルにも同じ承認を記載するか、この行を除いてください。"
        ]
        card = self.card()
        assert (card.approved_by.username, card.approved_on, card.base_fee.amount) == (
            "shonin",
            dt.date(2026, 3, 28),
            Decimal(30000),
        )

    def test_the_same_approved_row_is_unchanged_and_it_may_be_ended(self):
        assert run_import("rate_cards", (self.HEADER + self.APPROVED).encode()).counts.unchanged == 1
        ended = self.APPROVED.replace("2026-04,,", "2026-04,2026-09,")
        assert run_import("rate_cards", (self.HEADER + ended).encode()).counts.updated == 1
        assert self.card().valid_until == dt.date(2026, 9, 1)
