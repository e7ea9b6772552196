"""The database holds the rules against the application's own role (issue 10, item 3).

The application connects, in production, as a role that does not own the tables
(``DATABASE_APP_ROLE``, granted by ``billing.roles.grant_app_role`` after each migrate).
Here that role is created inside the test's transaction (the test connection is the
superuser that owns the tables; the role goes with the rollback, so nothing is left in the
cluster), the whole month's work is done as that role, and then every attack of the issue
is tried, as that role and as the owner: the triggers of billing 0007 refuse each one for
both, except what only the owner can do (TRUNCATE, disabling or dropping triggers), which
PostgreSQL refuses to the application's role."""

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import reverse

from billing.models import AuthTier, BillingRun, Invoice, RateCard
from billing.roles import grant_app_role, sync_roles_after_migrate
from billing.runs import (
    billing_month_compute,
    billing_month_issue,
    credit_note_issue,
    invoice_void_and_replace,
)
from contracts.csvimport import run_import
from tests.billing.approvals import import_rate_cards
from tests.billing.factories import OneTimeChargeFactory, RateCardFactory, UserFactory
from tests.contracts.factories import (
    ContractFactory,
    CustomerFactory,
    ItemChangeFactory,
    TerminationFactory,
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


# --- the attacks -------------------------------------------------------------------------


@dataclass
class World:
    """October issued (two invoices), November computed (two drafts), a spare customer
    with no invoice, an approved card with tiers, a row in every audit-trail table."""

    issued: Invoice
    draft: Invoice
    spare_customer_id: int
    card: RateCard


@pytest.fixture
def world():
    enterprise = ContractFactory(in_service=True, item="enterprise", customer=CustomerFactory(code="C1"))
    provider = ContractFactory(in_service=True, item="service_provider", customer=CustomerFactory(code="C2"))
    RateCardFactory(contract=enterprise)
    card = RateCardFactory(contract=provider, auth_pricing="per_unit", tiers=[(None, "0.50")])
    other = ContractFactory(in_service=True, customer=CustomerFactory(code="C9"))
    ItemChangeFactory(contract=other, effective_month=D(2027, 1, 1), requested_on=D(2026, 5, 10))
    TerminationFactory(contract=other, notice_received_on=D(2027, 3, 1))
    OneTimeChargeFactory(contract=enterprise, due_on=D(2026, 10, 5))
    billing_month_compute(month=OCT)
    billing_month_issue(month=OCT, today=D(2026, 11, 2))
    billing_month_compute(month=NOV)
    spare = CustomerFactory(code="C3")
    return World(
        issued=Invoice.objects.get(number="SK-202610-0001"),
        draft=Invoice.objects.get(billing_month=NOV, customer_code="C1"),
        spare_customer_id=spare.pk,
        card=card,
    )


def copy_of_invoice(source_id: int, **values) -> str:
    """INSERT … SELECT of invoice ``source_id`` with ``values`` (SQL expressions) instead."""
    columns = [f.column for f in Invoice._meta.concrete_fields if f.column != "id"]
    values = {"replaces_id": "NULL", "created_at": "now()", **values}
    selected = ", ".join(values.get(column, column) for column in columns)
    return f"INSERT INTO billing_invoice ({', '.join(columns)}) SELECT {selected} FROM billing_invoice WHERE id = {source_id}"


ISSUE = "issue_date = '2026-12-02', due_date = '2027-01-29', issued_at = now()"


def attacks(w: World) -> dict[str, tuple[list[str], str]]:
    """Each attack of issue 10, item 3: its statements, and the refusal expected."""
    oct_run = f"(SELECT id FROM billing_billingrun WHERE month = '{OCT}')"
    nov_run = f"(SELECT id FROM billing_billingrun WHERE month = '{NOV}')"
    spare = w.spare_customer_id
    return {
        "forged issued invoice in the issued month": (
            [
                copy_of_invoice(
                    w.issued.pk, customer_id=str(spare), customer_code="'C3'", number="'SK-202610-0003'"
                )
            ],
            "R12: invoice SK-202610-0003 is inserted as issued",
        ),
        "a draft inserted into the issued month": (
            [
                copy_of_invoice(
                    w.draft.pk,
                    customer_id=str(spare),
                    customer_code="'C3'",
                    run_id=oct_run,
                    billing_month=f"'{OCT}'",
                )
            ],
            "R12: month 2026-10 is issued: an invoice enters it only as the replacement",
        ),
        "a draft moved into the issued month": (
            [
                copy_of_invoice(w.draft.pk, customer_id=str(spare), customer_code="'C3'"),
                f"UPDATE billing_invoice SET run_id = {oct_run}, billing_month = '{OCT}' WHERE customer_code = 'C3'",
            ],
            "R12: month 2026-10 is issued: an invoice enters it only as the replacement",
        ),
        "a replacement of an invoice that is not void": (
            [
                copy_of_invoice(
                    w.issued.pk,
                    status="'draft'",
                    number="NULL",
                    issue_date="NULL",
                    due_date="NULL",
                    issued_at="NULL",
                    customer_id=str(spare),
                    customer_code="'C3'",
                    replaces_id=str(w.issued.pk),
                )
            ],
            "R12: month 2026-10 is issued: an invoice enters it only as the replacement",
        ),
        "draft issued with any number": (
            [
                f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202611-0042', {ISSUE} WHERE id = {w.draft.pk}"
            ],
            r"R12: SK-202611-0042 is not a number of the series of 2026-11 given by its counter \(SK-202611-0001 to none yet\)",
        ),
        "draft issued with a number beyond the counter": (
            [
                f"UPDATE billing_billingrun SET last_invoice_number = 1 WHERE id = {nov_run}",
                f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202611-0002', {ISSUE} WHERE id = {w.draft.pk}",
            ],
            "R12: SK-202611-0002 is not a number of the series of 2026-11",
        ),
        "draft issued with another month's number": (
            [
                f"UPDATE billing_billingrun SET last_invoice_number = 3 WHERE id = {nov_run}",
                f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202610-0003', {ISSUE} WHERE id = {w.draft.pk}",
            ],
            "R12: SK-202610-0003 is not a number of the series of 2026-11",
        ),
        "draft issued without its time of issue": (
            [
                f"UPDATE billing_billingrun SET last_invoice_number = 1 WHERE id = {nov_run}",
                f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202611-0001',"
                f" issue_date = '2026-12-02', due_date = '2027-01-29' WHERE id = {w.draft.pk}",
            ],
            "R12: invoice SK-202611-0001 is issued with its issue date, due date and time of issue",
        ),
        "draft made void": (
            [
                f"UPDATE billing_invoice SET status = 'void', number = 'SK-202611-0001', {ISSUE},"
                f" voided_at = now() WHERE id = {w.draft.pk}"
            ],
            "R12: draft invoice of C1 is issued or deleted, never made void",
        ),
        "counter set back": (
            [f"UPDATE billing_billingrun SET last_invoice_number = 1 WHERE id = {oct_run}"],
            r"R12: the invoice counter of 2026-10 never goes back \(2 to 1\)",
        ),
        "counter moved on without an invoice (at commit)": (
            [
                f"UPDATE billing_billingrun SET last_invoice_number = 3 WHERE id = {oct_run}",
                "SET CONSTRAINTS ALL IMMEDIATE",
            ],
            "R12: 2026-10 has given 3 invoice numbers but 2 invoices carry one: the series is gapless",
        ),
        "run month changed": (
            [f"UPDATE billing_billingrun SET month = '2026-09-01' WHERE id = {oct_run}"],
            "R12: the month of run .* never changes",
        ),
        "issue of a run rewritten": (
            [f"UPDATE billing_billingrun SET issued_at = now() - interval '1 day' WHERE id = {oct_run}"],
            "R12: who issued 2026-10 and when never changes",
        ),
        "history updated": (
            [f"UPDATE billing_historicalinvoice SET total = 0 WHERE id = {w.issued.pk}"],
            "R19: the audit trail is append-only: UPDATE of billing_historicalinvoice is refused",
        ),
        "history deleted": (
            ["DELETE FROM billing_historicalinvoice"],
            "R19: the audit trail is append-only: DELETE of billing_historicalinvoice is refused",
        ),
        "approved card's price changed": (
            [f"UPDATE billing_ratecard SET base_fee = 1 WHERE id = {w.card.pk}"],
            f"R8: rate card {w.card.pk} is approved: its prices never change",
        ),
        "approved card's tier changed": (
            [f"UPDATE billing_authtier SET unit_price = 0.01 WHERE rate_card_id = {w.card.pk}"],
            f"R8: rate card {w.card.pk} is approved: its authentication price tiers never change",
        ),
        "a temporary table shadows the invoices a trigger reads": (
            [
                "CREATE TEMPORARY TABLE billing_invoice (id bigint, status varchar(10))",
                f"INSERT INTO pg_temp.billing_invoice VALUES ({w.issued.pk}, 'draft')",
                "INSERT INTO billing_invoiceline (invoice_id, contract_id, position, line_type, item, description,"
                " quantity, amount, amount_currency, tax_rate, adjusted_line_type)"
                f" SELECT {w.issued.pk}, contract_id, 9, 'one_time_fee', item, 'x', 1, 1000, 'JPY', 0.10, ''"
                f" FROM billing_invoiceline WHERE invoice_id = {w.issued.pk} LIMIT 1",
            ],
            "R12: lines are added to draft invoices only",
        ),
    }


ATTACKS = list(attacks(World(Invoice(pk=0), Invoice(pk=0), 0, RateCard(pk=0))))


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["app role", "owner"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_every_attack_is_refused_to_the_app_role_and_to_the_owner(world, app_role, who, attack):
    statements, message = attacks(world)[attack]
    with acting_as(app_role if who == "app role" else None):
        refused(statements, match=message, error=IntegrityError)
    issued = Invoice.objects.get(pk=world.issued.pk)
    assert (issued.status, issued.number, issued.total.amount) == (
        "issued",
        "SK-202610-0001",
        world.issued.total.amount,
    )
    assert BillingRun.objects.get(month=OCT).last_invoice_number == 2


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("TRUNCATE billing_invoice CASCADE", "permission denied for table billing_invoice"),
        ("TRUNCATE contracts_historicalcustomer", "permission denied for table contracts_historicalcustomer"),
        ("ALTER TABLE billing_invoice DISABLE TRIGGER ALL", "must be owner of table billing_invoice"),
        (
            "DROP TRIGGER billing_invoice_immutable ON billing_invoice",
            "must be owner of relation billing_invoice",
        ),
        (
            "SET session_replication_role = replica",
            'permission denied to set parameter "session_replication_role"',
        ),
        (
            "CREATE OR REPLACE FUNCTION billing_invoice_transition() RETURNS trigger LANGUAGE plpgsql AS"
            " 'BEGIN RETURN NEW; END'",
            # PostgreSQL 15 gives nobody CREATE on schema public; elsewhere: not the owner
            "permission denied for schema public|must be owner of function billing_invoice_transition",
        ),
    ],
)
def test_the_app_role_cannot_take_the_triggers_away(world, app_role, statement, message):
    """What only the owner (or a superuser) may do: PostgreSQL refuses it to the app's role."""
    with acting_as(app_role):
        refused(statement, match=message)
    assert sql(
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'billing_invoice'::regclass AND tgenabled = 'O'"
        " AND NOT tgisinternal"
    ) == [(6,)]  # 0004/0007's four, and billing 0021's two that keep the issued names


