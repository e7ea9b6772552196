"""Template tags of the billing screens: the dashboard on the admin index, a contract's
usage charts, and the per-account breakdown links of an invoice."""

from django import template

from billing import dashboard
from billing.admin.usage import breakdown_url
from billing.models import LineType

register = template.Library()


def _can(context, perm: str) -> bool:
    perms = context.get("perms")
    return bool(perms) and perm in perms


@register.inclusion_tag("admin/billing/includes/dashboard.html", takes_context=True)
def billing_dashboard(context):
    """The month at a glance, for staff who may see billing runs."""
    if not _can(context, "billing.view_billingrun"):
        return {"dashboard": None}
    return {
        "dashboard": dashboard.dashboard(),
        "can_view_ratecards": _can(context, "billing.view_ratecard"),
        "can_view_contracts": _can(context, "contracts.view_contract"),
        "can_export": _can(context, "billing.export_invoices"),
        "can_run": _can(context, "billing.run_billing"),
        "can_view_invoices": _can(context, "billing.view_invoice"),
    }


@register.inclusion_tag("admin/billing/includes/contract_usage.html", takes_context=True)
def contract_usage(context, contract):
    if not _can(context, "billing.view_accountregistration") and not _can(context, "billing.view_authcount"):
        return {"usage": None}
    return {
        "usage": dashboard.contract_usage(contract),
        "can_download": _can(context, "billing.view_accountregistration"),
    }


@register.inclusion_tag("admin/billing/includes/breakdown_links.html", takes_context=True)
def invoice_breakdown_links(context, invoice):
    """One link per Enterprise contract of the invoice: the accounts behind its
    account usage fee (one query)."""
    if not _can(context, "billing.view_accountregistration"):
        return {"links": []}
    lines = (
        invoice.lines.filter(line_type=LineType.ACCOUNT_FEE)
        .select_related("contract")
        .order_by("contract__code")
    )
    return {
        "links": [
            (line.contract.code, line.quantity, breakdown_url(line.contract_id, invoice.billing_month))
            for line in lines
        ]
    }
