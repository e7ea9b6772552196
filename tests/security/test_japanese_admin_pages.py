"""Roles, permissions and the login records read in Japanese (issue 15, item 10); rule
codes are shown as the regulation's articles."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from billing.models import BillingRun, RunException

pytestmark = pytest.mark.django_db


def test_roles_and_their_permissions_are_named_in_japanese(staff_client):
    changelist = staff_client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "経理" in changelist and "営業" in changelist and "閲覧" in changelist
    group = Group.objects.get(name="Accounting")
    page = staff_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert "契約 | SmartKey契約 | SmartKey契約の閲覧" in page
    assert "Can view" not in page and "Can add" not in page
    user = staff_client.get(reverse("admin:auth_user_change", args=[staff_client.user.pk])).content.decode()
    assert ">経理<" in user and "Can add" not in user


def test_the_login_records_are_in_japanese(staff_client):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(username="taro", ip_address="10.0.0.1", failures_since_start=1)
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "ログイン制限（ログイン失敗の記録）" in index
    changelist = staff_client.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "あと4回" in changelist and "Attempt Remaining" not in changelist and ">Status<" not in changelist
    page = staff_client.get(reverse("admin:axes_accessattempt_change", args=[attempt.pk])).content.decode()
    assert "taro（10.0.0.1）" in page and "Attempted Access" not in page


def test_exceptions_name_the_article_not_the_rule_code(staff_client):
    run = BillingRun.objects.create(month="2026-10-01")
    RunException.objects.create(
        run=run, contract=None, rule="R8", code="x", message="…", action="…", billed=False
    )
    page = staff_client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    assert "別紙1（料金表）" in page
    assert ">R8<" not in page
