"""POST data of the contract admin form, as a browser sends it."""

from contracts.models import CONDITIONS


def contract_form(contract, **changes):
    data = {
        "code": contract.code,
        "customer": contract.customer_id,
        "item": contract.item,
        "terms_version": contract.terms_version,
        "applied_on": contract.applied_on.isoformat(),
        "accepted_on": contract.accepted_on.isoformat() if contract.accepted_on else "",
        "billing_start_on": contract.billing_start_on.isoformat() if contract.billing_start_on else "",
        "item_changes-TOTAL_FORMS": "0",
        "item_changes-INITIAL_FORMS": "0",
        "termination-TOTAL_FORMS": "0",
        "termination-INITIAL_FORMS": "0",
    }
    for c in CONDITIONS:
        value = getattr(contract, c.date_field)
        data[c.date_field] = value.isoformat() if value else ""
        data[c.by_field] = getattr(contract, c.by_field)
    data.update(changes)
    return data
