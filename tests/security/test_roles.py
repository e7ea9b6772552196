"""Each role can do its job and no more: every admin page and action, for each role
(issue 4). Expected outcomes are written out per role, not derived from ROLES."""

import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse

from billing.exports.journal import journal_file
from billing.models import (
    AccountRegistration,
    Application,
    AuthCount,
    BillingRun,
    Deposit,
    Invoice,
    OneTimeCharge,
    PayerName,
    RateCard,
    Reminder,
)
from billing.payments.service import payments_import
from billing.roles import ACCOUNTING, SALES, VIEWER
from billing.runs import billing_month_compute, billing_month_issue, credit_note_issue
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
    # a second customer billed a one-time charge only: the invoice its credit note credits
    credited = ContractFactory(accepted=True, code="SK-3")
    OneTimeCharge.objects.create(contract=credited, description="研修", amount=5000, due_on=D(2026, 10, 1))
    billing_month_compute(month=D(2026, 10, 1))
    billing_month_issue(month=D(2026, 10, 1), today=D(2026, 11, 5))
    billing_month_compute(month=D(2026, 9, 1))
    october = Invoice.objects.get(billing_month=D(2026, 10, 1), customer=contract.customer)
    payments_import(
        data=(
            "received_on,amount,payer_name,reference,deposit_id\r\n"
            f"2026-12-01,100,ﾃｽﾄ,{october.number},D-1\r\n2026-12-02,300,ﾀﾞﾚｶ,,D-2\r\n"
        ).encode(),
        today=D(2026, 12, 3),
    )
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
        "onetimecharge": OneTimeCharge.objects.get(contract=contract),
        "billingrun": BillingRun.objects.get(month=D(2026, 10, 1)),
        "draft_run": BillingRun.objects.get(month=D(2026, 9, 1)),
        "invoice": Invoice.objects.get(billing_month=D(2026, 10, 1), customer=contract.customer),
        "journalexport": journal_file(D(2026, 10, 1), "yayoi", since_last=True).export,
        "deposit": Deposit.objects.get(source_id="csv:D-2"),
        "application": Application.objects.get(),
        "payername": PayerName.objects.create(customer=contract.customer, payer_name="ｶ)ﾃｽﾄ"),
        "reminder": Reminder.objects.create(
            customer=contract.customer,
            as_of=D(2026, 12, 3),
            state="s",
            invoices=[],
            subject="督促",
            body="本文",
            result="sent",
        ),
        "creditnote": credit_note_issue(
            invoice=Invoice.objects.get(billing_month=D(2026, 10, 1), customer=credited.customer),
            amount=1,
            reason="値引き",
            by=None,
            today=D(2026, 11, 6),
        ),
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
        assert run.status == "draft"  # the action only leads to the confirmation
        url = reverse("admin:billing_billingrun_issue", args=[run.pk])
        assert client.get(url).status_code == (OK if allowed else DENIED)
        client.post(url, {"computed_at": run.computed_at.isoformat()})
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


# --- every URL the project serves, for every role, GET and POST --------------------------
#
# The list of URLs comes from the URL resolver, so a page added later (ours or a
# library's: history, revert, import, export) is walked too, or the test fails until
# its parameters and its expected outcome are written down below.

ADMIN, ANONYMOUS = "administrator", "anonymous"
WALKED_ROLES = (ANONYMOUS, SALES, ACCOUNTING, VIEWER, ADMIN)

#: what each role may do with each model's admin pages: v view, a add, c change, d delete
#: (written out from the README's role table, not derived from ROLES)
RIGHTS = {
    ANONYMOUS: {},
    SALES: {
        "customer": "vac", "iijidcontract": "vac", "contract": "vac", "itemchange": "vac",
        "termination": "vac", "ratecard": "vac", "onetimecharge": "vac",
        "accountregistration": "v", "authcount": "v", "payername": "vacd",
    },
    ACCOUNTING: {
        "customer": "v", "iijidcontract": "v", "contract": "v", "itemchange": "v", "termination": "v",
        "ratecard": "v", "onetimecharge": "v", "accountregistration": "v", "authcount": "v",
        "billingrun": "v", "invoice": "v", "journalexport": "v", "creditnote": "v",
        "storeddocument": "v", "mailtemplate": "vc", "deposit": "va", "payername": "v", "reminder": "v",
    },
    VIEWER: {
        "customer": "v", "iijidcontract": "v", "contract": "v", "itemchange": "v", "termination": "v",
        "ratecard": "v", "onetimecharge": "v", "accountregistration": "v", "authcount": "v",
        "billingrun": "v", "invoice": "v", "creditnote": "v", "storeddocument": "v", "deposit": "v", "payername": "v", "reminder": "v",
    },
    # an administrator administers users (deactivates, never deletes: their names stay on
    # what they did); runs and invoices change only through their actions; rate cards and
    # usage rows carry Django's default delete for administrators
    ADMIN: {
        "customer": "vacd", "iijidcontract": "vacd", "contract": "vacd", "itemchange": "vacd",
        "termination": "vacd", "ratecard": "vacd", "onetimecharge": "vacd",
        "accountregistration": "vacd", "authcount": "vacd", "billingrun": "v", "invoice": "v", "journalexport": "v",
        "creditnote": "v", "storeddocument": "v", "mailtemplate": "vc", "deposit": "va", "payername": "vacd", "reminder": "v", "user": "vac", "group": "vacd", "accessattempt": "vcd", "accesslog": "vcd", "accessfailurelog": "vcd",
    },
}  # fmt: skip

