"""Staff accounts, administered by superusers: deactivated, never deleted.

A staff member's name stays on what they did: rate cards they entered, approved or asked
to change, months they computed and issued, invoices they voided, and the audit trail,
which is append-only (PostgreSQL refuses to rewrite it, billing 0007). Deleting the user
would have to rewrite those rows, so the admin offers deactivation instead (untick
"active"): the person can no longer log in, and the record keeps their name."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

User = get_user_model()

admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
