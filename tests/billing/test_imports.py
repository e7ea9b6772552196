"""import_csv for the billing kinds (rate_cards, accounts, auth_counts,
one_time_charges): good files, a second run that changes nothing, updates, every kind
of bad row with its line and column, dry runs. Through the command, as operators run it."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.models import AccountRegistration, AuthCount, OneTimeCharge, RateCard
from billing.runs import billing_month_compute
from tests.contracts.factories import ContractFactory

from .factories import AccountRegistrationFactory, RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date

#: entered by eigyo1 (the author); approvals are a second person's act (TestWhoApproves)
RATE_CARDS = """contract_code,valid_from,valid_until,base_fee,account_unit_price,auth_pricing,auth_tiers,approved_by,approved_on,notified_on
E1,2026-04,2026-09,30000,300,,,,,2026-03-21
E1,2026-10,,32000,310.5,,,,,
S1,2026-04,,50000,,graduated,100000:0.50;1000000:0.30;:0.10,,,2026/03/21
"""
#: the same cards, E1's spring card and S1's approved by shonin running the import
APPROVALS = """contract_code,valid_from,valid_until,base_fee,account_unit_price,auth_pricing,auth_tiers,approved_by,approved_on,notified_on
E1,2026-04,2026-09,30000,300,,,shonin,,2026-03-21
E1,2026-10,,32000,310.5,,,,,
S1,2026-04,,50000,,graduated,100000:0.50;1000000:0.30;:0.10,shonin,,2026/03/21
"""

ACCOUNTS = """contract_code,account_id,registered_on,deregistered_on
E1,a1@example.jp,2026-04-01,
E1,a2@example.jp,2026-04-01,2026-05-31
E1,a2@example.jp,2026-07-01,
"""

AUTH_COUNTS = """contract_code,date,success_count
S1,2026-10-01,100000
S1,2026-10-02,150000
"""

ONE_TIME_CHARGES = """contract_code,description,amount,due_on
E1,設定変更作業,5000,2026-10-05
S1,端末追加設定,12000,2026/10/20
"""


def on_screen(day: dt.date) -> str:
    """A day of the clock (today) as screens and refusals write it: 2026年11月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


@pytest.fixture(autouse=True)
def contracts(db):
    """E1 (Enterprise) and S1 (Service Provider), both billed from 2026-04-01; Sales staff
    "eigyo1" (who enters rate cards), "shonin" (who approves them) and "eigyo2"."""
    for name in ("eigyo1", "shonin", "eigyo2"):
        UserFactory(username=name, role="Sales")
    dates = {"applied_on": D(2026, 3, 20), "accepted_on": D(2026, 3, 25), "billing_start_on": D(2026, 4, 1)}
    return (
        ContractFactory(code="E1", item="enterprise", in_service=True, **dates),
        ContractFactory(code="S1", item="service_provider", in_service=True, **dates),
    )


def _user(kind, user):
    """Every file is imported by a named person (eigyo1 unless told): rate cards need one."""
    return ("--user", user) if user else ()


def run(kind, text, tmp_path, *args, user="eigyo1"):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("import_csv", kind, str(path), *_user(kind, user), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_failing(kind, text, tmp_path, *args, user="eigyo1"):
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="何も取り込んでいません"):
        call_command(
            "import_csv", kind, str(path), *_user(kind, user), *args, stdout=io.StringIO(), stderr=err
        )
    return err.getvalue().splitlines()


def rate_cards_header():
    return RATE_CARDS.splitlines()[0] + "\n"


# --- rate cards -------------------------------------------------------------------------


