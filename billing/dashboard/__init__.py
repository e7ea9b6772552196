"""The admin index for accountants (the month at a glance) and a contract's usage by
month: every figure aggregated in SQL (``state``), drawn as SVG (``charts``)."""

from .state import contract_usage, dashboard

__all__ = ["contract_usage", "dashboard"]
