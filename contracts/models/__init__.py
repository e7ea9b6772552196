"""Customers and SmartKey Management Service contracts (Articles 1-6 of the regulation),
one module per aggregate: ``customers`` (Art. 3), ``contracts`` (Art. 1, 5, R4, R7, R14),
``changes`` (Art. 4, Art. 6); ``base`` holds what every model shares.

The rules of ``../shared/regulation/rules.md`` live here: a rule the database can
hold is a constraint (named after its article), a rule that needs other rows is in
``clean()``, and the questions billing asks (item of a month, service period, days
in service) are model methods. Methods that read related rows iterate over
``.all()`` so that a caller's ``prefetch_related`` keeps them free of queries.
"""

from .base import VisibleTextModel
from .changes import ItemChange, Termination
from .contracts import (
    CONDITIONS,
    CURRENT_TERMS_VERSION,
    Condition,
    Contract,
    ContractQuerySet,
    ContractStatus,
    Item,
    TermsVersion,
    in_service_during_q,
)
from .customers import Customer, IIJIDContract

__all__ = [
    "CONDITIONS",
    "CURRENT_TERMS_VERSION",
    "Condition",
    "Contract",
    "ContractQuerySet",
    "ContractStatus",
    "Customer",
    "IIJIDContract",
    "Item",
    "ItemChange",
    "Termination",
    "TermsVersion",
    "VisibleTextModel",
    "in_service_during_q",
]
