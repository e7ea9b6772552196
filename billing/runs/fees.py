"""One small function per fee rule of a contract-month (R3, R6–R11, Art. 7), and the
exceptions a person must act on. ``compute.bill_contract`` calls them in invoice order.
Amounts come from ``billing.calculation``; nothing here reads the database. Contracts,
rate cards and charges are the values ``loading`` reads (``BilledContract``, …), amounts
in yen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from billing import calculation
from billing.models import LineType, PricingMode
from billing.selectors import AuthTotals
from contracts import periods
from contracts.models import Contract, Item

from .drafts import ExceptionDraft, LineDraft
from .loading import BilledContract, BilledRateCard


def month_label(month: dt.date) -> str:
    return _("%(year)d-%(month)02d") % {"year": month.year, "month": month.month}


def line_texts(month: dt.date) -> dict[str, str]:
    """The descriptions of a month's lines in the active language, translated once per
    run rather than once per contract (thousands of lookups in a large month)."""
    return {
        "initial_fee": _("Initial fee"),
        "base_fee": _("Monthly base fee %(month)s") % {"month": month_label(month)},
        "prorated": _(" (prorated %(days)d/%(month_days)d days)"),
        "account_fee": _(
            "Account usage fee (registered IDs: %(accounts)d, sum of daily proration coefficients)"
        ),
        **{
            f"auth_api_fee:{mode}": _("Authentication API usage fee (%(pricing)s)") % {"pricing": label}
            for mode, label in PricingMode.choices
        },
    }


# --- R8: the rate card ----------------------------------------------------------------


def rate_card_refusal(
    contract: BilledContract, card: BilledRateCard | None, item: str, month: dt.date
) -> ExceptionDraft | None:
    """R8: a contract in service is billed only with an approved, notified and complete
    rate card; otherwise nothing is billed for it and a person is told what to do."""
    if card is None:
        problem = ("no_rate_card", _("no rate card covers %(month)s") % {"month": month_label(month)})
        action = _("Enter the rate card shown to the contractor, have it approved, and re-run the month.")
    elif card.approved_by_id is None:
        problem = ("rate_card_not_approved", _("the rate card is not approved"))
        action = _("Have a staff member other than its author approve the rate card, then re-run the month.")
    elif card.notified_on is None:
        problem = ("rate_card_not_notified", _("the rate card has no notification date"))
        action = _("Record the day the amounts were shown to the contractor, then re-run the month.")
    elif card.missing_component(item) or (item == Item.SERVICE_PROVIDER and not card.billing_tiers):
        problem = (
            "rate_card_incomplete",
            _("the rate card lacks %(what)s")
            % {"what": card.missing_component(item) or _("authentication price tiers")},
        )
        action = _("Enter a rate card with the component the item needs, then re-run the month.")
    else:
        return None
    return ExceptionDraft(
        contract,
        "R8",
        problem[0],
        _("%(problem)s: nothing is billed for this contract this month.") % {"problem": problem[1]},
        action,
        billed=False,
    )


# --- R3, R6: billed, but a person should know -----------------------------------------


def iijid_lapse(
    contract: BilledContract, window: tuple[dt.date, dt.date], month: dt.date
) -> ExceptionDraft | None:
    """R3: days billed while the customer held no IIJ ID Service contract."""
    missing = uncovered_days(*window, contract.iijid_periods)
    if not missing:
        return None
    return ExceptionDraft(
        contract,
        "R3",
        "iijid_lapsed",
        _("the customer had no IIJ ID Service contract on %(days)d billed day(s) of %(month)s.")
        % {"days": missing, "month": month_label(month)},
        _("Check the customer's IIJ ID Service contract (Art. 3); the month was billed as usual."),
        billed=True,
    )


def uncovered_days(first: dt.date, last: dt.date, intervals) -> int:
    """Days of [first, last] not covered by any (start, end-or-None) interval."""
    uncovered = 0
    day = first
    for start, end in sorted(intervals, key=lambda interval: interval[0]):  # an end may be None
        if end is not None and end < day:
            continue
        if start > last:
            break
        if start > day:
            uncovered += (min(start, last + dt.timedelta(days=1)) - day).days
        day = last + dt.timedelta(days=1) if end is None else max(day, end + dt.timedelta(days=1))
        if day > last:
            return uncovered
    return uncovered + max((last - day).days + 1, 0)


def termination_form_missing(contract: BilledContract) -> ExceptionDraft | None:
    """R6: a notice without the prescribed form has no effect yet; billing goes on."""
    termination = contract.termination_notice
    if termination is None or termination.on_prescribed_form:
        return None
    return ExceptionDraft(
        contract,
        "R6",
        "termination_form_missing",
        _("a termination notice was received on %(date)s without the prescribed form; it has no effect yet.")
        % {"date": periods.japanese_date(termination.notice_received_on)},
        _("Obtain the prescribed termination form (解約申込書); billing continues until then."),
        billed=True,
    )


# --- the lines --------------------------------------------------------------------------


def initial_fee(
    contract: BilledContract, month: dt.date, item: str, texts: dict[str, str]
) -> LineDraft | None:
    """R7: the initial fee (0 yen, Annex 1), shown on the contract's first invoice."""
    start, charge = contract.billing_start_on, contract.first_charge_on
    # the earlier of the two (one may be None; a billed contract has one or the other)
    first_invoice_month = min(start, charge) if start and charge else (start or charge)
    if (first_invoice_month.year, first_invoice_month.month) != (month.year, month.month):
        return None
    return LineDraft(
        contract,
        LineType.INITIAL_FEE,
        item,
        texts["initial_fee"],
        Decimal("1"),
        calculation.INITIAL_FEE,
        calculation.INITIAL_FEE,
    )


