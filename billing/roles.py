"""The roles of the back office, as Django groups (issue 4).

- Sales: customers, contracts and rate cards, add and change; payer names (R17); approve other people's rate
  cards (never their own: Annex 1 four-eyes rule, held by the model); no billing.
- Accounting: run, issue, void, credit and download (journals too); 入金消込 (deposits,
  bank files, applications and their undoing, R17); email documents and edit the mail
  templates; read contracts, rate cards and usage; no change to rates.
- Viewer: read only.

``sync_roles`` is idempotent: it sets each group's permissions to exactly this list. It
runs after every ``migrate`` and from ``manage.py setup_roles``.

The database roles (PostgreSQL): migrations run as the owner of the tables; the application
may connect as a role that does not own them (``DATABASE_APP_ROLE``), which
``grant_app_role`` gives exactly what the application needs, after every ``migrate``. The
owner can disable or drop the triggers that hold the rules (billing 0004-0007); that role
cannot. See README, "Database roles".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

SALES = "Sales"
ACCOUNTING = "Accounting"
VIEWER = "Viewer"

CONTRACT_MODELS = ("customer", "iijidcontract", "contract", "itemchange", "termination")
RATE_MODELS = ("ratecard", "authtier")
USAGE_MODELS = ("accountregistration", "authcount", "onetimecharge")
BILLING_MODELS = ("billingrun", "runexception", "invoice", "invoiceline", "creditnote", "latechange")
#: what was handed to the accounting software: the accountants' own business
JOURNAL_MODELS = ("journalexport",)
#: R19: the issued documents as kept, and their sends (read by whoever reads invoices)
DOCUMENT_MODELS = ("storeddocument", "documentsend")
#: R17: the money received and where it went (入金消込), and the names it arrives under
PAYMENT_MODELS = ("deposit", "application", "payername", "reminder")


def _perms(app: str, models: tuple[str, ...], actions: tuple[str, ...]) -> list[str]:
    return [f"{app}.{action}_{model}" for model in models for action in actions]


ROLES: dict[str, list[str]] = {
    SALES: [
        *_perms("contracts", CONTRACT_MODELS, ("add", "change", "view")),
        *_perms("billing", ("ratecard",), ("add", "change", "view")),
        *_perms("billing", ("authtier",), ("add", "change", "delete", "view")),
        "billing.approve_ratecard",
        *_perms("billing", ("onetimecharge",), ("add", "change", "view")),
        *_perms("billing", ("accountregistration", "authcount"), ("view",)),
        # R17: sales know how their customers' transfers are named
        *_perms("billing", ("payername",), ("add", "change", "delete", "view")),
    ],
    ACCOUNTING: [
        *_perms("contracts", CONTRACT_MODELS, ("view",)),
        *_perms("billing", RATE_MODELS + USAGE_MODELS + BILLING_MODELS, ("view",)),
        "billing.run_billing",
        "billing.issue_billing",
        *_perms("billing", JOURNAL_MODELS, ("view",)),
        "billing.export_invoices",
        "billing.void_invoice",
        "billing.issue_creditnote",
        *_perms("billing", DOCUMENT_MODELS, ("view",)),
        # emailing a document is recording its send; the mail's wording is theirs
        "billing.add_documentsend",
        *_perms("billing", ("mailtemplate",), ("view", "change")),
        # R17: 入金消込: deposits entered by hand, bank files imported, applied and undone
        *_perms("billing", PAYMENT_MODELS, ("view",)),
        "billing.add_deposit",
        "billing.apply_deposit",
        "billing.send_reminder",
    ],
    VIEWER: [
        *_perms("contracts", CONTRACT_MODELS, ("view",)),
        *_perms(
            "billing",
            RATE_MODELS + USAGE_MODELS + BILLING_MODELS + DOCUMENT_MODELS + PAYMENT_MODELS,
            ("view",),
        ),
    ],
}


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create the groups and set their permissions to exactly ``ROLES``."""
    wanted = {name for names in ROLES.values() for name in names}
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={name.split(".")[0] for name in wanted}
        )
    }
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise LookupError(f"permissions not found (run migrate first): {', '.join(missing)}")
    result = {}
    for role, names in ROLES.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[name] for name in names])
        result[role] = len(names)
    return result


#: what the application's database role may do on every table and sequence, and nothing
#: else (no TRUNCATE, REFERENCES or TRIGGER): COPY needs INSERT, SELECT … FOR UPDATE needs
#: UPDATE, nextval() needs USAGE. Temporary tables (imports) need the database's TEMPORARY
#: privilege, which PostgreSQL gives to PUBLIC; advisory locks need no privilege.
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_PRIVILEGES = "USAGE, SELECT"


def grant_app_role(role: str | None = None, *, using: str = "default") -> str | None:
    """Give ``role`` (default: the ``DATABASE_APP_ROLE`` setting) exactly
    ``APP_TABLE_PRIVILEGES`` on every table and ``APP_SEQUENCE_PRIVILEGES`` on every
    sequence of the schema the tables are in, and USAGE on that schema; privileges granted
    earlier by this user on them are revoked first. PostgreSQL only; returns the role, or
    None when there is nothing to do (no role, another database).

    Refuses a role that is a superuser or has the privileges of a table's owner: connected
    as such a role the application could disable the triggers."""
    role = settings.DATABASE_APP_ROLE if role is None else role
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return None
    if '"' in role:
        raise ImproperlyConfigured(f"DATABASE_APP_ROLE: {role!r} is not a role name.")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper OR EXISTS ("
            "    SELECT 1 FROM pg_class c"
            "    WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
            "      AND c.relkind IN ('r', 'p', 'S')"
            "      AND pg_has_role(r.oid, c.relowner, 'USAGE'))"
            " FROM pg_roles r WHERE r.rolname = %s",
            [role],
        )
        found = cursor.fetchone()
        if found is None:
            raise ImproperlyConfigured(
                f"DATABASE_APP_ROLE: the role {role!r} does not exist; create it first "
                "(README, Database roles)."
            )
        if found[0]:
            raise ImproperlyConfigured(
                f"DATABASE_APP_ROLE: {role!r} is a superuser or has the privileges of the owner of "
                "the tables, so it could disable their triggers; the application must connect as a "
                "role that does not own the schema (README, Database roles)."
            )
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
        quoted_schema, quoted_role = connection.ops.quote_name(schema), connection.ops.quote_name(role)
        for statement in (
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {quoted_schema} FROM {quoted_role}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quoted_schema} FROM {quoted_role}",
            f"GRANT USAGE ON SCHEMA {quoted_schema} TO {quoted_role}",
            f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {quoted_schema} TO {quoted_role}",
            f"GRANT {APP_SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {quoted_schema} TO {quoted_role}",
        ):
            cursor.execute(statement)
    return role


def sync_roles_after_migrate(sender, **kwargs) -> None:
    """post_migrate of the billing app: contracts' and billing's permissions exist by now,
    and so does every table the application's database role is granted."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    sync_roles()
    grant_app_role(using=using)
