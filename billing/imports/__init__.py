"""The billing kinds of ``import_csv`` (interfaces.md), registered with the engine of
``contracts/csvimport/``: ``rate_cards`` (R8) and the usage kinds (``usage``)."""

from . import rate_cards, usage  # noqa: F401  (registers the kinds)
