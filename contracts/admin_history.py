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

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

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
        # Django lists the form's fields, then the read-only ones: a user field comes from
        # the form (only its shown name is read only) and, as a name, again from the
        # read-only fields. Shown once, where the read-only fields place it (a run's page
        # showed who computed and issued it twice).
        names = self._plain(request, list(super().get_fields(request, obj)))
        return [name for k, name in enumerate(names) if name not in names[k + 1 :]]

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
                # a callable's None would print "None": the admin's empty value instead
                return staff_name(getattr(obj, field.name)) or self.get_empty_value_display()

            show.short_description = field.verbose_name
            return show
        raise AttributeError(name)


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def japan_time(moment: dt.datetime) -> str:
    """2026年12月2日 6:11:12, in Japan (R13), as the history shows when something was done."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{_date(local)} {local.hour}:{local.minute:02d}:{local.second:02d}"


def _amount(value: Decimal) -> str:
    normal = value.normalize()
    whole = int(normal)
    fraction = normal - whole
    return f"¥{whole:,}" + (f"{fraction:f}"[1:] if fraction else "")


def history_value(field, value) -> str:
    """A value of the audit trail as the screens show it: choices by their label, dates in
    Japanese, times in Japan, amounts in yen, people by name, nothing as （空欄）."""
    if isinstance(value, DeletedObject):
        if value.pk is None:
            return _("(empty)")
        return _("(deleted %(type)s %(pk)s)") % {"type": value.model._meta.verbose_name, "pk": value.pk}
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, get_user_model()):
        return staff_name(value)
    if getattr(field, "flatchoices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        return japan_time(value)
    if isinstance(value, dt.date):
        return _date(value)
    if hasattr(value, "amount") and hasattr(value, "currency"):  # django-money
        return _amount(value.amount)
    if isinstance(value, dict):
        return " ".join(str(part) for part in value.values() if part not in (None, ""))
    return str(value)


class JapaneseHistoryHelper(HistoricalRecordContextHelper):
    """simple-history's change list with the values as people read them (``history_value``)."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        return history_value(self.model._meta.get_field(change.field), value)


class HistoryAdmin(StaffNamesMixin, JapaneseDatesMixin, SimpleHistoryAdmin):
    """``SimpleHistoryAdmin`` whose history is for reading only. (Every model admin of the
    project derives from it, so it also gives them the Japanese date and month fields.)"""

    def revert_disabled(self, request, obj=None):
        return True

    def get_historical_record_context_helper(self, request, historical_record):
        return JapaneseHistoryHelper(self.model, historical_record)

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
