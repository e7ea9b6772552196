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

from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from contracts.forms import JapaneseDatesMixin


class HistoryAdmin(JapaneseDatesMixin, SimpleHistoryAdmin):
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
