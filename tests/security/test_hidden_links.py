"""A role sees no link it cannot follow, and a refused page is a Japanese page in the
admin's look (issue 15, item 6). The link walk follows every admin link of every page a
role reaches from the index, its changelists and the objects' pages."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from billing.models import BillingRun
from billing.roles import ACCOUNTING, SALES, VIEWER
from tests.security.test_roles import user_in, world  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/admin/[^"#]*)"')
#: links whose answer is not a page of the role's: logging out, the language switch
NOT_PAGES = ("/admin/logout/",)


def pages_of(client, world):  # noqa: F811
    """The pages a person of the role opens: the index, every changelist linked from it,
    and the change page of each object of ``world`` that the role may view."""
    index = client.get(reverse("admin:index")).content.decode()
    urls = {reverse("admin:index")}
    urls |= {url for url in HREF.findall(index) if url.count("/") == 5}  # /admin/app/model/
    for name, obj in world.items():
        meta = getattr(obj, "_meta", None)
        if meta is not None and name not in ("journalexport",) and admin.site.is_registered(type(obj)):
            urls.add(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    return sorted(urls)


@pytest.mark.parametrize("role", [SALES, ACCOUNTING, VIEWER])
def test_no_link_a_role_sees_leads_to_a_refusal(client, world, role):  # noqa: F811
    client.force_login(user_in(role))
    refused = []
    followed = set()
    for page in pages_of(client, world):
        response = client.get(page)
        if response.status_code != 200:
            continue
        for url in set(HREF.findall(response.content.decode())) - followed:
            followed.add(url)
            if url.startswith(NOT_PAGES):
                continue
            if client.get(url.replace("&amp;", "&")).status_code == 403:
                refused.append(f"{page} → {url}")
    assert refused == []
    assert len(followed) > 20


def test_a_viewer_sees_no_csv_link_an_accountant_does(client, world):  # noqa: F811
    run = world["billingrun"]
    export = reverse("admin:billing_billingrun_export", args=[run.pk, "lines"])
    client.force_login(user_in(VIEWER))
    assert export not in client.get(reverse("admin:billing_billingrun_changelist")).content.decode()
    assert (
        export not in client.get(reverse("admin:billing_billingrun_change", args=[run.pk])).content.decode()
    )
    client.force_login(user_in(ACCOUNTING))
    assert export in client.get(reverse("admin:billing_billingrun_changelist")).content.decode()


def test_who_acted_is_a_name_not_a_link_to_the_user_admin(client, world):  # noqa: F811
    accountant = user_in(ACCOUNTING)
    BillingRun.objects.filter(pk=world["draft_run"].pk).update(computed_by=accountant)
    url = reverse("admin:billing_billingrun_change", args=[world["draft_run"].pk])
    user_page = reverse("admin:auth_user_change", args=[accountant.pk])
    client.force_login(accountant)
    page = client.get(url).content.decode()
    assert user_page not in page
    # once: the run's page showed who computed and issued it twice (issue 15, walked)
    assert page.count('<div class="readonly">accounting</div>') == 1
    assert page.count("field-computed_by_staff_name") == 1
    card = client.get(reverse("admin:billing_ratecard_change", args=[world["ratecard"].pk])).content.decode()
    approver = world["ratecard"].approved_by
    assert reverse("admin:auth_user_change", args=[approver.pk]) not in card
    assert '<div class="readonly">approver</div>' in card
    assert '<div class="readonly">None</div>' not in card  # no change requested: empty, not None
    # an administrator, who may open it, keeps the link
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.jp", "x"))
    assert user_page in client.get(url).content.decode()


def test_a_refused_page_is_japanese_in_the_admins_look(client, world):  # noqa: F811
    client.force_login(user_in(VIEWER, "viewer1"))
    response = client.get(reverse("admin:billing_billingrun_export", args=[world["billingrun"].pk, "lines"]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "IIJ SmartKey マネージメントサービス 管理画面" in page  # the admin's header
    assert "この操作を行う権限がありません" in page
    assert "viewer1 としてログインしています。 役割: 閲覧" in page
    assert 'href="/admin/"' in page and "403 Forbidden" not in page