def base_fee(
    contract: BilledContract,
    card: BilledRateCard,
    item: str,
    service_days: int,
    days_in_month: int,
    texts: dict[str, str],
) -> LineDraft:
    """R9: the monthly base fee, prorated by calendar days in a partial month."""
    base = card.base_fee
    description = texts["base_fee"]
    if service_days < days_in_month:
        description += texts["prorated"] % {"days": service_days, "month_days": days_in_month}
    return LineDraft(
        contract,
        LineType.BASE_FEE,
        item,
        description,
        Decimal("1"),
        base,
        calculation.prorated_base_fee(base, service_days, days_in_month),
        card,
    )


@dataclass
class AccountFeeToSettle:
    """R10: an Enterprise contract's account fee line, made with the contract's other
    lines and settled once the month's days of use are read (on PostgreSQL they are read
    on a second connection meanwhile: see ``compute.account_days_reader``)."""

    line: LineDraft
    service_days: int
    days_in_month: int

    def settle(self, histogram: dict[int, int], texts: dict[str, str]) -> list[ExceptionDraft]:
        """Fill in the line from ``histogram`` ({days of use: accounts}); returns the
        exception to report, if any."""
        fee = calculation.account_fee(histogram, self.days_in_month, self.line.unit_price, self.service_days)
        self.line.description = texts["account_fee"] % {"accounts": fee.accounts}
        self.line.quantity = fee.coefficient_sum
        self.line.amount = fee.amount
        if not fee.capped:
            return []
        return [
            ExceptionDraft(
                self.line.contract,
                "R10",
                "overlapping_registrations",
                _("%(count)d account(s) have overlapping registration periods.") % {"count": fee.capped},
                _("Correct the accounts' registration periods; their days were capped at the service days."),
                billed=True,
            )
        ]


def account_fee(
    contract: BilledContract, card: BilledRateCard, item: str, service_days: int, days_in_month: int
) -> AccountFeeToSettle:
    """R10: the account usage fee, to be settled with the month's days of use."""
    line = LineDraft(contract, LineType.ACCOUNT_FEE, item, "", None, card.account_unit_price, None, card)
    return AccountFeeToSettle(line, service_days, days_in_month)


def auth_api_fee(
    contract: BilledContract,
    card: BilledRateCard,
    item: str,
    totals: AuthTotals,
    month: dt.date,
    texts: dict[str, str],
) -> tuple[LineDraft, ExceptionDraft | None]:
    """R11: the authentication API usage fee of the month's successful authentications
    on days in service; a month without any counts is flagged."""
    missing = None
    if totals.days_in_service == 0:
        missing = ExceptionDraft(
            contract,
            "R11",
            "no_auth_counts",
            _("no successful authentications were imported for %(month)s.") % {"month": month_label(month)},
            _("Import the month's authentication counts (auth_counts) and re-run, if any are missing."),
            billed=True,
        )
    fee = calculation.auth_fee(totals.in_service, card.auth_pricing, card.billing_tiers)
    line = LineDraft(
        contract,
        LineType.AUTH_API_FEE,
        item,
        texts[f"auth_api_fee:{card.auth_pricing}"],
        Decimal(totals.in_service),
        fee.unit_price,
        fee.amount,
        card,
    )
    return line, missing


def counts_outside_service(contract: Contract | BilledContract, days: int, *, billed: bool) -> ExceptionDraft:
    """R11: counts of days outside the service period are never billed."""
    return ExceptionDraft(
        contract,
        "R11",
        "auth_counts_outside_service",
        _("authentication counts on %(days)d day(s) outside the service period were not billed.")
        % {"days": days},
        _("Check the counts' dates against the billing start and termination dates."),
        billed,
    )


def one_time_fees(contract: BilledContract, item: str) -> list[LineDraft]:
    """Art. 7: one-time fees, billed in the month of their due date."""
    return [
        LineDraft(
            contract,
            LineType.ONE_TIME_FEE,
            item,
            charge.description,
            Decimal("1"),
            charge.amount,
            charge.amount,
            charge=charge,
        )
        for charge in contract.charges_this_month
    ]