class TestRateCards:
    def test_good_file_then_a_second_run_changes_nothing(self, tmp_path):
        output = run("rate_cards", RATE_CARDS, tmp_path)
        assert "rate_cards: 3行: 新規 3件、更新 0件、変更なし 0件" in output

        e1_spring, e1_autumn = RateCard.objects.filter(contract__code="E1").order_by("valid_from")
        assert (e1_spring.valid_from, e1_spring.valid_until) == (D(2026, 4, 1), D(2026, 9, 1))
        assert e1_spring.created_by.username == "eigyo1" and e1_spring.approved_by is None
        assert e1_autumn.account_unit_price.amount == Decimal("310.5")
        s1 = RateCard.objects.get(contract__code="S1")
        assert s1.notified_on == D(2026, 3, 21)
        assert [(t.up_to, t.unit_price.amount, t.flat_fee.amount) for t in s1.tiers.all()] == [
            (100_000, Decimal("0.5"), Decimal("0")),
            (1_000_000, Decimal("0.3"), Decimal("0")),
            (None, Decimal("0.1"), Decimal("0")),
        ]
        tier_ids = set(s1.tiers.values_list("pk", flat=True))

        assert "新規 0件、更新 0件、変更なし 3件" in run("rate_cards", RATE_CARDS, tmp_path)
        assert set(s1.tiers.values_list("pk", flat=True)) == tier_ids  # not rewritten
        # the audit trail records the importer, for the card and for each tier
        assert set(RateCard.history.values_list("history_user__username", flat=True)) == {"eigyo1"}
        assert set(s1.tiers.model.history.values_list("history_user__username", flat=True)) == {"eigyo1"}

    def test_an_unapproved_card_is_updated_and_tiers_with_flat_fees(self, tmp_path):
        run("rate_cards", RATE_CARDS, tmp_path)
        changed = rate_cards_header() + (
            "E1,2026-10,2026-12,33000,310.5,,,,,\n"
            "E1,2027-01,,33000,310.5,graduated,10:1:500;:0.5,,,\n"  # both components: fine
        )
        assert "新規 1件、更新 1件、変更なし 0件" in run("rate_cards", changed, tmp_path)
        autumn = RateCard.objects.get(contract__code="E1", valid_from=D(2026, 10, 1))
        assert autumn.base_fee.amount == Decimal("33000")
        january = RateCard.objects.get(contract__code="E1", valid_from=D(2027, 1, 1))
        assert [(t.up_to, t.unit_price.amount, t.flat_fee.amount) for t in january.tiers.all()] == [
            (10, Decimal("1"), Decimal("500")),
            (None, Decimal("0.5"), Decimal("0")),
        ]
        assert RateCard.objects.filter(contract__code="E1").count() == 3

    @pytest.mark.parametrize("new_card_first", [False, True])
    def test_ending_a_card_and_adding_the_next_in_any_row_order(self, tmp_path, new_card_first):
        run("rate_cards", RATE_CARDS, tmp_path)
        rows = ["E1,2026-10,2026-12,32000,310.5,,,,,\n", "E1,2027-01,,34000,320,,,,,\n"]
        if new_card_first:
            rows.reverse()
        assert "新規 1件、更新 1件、変更なし 0件" in run(
            "rate_cards", rate_cards_header() + "".join(rows), tmp_path
        )
        assert list(
            RateCard.objects.filter(contract__code="E1").values_list("valid_from", "valid_until")
        ) == [(D(2026, 4, 1), D(2026, 9, 1)), (D(2026, 10, 1), D(2026, 12, 1)), (D(2027, 1, 1), None)]

    @pytest.mark.parametrize(
        ("row", "expected"),
        [
            (
                "E1,2026-04,2026-09,31000,300,,,,,2026-03-21",
                "line 2, column valid_from: 別紙1: 承認済みの料金表は変更できません。"
                "後の月から新しい料金表を登録するか、この料金表の適用終了月を設定してください。",
            ),
            (
                "E1,2026-04,2026-09,30000,300,,,eigyo2,,2026-03-21",
                f"line 2, column approved_by: 別紙1: この料金表は承認済みです（shonin、{on_screen(timezone.localdate())}）。"
                "ファイルで承認を取り消したり変更したりすることはできません。"
                "ファイルにも同じ承認を記載するか、承認の列を空欄にしてください。",
            ),
            (
                "S1,2026-04,,50000,,graduated,100000:0.50;1000000:0.25;:0.10,,,2026-03-21",
                "line 2, column auth_tiers: 別紙1: 承認済みの料金表は変更できません。"
                "後の月から新しい料金表を登録してください。",
            ),
        ],
    )
    def test_an_approved_card_is_not_changed_by_a_reimport(self, tmp_path, row, expected):
        run("rate_cards", RATE_CARDS, tmp_path)
        run("rate_cards", APPROVALS, tmp_path, user="shonin")
        lines = run_failing("rate_cards", rate_cards_header() + row + "\n", tmp_path)
        assert lines == [expected]
        spring = RateCard.objects.get(contract__code="E1", valid_from=D(2026, 4, 1))
        assert spring.base_fee.amount == Decimal("30000")
        assert spring.is_billable and spring.approved_by.username == "shonin"
        s1 = RateCard.objects.get(contract__code="S1")
        assert [t.unit_price.amount for t in s1.tiers.all()] == [
            Decimal("0.5"),
            Decimal("0.3"),
            Decimal("0.1"),
        ]

    def test_row_problems_with_line_and_column(self, tmp_path):
        text = rate_cards_header() + (
            "E1,2026-04,,30000,300,,,nobody,,2026-03-21\n"
            "E1,2026-06,,30000,300,,,,2026-06-01,\n"
            "S1,2026-04,,50000,,graduated,,,,\n"
            "S1,2026-05,,50000,,,,,,\n"
            "E9,2026-04,,1000,1,,,,,\n"
            "E1,2026-04-01,,1000,1,,,,,\n"
            "E1,2027-01,,1000,1.23456,,,,,\n"
        )
        assert run_failing("rate_cards", text, tmp_path) == [
            "line 2, column approved_by: 承認は承認する担当者本人が行います。nobody さんが --user nobody "
            "でこの取り込みを実行するか、管理画面で承認してください",
            "line 3, column approved_on: approved_on が入力されていますが、approved_by が空欄です",
            "line 4, column auth_tiers: auth_pricing と auth_tiers は両方入力するか、両方空欄にしてください",
            "line 5, column auth_pricing: 別紙1: この料金表の適用期間に品目がサービスプロバイダの月があるため、"
            "サービスプロバイダの認証料金表（認証API使用料）が必要です。",
            "line 6, column contract_code: 契約 'E9' は登録されていません",
            "line 7, column valid_from: '2026-04-01' は年月ではありません（YYYY-MM）",
            "line 8, column account_unit_price: 1.23456 は小数点以下が4桁を超えています",
        ]
        assert not RateCard.objects.exists()

    def test_overlapping_periods_in_the_file_and_against_stored_cards(self, tmp_path):
        RateCardFactory(contract__code="S9", valid_from=D(2026, 4, 1), valid_until=D(2026, 6, 1))
        text = rate_cards_header() + (
            "E1,2026-04,2026-09,30000,300,,,,,\n"
            "E1,2026-09,,30000,300,,,,,\n"
            "S9,2026-06,,30000,300,,,,,\n"
            "S9,2026-07,,30000,300,,,,,\n"
        )
        overlap = "別紙1: 同じ契約の料金表の適用期間は重複できません"
        assert run_failing("rate_cards", text, tmp_path) == [
            f"line 2, column valid_from: {overlap}（E1 2026年9月〜 と重複）。",
            f"line 3, column valid_from: {overlap}（E1 2026年4月〜2026年9月 と重複）。",
            f"line 4, column valid_from: {overlap}（S9 2026年4月〜2026年6月 と重複）。",  # the stored card
            f"line 4, column valid_from: {overlap}（S9 2026年7月〜 と重複）。",
            f"line 5, column valid_from: {overlap}（S9 2026年6月〜 と重複）。",
        ]
        assert RateCard.objects.count() == 1

    @pytest.mark.parametrize(
        ("tiers", "expected"),
        [
            ("100000-0.50;:0.10", "段階1 '100000-0.50' は UP_TO:UNIT_PRICE[:FLAT_FEE] の形式ではありません"),
            (
                "100000:0.50;:0.10:5:5",
                "段階2 ':0.10:5:5' は UP_TO:UNIT_PRICE[:FLAT_FEE] の形式ではありません",
            ),
            ("abc:0.50;:0.10", "段階1: UP_TO 'abc' は回数ではありません"),
            ("0:0.50;:0.10", "段階1: UP_TO '0' は回数ではありません"),
            (
                '"100000:1,5;:0.10"',  # a quoted cell: the comma is inside the price
                "段階1: '1,5' は金額ではありません（数字と小数点のみ。桁区切りは使えません）",
            ),
            (
                "100000:x;:0.10",
                "段階1: 'x' は金額ではありません（数字と小数点のみ。桁区切りは使えません）",
            ),
            ("100000:0.12345;:0.10", "段階1: 0.12345 は小数点以下が4桁を超えています"),
            ("100000:0.5:0.5;:0.10", "段階1: 0.5 は小数点以下が0桁を超えています"),
            ("100000:-1;:0.10", "段階1: -1 は負の数です。金額は0以上で入力してください"),
        ],
    )
    def test_tier_syntax_errors(self, tmp_path, tiers, expected):
        row = f"S1,2026-04,,50000,,graduated,{tiers},,,\n"
        assert run_failing("rate_cards", rate_cards_header() + row, tmp_path) == [
            f"line 2, column auth_tiers: {expected}"
        ]

    @pytest.mark.parametrize(
        ("pricing", "tiers"),
        [
            ("graduated", "100000:0.50;1000000:0.30"),  # the last tier is not open-ended
            ("graduated", "1000000:0.50;100000:0.30;:0.10"),  # limits do not increase
            ("graduated", ":0.50;:0.10"),  # an open tier before the last
            ("per_unit", "100:0.50;:0.10"),  # per unit has one tier
        ],
    )
    def test_tier_tables_that_break_r11_are_refused(self, tmp_path, pricing, tiers):
        row = f"S1,2026-04,,50000,,{pricing},{tiers},,,\n"
        (line,) = run_failing("rate_cards", rate_cards_header() + row, tmp_path)
        assert line.startswith("line 2, column auth_tiers: ")

    def test_tier_table_messages_are_japanese(self, tmp_path):
        row = "S1,2026-04,,50000,,graduated,100000:0.50;1000000:0.30,,,\n"
        (line,) = run_failing("rate_cards", rate_cards_header() + row, tmp_path)
        assert line == "line 2, column auth_tiers: 最後の段階は上限なし（UP_TO を空欄）にしてください"

    def test_dry_run_writes_nothing(self, tmp_path):
        output = run("rate_cards", RATE_CARDS, tmp_path, "--dry-run")
        assert "確認のみ（書き込みなし）。rate_cards: 3行: 新規 3件、更新 0件、変更なし 0件" in output
        assert not RateCard.objects.exists()


