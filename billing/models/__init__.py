"""Billing models: rate cards (Annex 1, R8), usage (R10, R11), one-time charges (Art. 7),
monthly runs and invoices (R12), credit notes (R16), late changes (R15), payments (R17), journals handed
out, and the issued documents kept (R19)."""

from .credit_notes import CreditNote, CreditNoteLine, CreditNoteSeries
from .documents import DocumentSend, DocumentTampered, MailTemplate, StoredDocument
from .invoices import (
    BillingRun,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineType,
    PaymentStatus,
    RunException,
    RunStatus,
)
from .journals import IssuedName, JournalEntryExport, JournalExport
from .late import DraftChange, LateChange
from .payments import Application, Deposit, DepositSource, MatchRule, PayerName, PaymentRefused, Reminder
from .rates import AuthTier, PricingMode, RateCard
from .usage import AccountRegistration, AuthCount, OneTimeCharge

__all__ = [
    "AccountRegistration",
    "Application",
    "AuthCount",
    "AuthTier",
    "BillingRun",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteSeries",
    "Deposit",
    "DepositSource",
    "DocumentSend",
    "DocumentTampered",
    "DraftChange",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "IssuedName",
    "JournalEntryExport",
    "JournalExport",
    "LateChange",
    "LineType",
    "MailTemplate",
    "MatchRule",
    "OneTimeCharge",
    "PayerName",
    "PaymentRefused",
    "PaymentStatus",
    "PricingMode",
    "RateCard",
    "Reminder",
    "RunException",
    "RunStatus",
    "StoredDocument",
]
