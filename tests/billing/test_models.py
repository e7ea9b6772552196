"""Billing rules held by the models: rate cards (Annex 1, R8) by clean(), check
constraints and (on PostgreSQL) exclusion constraints; registration periods (R10);
issued invoices that never change (R12)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing import runs
from billing.models import AccountRegistration, Invoice, InvoiceLine, InvoiceStatus, RateCard
from billing.models.invoices import InvoiceImmutable
from tests.contracts.factories import ContractFactory, ItemChangeFactory

from .factories import AccountRegistrationFactory, RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date

ISSUED_IMMUTABLE = "R12: 発行済みの請求書は変更できません。取り消して再発行してください。"
NEVER_DELETED = "R12: 発行済みの請求書は削除できません。取り消してください。"


def error_codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


def enterprise_contract(**kwargs):
    """Enterprise, in service from 2026-04-01."""
    return ContractFactory(
        in_service=True,
        item="enterprise",
        applied_on=D(2026, 3, 20),
        accepted_on=D(2026, 3, 25),
        billing_start_on=D(2026, 4, 1),
        **kwargs,
    )


# --- R8: periods of whole months that never overlap ---------------------------------


class TestRateCardPeriods:
    @pytest.mark.parametrize(
        ("valid_from", "valid_until", "existing"),
        [
            (D(2026, 6, 1), None, (D(2026, 4, 1), None)),  # two open cards
            (D(2026, 4, 1), D(2026, 4, 1), (D(2026, 4, 1), D(2026, 9, 1))),  # same first month
            (D(2026, 2, 1), D(2026, 4, 1), (D(2026, 4, 1), D(2026, 9, 1))),  # shares April
            (D(2026, 9, 1), None, (D(2026, 4, 1), D(2026, 9, 1))),  # shares September
            (D(2026, 5, 1), D(2026, 6, 1), (D(2026, 4, 1), D(2026, 9, 1))),  # inside
        ],
    )
    def test_overlapping_card_of_the_same_contract_is_refused(self, valid_from, valid_until, existing):
        contract = enterprise_contract()
        RateCardFactory(contract=contract, valid_from=existing[0], valid_until=existing[1])
        card = RateCardFactory.build(contract=contract, valid_from=valid_from, valid_until=valid_until)
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean(validate_unique=False)
        assert error_codes(excinfo, "valid_from") == ["overlap"]
        assert "別紙1: 同じ契約の料金表の適用期間は重複できません" in str(excinfo.value)

    def test_adjacent_cards_and_other_contracts_do_not_overlap(self):
        contract = enterprise_contract()
        RateCardFactory(contract=contract, valid_from=D(2026, 4, 1), valid_until=D(2026, 9, 1))
        RateCardFactory.build(contract=contract, valid_from=D(2026, 10, 1)).full_clean()
        RateCardFactory.build(
            contract=contract, valid_from=D(2026, 1, 1), valid_until=D(2026, 3, 1)
        ).full_clean()
        RateCardFactory.build(contract=enterprise_contract(), valid_from=D(2026, 4, 1)).full_clean()

    def test_a_stored_card_does_not_overlap_itself(self):
        card = RateCardFactory(contract=enterprise_contract(), valid_from=D(2026, 4, 1), unapproved=True)
        card.valid_until = D(2026, 12, 1)
        card.full_clean()

    @pytest.mark.postgres
    def test_database_refuses_overlap_whatever_the_path(self):
        contract = enterprise_contract()
        RateCardFactory(contract=contract, valid_from=D(2026, 4, 1), valid_until=D(2026, 9, 1))
        with pytest.raises(IntegrityError, match="rate_card_periods_do_not_overlap"), transaction.atomic():
            RateCardFactory(contract=contract, valid_from=D(2026, 9, 1))
        RateCardFactory(contract=contract, valid_from=D(2026, 10, 1))  # adjacent is fine
        assert RateCard.objects.filter(contract=contract).count() == 2

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("valid_from", D(2026, 4, 2), "別紙1: 料金表は月の初日から適用します。"),
            ("valid_until", D(2026, 9, 30), "別紙1: 適用する最後の月の初日を入力してください。"),
        ],
    )
    def test_a_card_covers_whole_months(self, field, value, message):
        card = RateCardFactory.build(contract=enterprise_contract(), **{field: value})
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean()
        assert error_codes(excinfo, field) == ["not_first"]
        assert message in excinfo.value.message_dict[field]

    @pytest.mark.parametrize(
        ("valid_from", "valid_until"), [(D(2026, 4, 15), None), (D(2026, 4, 1), D(2026, 9, 30))]
    )
    def test_database_holds_whole_months(self, valid_from, valid_until):
        with pytest.raises(IntegrityError), transaction.atomic():
            RateCardFactory(contract=enterprise_contract(), valid_from=valid_from, valid_until=valid_until)

    def test_database_refuses_a_last_month_before_the_first(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            RateCardFactory(
                contract=enterprise_contract(), valid_from=D(2026, 4, 1), valid_until=D(2026, 3, 1)
            )

    def test_covering_and_billable_querysets(self):
        contract = enterprise_contract()
        spring = RateCardFactory(contract=contract, valid_from=D(2026, 4, 1), valid_until=D(2026, 6, 1))
        later = RateCardFactory(contract=contract, valid_from=D(2026, 7, 1), unnotified=True)
        assert list(RateCard.objects.covering(D(2026, 6, 1))) == [spring]
        assert list(RateCard.objects.covering(D(2030, 1, 1))) == [later]
        assert not RateCard.objects.covering(D(2026, 3, 1)).exists()
        assert list(RateCard.objects.billable()) == [spring]
        assert (spring.is_billable, later.is_billable) == (True, False)


# --- R8: the component the item needs ----------------------------------------------


class TestRateCardComponents:
    def test_enterprise_card_needs_an_account_unit_price(self):
        card = RateCardFactory.build(contract=enterprise_contract(), account_unit_price=None)
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean()
        assert error_codes(excinfo, "account_unit_price") == ["missing_component"]
        assert excinfo.value.message_dict["account_unit_price"] == [
            "別紙1: この料金表の適用期間に品目がエンタープライズの月があるため、"
            "エンタープライズのアカウント単価（アカウント使用料）が必要です。"
        ]

    def test_service_provider_card_needs_an_authentication_price_table(self):
        contract = ContractFactory(in_service=True, item="service_provider")
        card = RateCardFactory.build(contract=contract, auth_pricing="", account_unit_price=Decimal("300"))
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean()
        assert error_codes(excinfo, "auth_pricing") == ["missing_component"]
        assert "サービスプロバイダの認証料金表（認証API使用料）が必要です" in str(excinfo.value)

    def test_a_card_that_spans_an_item_change_needs_both_components(self):
        contract = enterprise_contract()
        ItemChangeFactory(contract=contract, item="service_provider", effective_month=D(2026, 6, 1))
        spanning = RateCardFactory.build(contract=contract, valid_from=D(2026, 4, 1))
        with pytest.raises(ValidationError) as excinfo:
            spanning.full_clean()
        assert error_codes(excinfo, "auth_pricing") == ["missing_component"]
        assert "品目がサービスプロバイダの月があるため" in str(excinfo.value)

        # a card ending before the change, and one starting with it, need one component each
        RateCardFactory.build(
            contract=contract, valid_from=D(2026, 4, 1), valid_until=D(2026, 5, 1)
        ).full_clean()
        sp_only = RateCardFactory.build(
            contract=contract, valid_from=D(2026, 6, 1), account_unit_price=None, auth_pricing="volume"
        )
        sp_only.full_clean()
        assert sp_only.items_covered() == {"service_provider"}
        assert spanning.items_covered() == {"enterprise", "service_provider"}

    def test_a_card_from_after_a_change_back_needs_the_later_item_only(self):
        contract = ContractFactory(in_service=True, item="service_provider")
        ItemChangeFactory(
            contract=contract,
            item="enterprise",
            effective_month=D(2026, 9, 1),
            requested_on=D(2026, 8, 1),
            accepted_on=D(2026, 8, 2),
        )
        card = RateCardFactory.build(
            contract=contract, valid_from=D(2026, 9, 1), auth_pricing="", account_unit_price=Decimal("250")
        )
        card.full_clean()
        assert card.items_covered() == {"enterprise"}


# --- R8: four eyes, and an approved card is final ------------------------------------


class TestApproval:
    def test_approve_records_who_and_when(self):
        card = RateCardFactory(contract=enterprise_contract(), unapproved=True)
        checker = UserFactory(username="shonin")
        card.approve(by=checker, on=D(2026, 3, 30))
        card.refresh_from_db()
        assert (card.approved_by, card.approved_on, card.is_billable) == (checker, D(2026, 3, 30), True)

    def test_the_author_cannot_approve_their_own_card(self):
        card = RateCardFactory(contract=enterprise_contract(), unapproved=True)
        with pytest.raises(ValidationError) as excinfo:
            card.approve(by=card.created_by, on=D(2026, 3, 30))
        assert excinfo.value.code == "four_eyes"
        assert excinfo.value.messages == [
            "社内規程（入力者以外による承認）: この料金表はあなたが入力しました。別の担当者が承認してください。"
        ]
        card.refresh_from_db()
        assert card.approved_by is None

    def test_an_approved_card_is_not_approved_again(self):
        card = RateCardFactory(contract=enterprise_contract())
        first = card.approved_by
        with pytest.raises(ValidationError) as excinfo:
            card.approve(by=UserFactory(), on=D(2026, 4, 30))
        assert excinfo.value.code == "already_approved"
        card.refresh_from_db()
        assert card.approved_by == first

    def test_database_refuses_the_author_as_approver(self):
        card = RateCardFactory(contract=enterprise_contract(), unapproved=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            RateCard.objects.filter(pk=card.pk).update(
                approved_by=card.created_by, approved_on=D(2026, 3, 30)
            )
        card.refresh_from_db()
        assert card.approved_by is None

    def test_database_refuses_an_approval_without_its_date(self):
        card = RateCardFactory(contract=enterprise_contract(), unapproved=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            RateCard.objects.filter(pk=card.pk).update(approved_by=UserFactory())

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("base_fee", Decimal("31000")),
            ("account_unit_price", Decimal("299.9999")),
            ("valid_from", D(2026, 5, 1)),
        ],
    )
    def test_an_approved_cards_prices_do_not_change(self, field, value):
        card = RateCardFactory(contract=enterprise_contract(), valid_from=D(2026, 4, 1))
        setattr(card, field, value)
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean()
        assert error_codes(excinfo, "__all__") == ["approved_is_final"]
        assert "別紙1: 承認済みの料金表は変更できません。" in str(excinfo.value)

    def test_withdrawing_the_approval_does_not_open_the_prices(self):
        card = RateCardFactory(contract=enterprise_contract(), valid_from=D(2026, 4, 1))
        card.approved_by = None
        card.approved_on = None
        card.base_fee = Decimal("1")
        with pytest.raises(ValidationError) as excinfo:
            card.full_clean()
        assert error_codes(excinfo, "__all__") == ["approved_is_final"]

    def test_an_approved_card_may_be_ended_and_notified(self):
        card = RateCardFactory(contract=enterprise_contract(), valid_from=D(2026, 4, 1), unnotified=True)
        card.valid_until = D(2026, 12, 1)
        card.notified_on = D(2026, 4, 2)
        card.full_clean()

    def test_an_unapproved_card_may_change(self):
        card = RateCardFactory(contract=enterprise_contract(), valid_from=D(2026, 4, 1), unapproved=True)
        card.base_fee = Decimal("31000")
        card.full_clean()


# --- R10: registration periods of one account -----------------------------------------


class TestAccountRegistrations:
    @pytest.mark.parametrize(
        ("registered_on", "deregistered_on", "overlaps"),
        [
            (D(2026, 4, 20), None, True),
            (D(2026, 4, 30), D(2026, 5, 3), True),  # shares its last day
            (D(2026, 3, 1), D(2026, 4, 1), True),  # reaches its first day
            (D(2026, 3, 1), None, True),  # open, from before it
            (D(2026, 5, 1), None, False),  # the day after
            (D(2026, 3, 1), D(2026, 3, 31), False),  # up to the day before
        ],
    )
    def test_clean_refuses_overlapping_periods_of_one_account(self, registered_on, deregistered_on, overlaps):
        contract = enterprise_contract()
        AccountRegistrationFactory(
            contract=contract,
            account_id="a@example.jp",
            registered_on=D(2026, 4, 1),
            deregistered_on=D(2026, 4, 30),
        )
        registration = AccountRegistrationFactory.build(
            contract=contract,
            account_id="a@example.jp",
            registered_on=registered_on,
            deregistered_on=deregistered_on,
        )
        if not overlaps:
            registration.full_clean()
            return
        with pytest.raises(ValidationError) as excinfo:
            registration.full_clean()
        assert error_codes(excinfo, "registered_on") == ["overlap"]
        assert excinfo.value.message_dict["registered_on"] == [
            "登録ID a@example.jp は 2026年4月1日〜2026年4月30日 にすでに登録されています（登録期間は重複できません）"
        ]

    def test_clean_lets_a_period_change_itself_and_other_accounts_overlap(self):
        contract = enterprise_contract()
        period = AccountRegistrationFactory(
            contract=contract, account_id="a@example.jp", registered_on=D(2026, 4, 1)
        )
        period.deregistered_on = D(2026, 4, 30)
        period.full_clean()
        AccountRegistrationFactory.build(
            contract=contract, account_id="b@example.jp", registered_on=D(2026, 4, 1)
        ).full_clean()
        AccountRegistrationFactory.build(
            contract=enterprise_contract(), account_id="a@example.jp", registered_on=D(2026, 4, 1)
        ).full_clean()

    def test_database_refuses_deregistration_before_registration(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            AccountRegistrationFactory(registered_on=D(2026, 4, 10), deregistered_on=D(2026, 4, 9))

    @pytest.mark.postgres
    @pytest.mark.parametrize(
        ("registered_on", "deregistered_on"),
        [
            (D(2026, 4, 20), None),  # inside an open period... of the first one
            (D(2026, 4, 30), D(2026, 5, 3)),  # shares its last day
            (D(2026, 3, 1), D(2026, 4, 1)),  # reaches its first day
        ],
    )
    def test_postgresql_refuses_overlapping_periods_of_one_account(self, registered_on, deregistered_on):
        contract = enterprise_contract()
        AccountRegistrationFactory(
            contract=contract,
            account_id="a@example.jp",
            registered_on=D(2026, 4, 1),
            deregistered_on=D(2026, 4, 30),
        )
        with pytest.raises(IntegrityError, match="account_periods_do_not_overlap"), transaction.atomic():
            AccountRegistrationFactory(
                contract=contract,
                account_id="a@example.jp",
                registered_on=registered_on,
                deregistered_on=deregistered_on,
            )

    @pytest.mark.postgres
    def test_postgresql_accepts_separate_periods_and_other_accounts(self):
        contract = enterprise_contract()
        AccountRegistrationFactory(
            contract=contract,
            account_id="a@example.jp",
            registered_on=D(2026, 4, 1),
            deregistered_on=D(2026, 4, 30),
        )
        AccountRegistrationFactory(contract=contract, account_id="a@example.jp", registered_on=D(2026, 5, 1))
        AccountRegistrationFactory(contract=contract, account_id="b@example.jp", registered_on=D(2026, 4, 15))
        AccountRegistrationFactory(account_id="a@example.jp", registered_on=D(2026, 4, 15))
        assert AccountRegistration.objects.filter(account_id="a@example.jp").count() == 3


# --- R12: an issued invoice never changes ---------------------------------------------


@pytest.fixture
def october(db):
    """October 2026 computed for one Enterprise customer: one draft invoice with three lines
    (initial fee 0, base fee 30,000, one account 31/31 days × 300 = 300)."""
    contract = ContractFactory(
        in_service=True,
        item="enterprise",
        applied_on=D(2026, 9, 20),
        accepted_on=D(2026, 9, 25),
        billing_start_on=D(2026, 10, 1),
    )
    RateCardFactory(contract=contract, valid_from=D(2026, 10, 1))
    AccountRegistrationFactory(contract=contract, registered_on=D(2026, 10, 1))
    runs.billing_month_compute(month=D(2026, 10, 1))
    return Invoice.objects.get()


def issue_october():
    runs.billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 2))


class TestInvoiceImmutability:
    def test_a_draft_can_be_changed_and_deleted(self, october):
        assert october.status == InvoiceStatus.DRAFT
        october.billing_name = "訂正後 御中"
        october.save()
        line = october.lines.first()
        line.description = "訂正"
        line.save()
        line.delete()
        Invoice.objects.filter(pk=october.pk).update(address="東京都")
        october.delete()
        assert not Invoice.objects.exists()
        assert not InvoiceLine.objects.exists()

    def test_drafts_may_be_deleted_by_queryset(self, october):
        Invoice.objects.filter(status=InvoiceStatus.DRAFT).delete()
        assert not Invoice.objects.exists()

    def test_an_issued_invoice_is_not_saved(self, october):
        issue_october()
        invoice = Invoice.objects.get()
        invoice.billing_name = "別の宛名 御中"
        with pytest.raises(InvoiceImmutable) as excinfo:
            invoice.save()
        assert excinfo.value.messages == [ISSUED_IMMUTABLE]
        assert Invoice.objects.get().billing_name != "別の宛名 御中"

    def test_a_stale_draft_copy_cannot_overwrite_the_issued_invoice(self, october):
        issue_october()
        october.billing_name = "古いコピー 御中"
        with pytest.raises(InvoiceImmutable):
            october.save()
        assert Invoice.objects.get().status == InvoiceStatus.ISSUED

    def test_an_issued_invoice_is_not_deleted(self, october):
        issue_october()
        invoice = Invoice.objects.get()
        with pytest.raises(InvoiceImmutable) as excinfo:
            invoice.delete()
        assert excinfo.value.messages == [NEVER_DELETED]
        assert Invoice.objects.filter(status=InvoiceStatus.ISSUED).count() == 1

    def test_a_stale_draft_copy_cannot_delete_the_issued_invoice(self, october):
        issue_october()
        with pytest.raises(InvoiceImmutable):
            october.delete()  # the instance still says "draft"; the stored row is issued
        assert Invoice.objects.filter(status=InvoiceStatus.ISSUED).count() == 1
        assert InvoiceLine.objects.count() == 3

    def test_querysets_touching_an_issued_invoice_refuse(self, october):
        issue_october()
        with pytest.raises(InvoiceImmutable) as excinfo:
            Invoice.objects.all().update(billing_name="一括変更 御中")
        assert excinfo.value.messages == [ISSUED_IMMUTABLE]
        with pytest.raises(InvoiceImmutable) as excinfo:
            Invoice.objects.all().delete()
        assert excinfo.value.messages == [NEVER_DELETED]
        invoice = Invoice.objects.get()
        assert (invoice.status, invoice.billing_name) == (InvoiceStatus.ISSUED, october.billing_name)

    def test_lines_of_an_issued_invoice_do_not_change(self, october):
        issue_october()
        line = InvoiceLine.objects.filter(line_type="base_fee").get()
        line.amount = Decimal("1")
        with pytest.raises(InvoiceImmutable):
            line.save()
        with pytest.raises(InvoiceImmutable):
            line.delete()
        with pytest.raises(InvoiceImmutable):
            InvoiceLine(
                invoice=line.invoice,
                contract=line.contract,
                position=9,
                line_type="adjustment",
                item="enterprise",
                description="値引き",
                quantity=Decimal("1"),
                amount=Decimal("-100"),
            ).save()
        line.refresh_from_db()
        assert line.amount.amount == Decimal("30000")
        assert InvoiceLine.objects.count() == 3

    def test_line_querysets_touching_an_issued_invoice_refuse(self, october):
        InvoiceLine.objects.filter(line_type="account_fee").update(description="下書きは変更できる")
        issue_october()
        with pytest.raises(InvoiceImmutable) as excinfo:
            InvoiceLine.objects.filter(line_type="base_fee").update(amount=Decimal("1"))
        assert excinfo.value.messages == [ISSUED_IMMUTABLE]
        with pytest.raises(InvoiceImmutable):
            InvoiceLine.objects.all().delete()
        assert sorted(InvoiceLine.objects.values_list("amount", flat=True)) == [
            Decimal("0"),
            Decimal("300"),
            Decimal("30000"),
        ]

    def test_a_voided_invoice_stays_as_it_was_voided(self, october):
        issue_october()
        invoice = Invoice.objects.get()
        invoice.void(by=UserFactory(), reason="宛名の誤り")
        invoice.refresh_from_db()
        assert (invoice.status, invoice.void_reason) == (InvoiceStatus.VOID, "宛名の誤り")
        assert invoice.voided_at is not None
        invoice.void_reason = "書き換え"
        with pytest.raises(InvoiceImmutable):
            invoice.save()
        with pytest.raises(InvoiceImmutable):
            invoice.delete()
        with pytest.raises(ValidationError) as excinfo:
            invoice.void(by=UserFactory(), reason="二度目")
        assert excinfo.value.code == "not_issued"

    def test_database_requires_number_and_dates_of_an_issued_invoice(self, october):
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=october.pk).update(status=InvoiceStatus.ISSUED)

    def test_database_holds_total_as_subtotal_plus_tax(self, october):
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=october.pk).update(tax=Decimal("1"))