# --- accounts ---------------------------------------------------------------------------


class TestAccounts:
    def test_good_file_then_a_second_run_changes_nothing(self, tmp_path):
        assert "accounts: 3行: 新規 3件、更新 0件、変更なし 0件" in run("accounts", ACCOUNTS, tmp_path)
        assert list(
            AccountRegistration.objects.order_by("account_id", "registered_on").values_list(
                "account_id", "registered_on", "deregistered_on"
            )
        ) == [
            ("a1@example.jp", D(2026, 4, 1), None),
            ("a2@example.jp", D(2026, 4, 1), D(2026, 5, 31)),
            ("a2@example.jp", D(2026, 7, 1), None),
        ]
        assert "新規 0件、更新 0件、変更なし 3件" in run("accounts", ACCOUNTS, tmp_path)
        assert AccountRegistration.objects.count() == 3

    def test_a_deregistration_updates_the_period(self, tmp_path):
        run("accounts", ACCOUNTS, tmp_path)
        changed = ACCOUNTS.replace("a1@example.jp,2026-04-01,", "a1@example.jp,2026-04-01,2026-10-15")
        assert "新規 0件、更新 1件、変更なし 2件" in run("accounts", changed, tmp_path)
        a1 = AccountRegistration.objects.get(account_id="a1@example.jp")
        assert a1.deregistered_on == D(2026, 10, 15)

    @pytest.mark.parametrize("new_period_first", [False, True])
    def test_ending_a_period_and_registering_again(self, tmp_path, new_period_first):
        run("accounts", ACCOUNTS, tmp_path)
        rows = ["E1,a1@example.jp,2026-04-01,2026-05-31\n", "E1,a1@example.jp,2026-06-10,\n"]
        if new_period_first:
            rows.reverse()
        text = "contract_code,account_id,registered_on,deregistered_on\n" + "".join(rows)
        assert "新規 1件、更新 1件、変更なし 0件" in run("accounts", text, tmp_path)
        assert list(
            AccountRegistration.objects.filter(account_id="a1@example.jp")
            .order_by("registered_on")
            .values_list("registered_on", "deregistered_on")
        ) == [(D(2026, 4, 1), D(2026, 5, 31)), (D(2026, 6, 10), None)]

    def test_overlap_within_the_file(self, tmp_path):
        text = (
            "contract_code,account_id,registered_on,deregistered_on\n"
            "E1,a1@example.jp,2026-04-01,2026-06-30\n"
            "E1,a1@example.jp,2026-06-30,\n"
            "E1,a2@example.jp,2026-06-30,\n"
        )
        assert run_failing("accounts", text, tmp_path) == [
            "line 3, column registered_on: 登録ID a1@example.jp は 2026年4月1日〜2026年6月30日 "
            "にすでに登録されています（登録期間は重複できません）"
        ]
        assert not AccountRegistration.objects.exists()

    def test_an_overlap_behind_a_shorter_period_is_found_too(self, tmp_path):
        """A long period overlaps two later ones; comparing neighbours only missed the second."""
        text = (
            "contract_code,account_id,registered_on,deregistered_on\n"
            "E1,a1@example.jp,2026-04-01,\n"
            "E1,a1@example.jp,2026-05-01,2026-05-10\n"
            "E1,a1@example.jp,2026-06-01,\n"
        )
        already = (
            "登録ID a1@example.jp は 2026年4月1日〜 にすでに登録されています（登録期間は重複できません）"
        )
        assert run_failing("accounts", text, tmp_path) == [
            f"line 3, column registered_on: {already}",
            f"line 4, column registered_on: {already}",
        ]

    def test_overlap_with_a_stored_period(self, tmp_path):
        run("accounts", ACCOUNTS, tmp_path)
        text = (
            "contract_code,account_id,registered_on,deregistered_on\n"
            "E1,a3@example.jp,2026-04-01,\n"
            "E1,a2@example.jp,2026-05-31,2026-06-05\n"
            "E1,a1@example.jp,2026-08-01,\n"
        )
        assert run_failing("accounts", text, tmp_path) == [
            "line 3, column registered_on: 登録ID a2@example.jp は 2026年4月1日〜2026年5月31日 "
            "にすでに登録されています（登録期間は重複できません）",
            "line 4, column registered_on: 登録ID a1@example.jp は 2026年4月1日〜 "
            "にすでに登録されています（登録期間は重複できません）",
        ]
        assert AccountRegistration.objects.count() == 3

    def test_a_file_period_before_a_stored_one_that_reaches_it(self, tmp_path, contracts):
        AccountRegistrationFactory(
            contract=contracts[0],
            account_id="a9",
            registered_on=D(2026, 8, 1),
        )
        text = "contract_code,account_id,registered_on,deregistered_on\nE1,a9,2026-04-01,\n"
        (line,) = run_failing("accounts", text, tmp_path)
        assert line.startswith("line 2, column registered_on: 登録ID a9 は")

    def test_row_problems_with_line_and_column(self, tmp_path):
        text = (
            "contract_code,account_id,registered_on,deregistered_on\n"
            "E1,a1,2026-04-10,2026-04-09\n"
            "E9,a1,2026-04-10,\n"
            "E1,,2026-04-10,\n"
            "E1,a2,2026-02-30,\n"
            "E1,a3,2026-04-10,\n"
            "E1,a3,2026-04-10,\n"
        )
        assert run_failing("accounts", text, tmp_path) == [
            "line 2, column deregistered_on: 登録日 2026年4月10日 より前です",
            "line 3, column contract_code: 契約 'E9' は登録されていません",
            "line 4, column account_id: 値が必要です",
            "line 5, column registered_on: 2026-02-30 は存在しない日付です（2026年2月は28日まで）",
            "line 7, column registered_on: 6行目と重複しています（contract_code, account_id, registered_on が同じ）",
            # the same row is also a period that overlaps line 6's
            "line 7, column registered_on: 登録ID a3 は 2026年4月10日〜 にすでに登録されています（登録期間は重複できません）",
        ]

    def test_dry_run_writes_nothing(self, tmp_path):
        output = run("accounts", ACCOUNTS, tmp_path, "--dry-run")
        assert "確認のみ（書き込みなし）。accounts: 3行: 新規 3件" in output
        assert not AccountRegistration.objects.exists()


