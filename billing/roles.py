"""The roles of the back office, as Django groups (issue 4).

- Sales: customers, contracts and rate cards, add and change; approve other people's rate
  cards (never their own: Annex 1 four-eyes rule, held by the model); no billing.
- Accounting: run, issue, void and download; read contracts, rate cards and usage; no
  change to rates.
- Viewer: read only.

``sync_roles`` is idempotent: it sets each group's permissions to exactly this list. It
runs after every ``migrate`` and from ``manage.py setup_roles``.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

SALES = "Sales"
ACCOUNTING = "Accounting"
VIEWER = "Viewer"

CONTRACT_MODELS = ("customer", "iijidcontract", "contract", "itemchange", "termination")
RATE_MODELS = ("ratecard", "authtier")
USAGE_MODELS = ("accountregistration", "authcount", "onetimecharge")
BILLING_MODELS = ("billingrun", "runexception", "invoice", "invoiceline")


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
    ],
    ACCOUNTING: [
        *_perms("contracts", CONTRACT_MODELS, ("view",)),
        *_perms("billing", RATE_MODELS + USAGE_MODELS + BILLING_MODELS, ("view",)),
        "billing.run_billing",
        "billing.issue_billing",
        "billing.export_invoices",
        "billing.void_invoice",
    ],
    VIEWER: [
        *_perms("contracts", CONTRACT_MODELS, ("view",)),
        *_perms("billing", RATE_MODELS + USAGE_MODELS + BILLING_MODELS, ("view",)),
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


def sync_roles_after_migrate(sender, **kwargs) -> None:
    """post_migrate of the billing app: contracts' and billing's permissions exist by now."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    sync_roles()
