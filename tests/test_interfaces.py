"""The interfaces are documented by the product itself (issue 11, item 8): the README
carries what ``manage.py interfaces`` prints, and what version 1 promised is still there
(interfaces change only additively)."""

import io
import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from billing import interfaces

#: version 1 as interfaces.md fixed it: every kind with its columns, every export layout
VERSION_1_KINDS = {
    "customers": {"customer_code", "name", "billing_name", "email", "postal_code", "address", "payment_terms_days"},
    "iijid_contracts": {"customer_code", "iijid_contract_code", "start_on", "end_on"},
    "contracts": {
        "contract_code", "customer_code", "item", "applied_on", "accepted_on", "conditions_confirmed_on",
        "billing_start_on", "terms_version",
    },
    "item_changes": {"contract_code", "item", "effective_month", "requested_on", "accepted_on"},
    "terminations": {"contract_code", "notice_received_on", "requested_on", "on_prescribed_form"},
    "rate_cards": {
        "contract_code", "valid_from", "valid_until", "base_fee", "account_unit_price", "auth_pricing",
        "auth_tiers", "approved_by", "approved_on", "notified_on",
    },
    "accounts": {"contract_code", "account_id", "registered_on", "deregistered_on"},
    "auth_counts": {"contract_code", "date", "success_count"},
    "one_time_charges": {"contract_code", "description", "amount", "due_on"},
}  # fmt: skip
VERSION_1_LINES = (
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "contract_code", "item", "line_type", "description", "quantity", "unit_price", "amount", "tax_rate",
    "invoice_subtotal", "invoice_tax", "invoice_total",
)  # fmt: skip
VERSION_1_INVOICES = (
    "invoice_number", "status", "customer_code", "billing_name", "billing_month", "issue_date", "due_date",
    "subtotal", "tax_rate", "tax", "total", "line_count",
)  # fmt: skip


def printed() -> str:
    out = io.StringIO()
    call_command("interfaces", stdout=out)
    return out.getvalue()


def test_the_readme_carries_what_the_command_prints():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- interfaces -->\n(.*?)\n<!-- /interfaces -->", readme, re.S)
    assert block is not None, "the README has no interfaces block"
    assert block.group(1) == printed().rstrip(), (
        "README out of date: paste the output of manage.py interfaces"
    )


def test_nothing_of_version_1_was_removed_or_renamed():
    kinds = {kind.name: kind for kind in interfaces.kinds()}
    for name, columns in VERSION_1_KINDS.items():
        assert name in kinds, name
        assert columns <= {c.name for c in kinds[name].columns}, name
        # a column added later must be optional, or version 1 files would stop importing
        added = [c for c in kinds[name].columns if c.name not in columns]
        assert all(not c.required for c in added), (name, added)
    layouts = dict((title.split("`")[1], columns) for title, columns in interfaces.EXPORTS)
    # export columns are only ever appended
    assert layouts["export_invoices --layout lines"][: len(VERSION_1_LINES)] == VERSION_1_LINES
    assert layouts["export_invoices --layout invoices"][: len(VERSION_1_INVOICES)] == VERSION_1_INVOICES


def test_every_column_says_its_format():
    for kind in interfaces.kinds():
        for column in kind.columns:
            assert getattr(column.parse, "format", ""), f"{kind.name}.{column.name} has no format"
    assert f"format version {interfaces.VERSION}" in printed()