# --- authentication counts ------------------------------------------------------------------


class TestAuthCounts:
    def test_good_file_then_a_second_run_changes_nothing(self, tmp_path):
        assert "auth_counts: 2行: 新規 2件、更新 0件、変更なし 0件" in run(
            "auth_counts", AUTH_COUNTS, tmp_path
        )
        assert "新規 0件、更新 0件、変更なし 2件" in run("auth_counts", AUTH_COUNTS, tmp_path)
        assert sorted(AuthCount.objects.values_list("date", "success_count")) == [
            (D(2026, 10, 1), 100_000),
            (D(2026, 10, 2), 150_000),
        ]

    def test_a_reimported_day_replaces_its_count(self, tmp_path, contracts):
        RateCardFactory(contract=contracts[1], base_fee=Decimal("50000"))
        run("auth_counts", AUTH_COUNTS, tmp_path)
        corrected = "contract_code,date,success_count\nS1,2026-10-02,50000\n"
        assert "新規 0件、更新 1件、変更なし 0件" in run("auth_counts", corrected, tmp_path)
        assert "新規 0件、更新 0件、変更なし 1件" in run("auth_counts", corrected, tmp_path)
        assert sorted(AuthCount.objects.values_list("date", "success_count")) == [
            (D(2026, 10, 1), 100_000),
            (D(2026, 10, 2), 50_000),
        ]
        summary = billing_month_compute(month=D(2026, 10, 1))
        # 150,000 (not 300,000): 100,000 × 0.50 + 50,000 × 0.30 = 65,000; + base 50,000
        # = 115,000, tax 11,500
        assert summary.total == Decimal("126500")

    def test_row_problems_with_line_and_column(self, tmp_path):
        text = (
            "contract_code,date,success_count\n"
            "S1,2026-10-01,-5\n"
            "S1,2026-10-02,1.5\n"
            "S1,2026-10-03,1000000000001\n"
            "S9,2026-10-04,10\n"
            "S1,2026-10-05,10\n"
            "S1,2026/10/05,20\n"
        )
        assert run_failing("auth_counts", text, tmp_path) == [
            "line 2, column success_count: -5 は負の数です。回数は0以上で入力してください",
            "line 3, column success_count: '1.5' は整数ではありません",
            "line 4, column success_count: 1000000000001 は上限 1000000000000 を超えています",
            "line 5, column contract_code: 契約 'S9' は登録されていません",
            "line 7, column date: 6行目と重複しています（contract_code, date が同じ）",
        ]
        assert not AuthCount.objects.exists()

    def test_dry_run_writes_nothing(self, tmp_path):
        run("auth_counts", AUTH_COUNTS, tmp_path)
        corrected = "contract_code,date,success_count\nS1,2026-10-02,1\nS1,2026-10-03,1\n"
        output = run("auth_counts", corrected, tmp_path, "--dry-run")
        assert "確認のみ（書き込みなし）。auth_counts: 2行: 新規 1件、更新 1件、変更なし 0件" in output
        assert sorted(AuthCount.objects.values_list("date", "success_count")) == [
            (D(2026, 10, 1), 100_000),
            (D(2026, 10, 2), 150_000),
        ]


