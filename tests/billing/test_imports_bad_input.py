"""Rate card import edge cases found by the bad-input corpus (tests/e2e/test_bad_input.py).
In their own file, beside whatever billing's import tests become."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from billing.calculation import Tier
from billing.imports.rate_cards import parse_tiers
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
    """A file never withdraws, changes or backdates an approval (company policy, four-eyes)."""

    HEADER = "contract_code,valid_from,valid_until,base_fee,account_unit_price,approved_by,approved_on,notified_on\n"
    APPROVED = "E1,2026-04,,30000,300,shonin,2026-03-28,2026-03-29\n"

    @pytest.fixture(autouse=True)
    def approved_card(self, django_user_model):
        approver = django_user_model.objects.create_user("shonin", password="x", is_staff=True)
        approver.groups.add(Group.objects.get(name="Sales"))  # may approve rate cards
        self.author = django_user_model.objects.create_user("eigyo1", password="x", is_staff=True)
        contract = ContractFactory(code="E1", in_service=True)  # accepted and billed from 2026-03-25
        RateCard.objects.create(
            contract=contract,
            valid_from=dt.date(2026, 4, 1),
            base_fee=30000,
            account_unit_price=300,
            created_by=self.author,
            approved_by=approver,
            approved_on=dt.date(2026, 3, 28),
            notified_on=dt.date(2026, 3, 29),
        )

    def card(self):
        return RateCard.objects.select_related("approved_by").get(contract__code="E1")

    def run(self, text):
        return run_import("rate_cards", text.encode(), user=self.author)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                HEADER + "E1,2026-04,,30000,300,shonin,2026-03-30,2026-03-29\n",  # another date
                "line 2, column approved_by: 別紙1: この料金表は承認済みです（shonin、2026年3月28日）。"
                "ファイルで承認を取り消したり変更したりすることはできません。"
                "ファイルにも同じ承認を記載するか、承認の列を空欄にしてください。",
            ),
            (
                HEADER + "E1,2026-04,,31000,300,,,2026-03-29\n",  # the price changed
                "line 2, column valid_from: 別紙1: 承認済みの料金表は変更できません。後の月から新しい"
                "料金表を登録するか、この料金表の適用終了月を設定してください。",
            ),
        ],
    )
    def test_a_file_cannot_change_an_approved_card_or_its_approval(self, text, expected):
        with pytest.raises(ImportRejected) as rejected:
            self.run(text)
        assert [str(p) for p in rejected.value.problems] == [expected]
        card = self.card()
        assert (card.approved_by.username, card.approved_on, card.base_fee.amount) == (
            "shonin",
            dt.date(2026, 3, 28),
            Decimal(30000),
        )

    @pytest.mark.parametrize(
        "text",
        [
            HEADER + APPROVED,  # the approval repeated as it is
            HEADER + "E1,2026-04,,30000,300,,,2026-03-29\n",  # the approval left empty
            "contract_code,valid_from,base_fee,account_unit_price,notified_on\nE1,2026-04,30000,300,2026-03-29\n",
        ],
    )
    def test_a_row_that_says_nothing_new_is_unchanged(self, text):
        assert self.run(text).counts.unchanged == 1
        assert self.card().approved_by.username == "shonin"

    def test_ending_it_is_a_change_request_until_another_person_approves(self):
        ended = self.APPROVED.replace("2026-04,,", "2026-04,2026-09,")
        assert self.run(self.HEADER + ended).counts.updated == 1
        card = self.card()
        assert (card.valid_until, card.requested_valid_until, card.change_requested_by) == (
            None,
            dt.date(2026, 9, 1),
            self.author,
        )
