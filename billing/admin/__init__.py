"""The billing admin, one module per model group: rate cards (``rates``), usage and the
per-account breakdown (``usage``), monthly runs with their downloads (``runs``), invoices
and their documents (``invoices``), credit notes (``credit_notes``), the customer's open items (``customers``), the issued documents kept, searched and emailed and their mail templates (``documents``), deposits and payer names (``payments``, R17), journal files handed out (``journals``), staff accounts (``users``: deactivated, never deleted). Extra views are ModelAdmin methods wired in
``get_urls``, as django.contrib.admin does; they call services and models only."""

from . import (  # noqa: F401  (registers the admins)
    credit_notes,
    customers,
    documents,
    invoices,
    journals,
    payments,
    rates,
    runs,
    usage,
    users,
)
