"""The billing kinds of ``import_csv`` (interfaces.md), registered with the engine of
``contracts/csvimport/``: ``rate_cards`` (R8), the usage kinds (``usage``) and ``payer_names`` (R17)."""

from . import payer_names, rate_cards, usage  # noqa: F401  (registers the kinds)
