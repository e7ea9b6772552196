"""After login, a person lands in the admin: a ``next`` that points to another site (an
open redirect) or to nothing falls back to the admin index, not to Django's default
/accounts/profile/, which does not exist here."""

import pytest
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

PASSWORD = "correct-horse-battery"


@pytest.fixture
def keiri(django_user_model):
    return django_user_model.objects.create_user("keiri", password=PASSWORD, is_staff=True)


def log_in(client, next_url):
    url = reverse("admin:login")
    data = {"username": "keiri", "password": PASSWORD}
    if next_url is not None:
        url += f"?next={next_url}"
        data["next"] = next_url  # as the admin's login form posts it back
    return client.post(url, data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/admin/", "https:/evil.example/", None]
)
def test_a_foreign_or_missing_next_lands_on_the_admin_index(client, keiri, next_url):
    response = log_in(client, next_url)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_a_next_on_this_site_is_followed(client, keiri):
    response = log_in(client, "/admin/billing/invoice/")
    assert response["Location"] == "/admin/billing/invoice/"


def test_a_page_that_needs_a_login_sends_to_the_admin_login():
    assert redirect_to_login("/admin/billing/invoice/")["Location"] == (
        "/admin/login/?next=/admin/billing/invoice/"
    )
