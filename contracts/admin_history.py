"""The audit trail in the admin: read, never replayed.

django-simple-history's "revert to this version" page saves whatever a POST sends over
the current row, checking only that the user may *view* the object: a Viewer could move
a contract's billing start, set a one-time charge to ¥9,999,999, withdraw a rate card's
approval or set a billing run's invoice counter back (issue 10). Every change to the
data here goes through the forms, actions and model methods that hold the regulation's
rules; a past version is evidence, not an input. So, for every model and every user
(administrators included): the version page shows the past version read-only, and any
other method than GET or HEAD is refused on the server.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from contracts.forms import JapaneseDatesMixin

#: the name of a read-only user field shown as text (``StaffNamesMixin``)
STAFF_NAME = "_staff_name"


def staff_name(user) -> str | None:
    """How a staff member is named on screens: their full name, else their user name."""
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


class StaffNamesMixin:
    """The staff member a record names (computed by, approved by, voided by …) shown as
    their name, not as Django's link to the user admin, which only administrators may
    open: everyone else followed it to a 403."""

    def _user_fields(self) -> set[str]:
        user = get_user_model()
        return {f.name for f in self.model._meta.fields if f.is_relation and f.related_model is user}

    def _plain(self, request, names):
        if request.user.has_perm("auth.view_user"):
            return names
        users = self._user_fields()
        return type(names)(f"{name}{STAFF_NAME}" if name in users else name for name in names)

    def get_readonly_fields(self, request, obj=None):
        fields = list(self._plain(request, list(super().get_readonly_fields(request, obj))))
        if request.user.has_perm("auth.view_user"):
            return fields
        # the shown names are never inputs, whether the page is a form or a view
        return [
            *fields,
            *(
                f"{name}{STAFF_NAME}"
                for name in sorted(self._user_fields())
                if f"{name}{STAFF_NAME}" not in fields
            ),
        ]

    def get_fields(self, request, obj=None):
        return self._plain(request, list(super().get_fields(request, obj)))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        readonly = set(self.get_readonly_fields(request, obj))
        if not any(name.endswith(STAFF_NAME) for name in readonly):
            return fieldsets  # an admin whose read-only fields leave the names out
        return [
            (name, {**options, "fields": self._plain(request, tuple(options["fields"]))})
            for name, options in fieldsets
        ]

    def __getattr__(self, name):
        if name.endswith(STAFF_NAME) and name.removesuffix(STAFF_NAME) in self._user_fields():
            field = self.model._meta.get_field(name.removesuffix(STAFF_NAME))

            def show(obj):
                return staff_name(getattr(obj, field.name))

            show.short_description = field.verbose_name
            return show
        raise AttributeError(name)


class HistoryAdmin(StaffNamesMixin, JapaneseDatesMixin, SimpleHistoryAdmin):
    """``SimpleHistoryAdmin`` whose history is for reading only. (Every model admin of the
    project derives from it, so it also gives them the Japanese date and month fields.)"""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        request.showing_past_version = True
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if getattr(request, "showing_past_version", False):
            # every field shown as text: there is no form to fill on a past version
            editable = [f.name for f in self.model._meta.get_fields() if getattr(f, "editable", False)]
            return [*fields, *(name for name in editable if name not in fields)]
        return fields
