"""Staff accounts, administered by superusers: deactivated, never deleted.

A staff member's name stays on what they did: rate cards they entered, approved or asked
to change, months they computed and issued, invoices they voided, and the audit trail,
which is append-only (PostgreSQL refuses to rewrite it, billing 0007). Deleting the user
would have to rewrite those rows, so the admin offers deactivation instead (untick
"active"): the person can no longer log in, and the record keeps their name."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.conf import settings as django_settings
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contracts.admin_history import japan_time

User = get_user_model()

admin.site.unregister(User)


# --- groups and permissions named in the user's language (issue 15) -----------------------


def permission_label(permission: Permission) -> str:
    """「契約 | SmartKey契約 | 追加」 rather than Django's stored English "Can add contract":
    the four default permissions by their action, our own by their (translated) name."""
    action = permission.codename.split("_", 1)[0]
    model = permission.content_type.model_class()
    if (
        action in DEFAULT_ACTIONS
        and model is not None
        and permission.codename == f"{action}_{model._meta.model_name}"
    ):
        name = DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{permission.content_type} | {name}"


DEFAULT_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


class TranslatedPermissions:
    """Permission and group choices in the user's language."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in ("permissions", "user_permissions"):
            field.label_from_instance = permission_label
        elif db_field.name == "groups":
            field.label_from_instance = lambda group: gettext(group.name)
        return field


@admin.register(User)
class StaffAdmin(TranslatedPermissions, UserAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(TranslatedPermissions, GroupAdmin):
    list_display = ("role_name",)

    @admin.display(description=_("role"), ordering="name")
    def role_name(self, obj):
        """The role's name in the user's language (the group keeps its English name, which
        billing/roles.py and setup_roles use)."""
        return gettext(obj.name)


# --- django-axes' login records in Japanese (issue 15) -------------------------------------


class LoginRecordAdmin:
    """A record named by who tried from where and when (Japan time), instead of django-axes'
    "Attempted Access: 2026-12-01 21:26:45+00:00"."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        subtitle = (
            f"{obj.username or '-'}（{obj.ip_address or '-'}）{japan_time(obj.attempt_time)}" if obj else None
        )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "subtitle": subtitle}
        )


if django_settings.AXES_ENABLE_ADMIN:
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        admin.site.unregister(model)

    @admin.register(AccessAttempt)
    class LoginAttemptAdmin(LoginRecordAdmin, AccessAttemptAdmin):
        list_display = [
            ("status_text" if name == "status" else name) for name in AccessAttemptAdmin.list_display
        ]

        @admin.display(description=_("status"))
        def status_text(self, obj):
            left = django_settings.AXES_FAILURE_LIMIT - obj.failures_since_start
            if left > 0:
                return _("%(count)d attempt(s) left") % {"count": left}
            return _("Locked Out")

    @admin.register(AccessLog)
    class LoginLogAdmin(LoginRecordAdmin, AccessLogAdmin):
        pass

    @admin.register(AccessFailureLog)
    class LoginFailureAdmin(LoginRecordAdmin, AccessFailureLogAdmin):
        pass