# --- one-time charges ---------------------------------------------------------------------


class TestOneTimeCharges:
    def test_the_audit_trail_records_each_imported_charge_and_who_imported_it(self, tmp_path):
        """Money-relevant rows written in bulk (COPY) still leave their history (issue 11)."""
        run("one_time_charges", ONE_TIME_CHARGES, tmp_path)
        changed = ONE_TIME_CHARGES.replace(",5000,", ",5500,")
        assert "新規 0件、更新 1件、変更なし 1件" in run("one_time_charges", changed, tmp_path, user="eigyo2")
        history = OneTimeCharge.history.order_by("history_id").values_list(
            "description", "amount", "history_type", "history_user__username"
        )
        assert list(history) == [
            ("設定変更作業", Decimal("5000"), "+", "eigyo1"),
            ("端末追加設定", Decimal("12000"), "+", "eigyo1"),
            ("設定変更作業", Decimal("5500"), "~", "eigyo2"),
        ]
        e1 = OneTimeCharge.objects.get(contract__code="E1")
        assert e1.history.latest().instance.amount.amount == Decimal("5500")

    def test_good_file_then_a_second_run_changes_nothing(self, tmp_path):
        assert "one_time_charges: 2行: 新規 2件、更新 0件、変更なし 0件" in run(
            "one_time_charges", ONE_TIME_CHARGES, tmp_path
        )
        assert "新規 0件、更新 0件、変更なし 2件" in run("one_time_charges", ONE_TIME_CHARGES, tmp_path)
        assert sorted(
            (c.contract.code, c.description, c.amount.amount, c.due_on)
            for c in OneTimeCharge.objects.select_related("contract")
        ) == [
            ("E1", "設定変更作業", Decimal("5000"), D(2026, 10, 5)),
            ("S1", "端末追加設定", Decimal("12000"), D(2026, 10, 20)),
        ]

    def test_a_changed_amount_is_counted_as_updated(self, tmp_path):
        run("one_time_charges", ONE_TIME_CHARGES, tmp_path)
        changed = ONE_TIME_CHARGES.replace("設定変更作業,5000", "設定変更作業,6000")
        assert "新規 0件、更新 1件、変更なし 1件" in run("one_time_charges", changed, tmp_path)
        assert OneTimeCharge.objects.get(description="設定変更作業").amount.amount == Decimal("6000")
        assert OneTimeCharge.objects.count() == 2
        assert "新規 0件、更新 0件、変更なし 2件" in run("one_time_charges", changed, tmp_path)

    def test_row_problems_with_line_and_column(self, tmp_path):
        text = (
            "contract_code,description,amount,due_on\n"
            "E1,値引き,-500,2026-10-05\n"
            "E1,作業\u200b費,500,2026-10-05\n"
            "E1,作業,500.5,2026-10-05\n"
            "E1,作業,1,000,2026-10-05\n"
            "E1,作業,500,2026-10-05\n"
            "E1,作業,600,2026-10-05\n"
        )
        assert run_failing("one_time_charges", text, tmp_path) == [
            "line 2, column amount: -500 は負の数です。金額は0以上で入力してください",
            "line 3, column description: 目に見えない制御文字（U+200B ZERO WIDTH SPACE）が含まれています。"
            "取り除いてください",
            "line 4, column amount: 500.5 は小数点以下が0桁を超えています",
            "line 5: 値が5個ありますが、見出し行は4列です",
            "line 7, column description: 6行目と重複しています（contract_code, due_on, description が同じ）",
        ]
        assert not OneTimeCharge.objects.exists()

    def test_dry_run_writes_nothing(self, tmp_path):
        output = run("one_time_charges", ONE_TIME_CHARGES, tmp_path, "--dry-run")
        assert "確認のみ（書き込みなし）。one_time_charges: 2行: 新規 2件" in output
        assert not OneTimeCharge.objects.exists()


