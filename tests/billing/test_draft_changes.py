"""Issue 15, item 9: a month's drafts say that the data they were computed from changed
since, for the contracts concerned, whatever path wrote it: an import (usage rows keep no
audit trail), the admin or the shell. Usage of a month without drafts, or of an issued
month (a late change, R15), marks no draft."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.dashboard import state as dashboard
from billing.models import AuthCount, BillingRun, DraftChange, LateChange
from billing.runs import billing_month_compute, late
from contracts.models import Contract, Customer
from tests.contracts.factories import CustomerFactory
from tests.e2e.test_import_bill_export import import_text

from .factories import AuthCountFactory
from .october import OCTOBER, october

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 5)  # October is the month being billed
WARNING = "下書きの計算後にデータが変更されました"


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    monkeypatch.setattr("billing.dashboard.state._today", lambda: TODAY)


def october_changed() -> bool:
    previous, _current = dashboard.month_states(TODAY)
    assert previous.month == OCTOBER
    return previous.changed_since


def changed_codes(month=OCTOBER) -> list[str]:
    return list(
        late.contracts_changed_since(BillingRun.objects.get(month=month)).values_list("code", flat=True)
    )


def test_usage_imported_after_the_drafts_marks_their_month_and_contracts(tmp_path, staff_client):
    october(tmp_path)
    assert (october_changed(), changed_codes()) == (False, [])

    # two new registrations of E1 and one of E2 in October, a row of E1 in December (no drafts)
    accounts = (
        "contract_code,account_id,registered_on,deregistered_on\n"
        "E1,A8,2026-10-12,2026-10-13\n"
        "E1,A9,2026-10-14,2026-10-15\n"
        "E2,B2,2026-10-20,\n"
        "E1,A7,2026-12-01,\n"
    )
    with CaptureQueriesContext(connection) as queries:
        import_text(tmp_path, "accounts", accounts, name="late-accounts")
    marks = [q["sql"] for q in queries.captured_queries if 'INTO "billing_draftchange"' in q["sql"]]
    assert len(marks) == 1  # the whole import's marks in one statement

    assert october_changed() is True
    # E2's registration is open-ended: it also spans the current month, which has no drafts
    assert set(DraftChange.objects.values_list("contract__code", "month")) == {
        ("E1", OCTOBER),
        ("E2", OCTOBER),
    }
    assert changed_codes() == ["E1", "E2"]
    assert not LateChange.objects.exists()  # October is not issued: nothing to settle later

    run = BillingRun.objects.get(month=OCTOBER)
    page = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert f"{WARNING}（契約2件: E1, E2）。発行する前に再計算してください。" in page
    confirmation = staff_client.get(reverse("admin:billing_billingrun_issue", args=[run.pk])).content.decode()
    assert f"{WARNING}（契約2件: E1, E2）" in confirmation
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "下書きの計算後にデータが変更されました。発行する前に再計算してください。" in index

    # recomputed, the drafts have read the rows: nothing is out of date any more
    billing_month_compute(month=OCTOBER)
    assert (october_changed(), changed_codes()) == (False, [])
    page = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert WARNING not in page


def test_usage_written_in_the_shell_or_deleted_in_the_admin_marks_the_drafts(tmp_path, staff_client):
    october(tmp_path)
    s1 = Contract.objects.get(code="S1")

    # the shell: a count of a day in December, which has no drafts, marks nothing
    AuthCountFactory(contract=s1, date=dt.date(2026, 12, 3), success_count=7)
    assert (october_changed(), changed_codes()) == (False, [])
    # ... one of October does
    count = AuthCountFactory(contract=s1, date=dt.date(2026, 10, 20), success_count=7)
    assert (october_changed(), changed_codes()) == (True, ["S1"])

    billing_month_compute(month=OCTOBER)
    assert october_changed() is False

    # the admin: deleting the count after the drafts read it
    response = staff_client.post(
        reverse("admin:billing_authcount_delete", args=[count.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200 and not AuthCount.objects.filter(pk=count.pk).exists()
    assert (october_changed(), changed_codes()) == (True, ["S1"])


def test_a_customer_written_after_the_drafts_marks_its_contracts_only(tmp_path):
    october(tmp_path)
    CustomerFactory(code="C-NEW")  # a customer with no contract changes no draft
    assert (october_changed(), changed_codes()) == (False, [])

    customer = Customer.objects.get(code="C1")
    customer.billing_name = "株式会社アルファ 総務部 御中"
    customer.save()
    assert october_changed() is True
    assert changed_codes() == ["E1", "S1"]  # C1's two contracts


def test_a_change_of_an_issued_month_is_a_late_change_not_a_draft_change(tmp_path):
    october(tmp_path, issue=True)
    billing_month_compute(month=dt.date(2026, 11, 1))
    e1 = Contract.objects.get(code="E1")

    AuthCountFactory(contract=e1, date=dt.date(2026, 10, 20), success_count=1)
    assert list(LateChange.objects.values_list("contract__code", "month")) == [("E1", OCTOBER)]
    assert not DraftChange.objects.exists()
    assert changed_codes(dt.date(2026, 11, 1)) == []

    AuthCountFactory(contract=e1, date=dt.date(2026, 11, 2), success_count=1)
    assert list(DraftChange.objects.values_list("contract__code", "month")) == [("E1", dt.date(2026, 11, 1))]
    assert changed_codes(dt.date(2026, 11, 1)) == ["E1"]


def test_noting_changes_costs_three_queries_whatever_the_number_of_spans(tmp_path, django_assert_num_queries):
    october(tmp_path, issue=True)
    billing_month_compute(month=dt.date(2026, 11, 1))
    ids = list(Contract.objects.values_list("pk", flat=True))
    spans = [(pk, dt.date(2026, 10, day), None) for pk in ids for day in range(1, 29)]
    with django_assert_num_queries(3):  # the months with runs, the late changes, the draft changes
        assert late.note_changes(spans) == (len(ids), len(ids))
