"""Articles 1-6 enforced by the models: clean() for people, constraints and (on
PostgreSQL) triggers for every other path."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import periods
from contracts.models import CONDITIONS, Contract, ContractStatus, ItemChange, Termination

from .factories import (
    ContractFactory,
    CustomerFactory,
    IIJIDContractFactory,
    ItemChangeFactory,
    TerminationFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date


def error_codes(excinfo, field):
    return [e.code for e in excinfo.value.error_dict[field]]


# --- R3: IIJ ID Service contract (Art. 3) ------------------------------------------


class TestEligibility:
    def test_acceptance_needs_an_iijid_contract_active_that_day(self):
        customer = CustomerFactory(with_iijid=False)
        IIJIDContractFactory(customer=customer, start_on=D(2026, 4, 1), end_on=D(2026, 4, 30))
        contract = ContractFactory.build(customer=customer, applied_on=D(2026, 3, 1))

        for day in (D(2026, 3, 31), D(2026, 5, 1)):
            contract.accepted_on = day
            with pytest.raises(ValidationError) as excinfo:
                contract.full_clean()
            assert error_codes(excinfo, "accepted_on") == ["art3_no_iijid_contract"]
            assert "第3条" in str(excinfo.value)

        for day in (D(2026, 4, 1), D(2026, 4, 30)):  # both ends inclusive
            contract.accepted_on = day
            contract.full_clean()

    def test_customer_without_any_iijid_contract_cannot_be_accepted(self):
        contract = ContractFactory.build(
            customer=CustomerFactory(with_iijid=False), accepted_on=D(2026, 3, 25)
        )
        with pytest.raises(ValidationError) as excinfo:
            contract.full_clean()
        assert error_codes(excinfo, "accepted_on") == ["art3_no_iijid_contract"]

    def test_an_applied_contract_needs_no_iijid_contract_yet(self):
        ContractFactory.build(customer=CustomerFactory(with_iijid=False)).full_clean()

    @pytest.mark.postgres
    def test_database_refuses_acceptance_without_iijid_contract(self):
        contract = ContractFactory(customer=CustomerFactory(with_iijid=False))
        contract.accepted_on = D(2026, 3, 25)
        with pytest.raises(IntegrityError, match=r"Art\. 3"), transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(accepted_on=D(2026, 3, 25))


# --- R4: item changes by calendar month (Art. 4) -----------------------------------


class TestItemChanges:
    def test_change_from_the_first_of_a_later_month_is_accepted(self):
        change = ItemChangeFactory.build(
            contract=ContractFactory(in_service=True),
            effective_month=D(2026, 6, 1),
            accepted_on=D(2026, 5, 31),
            requested_on=D(2026, 5, 20),
        )
        change.full_clean()

    @pytest.mark.parametrize(
        ("effective", "accepted", "code"),
        [
            (D(2026, 6, 15), D(2026, 5, 12), "art4_not_first_of_month"),
            (D(2026, 5, 1), D(2026, 5, 12), "art4_month_begun"),
            (D(2026, 5, 1), D(2026, 5, 1), "art4_month_begun"),
            (D(2026, 4, 1), D(2026, 5, 12), "art4_month_begun"),
        ],
    )
    def test_change_that_is_not_from_a_later_first_day_is_refused(self, effective, accepted, code):
        change = ItemChangeFactory.build(
            contract=ContractFactory(in_service=True),
            effective_month=effective,
            accepted_on=accepted,
            requested_on=D(2026, 4, 20),
        )
        with pytest.raises(ValidationError) as excinfo:
            change.full_clean()
        assert code in error_codes(excinfo, "effective_month")
        assert "第4条" in str(excinfo.value)

    def test_change_to_the_item_already_in_force_is_refused(self):
        contract = ContractFactory(in_service=True, item="enterprise")
        ItemChangeFactory(contract=contract, item="service_provider", effective_month=D(2026, 6, 1))
        back = ItemChangeFactory.build(
            contract=contract,
            item="service_provider",
            effective_month=D(2026, 8, 1),
            requested_on=D(2026, 7, 1),
            accepted_on=D(2026, 7, 2),
        )
        with pytest.raises(ValidationError) as excinfo:
            back.full_clean()
        assert error_codes(excinfo, "item") == ["art4_same_item"]
        back.item = "enterprise"
        back.full_clean()

    def test_change_of_an_unaccepted_contract_is_refused(self):
        change = ItemChangeFactory.build(contract=ContractFactory())
        with pytest.raises(ValidationError) as excinfo:
            change.full_clean()
        assert error_codes(excinfo, "contract") == ["art4_contract_not_accepted"]

    def test_change_after_the_termination_is_refused(self):
        termination = TerminationFactory(notice_received_on=D(2026, 4, 1))  # ends 2026-05-01
        change = ItemChangeFactory.build(
            contract=termination.contract,
            effective_month=D(2026, 6, 1),
            requested_on=D(2026, 4, 2),
            accepted_on=D(2026, 4, 3),
        )
        with pytest.raises(ValidationError) as excinfo:
            change.full_clean()
        assert error_codes(excinfo, "effective_month") == ["art6_change_after_termination"]

    @pytest.mark.parametrize(
        ("effective", "accepted"),
        [(D(2026, 6, 15), D(2026, 5, 12)), (D(2026, 5, 1), D(2026, 5, 12))],
    )
    def test_database_refuses_what_clean_refuses(self, effective, accepted):
        contract = ContractFactory(in_service=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            ItemChange.objects.create(
                contract=contract,
                item="service_provider",
                effective_month=effective,
                requested_on=D(2026, 5, 1),
                accepted_on=accepted,
            )

    def test_item_of_a_month_is_the_item_on_its_first_day(self):
        contract = ContractFactory(
            in_service=True,
            item="enterprise",
            applied_on=D(2026, 1, 5),
            accepted_on=D(2026, 1, 10),
            billing_start_on=D(2026, 1, 20),
        )
        ItemChangeFactory(
            contract=contract,
            item="service_provider",
            effective_month=D(2026, 3, 1),
            requested_on=D(2026, 2, 1),
            accepted_on=D(2026, 2, 28),
        )
        ItemChangeFactory(
            contract=contract,
            item="enterprise",
            effective_month=D(2026, 7, 1),
            requested_on=D(2026, 6, 1),
            accepted_on=D(2026, 6, 30),
        )
        contract = Contract.objects.with_billing_relations().get(pk=contract.pk)
        assert contract.item_for_month(D(2026, 1, 1)) == "enterprise"
        assert contract.item_for_month(D(2026, 2, 1)) == "enterprise"
        assert contract.item_for_month(D(2026, 3, 1)) == "service_provider"
        assert contract.item_for_month(D(2026, 6, 1)) == "service_provider"
        assert contract.item_for_month(D(2026, 7, 1)) == "enterprise"
        assert contract.item_on(D(2026, 2, 28)) == "enterprise"
        assert contract.item_on(D(2026, 3, 1)) == "service_provider"

    def test_item_of_the_first_month_is_the_item_on_the_billing_start_date(self):
        # accepted in March, changed from April, service starts mid-April
        contract = ContractFactory(
            in_service=True,
            item="enterprise",
            applied_on=D(2026, 3, 1),
            accepted_on=D(2026, 3, 2),
            billing_start_on=D(2026, 4, 10),
        )
        ItemChangeFactory(
            contract=contract,
            item="service_provider",
            effective_month=D(2026, 4, 1),
            requested_on=D(2026, 3, 5),
            accepted_on=D(2026, 3, 6),
        )
        assert contract.item_for_month(D(2026, 4, 1)) == "service_provider"


# --- R5: conditions of use (Art. 5) ------------------------------------------------


class TestConditions:
    def test_billing_start_refused_while_conditions_unconfirmed_and_names_them(self):
        contract = ContractFactory(accepted=True)
        contract.devices_prepared_confirmed_on = D(2026, 3, 26)
        contract.devices_configured_confirmed_on = D(2026, 3, 26)
        contract.software_obtained_confirmed_on = D(2026, 3, 26)
        contract.settings_made_confirmed_on = D(2026, 3, 26)
        contract.billing_start_on = D(2026, 4, 1)
        with pytest.raises(ValidationError) as excinfo:
            contract.full_clean()
        assert "art5_conditions_unconfirmed" in error_codes(excinfo, "billing_start_on")
        message = " ".join(excinfo.value.message_dict["billing_start_on"])
        # the articles as staff know them, not the code 5(1)(5)
        assert "第5条第1項第5号" in message and "第5条第2項" in message
        assert "第5条第1項第1号" not in message and "5(1)" not in message

    def test_billing_start_accepted_once_every_condition_is_confirmed(self):
        contract = ContractFactory(accepted=True)
        contract.confirm_conditions(on=D(2026, 3, 27), by="営業 花子")
        contract.billing_start_on = D(2026, 4, 1)
        contract.full_clean()
        contract.save()
        assert contract.missing_conditions() == []
        assert {getattr(contract, c.by_field) for c in CONDITIONS} == {"営業 花子"}

    def test_database_refuses_billing_start_with_a_condition_missing(self):
        contract = ContractFactory(in_service=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(licence_accepted_confirmed_on=None)

    def test_billing_cannot_start_before_acceptance(self):
        contract = ContractFactory(in_service=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            Contract.objects.filter(pk=contract.pk).update(billing_start_on=D(2026, 3, 1))


# --- R6: termination (Art. 6), R2: no minimum period (Art. 2) ----------------------


class TestTermination:
    @pytest.mark.parametrize(
        ("received", "requested", "effective"),
        [
            (D(2026, 4, 1), None, D(2026, 5, 1)),
            (D(2026, 4, 1), D(2026, 6, 30), D(2026, 6, 30)),
            (D(2026, 4, 1), D(2026, 4, 15), D(2026, 5, 1)),
            (D(2026, 1, 31), None, D(2026, 3, 2)),
            (D(2028, 1, 31), None, D(2028, 3, 1)),
        ],
    )
    def test_effective_date_is_stored_on_save(self, received, requested, effective):
        contract = ContractFactory(in_service=True, applied_on=D(2025, 12, 1))
        termination = Termination(
            contract=contract,
            on_prescribed_form=True,
            notice_received_on=received,
            requested_on=requested,
        )
        termination.full_clean()
        termination.save()
        termination.refresh_from_db()
        assert termination.effective_on == effective
        assert Contract.objects.get(pk=contract.pk).termination_effective_on == effective

    def test_notice_not_on_the_prescribed_form_sets_no_effective_date(self):
        termination = TerminationFactory(on_prescribed_form=False)
        termination.refresh_from_db()
        assert termination.effective_on is None
        assert termination.contract.service_period() == (D(2026, 3, 25), None)
        termination.on_prescribed_form = True  # the form arrives
        termination.save()
        termination.refresh_from_db()
        assert termination.effective_on == D(2026, 5, 1)

    def test_termination_in_the_first_month_is_allowed_without_charge(self):
        # R2: accepted 2026-03-25, notice the next day
        contract = ContractFactory(in_service=True)
        termination = Termination(
            contract=contract, on_prescribed_form=True, notice_received_on=D(2026, 3, 26)
        )
        termination.full_clean()
        termination.save()
        assert contract.service_period() == (D(2026, 3, 25), D(2026, 4, 25))

    def test_notice_before_acceptance_is_refused(self):
        contract = ContractFactory(in_service=True)
        termination = Termination(
            contract=contract, on_prescribed_form=True, notice_received_on=D(2026, 3, 1)
        )
        with pytest.raises(ValidationError) as excinfo:
            termination.full_clean()
        assert error_codes(excinfo, "notice_received_on") == ["art6_notice_before_acceptance"]

    def test_an_inconsistent_effective_date_never_persists(self):
        # SQLite: the check constraint refuses it; PostgreSQL: the trigger recomputes it.
        termination = TerminationFactory()
        try:
            with transaction.atomic():
                Termination.objects.filter(pk=termination.pk).update(effective_on=D(2026, 3, 1))
        except IntegrityError:
            pass
        termination.refresh_from_db()
        assert termination.effective_on == D(2026, 5, 1)

    @pytest.mark.postgres
    def test_postgresql_trigger_recomputes_the_effective_date_on_any_update(self):
        termination = TerminationFactory()
        Termination.objects.filter(pk=termination.pk).update(requested_on=D(2026, 7, 31))
        termination.refresh_from_db()
        assert termination.effective_on == D(2026, 7, 31)
        Termination.objects.filter(pk=termination.pk).update(on_prescribed_form=False)
        termination.refresh_from_db()
        assert termination.effective_on is None


# --- R7: service period, days in service --------------------------------------------


class TestServicePeriod:
    def test_days_in_service_within_months(self):
        contract = ContractFactory(
            in_service=True,
            applied_on=D(2026, 1, 5),
            accepted_on=D(2026, 1, 10),
            billing_start_on=D(2026, 2, 11),
        )
        TerminationFactory(contract=contract, notice_received_on=D(2026, 4, 1), requested_on=D(2026, 6, 30))
        contract = Contract.objects.with_billing_relations().get(pk=contract.pk)
        assert contract.service_period() == (D(2026, 2, 11), D(2026, 6, 30))
        assert contract.service_days_in_month(D(2026, 1, 1)) == 0
        assert contract.service_days_in_month(D(2026, 2, 1)) == 18  # R9 example: 18 of 28
        assert contract.service_days_in_month(D(2026, 3, 1)) == 31
        assert contract.service_days_in_month(D(2026, 6, 1)) == 30
        assert contract.service_days_in_month(D(2026, 7, 1)) == 0
        assert contract.is_in_service_on(D(2026, 6, 30))
        assert not contract.is_in_service_on(D(2026, 7, 1))
        assert not contract.is_in_service_on(D(2026, 2, 10))

    def test_leap_february_and_the_last_day(self):
        contract = ContractFactory(
            in_service=True,
            applied_on=D(2028, 1, 5),
            accepted_on=D(2028, 1, 10),
            billing_start_on=D(2028, 2, 29),
        )
        assert contract.service_days_in_month(D(2028, 2, 1)) == 1
        assert contract.service_days_in_month(D(2028, 3, 1)) == 31

    def test_ends_on_the_31st(self):
        contract = ContractFactory(in_service=True)  # billing from 2026-03-25
        TerminationFactory(contract=contract, notice_received_on=D(2026, 4, 1), requested_on=D(2026, 5, 31))
        assert contract.service_days_in_month(D(2026, 3, 1)) == 7
        assert contract.service_days_in_month(D(2026, 5, 1)) == 31
        assert contract.service_days_in_month(D(2026, 6, 1)) == 0

    def test_without_billing_start_there_is_no_service(self):
        contract = ContractFactory(accepted=True)
        assert contract.service_period() is None
        assert contract.service_days_in_month(D(2026, 4, 1)) == 0

    def test_status(self):
        contract = ContractFactory(applied_on=D(2026, 3, 20))
        assert contract.status_on(D(2026, 3, 21)) == ContractStatus.APPLIED
        contract = ContractFactory(in_service=True)  # accepted and billing 2026-03-25
        assert contract.status_on(D(2026, 3, 24)) == ContractStatus.ACCEPTED
        assert contract.status_on(D(2026, 3, 25)) == ContractStatus.IN_SERVICE
        TerminationFactory(contract=contract)  # effective 2026-05-01
        contract = Contract.objects.with_billing_relations().get(pk=contract.pk)
        assert contract.status_on(D(2026, 5, 1)) == ContractStatus.TERMINATING
        assert contract.status_on(D(2026, 5, 2)) == ContractStatus.TERMINATED

    def test_status_filter_in_sql_agrees_with_status_on(self):
        day = D(2026, 4, 10)
        ContractFactory(code="APPLIED")
        ContractFactory(code="ACCEPTED", accepted=True)
        ContractFactory(code="INSERVICE", in_service=True)
        TerminationFactory(contract__code="TERMINATING", notice_received_on=D(2026, 4, 1))
        TerminationFactory(
            contract__code="TERMINATED",
            notice_received_on=D(2026, 3, 1),
            contract__applied_on=D(2026, 1, 1),
        )
        TerminationFactory(contract__code="NOFORM", on_prescribed_form=False)
        contracts = Contract.objects.with_billing_relations()
        for status in ContractStatus.values:
            in_sql = set(Contract.objects.with_status(status, today=day).values_list("code", flat=True))
            in_python = {c.code for c in contracts if c.status_on(day) == status}
            assert in_sql == in_python, status
        assert set(
            Contract.objects.with_status(ContractStatus.IN_SERVICE, today=day).values_list("code", flat=True)
        ) == {"INSERVICE", "NOFORM"}


# --- R7: one service window for a row and for a queryset ---------------------------------

WINDOW_DATES = st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2029, 12, 31))


def _window_contract(start, length):
    """A contract billed from ``start``, terminated after ``length`` days (None: open),
    not saved: ``service_window`` is a rule of the row."""
    contract = Contract(billing_start_on=start)
    if length is not None:
        contract.termination = Termination(
            on_prescribed_form=True, effective_on=start + dt.timedelta(days=length)
        )
    else:
        contract._state.fields_cache["termination"] = None
    return contract


@given(start=WINDOW_DATES, length=st.none() | st.integers(0, 400), month=WINDOW_DATES)
def test_service_days_count_the_days_one_by_one(start, length, month):
    contract = _window_contract(start, length)
    first, last = periods.month_start(month), periods.month_end(month)
    end = None if length is None else start + dt.timedelta(days=length)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    in_service = [d for d in days if start <= d and (end is None or d <= end)]
    assert contract.service_days_in_month(month) == len(in_service)
    assert contract.service_window(month) == ((in_service[0], in_service[-1]) if in_service else None)


def test_service_window_at_month_ends():
    leap = dt.date(2028, 2, 1)
    assert _window_contract(dt.date(2028, 2, 29), None).service_window(leap) == (
        dt.date(2028, 2, 29),
        dt.date(2028, 2, 29),
    )
    assert _window_contract(dt.date(2028, 1, 15), 44).service_days_in_month(leap) == 28  # to 02-28
    assert _window_contract(dt.date(2028, 3, 1), None).service_window(leap) is None
    assert _window_contract(dt.date(2026, 1, 31), 0).service_days_in_month(dt.date(2026, 1, 1)) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=WINDOW_DATES, notice=st.none() | st.integers(0, 300), month=WINDOW_DATES)
def test_the_querysets_window_is_the_rows_window(start, notice, month):
    """``Contract.objects.with_service_window`` (the SQL every usage read builds on) and
    ``Contract.service_window`` are one rule: they agree on any contract and month."""
    with transaction.atomic():
        contract = ContractFactory(
            in_service=True, applied_on=start - dt.timedelta(days=10), billing_start_on=start
        )
        contract.accepted_on = start - dt.timedelta(days=5)
        if notice is not None:
            TerminationFactory(contract=contract, notice_received_on=start + dt.timedelta(days=notice))
        contract = Contract.objects.get(pk=contract.pk)
        row = contract.service_window(month)
        found = list(
            Contract.objects.with_service_window(month)
            .filter(pk=contract.pk)
            .values_list("window_first", "window_last")
        )
        assert found == ([row] if row else [])
        transaction.set_rollback(True)
