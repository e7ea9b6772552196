"""R17 reminders (督促): one email per customer with overdue invoices, each listed with its
days overdue, sent to an SMTP server the test starts on 127.0.0.1; every send recorded;
nobody reminded twice of the same state."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from billing.models import Reminder
from billing.payments.reminders import reminders_send
from billing.payments.service import payments_import

from .payments_world import build_books
from .zengin_files import transfer_file

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def c1_overdue(db):
    """C2 and C3 paid; C1 owes September (due 2026-10-30) and October (due 2026-11-30)."""
    build_books()
    payments_import(
        data=transfer_file((1, "081201", 110000, "ﾁﾖﾀﾞｼﾖｳｼﾞ(ｶ"), (2, "081201", 55000, "ｱ", "SK2026100003")),
        today=D(2026, 12, 1),
    )


def test_one_reminder_lists_the_overdue_invoices_with_their_days(smtp, c1_overdue):
    summary = reminders_send(as_of=D(2026, 12, 1))
    assert (len(summary.sent), len(summary.skipped), len(summary.failed)) == (1, 0, 0)
    ((recipients, message),) = smtp.messages
    assert recipients == ["billing@c1.example.jp"]
    assert message["Subject"].lstrip() == "お支払いのお願い（2026年12月1日現在）"  # folded: see test_mail
    body = message.get_content()
    assert "SK-202609-0001  お支払期日 2026年10月30日  残高 11,000円  期日経過 32日" in body
    assert "SK-202610-0001  お支払期日 2026年11月30日  残高 22,000円  期日経過 1日" in body
    assert "期日を過ぎた残高の合計: 33,000円" in body
    record = Reminder.objects.get()
    assert (record.customer.code, record.result, record.to) == ("C1", "sent", "billing@c1.example.jp")
    assert [i["number"] for i in record.invoices] == ["SK-202609-0001", "SK-202610-0001"]


def test_nobody_is_reminded_twice_of_the_same_state(smtp, c1_overdue):
    reminders_send(as_of=D(2026, 12, 1))
    again = reminders_send(as_of=D(2026, 12, 2))
    assert (len(again.sent), len(again.skipped)) == (0, 1)
    # a partial payment changes the state: reminded again, of the new balance
    payments_import(data=transfer_file((3, "081202", 2000, "ｱ", "SK2026100001")), today=D(2026, 12, 2))
    third = reminders_send(as_of=D(2026, 12, 3))
    assert len(third.sent) == 1
    assert len(smtp.messages) == 2
    assert "残高 20,000円" in smtp.messages[1][1].get_content()


def test_the_command_dry_run_sends_and_records_nothing(smtp, c1_overdue):
    out = io.StringIO()
    call_command("send_reminders", "--as-of", "2026-12-01", "--dry-run", stdout=out)
    assert (
        out.getvalue().strip()
        == "確認のみ（書き込みなし）。督促 送信 1 件、スキップ 0 件（同じ内容で督促済み）、失敗 0 件"
    )
    assert smtp.messages == [] and not Reminder.objects.exists()


def test_the_invoice_list_action_reminds_the_selected_customers(smtp, c1_overdue, client, django_user_model):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from billing.models import Invoice
    from billing.roles import ACCOUNTING

    accountant = django_user_model.objects.create_user("keiri", is_staff=True)
    accountant.groups.add(Group.objects.get(name=ACCOUNTING))
    client.force_login(accountant)
    selected = Invoice.objects.get(number="SK-202610-0001")
    response = client.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "remind_selected", "_selected_action": [str(selected.pk)]},
    )
    assert response.status_code == 302
    assert [r for r, _message in smtp.messages] == [["billing@c1.example.jp"]]
    assert Reminder.objects.get().customer.code == "C1"


def test_a_viewer_cannot_send_reminders(smtp, c1_overdue, client, django_user_model):
    from django.contrib.auth.models import Group
    from django.urls import reverse

    from billing.models import Invoice
    from billing.roles import VIEWER

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    client.force_login(viewer)
    client.post(
        reverse("admin:billing_invoice_changelist"),
        {
            "action": "remind_selected",
            "_selected_action": [str(Invoice.objects.get(number="SK-202610-0001").pk)],
        },
    )
    assert smtp.messages == [] and not Reminder.objects.exists()


def test_reminders_are_found_by_date_amount_and_counterparty(smtp, c1_overdue, client):
    """R19's search over the documents sent, reminders included: 11,000 + 22,000 = 33,000."""
    from django.urls import reverse

    from .october import staff_with

    reminders_send(as_of=D(2026, 12, 1))
    assert Reminder.objects.get().total.amount == 33000
    staff_with(client, "keiri", "billing.view_reminder")
    url = reverse("admin:billing_reminder_changelist")

    def found(**query):
        return [r.customer.code for r in client.get(url, query).context["cl"].result_list]

    assert found() == ["C1"]
    assert found(as_of__gte="2026-12-01", as_of__lte="2026-12-31", total__gte="30000", q="C1") == ["C1"]
    assert found(total__gte="33001") == []
    assert found(as_of__lte="2026-11-30") == []
