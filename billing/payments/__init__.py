"""Payments (R17, 入金消込): bank files (``zengin``), the CSV form (``csvform``), payer
names (``names``), matching deposits to invoices (``matching``) and the import that ties
them together (``service``)."""
