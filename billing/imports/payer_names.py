"""The ``payer_names`` kind of ``import_csv`` (interfaces.md, R17): how a customer's bank
transfers are named (振込依頼人名), several per customer; a name already registered for the
customer (after normalisation) is unchanged."""

from __future__ import annotations

from billing.models import PayerName
from billing.payments.names import normalize_payer_name
from contracts.csvimport import Column, ModelImportKind, parse_code, parse_text, register
from contracts.imports import CustomerReferenceMixin


@register
class PayerNameKind(CustomerReferenceMixin, ModelImportKind):
    name = "payer_names"
    model = PayerName
    key = ("customer_code", "payer_name")
    columns = (
        Column("customer_code", parse_code()),
        Column("payer_name", parse_text(120)),
    )
    field_columns = {"customer": "customer_code", "normalized": "payer_name"}

    def lookup(self, rows):
        codes = {row["customer_code"] for row in rows}
        return {
            (p.customer.code, p.normalized): p
            for p in PayerName.objects.filter(customer__code__in=codes).select_related("customer")
        }

    def row_key(self, row):
        return (row["customer_code"], normalize_payer_name(row["payer_name"]))

    def resolve(self, rows, problems):
        self.resolve_customers(rows, problems)

    def assign(self, row, instance):
        if instance.pk is None:
            instance.customer = self.customers[row["customer_code"]]
            instance.payer_name = row["payer_name"]
