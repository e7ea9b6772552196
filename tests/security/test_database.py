"""The database holds the rules against the application's own role (issue 10, item 3).

The application connects, in production, as a role that does not own the tables
(``DATABASE_APP_ROLE``, granted by ``billing.roles.grant_app_role`` after each migrate).
Here that role is created inside the test's transaction (the test connection is the
superuser that owns the tables; the role goes with the rollback, so nothing is left in the
cluster), and the whole month's work is done as that role."""

import contextlib
import datetime as dt
import os
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.urls import reverse

from billing.models import BillingRun, Invoice
from billing.roles import grant_app_role, sync_roles_after_migrate
from billing.services import billing_month_compute, billing_month_issue, invoice_void_and_replace
from contracts.csvimport import run_import
from tests.billing.approvals import import_rate_cards
from tests.billing.factories import UserFactory
from tests.contracts.factories import (
    ContractFactory,
    CustomerFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date
OCT, NOV = D(2026, 10, 1), D(2026, 11, 1)
#: the app's role in the tests (roles are cluster-wide: one name per test process)
APP_ROLE = f"smartkey_test_app_{os.getpid()}"


def sql(statement, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def refused(statement, params=None, *, match, error=DatabaseError):
    """``statement`` fails with ``error`` matching ``match``, and leaves nothing behind."""
    with pytest.raises(error, match=match), transaction.atomic():
        for one in statement if isinstance(statement, list) else [statement]:
            sql(one, params)


@contextlib.contextmanager
def acting_as(role):
    """The statements inside run as ``role`` (SET ROLE), as when the app connects as it."""
    if role is None:
        yield
        return
    sql(f'SET ROLE "{role}"')
    try:
        assert sql("SELECT current_user") == [(role,)]
        yield
    finally:
        sql("RESET ROLE")


@pytest.fixture
def app_role():
    """A role that owns nothing, granted what ``migrate`` grants ``DATABASE_APP_ROLE``."""
    sql(f'CREATE ROLE "{APP_ROLE}" NOLOGIN')
    with override_settings(DATABASE_APP_ROLE=APP_ROLE):
        sync_roles_after_migrate(sender=None, using="default")
    return APP_ROLE


# --- the role and its privileges -------------------------------------------------------------


def test_without_an_app_role_nothing_is_granted():
    """Development and tests: no ``DATABASE_APP_ROLE``, no grant (and none on SQLite)."""
    with override_settings(DATABASE_APP_ROLE=""):
        assert grant_app_role() is None
        sync_roles_after_migrate(sender=None, using="default")  # still syncs the groups


@pytest.mark.postgres
def test_migrate_grants_the_app_role_exactly_what_the_app_needs(app_role):
    tables = {name for (name,) in sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert {"billing_invoice", "billing_historicalinvoice", "django_session", "auth_user"} <= tables
    granted = sql(
        "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type)"
        " FROM information_schema.role_table_grants WHERE grantee = %s GROUP BY table_name",
        [app_role],
    )
    assert dict(granted) == dict.fromkeys(tables, "DELETE,INSERT,SELECT,UPDATE")
    sequences = sql(
        "SELECT has_sequence_privilege(%s, c.oid, 'USAGE'), has_sequence_privilege(%s, c.oid, 'SELECT'),"
        " has_sequence_privilege(%s, c.oid, 'UPDATE') FROM pg_class c"
        " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::text::regnamespace",
        [app_role] * 3,
    )
    assert sequences and set(sequences) == {(True, True, False)}
    # a second migrate changes nothing, and withdraws what someone granted on top
    sql(f'GRANT TRUNCATE, TRIGGER ON billing_invoice TO "{app_role}"')
    assert grant_app_role(app_role) == app_role
    assert sql(
        "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM information_schema.role_table_grants"
        " WHERE grantee = %s AND table_name = 'billing_invoice'",
        [app_role],
    ) == [("DELETE,INSERT,SELECT,UPDATE",)]


@pytest.mark.postgres
def test_the_app_role_is_refused_if_it_could_disable_the_triggers():
    owner = sql("SELECT tableowner FROM pg_tables WHERE tablename = 'billing_invoice'")[0][0]
    member = f"{APP_ROLE}_member"
    sql(f'CREATE ROLE "{member}" NOLOGIN IN ROLE "{owner}"')
    for role in (owner, member):
        with pytest.raises(ImproperlyConfigured, match="could disable their triggers"):
            grant_app_role(role)
    with pytest.raises(ImproperlyConfigured, match="does not exist"):
        grant_app_role(f"{APP_ROLE}_nobody")


# --- the application's work, as the application's role -----------------------------------

RATE_CARDS = """contract_code,valid_from,valid_until,base_fee,account_unit_price,auth_pricing,auth_tiers,approved_by,approved_on,notified_on
E1,2026-10,,30000,300,,,shonin,,2026-09-21
S1,2026-10,,50000,,graduated,100000:0.50;1000000:0.30;:0.10,shonin,,2026-09-21
"""
ACCOUNTS = """contract_code,account_id,registered_on,deregistered_on
E1,a1@example.jp,2026-10-01,
E1,a2@example.jp,2026-10-01,2026-10-10
"""
AUTH_COUNTS = """contract_code,date,success_count
S1,2026-10-01,100000
S1,2026-10-02,150000
"""


@pytest.mark.postgres
def test_the_month_is_billed_issued_and_corrected_as_the_app_role(app_role, client):
    """Entering, importing (COPY, temporary tables, nextval, advisory locks), computing twice
    (the drafts replaced with _raw_delete), issuing, voiding and replacing, the admin: all as
    a role that owns nothing; the commit-time checks pass too."""
    with acting_as(app_role):
        author, approver = (
            UserFactory(username="eigyo1", role="Sales"),
            UserFactory(username="shonin", role="Sales"),
        )
        accountant = UserFactory(username="keiri1", role="Accounting")
        dates = {"applied_on": D(2026, 9, 20), "accepted_on": D(2026, 9, 25), "billing_start_on": OCT}
        ContractFactory(
            code="E1", item="enterprise", in_service=True, customer=CustomerFactory(code="C1"), **dates
        )
        ContractFactory(
            code="S1", item="service_provider", in_service=True, customer=CustomerFactory(code="C2"), **dates
        )
        import_rate_cards(RATE_CARDS, author=author, approver=approver)
        run_import("accounts", ACCOUNTS.encode(), user=author)
        run_import("auth_counts", AUTH_COUNTS.encode(), user=author)
        billing_month_compute(month=OCT, by=accountant)
        billing_month_compute(month=OCT, by=accountant)
        billing_month_issue(month=OCT, by=accountant, today=D(2026, 11, 2))
        # 10-02 counted again, 10,000 higher: the replacement bills it
        run_import("auth_counts", AUTH_COUNTS.replace("150000", "160000").encode(), user=author)
        s1 = Invoice.objects.get(customer_code="C2")
        replacement = invoice_void_and_replace(
            invoice=s1, by=accountant, reason="認証回数の訂正", today=D(2026, 11, 3)
        )
        sql("SET CONSTRAINTS ALL IMMEDIATE")  # the checks of the commit, now
        client.force_login(accountant)
        assert client.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    invoices = Invoice.objects.order_by("number").values_list("number", "customer_code", "status", "total")
    # C1: 30,000 + floor(1.000 × 300 + 0.322 × 300) = 30,396, tax 3,039; C2: 50,000 +
    # 100,000 × 0.50 + 150,000 × 0.30 = 145,000, tax 14,500; corrected: + 160,000 × 0.30
    # instead = 148,000, tax 14,800
    assert list(invoices) == [
        ("SK-202610-0001", "C1", "issued", Decimal("33435")),
        ("SK-202610-0002", "C2", "void", Decimal("159500")),
        ("SK-202610-0003", "C2", "issued", Decimal("162800")),
    ]
    assert replacement.replaces_id == s1.pk
    assert BillingRun.objects.get(month=OCT).last_invoice_number == 3