def test_unknown_columns_are_an_error(tmp_path):
    lines = run_failing("auth_counts", "contract_code,date,success_count,note\nS1,2026-10-01,1,x\n", tmp_path)
    assert lines[0].startswith("line 1, column note: 不明な列です")


class TestWhoApproves:
    """Four-eyes (company policy, issue 10): a rate card file is imported by a named staff
    member, the author of the cards it creates; an approval in a file is the act of the
    person running the import, on cards someone else entered and whose amounts they did not
    change, dated the day of the import; an approved card's last month and notification
    date change only once a second person approves the change."""

    def card(self):
        return RateCard.objects.get(contract__code="E1", valid_from=D(2026, 4, 1))

    def test_without_user_nothing_is_imported(self, tmp_path):
        assert run_failing("rate_cards", RATE_CARDS, tmp_path, user=None) == [
            "line 1: 料金表は担当者を指定して取り込みます。import_csv rate_cards に --user USERNAME "
            "を付けて実行してください（新しい料金表の入力者として記録され、その人は承認できません）"
        ]
        assert not RateCard.objects.exists()

    def test_the_approver_approves_by_running_the_import_as_themselves(self, tmp_path):
        run("rate_cards", RATE_CARDS, tmp_path)
        output = run("rate_cards", APPROVALS, tmp_path, user="shonin")
        assert "新規 0件、更新 2件、変更なし 1件" in output
        card = self.card()
        assert (card.created_by.username, card.approved_by.username) == ("eigyo1", "shonin")
        assert card.approved_on == timezone.localdate() and card.is_billable
        latest = RateCard.history.filter(id=card.pk).latest()
        assert (latest.history_user.username, latest.approved_by_id) == ("shonin", card.approved_by_id)
        assert "変更なし 3件" in run("rate_cards", APPROVALS, tmp_path, user="shonin")
        # the author's own file, without approvals, leaves the approvals alone
        assert "変更なし 3件" in run("rate_cards", RATE_CARDS, tmp_path)
        assert self.card().approved_by.username == "shonin"

    def test_a_file_cannot_carry_someone_elses_approval(self, tmp_path):
        """Issue 10, 2(b): approved_by=shonin in a file run by eigyo1 recorded an approval
        by a person who never acted."""
        run("rate_cards", RATE_CARDS, tmp_path)
        lines = run_failing("rate_cards", APPROVALS, tmp_path, user="eigyo1")
        assert lines == [
            "line 2, column approved_by: 承認は承認する担当者本人が行います。shonin さんが --user shonin "
            "でこの取り込みを実行するか、管理画面で承認してください",
            "line 4, column approved_by: 承認は承認する担当者本人が行います。shonin さんが --user shonin "
            "でこの取り込みを実行するか、管理画面で承認してください",
        ]
        assert not RateCard.objects.filter(approved_by__isnull=False).exists()

    def test_nobody_approves_a_card_in_the_file_that_enters_it(self, tmp_path):
        lines = run_failing("rate_cards", APPROVALS, tmp_path, user="shonin")
        assert lines[0] == (
            "line 2, column approved_by: 社内規程（入力者以外による承認）: この料金表はあなたが入力しています。"
            "別の担当者が承認してください。"
        )
        assert not RateCard.objects.exists()

    def test_an_approval_is_dated_the_day_it_is_given(self, tmp_path):
        run("rate_cards", RATE_CARDS, tmp_path)
        backdated = APPROVALS.replace("shonin,,", "shonin,2026-03-20,")
        lines = run_failing("rate_cards", backdated, tmp_path, user="shonin")
        assert lines[0] == (
            "line 2, column approved_on: 承認日は承認した当日です。approved_on を空欄にするか、"
            f"今日の日付（{on_screen(timezone.localdate())}）を入力してください"
        )
        today = APPROVALS.replace("shonin,,", f"shonin,{timezone.localdate()},")
        assert "更新 2件" in run("rate_cards", today, tmp_path, user="shonin")

    def test_who_changed_the_amounts_cannot_approve(self, tmp_path):
        """Issue 10, 2(a): sales2 edited the prices of a card sales1 entered, then approved it."""
        run("rate_cards", RATE_CARDS, tmp_path)
        edited = rate_cards_header() + "E1,2026-04,2026-09,29000,300,,,,,2026-03-21\n"
        run("rate_cards", edited, tmp_path, user="eigyo2")
        approval = rate_cards_header() + "E1,2026-04,2026-09,29000,300,,,eigyo2,,2026-03-21\n"
        assert run_failing("rate_cards", approval, tmp_path, user="eigyo2") == [
            "line 2, column approved_by: 社内規程（入力者以外による承認）: あなたはこの料金表の金額を変更しました。"
            "変更していない担当者が承認してください。"
        ]
        assert "更新 1件" in run("rate_cards", approval.replace("eigyo2", "shonin"), tmp_path, user="shonin")
        assert self.card().approved_by.username == "shonin"

    def test_the_approver_does_not_change_the_amounts_in_the_same_row(self, tmp_path):
        run("rate_cards", RATE_CARDS, tmp_path)
        changed = rate_cards_header() + "E1,2026-04,2026-09,1,300,,,shonin,,2026-03-21\n"
        assert run_failing("rate_cards", changed, tmp_path, user="shonin") == [
            "line 2, column approved_by: 社内規程（入力者以外による承認）: この行は料金表の金額を変更し、"
            "同時に承認しています。承認者は金額を変更できません。"
        ]
        assert self.card().base_fee.amount == Decimal("30000") and self.card().approved_by is None

    def test_an_approver_needs_the_permission_to_approve(self, tmp_path):
        UserFactory(username="keiri", role="Accounting")
        run("rate_cards", RATE_CARDS, tmp_path)
        lines = run_failing("rate_cards", APPROVALS.replace("shonin", "keiri"), tmp_path, user="keiri")
        assert lines == [
            "line 2, column approved_by: keiri には料金表を承認する権限がありません",
            "line 4, column approved_by: keiri には料金表を承認する権限がありません",
        ]

    def test_an_unknown_or_inactive_importing_user_is_refused(self, tmp_path):
        UserFactory(username="former", role="Sales", is_active=False)
        path = tmp_path / "rate_cards.csv"
        path.write_text(RATE_CARDS, encoding="utf-8")
        for name in ("nobody", "former"):
            with pytest.raises(CommandError, match=f"--user '{name}' は有効なスタッフではありません。"):
                call_command("import_csv", "rate_cards", str(path), "--user", name, stdout=io.StringIO())

    def test_a_new_last_month_of_an_approved_card_waits_for_a_second_person(self, tmp_path):
        """Issue 10, 2(d): the author alone could change an approved card's valid_until and
        clear notified_on, which stops billing."""
        run("rate_cards", RATE_CARDS, tmp_path)
        run("rate_cards", APPROVALS, tmp_path, user="shonin")
        ended = rate_cards_header() + "E1,2026-04,2026-06,30000,300,,,,,\n"  # ended early, notice cleared
        assert "更新 1件" in run("rate_cards", ended, tmp_path, user="eigyo2")
        card = self.card()
        # billing still reads the approved period and notification
        assert (card.valid_until, card.notified_on, card.is_billable) == (D(2026, 9, 1), D(2026, 3, 21), True)
        assert (
            card.change_requested_by.username,
            card.requested_valid_until,
            card.requested_notified_on,
        ) == (
            "eigyo2",
            D(2026, 6, 1),
            None,
        )
        assert "変更なし 1件" in run("rate_cards", ended, tmp_path, user="eigyo2")  # the same again
        with pytest.raises(ValidationError, match="この変更はあなたが申請しました"):
            card.approve(by=card.change_requested_by, on=D(2026, 12, 1))
        card.approve(by=card.created_by, on=D(2026, 12, 1))  # the author: a second person to eigyo2
        card.refresh_from_db()
        assert (card.valid_until, card.notified_on, card.has_change_request) == (D(2026, 6, 1), None, False)
        assert card.approved_by.username == "shonin" and not card.is_billable  # the card's approval
        change = RateCard.history.filter(id=card.pk).latest()
        assert change.history_user.username == "eigyo1"
        assert change.history_change_reason == "eigyo2 さんの変更申請を 2026年12月1日 に承認"

    def test_the_first_notification_of_an_approved_card_needs_no_second_approval(self, tmp_path):
        run("rate_cards", RATE_CARDS, tmp_path)
        run("rate_cards", APPROVALS.replace("2026-03-21", ""), tmp_path, user="shonin")
        assert self.card().notified_on is None and self.card().approved_by is not None
        assert "更新 1件" in run("rate_cards", RATE_CARDS, tmp_path)
        assert self.card().notified_on == D(2026, 3, 21) and self.card().is_billable
