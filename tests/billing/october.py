"""The month of tests/e2e (October 2026, hand-worked there), billed and optionally
issued, for the document, breakdown, dashboard and journal tests."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from billing import runs
from tests.e2e.test_import_bill_export import bill, import_everything

OCTOBER = dt.date(2026, 10, 1)
ISSUED_ON = dt.date(2026, 11, 2)


def october(tmp_path, *, issue: bool = False, september: bool = False) -> None:
    import_everything(tmp_path)
    if september:
        bill("2026-09")
    bill("2026-10")
    if issue:
        runs.billing_month_issue(month=OCTOBER, today=ISSUED_ON)


def staff_with(client, username: str, *codenames: str):
    """A logged-in staff member holding only the named permissions (app.codename)."""
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client.force_login(user)
    return client
