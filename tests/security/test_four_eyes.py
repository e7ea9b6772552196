"""Four-eyes on rate cards (company policy, R8), attacked as issue 10 found it broken:
through the admin, the shell and the database. (The import's side is in
tests/billing/test_imports.py, class TestWhoApproves.)"""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.models import RateCard
from billing.roles import SALES
from tests.contracts.factories import ContractFactory
from tests.html_forms import form_data

from ..billing.factories import UserFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def sales(db):
    return {name: UserFactory(username=name, role=SALES) for name in ("sales1", "sales2", "sales3")}


def messages_of(response):
    return [str(m) for m in response.wsgi_request._messages]


def enter_card(client, user):
    """sales1 enters a card on screen, as a person does."""
    contract = ContractFactory(in_service=True, item="enterprise", code="E-1")
    client.force_login(user)
    page = client.get(reverse("admin:billing_ratecard_add")).content.decode()
    data = form_data(page, "ratecard_form")
    data.update(
        contract=str(contract.pk),
        valid_from="2026-04-01",
        base_fee_0="30000",
        account_unit_price_0="300",
        notified_on="2026-03-31",
    )
    response = client.post(reverse("admin:billing_ratecard_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return RateCard.objects.get(contract=contract)


def edit_card(client, user, card, **changes):
    client.force_login(user)
    url = reverse("admin:billing_ratecard_change", args=[card.pk])
    data = form_data(client.get(url).content.decode(), "ratecard_form")
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def approve(client, user, card):
    client.force_login(user)
    return client.post(
        reverse("admin:billing_ratecard_changelist"),
        {"action": "approve_selected", "_selected_action": [str(card.pk)]},
    )


def test_who_changed_the_amounts_cannot_approve_them(client, sales):
    """Issue 10, 2(a): sales2 edited the prices of a card sales1 entered, then approved it: 「1件完了」."""
    card = enter_card(client, sales["sales1"])
    edit_card(client, sales["sales2"], card, base_fee_0="1")
    response = approve(client, sales["sales2"], card)
    assert messages_of(response)[-2:] == [
        "0件完了、1件は拒否されました。",
        "E-1 2026年4月〜: 社内規程（入力者以外による承認）: あなたはこの料金表の金額を変更しました。"
        "変更していない担当者が承認してください。",
    ]
    card.refresh_from_db()
    assert card.approved_by is None
    approve(client, sales["sales3"], card)
    card.refresh_from_db()
    assert card.approved_by == sales["sales3"]


def test_an_approved_cards_period_and_notification_wait_for_a_second_person(client, sales):
    """Issue 10, 2(d): the author alone could end an approved card early and clear its
    notification date, which stops billing."""
    card = enter_card(client, sales["sales1"])
    approve(client, sales["sales2"], card)
    response = edit_card(client, sales["sales1"], card, valid_until="2026-06-01", notified_on="")
    assert any("別の担当者の承認待ちです" in m for m in messages_of(response))
    card.refresh_from_db()
    assert (card.valid_until, card.notified_on, card.is_billable) == (None, D(2026, 3, 31), True)
    assert (card.change_requested_by, card.requested_valid_until, card.requested_notified_on) == (
        sales["sales1"],
        D(2026, 6, 1),
        None,
    )
    # the requester cannot approve their own change; the filter shows it as waiting
    refused = approve(client, sales["sales1"], card)
    assert "この変更はあなたが申請しました" in messages_of(refused)[-1]
    waiting = client.get(reverse("admin:billing_ratecard_changelist") + "?billable=unapproved")
    assert list(waiting.context["cl"].result_list) == [card]
    approve(client, sales["sales2"], card)
    card.refresh_from_db()
    assert (card.valid_until, card.notified_on, card.has_change_request) == (D(2026, 6, 1), None, False)


def test_the_shell_cannot_change_an_approved_cards_period_directly(sales):
    card = RateCard.objects.create(
        contract=ContractFactory(in_service=True, item="enterprise"),
        valid_from=D(2026, 4, 1),
        base_fee=30000,
        account_unit_price=300,
        created_by=sales["sales1"],
        notified_on=D(2026, 3, 31),
    )
    card.approve(by=sales["sales2"], on=D(2026, 4, 1))
    for field, value in (("valid_until", D(2026, 5, 1)), ("notified_on", None)):
        stale = RateCard.objects.get(pk=card.pk)
        setattr(stale, field, value)
        with pytest.raises(ValidationError, match="別の担当者が変更を承認したときにのみ変わります"):
            stale.save()
    card.refresh_from_db()
    assert (card.valid_until, card.notified_on) == (None, D(2026, 3, 31))


def test_a_card_without_a_recorded_author_cannot_be_approved(sales):
    """Issue 10, 2(c): a card imported without --user had no author, so anyone could approve it."""
    card = RateCard.objects.create(
        contract=ContractFactory(in_service=True, item="enterprise"),
        valid_from=D(2026, 4, 1),
        base_fee=30000,
        account_unit_price=300,
    )
    with pytest.raises(ValidationError, match="入力者が記録されていない"):
        card.approve(by=sales["sales2"], on=D(2026, 4, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        RateCard.objects.filter(pk=card.pk).update(approved_by=sales["sales2"], approved_on=D(2026, 4, 1))


def test_approving_needs_the_permission(client, sales):
    card = enter_card(client, sales["sales1"])
    accountant = UserFactory(username="keiri1")
    accountant.groups.add(Group.objects.get(name="Accounting"))
    approve(client, accountant, card)
    card.refresh_from_db()
    assert card.approved_by is None
