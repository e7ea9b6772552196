"""CSV import from the changelists (issue 15, item 11): the import_csv engine, a dry-run
preview of what would be created, updated or left unchanged, the file's problems line by
line on the page, then the import on confirmation, recorded with the user."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contracts.models import Customer

pytestmark = pytest.mark.django_db

CUSTOMERS = (
    "customer_code,name,billing_name,email,postal_code,address\n"
    "C100,株式会社アルファ,株式会社アルファ 御中,,,\n"
    "C200,ベータ株式会社,ベータ株式会社 経理部 御中,,,\n"
)


def upload(text, name="customers.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_a_preview_then_the_import_recorded_with_the_user(staff_client):
    url = reverse("admin:contracts_customer_import")
    changelist = staff_client.get(reverse("admin:contracts_customer_changelist")).content.decode()
    assert f'href="{url}"' in changelist and "CSVを取り込む" in changelist

    Customer.objects.create(code="C100", name="株式会社アルファ", billing_name="株式会社アルファ 御中")
    preview = staff_client.post(url, {"file": upload(CUSTOMERS), "encoding": "auto"})
    content = preview.content.decode()
    assert "customers.csv の確認（まだ何も書き込んでいません）" in content
    assert preview.context["preview"].counts.created == 1
    assert preview.context["preview"].counts.unchanged == 1
    assert not Customer.objects.filter(code="C200").exists()  # a dry run: nothing written

    response = staff_client.post(url, {"signed": preview.context["signed"]})
    assert response.status_code == 302
    assert Customer.objects.get(code="C200").billing_name == "ベータ株式会社 経理部 御中"
    # the audit trail names who imported it
    assert Customer.objects.get(code="C200").history.latest().history_user == staff_client.user


def test_the_files_problems_are_shown_line_by_line_and_nothing_is_written(staff_client):
    url = reverse("admin:contracts_customer_import")
    bad = "customer_code,name,billing_name,email,postal_code,address\nC 1,名前,,,,\n"
    response = staff_client.post(url, {"file": upload(bad), "encoding": "auto"})
    problems = [str(p) for p in response.context["problems"]]
    assert problems and all(p.startswith("line 2, column ") for p in problems)
    assert "2行目、customer_code列" in response.content.decode()
    assert 'id="import-confirm"' not in response.content.decode()
    assert not Customer.objects.exists()


def test_an_altered_preview_is_refused(staff_client):
    url = reverse("admin:contracts_customer_import")
    response = staff_client.post(url, {"signed": "forged"})
    assert response.status_code == 302
    assert not Customer.objects.exists()


def test_only_who_may_add_and_change_imports(client):
    from django.contrib.auth.models import Group

    from tests.billing.factories import UserFactory

    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)
    assert "CSVを取り込む" not in client.get(reverse("admin:contracts_customer_changelist")).content.decode()
    assert client.get(reverse("admin:contracts_customer_import")).status_code == 403
    assert (
        client.post(reverse("admin:contracts_customer_import"), {"file": upload(CUSTOMERS)}).status_code
        == 403
    )
    assert not Customer.objects.exists()
