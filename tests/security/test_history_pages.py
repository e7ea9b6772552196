"""The audit trail's pages are for reading (issue 10, item 1): the attacks that were
reproduced through django-simple-history's "revert to this version" page, each refused
on the server with the data untouched, for every role, administrators included."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import BillingRun, OneTimeCharge
from billing.roles import ACCOUNTING, SALES, VIEWER
from billing.runs import billing_month_compute, billing_month_issue
from contracts.models import Contract, Customer, Termination
from tests.contracts.factories import ContractFactory, CustomerFactory, TerminationFactory
from tests.html_forms import form_data

from ..billing.factories import OneTimeChargeFactory, RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date


def as_role(client, role):
    if role == "administrator":
        user = get_user_model().objects.create_superuser("root", "root@example.jp", "x")
    else:
        user = get_user_model().objects.create_user(role.lower(), password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def first_version_url(obj):
    model = type(obj)
    first = model.history.filter(id=obj.pk).earliest("history_date")
    return reverse(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history",
        args=[obj.pk, first.history_id],
    )


def change_form(client, obj):
    """The change page's form as an administrator's browser would send it."""
    admin = get_user_model().objects.filter(
        is_superuser=True
    ).first() or get_user_model().objects.create_superuser("reader", "r@example.jp", "x")
    model = type(obj)
    client.force_login(admin)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    return form_data(client.get(url).content.decode())


ROLES = [SALES, ACCOUNTING, VIEWER, "administrator"]


@pytest.mark.parametrize("role", ROLES)
def test_a_customers_billing_name_is_not_changed_through_a_past_version(client, role):
    customer = CustomerFactory(billing_name="株式会社テスト 御中")
    data = change_form(client, customer) | {"billing_name": "攻撃者 御中"}
    as_role(client, role)
    assert client.post(first_version_url(customer), data).status_code == 403
    assert Customer.objects.get(pk=customer.pk).billing_name == "株式会社テスト 御中"


@pytest.mark.parametrize("role", ROLES)
def test_contract_termination_and_charge_keep_their_values(client, role):
    contract = ContractFactory(in_service=True)
    termination = TerminationFactory(contract=contract, on_prescribed_form=False)
    charge = OneTimeChargeFactory(contract=contract, amount=5000)
    attacks = [
        (contract, {"billing_start_on": "2020-01-01"}),
        (termination, {"on_prescribed_form": "on"}),
        (charge, {"amount_0": "9999999"}),
    ]
    forms = [(obj, change_form(client, obj) | changes) for obj, changes in attacks]
    as_role(client, role)
    for obj, data in forms:
        assert client.post(first_version_url(obj), data).status_code == 403, obj
    assert Contract.objects.get(pk=contract.pk).billing_start_on == contract.billing_start_on
    assert Termination.objects.get(pk=termination.pk).effective_on is None
    assert OneTimeCharge.objects.get(pk=charge.pk).amount.amount == 5000


@pytest.mark.parametrize("role", ROLES)
def test_a_rate_cards_prices_and_approval_stay(client, role):
    author, approver = UserFactory(username="author"), UserFactory(username="approver")
    card = RateCardFactory(created_by=author, unapproved=True, base_fee=30000, account_unit_price=300)
    card.approve(by=approver, on=D(2026, 3, 2))
    data = change_form(client, card) | {"base_fee_0": "1", "account_unit_price_0": "0.0001"}
    as_role(client, role)
    # the first version is the unapproved one: replaying it would withdraw the approval
    assert client.post(first_version_url(card), data).status_code == 403
    card.refresh_from_db()
    assert (card.base_fee.amount, card.account_unit_price.amount, card.approved_by) == (30000, 300, approver)


@pytest.mark.parametrize("role", ROLES)
def test_an_issued_runs_counter_and_status_stay(client, role):
    card = RateCardFactory(contract=ContractFactory(in_service=True))
    assert card.is_billable
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 2))
    run = BillingRun.objects.get()
    assert (run.status, run.last_invoice_number) == ("issued", 1)
    as_role(client, role)
    # the run's first version is a draft with no number given: replaying it, as an empty
    # form, reset the counter (the next void then failed on a duplicate number)
    assert client.post(first_version_url(run), {}).status_code == 403
    run.refresh_from_db()
    assert (run.status, run.last_invoice_number) == ("issued", 1)


@pytest.mark.parametrize("role", ROLES)
def test_a_past_version_is_shown_read_only(client, role):
    customer = CustomerFactory(billing_name="旧宛名 御中")
    customer.billing_name = "新宛名 御中"
    customer.save()
    as_role(client, role)
    response = client.get(first_version_url(customer))
    assert response.status_code == 200
    page = response.content.decode()
    assert "旧宛名 御中" in page
    assert 'name="billing_name"' not in page and 'name="_save"' not in page


def test_the_model_keeps_an_issued_runs_month_counter_and_status():
    """Where the database has no triggers (SQLite), the model itself refuses."""
    RateCardFactory(contract=ContractFactory(in_service=True))
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 2))
    for field, value in (("status", "draft"), ("last_invoice_number", 0), ("month", D(2026, 9, 1))):
        run = BillingRun.objects.get()
        setattr(run, field, value)
        with pytest.raises(ValidationError, match="R12"):
            run.save()
    assert BillingRun.objects.filter(status="issued", last_invoice_number=1, month=D(2026, 10, 1)).exists()


def test_a_staff_member_is_deactivated_never_deleted(client):
    """Their name stays on their approvals, issues and the append-only audit trail."""
    staff = get_user_model().objects.create_user("leaver", password="x", is_staff=True)
    customer = CustomerFactory()
    customer.billing_name = "変更 御中"
    customer._history_user = staff  # they appear in the audit trail
    customer.save()
    assert customer.history.latest().history_user == staff
    as_role(client, "administrator")
    url = reverse("admin:auth_user_delete", args=[staff.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert get_user_model().objects.filter(pk=staff.pk).exists()
