"""Import kinds of the contracts domain (interfaces.md): customers, IIJ ID Service
contracts, SmartKey contracts, item changes, terminations."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .csvimport import (
    Column,
    ModelImportKind,
    Problems,
    Row,
    parse_choice,
    parse_code,
    parse_date,
    parse_email_list,
    parse_month,
    parse_text,
    parse_whole,
    parse_yes_no,
    register,
)
from .models import (
    CONDITIONS,
    CURRENT_TERMS_VERSION,
    Contract,
    Customer,
    IIJIDContract,
    Item,
    ItemChange,
    Termination,
    TermsVersion,
)

#: who is recorded as having confirmed conditions of use that came in a file
IMPORTED_BY = "import_csv"


def _unknown(problems: Problems, row: Row, column: str, what: str) -> None:
    problems.add(row.line, column, _("unknown %(what)s %(code)r") % {"what": what, "code": row[column]})


class CustomerReferenceMixin:
    def resolve_customers(self, rows: list[Row], problems: Problems) -> None:
        codes = {row["customer_code"] for row in rows}
        self.customers = {
            c.code: c for c in Customer.objects.filter(code__in=codes).prefetch_related("iijid_contracts")
        }
        for row in rows:
            if row["customer_code"] not in self.customers:
                _unknown(problems, row, "customer_code", _("customer"))


class ContractReferenceMixin:
    def resolve_contracts(self, rows: list[Row], problems: Problems) -> None:
        codes = {row["contract_code"] for row in rows}
        self.contracts = {c.code: c for c in Contract.objects.filter(code__in=codes).with_billing_relations()}
        for row in rows:
            if row["contract_code"] not in self.contracts:
                _unknown(problems, row, "contract_code", _("contract"))


@register
class CustomerKind(ModelImportKind):
    name = "customers"
    model = Customer
    key = ("customer_code",)
    columns = (
        Column("customer_code", parse_code()),
        Column("name", parse_text(200)),
        Column("billing_name", parse_text(200)),
        Column("email", parse_email_list(500), required=False, default=""),
        Column("postal_code", parse_text(10), required=False, default=""),
        Column("address", parse_text(300), required=False, default=""),
        Column("payment_terms_days", parse_whole(max_value=365), required=False),
        # added in version 3: copied on every invoice and credit note sent (R19)
        Column("email_cc", parse_email_list(500), required=False, default=""),
    )
    field_columns = {"code": "customer_code"}

    def lookup(self, rows):
        codes = [row["customer_code"] for row in rows]
        return {(c.code,): c for c in Customer.objects.filter(code__in=codes)}

    def assign(self, row, instance):
        instance.code = row["customer_code"]
        for name in (
            "name",
            "billing_name",
            "email",
            "postal_code",
            "address",
            "payment_terms_days",
            "email_cc",
        ):
            setattr(instance, name, row[name])


@register
class IIJIDContractKind(CustomerReferenceMixin, ModelImportKind):
    name = "iijid_contracts"
    model = IIJIDContract
    key = ("iijid_contract_code",)
    columns = (
        Column("customer_code", parse_code()),
        Column("iijid_contract_code", parse_code()),
        Column("start_on", parse_date),
        Column("end_on", parse_date, required=False),
    )
    field_columns = {"code": "iijid_contract_code", "customer": "customer_code"}

    def lookup(self, rows):
        codes = [row["iijid_contract_code"] for row in rows]
        return {(c.code,): c for c in IIJIDContract.objects.filter(code__in=codes)}

    def resolve(self, rows, problems):
        self.resolve_customers(rows, problems)

    def assign(self, row, instance):
        instance.code = row["iijid_contract_code"]
        instance.customer = self.customers[row["customer_code"]]
        instance.start_on = row["start_on"]
        instance.end_on = row["end_on"]


@register
class ContractKind(CustomerReferenceMixin, ModelImportKind):
    name = "contracts"
    model = Contract
    key = ("contract_code",)
    columns = (
        Column("contract_code", parse_code()),
        Column("customer_code", parse_code()),
        Column("item", parse_choice(Item.values)),
        Column("applied_on", parse_date),
        Column("accepted_on", parse_date, required=False),
        Column("conditions_confirmed_on", parse_date, required=False),
        Column("billing_start_on", parse_date, required=False),
        Column(
            "terms_version",
            parse_choice(TermsVersion.values),
            required=False,
            default=str(CURRENT_TERMS_VERSION),
        ),
    )
    field_columns = {
        "code": "contract_code",
        "customer": "customer_code",
        **{c.date_field: "conditions_confirmed_on" for c in CONDITIONS},
        **{c.by_field: "conditions_confirmed_on" for c in CONDITIONS},
    }

    def lookup(self, rows):
        codes = [row["contract_code"] for row in rows]
        return {
            (c.code,): c
            for c in Contract.objects.filter(code__in=codes)
            .select_related("termination")
            .prefetch_related("item_changes")
        }

    def resolve(self, rows, problems):
        self.resolve_customers(rows, problems)

    def assign(self, row, instance):
        instance.code = row["contract_code"]
        instance.customer = self.customers[row["customer_code"]]
        instance.item = row["item"]
        instance.applied_on = row["applied_on"]
        instance.accepted_on = row["accepted_on"]
        instance.billing_start_on = row["billing_start_on"]
        instance.terms_version = row["terms_version"]
        confirmed_on = row["conditions_confirmed_on"]
        for condition in CONDITIONS:
            if getattr(instance, condition.date_field) != confirmed_on:
                setattr(instance, condition.date_field, confirmed_on)
                setattr(instance, condition.by_field, IMPORTED_BY if confirmed_on else "")


@register
class ItemChangeKind(ContractReferenceMixin, ModelImportKind):
    name = "item_changes"
    model = ItemChange
    key = ("contract_code", "effective_month")
    columns = (
        Column("contract_code", parse_code()),
        Column("item", parse_choice(Item.values)),
        Column("effective_month", parse_month),
        Column("requested_on", parse_date),
        Column("accepted_on", parse_date),
    )
    field_columns = {"contract": "contract_code"}

    def lookup(self, rows):
        codes = {row["contract_code"] for row in rows}
        return {
            (c.contract.code, c.effective_month): c
            for c in ItemChange.objects.filter(contract__code__in=codes).select_related("contract")
        }

    def resolve(self, rows, problems):
        self.resolve_contracts(rows, problems)

    def assign(self, row, instance):
        instance.contract = self.contracts[row["contract_code"]]
        instance.item = row["item"]
        instance.effective_month = row["effective_month"]
        instance.requested_on = row["requested_on"]
        instance.accepted_on = row["accepted_on"]

    def before_validation(self):
        # Each change is checked against the contract's other changes, those of this
        # file included (Art. 4: "the item in force before" may come from another row).
        for contract in self.contracts.values():
            merged = {c.effective_month: c for c in contract.item_changes.all()}
            for _row, instance, _state in self.instances:
                if instance.contract.code == contract.code:
                    merged[instance.effective_month] = instance
            contract._prefetched_objects_cache["item_changes"] = sorted(
                merged.values(), key=lambda c: c.effective_month
            )


@register
class TerminationKind(ContractReferenceMixin, ModelImportKind):
    name = "terminations"
    model = Termination
    key = ("contract_code",)
    columns = (
        Column("contract_code", parse_code()),
        Column("notice_received_on", parse_date),
        Column("requested_on", parse_date, required=False),
        Column("on_prescribed_form", parse_yes_no),
    )
    field_columns = {"contract": "contract_code"}
    clean_exclude = ("contract",)  # one notice per contract: the key already guarantees it

    def lookup(self, rows):
        codes = [row["contract_code"] for row in rows]
        return {
            (t.contract.code,): t
            for t in Termination.objects.filter(contract__code__in=codes).select_related("contract")
        }

    def resolve(self, rows, problems):
        self.resolve_contracts(rows, problems)

    def assign(self, row, instance):
        instance.contract = self.contracts[row["contract_code"]]
        instance.notice_received_on = row["notice_received_on"]
        instance.requested_on = row["requested_on"]
        instance.on_prescribed_form = row["on_prescribed_form"]
        instance.effective_on = instance.compute_effective_on()
