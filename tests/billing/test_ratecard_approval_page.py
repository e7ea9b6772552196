"""A rate card is approved from its own page, and the page says who entered, last changed
and approved it (issue 15, item 8). The four-eyes rule is the model's (R8)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from billing.models import RateCard
from billing.roles import ACCOUNTING, SALES
from tests.contracts.factories import ContractFactory

from .factories import RateCardFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date


def sales(client, username, **names):
    user = UserFactory(username=username, is_staff=True, **names)
    user.groups.add(Group.objects.get(name=SALES))
    client.force_login(user)
    return user


@pytest.fixture
def card(db):
    author = UserFactory(username="tanaka", first_name="太郎", last_name="田中")
    return RateCardFactory(
        contract=ContractFactory(in_service=True, code="E-APPROVE"), unapproved=True, created_by=author
    )


def test_another_sales_person_approves_from_the_cards_page(client, card):
    approver = sales(client, "sato", first_name="花子", last_name="佐藤")
    url = reverse("admin:billing_ratecard_change", args=[card.pk])
    page = client.get(url).content.decode()
    assert 'id="approve-card"' in page and "この料金表を承認する" in page
    assert "太郎 田中" in page  # entered by
    assert "登録後の変更なし" in page

    response = client.post(reverse("admin:billing_ratecard_approve", args=[card.pk]))
    assert response["Location"] == url
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"{RateCard.objects.get(pk=card.pk)} を 花子 佐藤 が承認しました。"
    ]
    card.refresh_from_db()
    assert (card.approved_by, card.approved_on) == (approver, timezone.localdate())
    page = client.get(url).content.decode()
    assert 'id="approve-card"' not in page  # approved: nothing left to approve
    assert "花子 佐藤（" in page  # last changed: the approval, with its Japan time


def test_the_author_sees_why_they_cannot_approve_instead_of_the_button(client, card):
    client.force_login(card.created_by)
    card.created_by.groups.add(Group.objects.get(name=SALES))
    card.created_by.is_staff = True
    card.created_by.save()
    page = client.get(reverse("admin:billing_ratecard_change", args=[card.pk])).content.decode()
    assert 'id="approve-card"' not in page
    assert 'id="approve-refusal"' in page and "別の担当者が承認してください" in page
    client.post(reverse("admin:billing_ratecard_approve", args=[card.pk]))
    card.refresh_from_db()
    assert card.approved_by is None  # refused by the model too


def test_who_may_not_approve_sees_no_button_and_is_refused(client, card):
    user = UserFactory(username="keiri", is_staff=True)
    user.groups.add(Group.objects.get(name=ACCOUNTING))
    client.force_login(user)
    page = client.get(reverse("admin:billing_ratecard_change", args=[card.pk])).content.decode()
    assert 'id="approve-card"' not in page and 'id="approve-refusal"' not in page
    assert client.post(reverse("admin:billing_ratecard_approve", args=[card.pk])).status_code == 403
    card.refresh_from_db()
    assert card.approved_by is None


def test_a_card_being_entered_shows_no_none(client):
    sales(client, "suzuki")
    page = client.get(reverse("admin:billing_ratecard_add")).content.decode()
    assert "最終変更" in page and "None" not in page
