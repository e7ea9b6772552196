"""The audit trail (django-simple-history): who changed what and when on contracts,
item changes, terminations, rate cards and invoices, visible in the admin."""

import datetime as dt

import pytest
from django.urls import reverse

from billing.models import Invoice, RateCard
from billing.runs import billing_month_compute, billing_month_issue, invoice_void_and_replace
from contracts.models import Contract, ItemChange, Termination
from tests.billing.factories import RateCardFactory
from tests.contracts.admin_forms import contract_form
from tests.contracts.factories import ContractFactory

pytestmark = pytest.mark.django_db

D = dt.date


def test_admin_change_of_a_contract_records_user_and_diff(staff_client):
    contract = ContractFactory(accepted=True)
    url = reverse("admin:contracts_contract_change", args=[contract.pk])
    data = contract_form(
        contract,
        **{
            "item_changes-TOTAL_FORMS": "1",
            "item_changes-0-item": "service_provider",
            "item_changes-0-effective_month": "2026-05-01",
            "item_changes-0-requested_on": "2026-04-01",
            "item_changes-0-accepted_on": "2026-04-02",
            "termination-TOTAL_FORMS": "1",
            "termination-0-on_prescribed_form": "on",
            "termination-0-notice_received_on": "2026-06-01",
        },
    )
    data["applied_on"] = "2026-03-19"
    assert staff_client.post(url, data).status_code == 302

    latest = Contract.history.filter(id=contract.pk).latest()
    assert latest.history_user == staff_client.user
    assert latest.history_type == "~"
    delta = latest.diff_against(latest.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("applied_on", D(2026, 3, 20), D(2026, 3, 19))
    ]
    assert ItemChange.history.get().history_user == staff_client.user
    assert Termination.history.get().history_user == staff_client.user

    page = staff_client.get(reverse("admin:contracts_contract_history", args=[contract.pk])).content.decode()
    assert "admin" in page and "申込日" in page


def test_approval_issue_and_void_record_user_and_time(django_user_model):
    author = django_user_model.objects.create_user("eigyo1")
    approver = django_user_model.objects.create_user("eigyo2")
    accountant = django_user_model.objects.create_user("keiri")
    contract = ContractFactory(in_service=True)
    card = RateCard.objects.create(
        contract=contract, valid_from=D(2026, 3, 1), base_fee=1000, account_unit_price=10, created_by=author
    )
    card.approve(by=approver, on=D(2026, 3, 2))
    card.notified_on = D(2026, 3, 3)
    card.save()
    approval = RateCard.history.filter(id=card.pk).order_by("history_date")[1]
    assert (approval.history_user, approval.approved_by_id) == (approver, approver.pk)
    assert approval.history_date is not None

    billing_month_compute(month=D(2026, 10, 1), by=accountant)
    billing_month_issue(month=D(2026, 10, 1), by=accountant, today=D(2026, 11, 2))
    invoice = Invoice.objects.get()
    issued = invoice.history.latest()
    assert (issued.history_user, issued.status, issued.number) == (accountant, "issued", "SK-202610-0001")

    replacement = invoice_void_and_replace(
        invoice=invoice, by=accountant, reason="宛名の誤り", today=D(2026, 11, 3)
    )
    voided = Invoice.history.filter(id=invoice.pk).latest()
    assert (voided.history_user, voided.status, voided.void_reason) == (accountant, "void", "宛名の誤り")
    assert replacement.history.latest().history_user == accountant
    assert replacement.number == "SK-202610-0002" and replacement.replaces_id == invoice.pk


def test_drafts_written_in_bulk_leave_their_audit_trail(django_user_model):
    """A monthly run writes its drafts with COPY; each still has its history, created and
    (when recomputed) deleted, with who computed."""
    accountant = django_user_model.objects.create_user("keiri")
    RateCardFactory(contract=ContractFactory(in_service=True), base_fee=1000, account_unit_price=10)
    billing_month_compute(month=D(2026, 10, 1), by=accountant)
    first = Invoice.objects.get()
    created = Invoice.history.get(id=first.pk)
    assert (created.history_type, created.history_user, created.total.amount) == ("+", accountant, 1100)
    billing_month_compute(month=D(2026, 10, 1), by=accountant)
    assert list(
        Invoice.history.filter(id=first.pk).values_list("history_type", flat=True).order_by("history_id")
    ) == [
        "+",
        "-",
    ]
    assert Invoice.history.filter(id=Invoice.objects.get().pk, history_type="+").exists()