#: the extra views of our admins: the roles allowed to use them (GET and POST alike)
CUSTOM_VIEWS = {
    "admin:billing_billingrun_run": {ACCOUNTING, ADMIN},
    "admin:billing_billingrun_issue": {ACCOUNTING, ADMIN},
    "admin:billing_ratecard_approve": {SALES, ADMIN},
    "admin:billing_billingrun_export": {ACCOUNTING, ADMIN},
    "admin:billing_billingrun_journal": {ACCOUNTING, ADMIN},
    "admin:billing_billingrun_journal_new": {ACCOUNTING, ADMIN},
    "admin:billing_journalexport_file": {ACCOUNTING, ADMIN},
    "admin:billing_creditnote_issue": {ACCOUNTING, ADMIN},
    "admin:billing_creditnote_document": {ACCOUNTING, VIEWER, ADMIN},
    "admin:billing_creditnote_pdf": {ACCOUNTING, VIEWER, ADMIN},
    "admin:billing_invoice_void": {ACCOUNTING, ADMIN},
    "admin:billing_storeddocument_pdf": {ACCOUNTING, VIEWER, ADMIN},
    "admin:billing_invoice_document": {ACCOUNTING, VIEWER, ADMIN},
    "admin:billing_invoice_pdf": {ACCOUNTING, VIEWER, ADMIN},
    "admin:billing_accountregistration_breakdown": {SALES, ACCOUNTING, VIEWER, ADMIN},
    "admin:auth_user_password_change": {ADMIN},
    "admin:billing_deposit_apply": {ACCOUNTING, ADMIN},
    "admin:billing_deposit_reverse": {ACCOUNTING, ADMIN},
    "admin:billing_deposit_import": {ACCOUNTING, ADMIN},
    "admin:billing_deposit_receivables": {ACCOUNTING, ADMIN},
}

STAFF = {SALES, ACCOUNTING, VIEWER, ADMIN}
#: the site's own pages: status per role for GET and for POST (None: as for every staff role)
SITE_PAGES = {
    "": {"GET": 302, "POST": 302},
    "admin:index": {"GET": 200, "POST": 200},
    "admin:login": {"GET": 302, "POST": 200},  # a logged-in user is sent to the index
    "admin:logout": {"GET": 405, "POST": 200},
    "admin:password_change": {"GET": 200, "POST": 200},  # POST: the form again, with errors
    "admin:password_change_done": {"GET": 200, "POST": 405},
    "admin:autocomplete": {"GET": 403, "POST": 405},  # GET: no field named, refused
    "admin:jsi18n": {"GET": 200, "POST": 405},
    "admin:view_on_site": {"GET": 404, "POST": 404},  # no model of ours has a public page
    "admin:catch_all": {"GET": 404, "POST": 404},
    "set_language": {"GET": 302, "POST": 302},
}
#: the same pages for a visitor who is not logged in
SITE_PAGES_ANONYMOUS = {
    "": {"GET": 302, "POST": 302},
    "admin:login": {"GET": 200, "POST": 200},
    "admin:logout": {"GET": 302, "POST": 302},  # to the index, which asks to log in
    "set_language": {"GET": 302, "POST": 302},
}
#: each app's index: the apps whose models the role sees (others: 404)
APP_INDEX = {
    SALES: {"contracts", "billing"},
    ACCOUNTING: {"contracts", "billing"},
    VIEWER: {"contracts", "billing"},
    ADMIN: {"auth", "axes", "contracts", "billing"},
}


