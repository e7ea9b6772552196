"""Content-Security-Policy (issue 10): the header on every page, with no inline script
allowed anywhere, styles from this site only (the invoice document's own <style> by
nonce), and templates that need nothing more. tests/e2e/test_browser.py checks in
Chromium that the pages report no violation."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from billing.models import Invoice
from contracts.models import Contract
from tests.billing.october import october

# django-simple-history's history page: <p class="paginator" style="border-top: 0">
HISTORY_PAGINATOR_HASH = "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"
POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "style-src-attr": {"'unsafe-hashes'", HISTORY_PAGINATOR_HASH},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def policy(response) -> dict[str, set[str]]:
    directives = [d.split() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {name: set(sources) for name, *sources in directives}


@pytest.mark.django_db
def test_the_login_page_has_the_policy(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert policy(response) == POLICY


@pytest.mark.django_db
def test_every_admin_page_has_the_policy(staff_client, tmp_path):
    october(tmp_path, issue=True)
    invoice = Invoice.objects.order_by("pk").first()
    contract = Contract.objects.order_by("pk").first()
    for url in (
        reverse("admin:index"),
        reverse("admin:billing_invoice_changelist"),
        reverse("admin:billing_invoice_change", args=[invoice.pk]),
        reverse("admin:billing_invoice_history", args=[invoice.pk]),
        reverse("admin:contracts_contract_change", args=[contract.pk]),
        reverse("admin:contracts_contract_add"),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert policy(response) == POLICY, url


@pytest.mark.django_db
def test_the_invoice_document_allows_its_own_style_element_only(staff_client, tmp_path):
    october(tmp_path, issue=True)
    url = reverse("admin:billing_invoice_document", args=[Invoice.objects.order_by("pk").first().pk])
    nonces = []
    for _ in range(2):
        response = staff_client.get(url)
        directives = policy(response)
        (nonce,) = directives["style-src"] - {"'self'"}
        assert re.fullmatch(r"'nonce-[A-Za-z0-9+/=]{16,}'", nonce)
        assert {**directives, "style-src": {"'self'"}} == POLICY
        html = response.content.decode()
        assert html.count("<style") == 1
        assert f'<style nonce="{nonce[7:-1]}">' in html
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # a new one for every response


TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_hold_no_inline_script_style_or_event_handler(template):
    html = template.read_text()
    assert not re.search(r"\son[a-z]+\s*=", html), "an event-handler attribute"
    assert not re.search(r"\sstyle\s*=", html), "a style attribute"
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in tag, tag
    for tag in re.findall(r"<style\b[^>]*>", html):
        assert 'nonce="{{ request.csp_nonce }}"' in tag, tag


def test_the_templates_were_found():
    assert len(TEMPLATES) >= 10
