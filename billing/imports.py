"""Import kinds of billing (interfaces.md): rate cards, accounts, authentication counts,
one-time charges. They plug into the engine of ``contracts/csvimport.py``."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from contracts.csvimport import (
    BulkImportKind,
    CellError,
    Column,
    Counts,
    ModelImportKind,
    Problems,
    Row,
    parse_choice,
    parse_code,
    parse_date,
    parse_decimal,
    parse_month,
    parse_text,
    parse_whole,
    register,
)
from contracts.imports import ContractReferenceMixin
from contracts.models import Contract

from . import calculation
from .models import AccountRegistration, AuthCount, AuthTier, OneTimeCharge, RateCard
from .models.rates import PricingMode

MAX_YEN = Decimal("9999999999")
MAX_PRICE = Decimal("9999999999.9999")
MAX_COUNT = 10**12


def parse_tiers(value: str) -> list[calculation.Tier]:
    """``UP_TO:UNIT_PRICE[:FLAT_FEE]`` joined by ``;``, the last with an empty UP_TO."""
    price = parse_decimal(places=4, max_value=MAX_PRICE)
    flat = parse_decimal(places=0, max_value=MAX_YEN)
    tiers = []
    for number, part in enumerate(value.split(";"), start=1):
        pieces = part.strip().split(":")
        if len(pieces) not in (2, 3):
            raise CellError(
                _("tier %(n)d %(part)r is not UP_TO:UNIT_PRICE[:FLAT_FEE]") % {"n": number, "part": part[:40]}
            )
        up_to_text, price_text, *flat_text = (p.strip() for p in pieces)
        try:
            # ASCII digits only: int() also takes "1_000", "+100" and full-width "１００"
            if up_to_text and not (up_to_text.isascii() and up_to_text.isdigit()):
                raise ValueError
            up_to = int(up_to_text) if up_to_text else None
            if up_to is not None and not 1 <= up_to <= MAX_COUNT:
                raise ValueError
        except ValueError:
            raise CellError(
                _("tier %(n)d: UP_TO %(value)r is not a count") % {"n": number, "value": up_to_text[:40]}
            ) from None
        try:
            tiers.append(
                calculation.Tier(
                    up_to, price(price_text), flat(flat_text[0]) if flat_text and flat_text[0] else Decimal(0)
                )
            )
        except CellError as error:
            raise CellError(_("tier %(n)d: %(error)s") % {"n": number, "error": error}) from None
    return tiers


@register
class RateCardKind(ContractReferenceMixin, ModelImportKind):
    name = "rate_cards"
    model = RateCard
    key = ("contract_code", "valid_from")
    columns = (
        Column("contract_code", parse_code()),
        Column("valid_from", parse_month),
        Column("valid_until", parse_month, required=False),
        Column("base_fee", parse_decimal(places=0, max_value=MAX_YEN)),
        Column("account_unit_price", parse_decimal(places=4, max_value=MAX_PRICE), required=False),
        Column("auth_pricing", parse_choice(PricingMode.values), required=False, default=""),
        Column("auth_tiers", parse_tiers, required=False, default=()),
        Column("approved_by", parse_text(150), required=False, default=""),
        Column("approved_on", parse_date, required=False),
        Column("notified_on", parse_date, required=False),
    )
    field_columns = {"contract": "contract_code", "__all__": "valid_from"}

    def lookup(self, rows):
        codes = {row["contract_code"] for row in rows}
        return {
            (card.contract.code, card.valid_from): card
            for card in RateCard.objects.filter(contract__code__in=codes)
            .select_related("contract", "approved_by")
            .prefetch_related("tiers")
        }

    def resolve(self, rows, problems):
        self.resolve_contracts(rows, problems)
        for contract in self.contracts.values():
            contract._prefetched_objects_cache["rate_cards"] = list(contract.rate_cards.all())
        names = {row["approved_by"] for row in rows if row["approved_by"]}
        # an approver is an active staff member allowed to approve rate cards (R8)
        self.users = {
            u.get_username(): u
            for u in get_user_model().objects.filter(username__in=names, is_active=True, is_staff=True)
        }
        self.approvers = {name for name, u in self.users.items() if u.has_perm("billing.approve_ratecard")}
        for row in rows:
            self.check_row(row, problems)

    def check_row(self, row: Row, problems: Problems) -> None:
        if row["approved_by"] and row["approved_by"] not in self.users:
            problems.add(
                row.line, "approved_by", _("no staff member %(name)r") % {"name": row["approved_by"]}
            )
        elif row["approved_by"] and row["approved_by"] not in self.approvers:
            problems.add(
                row.line,
                "approved_by",
                _("%(name)s may not approve rate cards") % {"name": row["approved_by"]},
            )
        elif self.user is not None and row["approved_by"] == self.user.get_username():
            problems.add(
                row.line,
                "approved_by",
                _("Annex 1: you are importing this rate card; another staff member must approve it."),
            )
        if bool(row["approved_by"]) != bool(row["approved_on"]):
            problems.add(row.line, "approved_on", _("approved_by and approved_on go together"))
        if bool(row["auth_pricing"]) != bool(row["auth_tiers"]):
            problems.add(row.line, "auth_tiers", _("auth_pricing and auth_tiers go together"))
        elif row["auth_pricing"]:
            try:
                calculation.validate_tiers(row["auth_pricing"], row["auth_tiers"])
            except calculation.TierError as error:
                problems.add(row.line, "auth_tiers", str(error))

    def assign(self, row, instance):
        was_approved = instance.pk is not None and instance.approved_by_id is not None
        approver, approved_on = (instance.approved_by, instance.approved_on) if was_approved else (None, None)
        instance.contract = self.contracts[row["contract_code"]]
        if instance.pk is None and self.user is not None:
            instance.created_by = self.user
        instance.valid_from = row["valid_from"]
        instance.valid_until = row["valid_until"]
        instance.base_fee = row["base_fee"]
        instance.account_unit_price = row["account_unit_price"]
        instance.auth_pricing = row["auth_pricing"]
        instance.approved_by = self.users.get(row["approved_by"])
        instance.approved_on = row["approved_on"]
        instance.notified_on = row["notified_on"]
        new_tiers = list(row["auth_tiers"])
        old_tiers = instance.calculation_tiers() if instance.pk else []
        instance._tiers_to_write = None if new_tiers == old_tiers else new_tiers
        if was_approved and instance._tiers_to_write is not None:
            raise ValidationError(
                {
                    "auth_tiers": _(
                        "Annex 1: an approved rate card does not change; enter a new card from a later month."
                    )
                }
            )
        # Otherwise a row with empty approval columns would quietly withdraw the
        # approval, and with it the model's guard on the approved prices.
        if was_approved and (instance.approved_by_id, instance.approved_on) != (approver.pk, approved_on):
            raise ValidationError(
                {
                    "approved_by": _(
                        "Annex 1: this rate card is approved (%(by)s, %(on)s); a file cannot "
                        "withdraw or change an approval. Repeat the approval in the file, or "
                        "leave the row out."
                    )
                    % {"by": approver.get_username(), "on": approved_on.isoformat()}
                }
            )

    def snapshot(self, instance):
        state = super().snapshot(instance)
        state["tiers"] = getattr(instance, "_tiers_to_write", None)
        return state

    def before_validation(self):
        for contract in self.contracts.values():
            merged = {c.valid_from: c for c in contract.rate_cards.all()}
            for _row, instance, _state in self.instances:
                if instance.contract.code == contract.code:
                    merged[instance.valid_from] = instance
            contract._prefetched_objects_cache["rate_cards"] = sorted(
                merged.values(), key=lambda c: c.valid_from
            )

    def write(self, rows) -> Counts:
        counts = super().write(rows)
        for _row, instance, state in self.instances:
            tiers = getattr(instance, "_tiers_to_write", None)
            if state == "unchanged" or tiers is None:
                continue
            instance.tiers.all().delete()
            AuthTier.objects.bulk_create(
                AuthTier(rate_card=instance, up_to=t.up_to, unit_price=t.unit_price, flat_fee=t.flat_fee)
                for t in tiers
            )
        return counts


class ContractRecordMixin:
    """Resolve ``contract_code`` to ids in one query."""

    def resolve(self, rows: list[Row], problems: Problems) -> None:
        codes = {row["contract_code"] for row in rows}
        self.contract_ids = dict(Contract.objects.filter(code__in=codes).values_list("code", "id"))
        for row in rows:
            if row["contract_code"] not in self.contract_ids:
                problems.add(
                    row.line,
                    "contract_code",
                    _("unknown %(what)s %(code)r") % {"what": _("contract"), "code": row["contract_code"]},
                )


@register
class AccountKind(ContractRecordMixin, BulkImportKind):
    name = "accounts"
    model = AccountRegistration
    key = ("contract_code", "account_id", "registered_on")
    key_fields = ("contract_id", "account_id", "registered_on")
    value_fields = ("deregistered_on",)
    columns = (
        Column("contract_code", parse_code()),
        Column("account_id", parse_text(128)),
        Column("registered_on", parse_date),
        Column("deregistered_on", parse_date, required=False),
    )

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["account_id"], row["registered_on"]), (row["deregistered_on"],)

    def existing(self, records):
        """The stored periods of the accounts in the file, and of no other: a file of new
        accounts for a large tenant reads nothing, where reading every period of its
        contracts held millions of rows in memory. On PostgreSQL the file's accounts go
        to a temporary table (COPY) that the stored periods are matched against."""
        if connection.vendor != "postgresql":
            accounts = {key[:2] for _row, key, _values in records}
            rows = (
                row
                for row in AccountRegistration.objects.filter(contract_id__in=self.contract_ids.values())
                .values_list("id", "contract_id", "account_id", "registered_on", "deregistered_on")
                .iterator(chunk_size=20000)
                if row[1:3] in accounts
            )
            return {(c, a, r): (pk, d) for pk, c, a, r, d in rows}
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE import_accounts (contract_id bigint, account_id text) ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY import_accounts FROM STDIN") as copy:
                for _row, key, _values in records:
                    copy.write_row(key[:2])
            cursor.execute("ANALYZE import_accounts")
            cursor.execute(
                """
                SELECT r.id, r.contract_id, r.account_id, r.registered_on, r.deregistered_on
                FROM billing_accountregistration r
                WHERE EXISTS (SELECT 1 FROM import_accounts f
                              WHERE f.contract_id = r.contract_id AND f.account_id = r.account_id)
                """
            )
            stored = {(c, a, r): (pk, d) for pk, c, a, r, d in cursor.fetchall()}
            cursor.execute("DROP TABLE import_accounts")
        return stored

    def check_records(self, records, stored, problems):
        """R10: an account's registration periods never overlap (deregistered_on is the
        last registered day); stored periods count unless a row of the file replaces them."""
        periods = []
        replaced = set()  # stored periods that a row of the file rewrites
        for row, key, (deregistered,) in records:
            if deregistered is not None and deregistered < key[2]:
                problems.add(
                    row.line,
                    "deregistered_on",
                    _("before registered_on %(date)s") % {"date": key[2].isoformat()},
                )
                continue
            if key in stored:
                replaced.add(key)
            periods.append((key[0], key[1], key[2], deregistered or dt.date.max, row.line))
        for key, (_pk, deregistered) in stored.items():
            if key not in replaced:
                periods.append((key[0], key[1], key[2], deregistered or dt.date.max, 0))
        periods.sort()
        for previous, current in itertools.pairwise(periods):
            if previous[:2] == current[:2] and current[2] <= previous[3]:
                line = current[4] or previous[4]
                problems.add(
                    line,
                    "registered_on",
                    _(
                        "account %(account)s is already registered from %(start)s until %(end)s (periods never overlap)"
                    )
                    % {
                        "account": current[1],
                        "start": previous[2].isoformat(),
                        "end": "" if previous[3] == dt.date.max else previous[3].isoformat(),
                    },
                )


@register
class AuthCountKind(ContractRecordMixin, BulkImportKind):
    name = "auth_counts"
    model = AuthCount
    key = ("contract_code", "date")
    key_fields = ("contract_id", "date")
    value_fields = ("success_count",)
    columns = (
        Column("contract_code", parse_code()),
        Column("date", parse_date),
        Column("success_count", parse_whole(max_value=MAX_COUNT)),
    )

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["date"]), (row["success_count"],)

    def existing(self, records):
        rows = AuthCount.objects.filter(contract_id__in=self.contract_ids.values()).values_list(
            "id", "contract_id", "date", "success_count"
        )
        return {(c, d): (pk, n) for pk, c, d, n in rows.iterator(chunk_size=20000)}


@register
class OneTimeChargeKind(ContractRecordMixin, BulkImportKind):
    name = "one_time_charges"
    model = OneTimeCharge
    key = ("contract_code", "due_on", "description")
    key_fields = ("contract_id", "due_on", "description")
    value_fields = ("amount", "amount_currency")
    columns = (
        Column("contract_code", parse_code()),
        Column("description", parse_text(200)),
        Column("amount", parse_decimal(places=0, max_value=MAX_YEN)),
        Column("due_on", parse_date),
    )

    def record(self, row):
        contract_id = self.contract_ids.get(row["contract_code"])
        if contract_id is None:
            return None
        return (contract_id, row["due_on"], row["description"]), (row["amount"], "JPY")

    def existing(self, records):
        rows = OneTimeCharge.objects.filter(contract_id__in=self.contract_ids.values()).values_list(
            "id", "contract_id", "due_on", "description", "amount", "amount_currency"
        )
        return {(c, d, text): (pk, amount, currency) for pk, c, d, text, amount, currency in rows}
