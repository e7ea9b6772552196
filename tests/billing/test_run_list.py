"""The billing runs' list: the billed total of a month (October 2026 of tests/e2e:
C1 120,859 + C2 101,200 + C4 1,100 = 223,159, tax included)."""

import pytest
from django.urls import reverse

from .october import october

pytestmark = pytest.mark.django_db


def test_run_list_total_is_not_multiplied_by_the_exceptions(tmp_path, staff_client):
    october(tmp_path)  # October has 3 exceptions
    html = staff_client.get(reverse("admin:billing_billingrun_changelist")).content.decode()
    assert "¥223,159" in html
    assert "¥669,477" not in html  # 3 × 223,159: each invoice counted once per exception
