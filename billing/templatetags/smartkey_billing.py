"""Template tags of the billing screens: the per-account breakdown links of an invoice."""

from django import template

from billing.breakdown import breakdown_url
from billing.models import LineType

register = template.Library()


def _can(context, perm: str) -> bool:
    perms = context.get("perms")
    return bool(perms) and perm in perms


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
