"""Each role can do its job and no more: every admin page and action, for each role
(issue 4). Expected outcomes are written out per role, not derived from ROLES."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from billing.models import AccountRegistration, AuthCount, BillingRun, Invoice, OneTimeCharge, RateCard
from billing.roles import ACCOUNTING, SALES, VIEWER
from billing.services import billing_month_compute, billing_month_issue
from tests.contracts.factories import (
    ContractFactory,
    CustomerFactory,
    IIJIDContractFactory,
    ItemChangeFactory,
    TerminationFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date
OK, DENIED = 200, 403


def user_in(role, name=None):
    user = get_user_model().objects.create_user(name or role.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def world(db):
    """One object of every admin model, and an issued October 2026."""
    author = get_user_model().objects.create_user("author", is_staff=True)
    approver = get_user_model().objects.create_user("approver", is_staff=True)
    contract = ContractFactory(in_service=True, code="SK-1")
    card = RateCard.objects.create(
        contract=contract,
        valid_from=D(2026, 3, 1),
        base_fee=1000,
        account_unit_price=100,
        created_by=author,
        approved_by=approver,
        approved_on=D(2026, 3, 2),
        notified_on=D(2026, 3, 3),
    )
    unapproved = RateCard.objects.create(
        contract=ContractFactory(in_service=True, code="SK-2"),
        valid_from=D(2026, 3, 1),
        base_fee=500,
        account_unit_price=50,
        created_by=author,
    )
    AccountRegistration.objects.create(contract=contract, account_id="A1", registered_on=D(2026, 3, 25))
    AuthCount.objects.create(contract=contract, date=D(2026, 10, 1), success_count=5)
    OneTimeCharge.objects.create(contract=contract, description="作業", amount=100, due_on=D(2026, 10, 1))
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 5))
    billing_month_compute(month=D(2026, 9, 1))
    return {
        "customer": CustomerFactory(),
        "iijidcontract": IIJIDContractFactory(),
        "contract": contract,
        "itemchange": ItemChangeFactory(),
        "termination": TerminationFactory(),
        "ratecard": card,
        "unapproved": unapproved,
        "accountregistration": AccountRegistration.objects.get(),
        "authcount": AuthCount.objects.get(),
        "onetimecharge": OneTimeCharge.objects.get(),
        "billingrun": BillingRun.objects.get(month=D(2026, 10, 1)),
        "draft_run": BillingRun.objects.get(month=D(2026, 9, 1)),
        "invoice": Invoice.objects.get(billing_month=D(2026, 10, 1)),
    }


APP = {
    "customer": "contracts", "iijidcontract": "contracts", "contract": "contracts", "itemchange": "contracts",
    "termination": "contracts", "ratecard": "billing", "accountregistration": "billing", "authcount": "billing",
    "onetimecharge": "billing", "billingrun": "billing", "invoice": "billing",
}  # fmt: skip

# (changelist, add page, change page GET) per role and model
PAGES = {
    SALES: {
        "customer": (OK, OK, OK), "iijidcontract": (OK, OK, OK), "contract": (OK, OK, OK),
        "itemchange": (OK, OK, OK), "termination": (OK, OK, OK), "ratecard": (OK, OK, OK),
        "accountregistration": (OK, DENIED, OK), "authcount": (OK, DENIED, OK), "onetimecharge": (OK, OK, OK),
        "billingrun": (DENIED, DENIED, DENIED), "invoice": (DENIED, DENIED, DENIED),
    },
    ACCOUNTING: {
        "customer": (OK, DENIED, OK), "iijidcontract": (OK, DENIED, OK), "contract": (OK, DENIED, OK),
        "itemchange": (OK, DENIED, OK), "termination": (OK, DENIED, OK), "ratecard": (OK, DENIED, OK),
        "accountregistration": (OK, DENIED, OK), "authcount": (OK, DENIED, OK), "onetimecharge": (OK, DENIED, OK),
        "billingrun": (OK, DENIED, OK), "invoice": (OK, DENIED, OK),
    },
    VIEWER: {
        "customer": (OK, DENIED, OK), "iijidcontract": (OK, DENIED, OK), "contract": (OK, DENIED, OK),
        "itemchange": (OK, DENIED, OK), "termination": (OK, DENIED, OK), "ratecard": (OK, DENIED, OK),
        "accountregistration": (OK, DENIED, OK), "authcount": (OK, DENIED, OK), "onetimecharge": (OK, DENIED, OK),
        "billingrun": (OK, DENIED, OK), "invoice": (OK, DENIED, OK),
    },
}  # fmt: skip

# whether the role may save a change of an existing object (POST to the change page)
CAN_SAVE = {
    SALES: {
        "customer",
        "iijidcontract",
        "contract",
        "itemchange",
        "termination",
        "ratecard",
        "onetimecharge",
    },
    ACCOUNTING: set(),
    VIEWER: set(),
}


@pytest.mark.parametrize("role", [SALES, ACCOUNTING, VIEWER])
def test_every_admin_page_for_every_role(client, world, role):
    client.force_login(user_in(role))
    for model, expected in PAGES[role].items():
        app = APP[model]
        obj = world[model]
        got = (
            client.get(reverse(f"admin:{app}_{model}_changelist")).status_code,
            client.get(reverse(f"admin:{app}_{model}_add")).status_code,
            client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk])).status_code,
        )
        assert got == expected, (role, model)


@pytest.mark.parametrize("role", [SALES, ACCOUNTING, VIEWER])
def test_saving_a_change_only_where_the_role_may(client, world, role):
    client.force_login(user_in(role))
    for model in PAGES[role]:
        app = APP[model]
        url = reverse(f"admin:{app}_{model}_change", args=[world[model].pk])
        status = client.post(url, {}).status_code
        if model in CAN_SAVE[role]:
            assert status in (200, 302), (role, model)  # the form answers (errors or saved)
        else:
            assert status == 403, (role, model)


@pytest.mark.parametrize("role", [SALES, ACCOUNTING, VIEWER])
def test_nobody_but_an_administrator_deletes(client, world, role):
    client.force_login(user_in(role))
    for model in PAGES[role]:
        app = APP[model]
        url = reverse(f"admin:{app}_{model}_delete", args=[world[model].pk])
        assert client.get(url).status_code == 403, (role, model)


def post_action(client, app, model, action, pks):
    return client.post(
        reverse(f"admin:{app}_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
    )


class TestActions:
    def test_sales_approve_other_peoples_rate_cards_only(self, client, world):
        sales = user_in(SALES)
        client.force_login(sales)
        own = RateCard.objects.create(
            contract=ContractFactory(in_service=True),
            valid_from=D(2026, 3, 1),
            base_fee=1,
            account_unit_price=1,
            created_by=sales,
        )
        response = post_action(
            client, "billing", "ratecard", "approve_selected", [world["unapproved"].pk, own.pk]
        )
        assert response.status_code == 302
        world["unapproved"].refresh_from_db()
        own.refresh_from_db()
        assert world["unapproved"].approved_by == sales
        assert own.approved_by is None  # four-eyes: refused, reported
        messages = [str(m) for m in response.wsgi_request._messages]
        assert "1件完了、1件は拒否されました。" in messages

    @pytest.mark.parametrize("role", [ACCOUNTING, VIEWER])
    def test_others_cannot_approve(self, client, world, role):
        client.force_login(user_in(role))
        post_action(client, "billing", "ratecard", "approve_selected", [world["unapproved"].pk])
        world["unapproved"].refresh_from_db()
        assert world["unapproved"].approved_by is None

    @pytest.mark.parametrize(("role", "allowed"), [(SALES, False), (ACCOUNTING, True), (VIEWER, False)])
    def test_run_view(self, client, world, role, allowed):
        client.force_login(user_in(role))
        url = reverse("admin:billing_billingrun_run")
        assert client.get(url).status_code == (OK if allowed else DENIED)
        response = client.post(url, {"month": "2026-09"})
        assert response.status_code == (302 if allowed else DENIED)

    @pytest.mark.parametrize(("role", "allowed"), [(SALES, False), (ACCOUNTING, True), (VIEWER, False)])
    def test_recompute_and_issue_actions(self, client, world, role, allowed):
        client.force_login(user_in(role))
        run = world["draft_run"]
        computed_at = run.computed_at
        post_action(client, "billing", "billingrun", "recompute_selected", [run.pk])
        run.refresh_from_db()
        assert (run.computed_at != computed_at) == allowed
        post_action(client, "billing", "billingrun", "issue_selected", [run.pk])
        run.refresh_from_db()
        assert (run.status == "issued") == allowed

    @pytest.mark.parametrize(("role", "allowed"), [(SALES, False), (ACCOUNTING, True), (VIEWER, False)])
    def test_csv_download(self, client, world, role, allowed):
        client.force_login(user_in(role))
        url = reverse("admin:billing_billingrun_export", args=[world["billingrun"].pk, "lines"])
        assert client.get(url).status_code == (OK if allowed else DENIED)

    @pytest.mark.parametrize(("role", "allowed"), [(SALES, False), (ACCOUNTING, True), (VIEWER, False)])
    def test_void_and_replace(self, client, world, role, allowed):
        client.force_login(user_in(role))
        url = reverse("admin:billing_invoice_void", args=[world["invoice"].pk])
        assert client.get(url).status_code == (OK if allowed else DENIED)
        client.post(url, {"reason": "単価の誤り"})
        world["invoice"].refresh_from_db()
        assert (world["invoice"].status == "void") == allowed

    def test_accounting_cannot_change_rates(self, client, world):
        client.force_login(user_in(ACCOUNTING))
        url = reverse("admin:billing_ratecard_change", args=[world["unapproved"].pk])
        assert client.post(url, {"base_fee_0": "1", "base_fee_1": "JPY"}).status_code == 403
        assert RateCard.objects.get(pk=world["unapproved"].pk).base_fee.amount == 500


def test_setup_roles_is_idempotent_and_restores_drift(db):
    sales = Group.objects.get(name=SALES)
    before = set(sales.permissions.values_list("codename", flat=True))
    sales.permissions.add(Permission.objects.get(codename="issue_billing"))  # drift
    call_command("setup_roles", stdout=io.StringIO())
    call_command("setup_roles", stdout=io.StringIO())
    assert set(sales.permissions.values_list("codename", flat=True)) == before
    assert "issue_billing" not in before and "approve_ratecard" in before
    assert Group.objects.filter(name__in=[SALES, ACCOUNTING, VIEWER]).count() == 3
