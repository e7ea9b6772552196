"""Billing models: rate cards (Annex 1, R8), usage (R10, R11), one-time charges (Art. 7),
monthly runs and invoices (R12)."""

from .invoices import BillingRun, Invoice, InvoiceLine, InvoiceStatus, LineType, RunException, RunStatus
from .rates import AuthTier, PricingMode, RateCard
from .usage import AccountRegistration, AuthCount, OneTimeCharge

__all__ = [
    "AccountRegistration",
    "AuthCount",
    "AuthTier",
    "BillingRun",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LineType",
    "OneTimeCharge",
    "PricingMode",
    "RateCard",
    "RunException",
    "RunStatus",
]
