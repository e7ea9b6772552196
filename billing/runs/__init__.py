"""The monthly run (R3–R12): compute a month's drafts, issue them, void and replace.

- ``loading``: the contracts a month bills, with what the fee rules read;
- ``fees``: one small function per fee rule and the exceptions for people;
- ``compute``: a contract's lines, a month's drafts;
- ``late``: noting the changes that touch closed months, whatever wrote them (R15);
- ``adjustments``: the adjustment lines that settle them (R15);
- ``month``: the month's run, computed and written (``billing_month_compute``);
- ``persist``: writing drafts, lines and exceptions, the run's row lock;
- ``issue``: numbers, dates, the issuer's snapshot; void and replace;
- ``credit_notes``: credit notes against issued invoices (R16).

Admin actions and commands call the services below; they hold no rules.
"""

from .credit_notes import credit_note_issue
from .drafts import DOCUMENT_LANGUAGE, BillingRefused, RunSummary
from .issue import (
    IssuePlan,
    billing_month_issue,
    billing_month_issue_preview,
    due_date_for,
    invoice_void_and_replace,
)
from .month import billing_month_compute

__all__ = [
    "DOCUMENT_LANGUAGE",
    "BillingRefused",
    "IssuePlan",
    "RunSummary",
    "billing_month_compute",
    "billing_month_issue",
    "billing_month_issue_preview",
    "credit_note_issue",
    "due_date_for",
    "invoice_void_and_replace",
]