def resolved_urls():
    """(name, pattern, route) of every URL pattern of the project, from the resolver."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern):
                name = p.name or ("catch_all" if "(?P<url>" in str(p.pattern) else "")
                yield (f"{namespace}:{name}" if namespace and name else name), p, prefix + str(p.pattern)

    return list(walk(get_resolver().url_patterns, "", None))


MODEL_PAGE = re.compile(
    r"^admin:(?P<app>[a-z]+)_(?P<model>[a-z]+)_(?P<kind>changelist|add|change|delete|history|simple_history)$"
)
CSV_IMPORT = re.compile(r"^admin:(?P<app>[a-z]+)_(?P<model>[a-z]+)_import$")
OBJECT_REDIRECT = re.compile(r"^admin/(?P<app>[a-z]+)/(?P<model>[a-z]+)/<path:object_id>/$")


@pytest.fixture
def every_object(world):
    """``world`` with what the remaining admin pages need, every object with an earlier
    version in its audit trail that differs from the current one (the revert attack)."""
    objects = dict(world)
    customer = world["customer"]
    customer.billing_name = "変更後 御中"
    customer.save()
    world["contract"].billing_start_on = world["contract"].billing_start_on  # a second version
    world["contract"].save()
    charge = world["onetimecharge"]
    charge.amount = 200
    charge.save()
    world["unapproved"].approve(by=get_user_model().objects.get(username="approver"), on=D(2026, 3, 4))
    objects["ratecard"] = world["unapproved"]  # its first version is unapproved
    from billing.documents.store import stored_invoice
    from billing.models import MailTemplate

    objects["storeddocument"] = stored_invoice(world["invoice"])
    template = MailTemplate.objects.get(kind="invoice")
    template.subject += "（改）"  # a second version in its audit trail
    template.save()
    objects["mailtemplate"] = template
    deposit = world["deposit"]
    deposit.candidate_customer = customer
    deposit.save()
    payer = world["payername"]
    payer.payer_name = "ｶ)ﾃｽﾄｼﾖｳｼﾞ"
    payer.save()
    objects["user"] = get_user_model().objects.get(username="author")
    objects["group"] = Group.objects.get(name=SALES)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    objects["accessattempt"] = AccessAttempt.objects.create(
        username="x", ip_address="10.0.0.1", failures_since_start=1
    )
    objects["accesslog"] = AccessLog.objects.create(username="x", ip_address="10.0.0.1")
    objects["accessfailurelog"] = AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1")
    return objects


def url_of(name, pattern, route, objects):
    """The pattern with its parameters filled from ``objects``; an unknown parameter
    fails the test: a new page needs its values written here."""
    from django.contrib.contenttypes.models import ContentType
    from django.urls import reverse

    model = MODEL_PAGE.match(name) or OBJECT_REDIRECT.match(route)
    if name == "":
        return "/"
    if name == "admin:catch_all":
        return "/admin/no-such-page/"
    if name == "admin:app_list":
        raise AssertionError("app indexes are walked per app")
    if name == "admin:view_on_site":
        ct = ContentType.objects.get_for_model(objects["contract"])
        return reverse(name, args=[ct.pk, objects["contract"].pk])
    extra = {
        "admin:billing_billingrun_issue": lambda: [objects["draft_run"].pk],
        "admin:billing_ratecard_approve": lambda: [objects["ratecard"].pk],
        "admin:billing_billingrun_export": lambda: [objects["billingrun"].pk, "lines"],
        "admin:billing_billingrun_journal": lambda: [objects["billingrun"].pk, "yayoi"],
        "admin:billing_billingrun_journal_new": lambda: [objects["billingrun"].pk, "yayoi"],
        "admin:billing_journalexport_file": lambda: [objects["journalexport"].pk],
        "admin:billing_creditnote_issue": lambda: [objects["invoice"].pk],
        "admin:billing_creditnote_document": lambda: [objects["creditnote"].pk],
        "admin:billing_creditnote_pdf": lambda: [objects["creditnote"].pk],
        "admin:billing_invoice_void": lambda: [objects["invoice"].pk],
        "admin:billing_storeddocument_pdf": lambda: [objects["storeddocument"].pk],
        "admin:billing_invoice_document": lambda: [objects["invoice"].pk],
        "admin:billing_invoice_pdf": lambda: [objects["invoice"].pk],
        "admin:billing_accountregistration_breakdown": lambda: [objects["contract"].pk, "2026-10"],
        "admin:auth_user_password_change": lambda: [objects["user"].pk],
        "admin:billing_deposit_apply": lambda: [objects["deposit"].pk],
        "admin:billing_deposit_reverse": lambda: [objects["application"].pk],
    }
    if name in extra:
        return reverse(name, args=extra[name]())
    if model is None:
        params = pattern.pattern.regex.groups
        assert params == 0, f"{route}: write the values of its parameters in url_of()"
        return reverse(name)
    obj = objects[model["model"]]
    if name == "":
        return reverse(name)
    kind = model.groupdict().get("kind")
    if kind is None:  # admin/<app>/<model>/<id>/ redirects to the change page
        return f"/{route.replace('<path:object_id>', str(obj.pk))}"
    if kind in ("changelist", "add"):
        return reverse(name)
    if kind == "simple_history":
        first = type(obj).history.filter(**{type(obj)._meta.pk.attname: obj.pk}).earliest("history_date")
        return reverse(name, args=[obj.pk, first.history_id])
    return reverse(name, args=[obj.pk])


def expected_status(role, name, route, method):
    """The written-out outcome: a status, or "allowed" (200 or 302), or "denied" (403)."""
    if role == ANONYMOUS:
        if name in SITE_PAGES_ANONYMOUS:
            return SITE_PAGES_ANONYMOUS[name][method]
        return "login"
    if name in SITE_PAGES:
        return SITE_PAGES[name][method]
    if name in CUSTOM_VIEWS:
        return "allowed" if role in CUSTOM_VIEWS[name] else "denied"
    if OBJECT_REDIRECT.match(route):
        return 302  # to the change page, which decides
    imported = CSV_IMPORT.match(name)
    if imported is not None:
        # a changelist's CSV import (issue 15): whoever may add and change its rows
        rights = RIGHTS[role].get(imported["model"], "")
        return "allowed" if "a" in rights and "c" in rights else "denied"
    model = MODEL_PAGE.match(name)
    assert model is not None, f"{name} ({route}): write down who may use it"
    rights = RIGHTS[role].get(model["model"], "")
    kind = model["kind"]
    if kind == "simple_history":
        # history is for reading: nobody replays a past version, administrators included
        return ("allowed" if "v" in rights else "denied") if method == "GET" else "denied"
    needed = {
        "changelist": "v",
        "history": "v",
        "add": "a",
        "delete": "d",
        "change": "v" if method == "GET" else "c",
    }[kind]
    return "allowed" if needed in rights else "denied"


def snapshot():
    """Every row of every table the back office keeps (sessions and login times aside)."""
    from django.db import connection

    state = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table in ("django_session",) or table.startswith("axes_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            rows = [
                tuple(v for c, v in zip(columns, row, strict=True) if c != "last_login")
                for row in cursor.fetchall()
            ]
            state[table] = sorted(map(repr, rows))
    return state


def login_as(client, role):
    if role == ANONYMOUS:
        client.logout()
        return None
    if role == ADMIN:
        user = get_user_model().objects.filter(
            username="root"
        ).first() or get_user_model().objects.create_superuser("root", "root@example.jp", "x")
    else:
        user = get_user_model().objects.filter(username=role.lower()).first() or user_in(role)
    client.force_login(user)
    return user


def page_form(client, url):
    """What the page's own form sends, read from the page as an administrator sees it (so
    that a POST carries real data, as a person replaying the page would send it)."""
    from tests.html_forms import form_data

    login_as(client, ADMIN)
    response = client.get(url)
    if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
        return {}
    try:
        return form_data(response.content.decode())
    except LookupError:
        return {}


@pytest.mark.parametrize("role", WALKED_ROLES)
def test_every_url_for_every_role_get_and_post(client, every_object, role):
    from django.urls import reverse

    walked, mismatches = 0, []
    urls = []
    for name, pattern, route in resolved_urls():
        if name == "admin:app_list":
            urls += [
                (name, route, reverse(name, args=[app])) for app in ("auth", "axes", "contracts", "billing")
            ]
        else:
            urls.append((name, route, url_of(name, pattern, route, every_object)))
    # pages whose form a POST replays: the change page's data, also for its past versions
    forms = {}
    for name, _route, url in urls:
        if name.endswith(("_change", "_add")) or name.endswith("_simple_history") or name in CUSTOM_VIEWS:
            source = url
            match = MODEL_PAGE.match(name)
            if match and match["kind"] == "simple_history":
                source = reverse(
                    f"admin:{match['app']}_{match['model']}_change", args=[every_object[match["model"]].pk]
                )
            forms[url] = page_form(client, source)
    for name, route, url in urls:
        for method in ("GET", "POST"):
            login_as(client, role)
            if name == "admin:app_list":
                app = url.rstrip("/").rsplit("/", 1)[-1]
                expected = "login" if role == ANONYMOUS else 200 if app in APP_INDEX[role] else 404
            else:
                expected = expected_status(role, name, route, method)
            before = snapshot() if method == "POST" and expected in ("denied", "login") else None
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, forms.get(url, {}))
            walked += 1
            status = response.status_code
            ok = {
                "allowed": status in (200, 302),
                "denied": status == 403,
                "login": status == 302 and "/admin/login/" in response.get("Location", ""),
            }.get(expected, status == expected)
            if not ok:
                mismatches.append(f"{method} {url} ({name or route}): {status}, expected {expected}")
            if before is not None and snapshot() != before:
                mismatches.append(f"{method} {url} ({name or route}): refused, but the data changed")
    assert not mismatches, "\n".join(mismatches)
    assert walked >= 2 * 125  # every pattern of the resolver, both methods