@pytest.mark.postgres
def test_truncate_is_refused_to_every_role_but_the_owner(world):
    """A role granted everything but ownership still cannot empty a table; the owner can
    (Django's flush between transactional tests, as the owner)."""
    everything = f"{APP_ROLE}_all"
    sql(f'CREATE ROLE "{everything}" NOLOGIN')
    sql(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{everything}"')
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no pending foreign-key check
    with acting_as(everything):
        for table in ("billing_runexception", "billing_historicalinvoice", "contracts_customer"):
            refused(f"TRUNCATE {table} CASCADE", match=f"R19: {table} is never truncated")
    sql("TRUNCATE billing_runexception")
    assert sql("SELECT count(*) FROM billing_runexception") == [(0,)]


def _tables_of(*labels, historical=None):
    return sorted(
        model._meta.db_table
        for label in labels
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if historical is None or model._meta.model_name.startswith("historical") == historical
    )


@pytest.mark.postgres
def test_every_table_of_the_apps_has_its_triggers():
    """A table added later without them fails here (add it to billing 0007's lists, or to a
    migration of its own)."""

    def tables_with(trigger):
        return sorted(
            name
            for (name,) in sql("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = %s", [trigger])
        )

    assert tables_with("smartkey_no_truncate") == _tables_of("contracts", "billing")
    assert tables_with("smartkey_history_append_only") == _tables_of("contracts", "billing", historical=True)


@pytest.mark.postgres
@pytest.mark.parametrize("table", _tables_of("contracts", "billing", historical=True))
def test_the_audit_trail_is_append_only_for_every_role(world, app_role, table):
    if table == "billing_historicalcreditnote":  # a credit note, so that its trail has a row
        credit_note_issue(invoice=world.issued, amount=1, reason="値引き", by=None, today=D(2026, 11, 3))
    if table == "billing_historicalmailtemplate":  # an accountant's edit, so that its trail has a row
        from billing.models import MailTemplate

        template = MailTemplate.objects.get(kind="invoice")
        template.subject += "（改）"
        template.save()
    if table in ("billing_historicaldeposit", "billing_historicalapplication", "billing_historicalpayername"):
        # a deposit applied to the issued invoice and a payer name (R17), so that their trails have rows
        from billing.models import PayerName
        from billing.payments.service import payments_import

        PayerName.objects.create(customer=world.issued.customer, payer_name="ｶ)ﾃｽﾄ")
        payments_import(
            data=f"received_on,amount,payer_name,reference,deposit_id\n2026-12-01,1,ｶ)ﾃｽﾄ,{world.issued.number},T-1\n".encode(),
            today=D(2026, 12, 1),
        )
    assert sql(f"SELECT count(*) FROM {table}")[0][0] > 0
    for role in (app_role, None):
        with acting_as(role):
            refused(f"UPDATE {table} SET history_change_reason = 'x'", match=f"R19: .* UPDATE of {table}")
            refused(f"DELETE FROM {table}", match=f"R19: .* DELETE of {table}")


# --- what the services do is what the triggers allow ----------------------------------------


@pytest.mark.postgres
def test_a_draft_is_issued_only_with_the_next_number_of_its_counter(world):
    """What _issue does, by hand: counter first, then the number; gapless at commit."""
    nov_run = BillingRun.objects.get(month=NOV)
    with transaction.atomic():
        sql("UPDATE billing_billingrun SET last_invoice_number = 1 WHERE id = %s", [nov_run.pk])
        sql(
            f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202611-0001', {ISSUE} WHERE id = %s",
            [world.draft.pk],
        )
        sql("SET CONSTRAINTS ALL IMMEDIATE")
        assert Invoice.objects.get(pk=world.draft.pk).number == "SK-202611-0001"
        transaction.set_rollback(True)
    # the same number without the counter: refused
    refused(
        f"UPDATE billing_invoice SET status = 'issued', number = 'SK-202611-0001', {ISSUE} WHERE id = {world.draft.pk}",
        match="R12: SK-202611-0001 is not a number of the series of 2026-11",
    )


@pytest.mark.postgres
def test_a_replacement_enters_the_issued_month_and_takes_the_next_number(world):
    accountant = UserFactory(username="keiri1")
    replacement = invoice_void_and_replace(
        invoice=world.issued, by=accountant, reason="宛名の誤り", today=D(2026, 11, 3)
    )
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    assert (replacement.number, replacement.replaces_id) == ("SK-202610-0003", world.issued.pk)
    assert Invoice.objects.get(pk=world.issued.pk).status == "void"
    # a voided invoice "replaced" for another customer: refused
    other = Invoice.objects.get(number="SK-202610-0002")
    other.void(by=accountant, reason="取消")
    refused(
        copy_of_invoice(
            replacement.pk,
            status="'draft'",
            number="NULL",
            issue_date="NULL",
            due_date="NULL",
            issued_at="NULL",
            customer_id=str(world.spare_customer_id),
            customer_code="'C3'",
            replaces_id=str(other.pk),
        ),
        match="R12: month 2026-10 is issued: an invoice enters it only as the replacement",
        error=IntegrityError,
    )


@pytest.mark.postgres
def test_an_approved_cards_period_and_notification_change_only_by_an_approved_request(world):
    card = RateCardFactory(contract=ContractFactory(in_service=True), unnotified=True)
    requester, checker = UserFactory(username="eigyo1"), UserFactory(username="eigyo2")
    # the first notification date of an approved card needs no second approval
    sql("UPDATE billing_ratecard SET notified_on = '2026-03-05' WHERE id = %s", [card.pk])
    for change in ("valid_until = '2026-12-01'", "notified_on = '2026-03-06'", "notified_on = NULL"):
        refused(
            f"UPDATE billing_ratecard SET {change} WHERE id = {card.pk}",
            match=f"R8: the last month and the notification date of approved rate card {card.pk} change only",
        )
    # a request cleared with other values than those requested: refused
    card.refresh_from_db()
    card.request_change(
        by=requester, on=D(2026, 11, 1), valid_until=D(2026, 12, 1), notified_on=D(2026, 3, 5)
    )
    refused(
        "UPDATE billing_ratecard SET valid_until = '2027-01-01', change_requested_by_id = NULL,"
        f" change_requested_on = NULL, requested_valid_until = NULL WHERE id = {card.pk}",
        match="R8: the last month and the notification date",
    )
    # approved by another person, as RateCard.approve does it: the requested values
    card.approve(by=checker, on=D(2026, 11, 2))
    card.refresh_from_db()
    assert (card.valid_until, card.notified_on, card.change_requested_by) == (
        D(2026, 12, 1),
        D(2026, 3, 5),
        None,
    )


@pytest.mark.postgres
def test_an_approved_card_keeps_its_approval_author_and_tiers_and_is_never_deleted(world):
    card, other, elsewhere = world.card, UserFactory(username="eigyo9"), ContractFactory(in_service=True)
    for change in (
        f"approved_by_id = {other.pk}",
        "approved_on = '2026-03-09'",
        "approved_by_id = NULL, approved_on = NULL",
        f"created_by_id = {other.pk}",
    ):
        refused(
            f"UPDATE billing_ratecard SET {change} WHERE id = {card.pk}",
            match=f"R8: the approval and the author of approved rate card {card.pk} never change",
        )
    for change in (
        "valid_from = '2026-04-01'",
        "account_unit_price = 1",
        "auth_pricing = 'volume'",
        "base_fee_currency = 'USD'",
        f"contract_id = {elsewhere.pk}",
    ):
        refused(
            f"UPDATE billing_ratecard SET {change} WHERE id = {card.pk}",
            match=f"R8: rate card {card.pk} is approved: its prices never change",
        )
    refused(
        f"DELETE FROM billing_ratecard WHERE id = {card.pk}",
        match=f"R8: rate card {card.pk} is approved and is never deleted",
    )
    for statement in (
        f"INSERT INTO billing_authtier (rate_card_id, up_to, unit_price, unit_price_currency, flat_fee, flat_fee_currency)"
        f" VALUES ({card.pk}, 5, 0.01, 'JPY', 0, 'JPY')",
        f"DELETE FROM billing_authtier WHERE rate_card_id = {card.pk}",
    ):
        refused(
            statement,
            match=f"R8: rate card {card.pk} is approved: its authentication price tiers never change",
        )
    # a card awaiting approval changes freely, tiers included
    draft = RateCardFactory(
        contract=ContractFactory(in_service=True, item="service_provider"), unapproved=True
    )
    AuthTier.objects.filter(rate_card=draft).update(unit_price=Decimal("0.40"))
    draft.base_fee = Decimal("1")
    draft.save()
    assert AuthTier.objects.get(rate_card=draft, up_to=None).unit_price.amount == Decimal("0.40")
