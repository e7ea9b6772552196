"""CSV import from a changelist (issue 15, item 11): the same engine as ``manage.py
import_csv`` (``contracts.csvimport.run_import``), first as a dry run that shows what would
be created, updated or left unchanged, or the file's problems line by line, then, posted
again from that preview, the import itself, recorded with the user.

The file travels from the preview to the confirmation in the page itself, signed
(``django.core.signing``), so that what is imported is exactly what was previewed and no
upload is kept on the server in between."""

from __future__ import annotations

import base64
import zlib

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from contracts.csvimport import ENCODINGS, ImportRejected, run_import

#: the largest file the admin page takes; larger files go through ``manage.py import_csv``
ADMIN_IMPORT_MAX_BYTES = 5 * 1024 * 1024
SALT = "smartkey.admin-import"


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    encoding = forms.ChoiceField(
        label=_("encoding"),
        choices=[("auto", _("detect (UTF-8 or Shift_JIS)")), *((e, e) for e in ENCODINGS)],
        initial="auto",
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > ADMIN_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _(
                    "The file is %(size)d bytes; the admin takes up to %(limit)d. Use manage.py import_csv for it."
                )
                % {"size": file.size, "limit": ADMIN_IMPORT_MAX_BYTES}
            )
        return file


class CsvImportMixin:
    """For a ModelAdmin: ``import_kind`` names the ``import_csv`` kind its changelist imports."""

    import_kind: str = ""
    change_list_template = "admin/import_change_list.html"

    def has_import_permission(self, request) -> bool:
        return (
            bool(self.import_kind)
            and self.has_add_permission(request)
            and self.has_change_permission(request)
        )

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name=f"{opts.app_label}_{opts.model_name}_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {**(extra_context or {}), "may_import": self.has_import_permission(request)}
        )

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        opts = self.model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": _("Import %(things)s from CSV") % {"things": opts.verbose_name_plural},
            "kind": self.import_kind,
            "changelist_url": changelist,
        }
        if request.method == "POST" and "signed" in request.POST:
            try:
                data, encoding = _unsign(request.POST["signed"])
            except signing.BadSignature:
                messages.error(request, _("The preview expired or was altered: choose the file again."))
                return HttpResponseRedirect(request.path)
            try:
                result = run_import(self.import_kind, data, encoding=encoding, user=request.user)
            except ImportRejected as rejected:
                # the data changed since the preview: the same problems as a preview shows
                context.update(form=ImportForm(), problems=rejected.problems, more=rejected.count)
                return TemplateResponse(request, "admin/csv_import.html", context)
            messages.success(
                request,
                _("%(rows)d row(s) imported: %(counts)s.") % {"rows": result.rows, "counts": result.counts},
            )
            return HttpResponseRedirect(changelist)
        form = ImportForm(request.POST or None, request.FILES or None)
        context["form"] = form
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["file"].read()
            encoding = form.cleaned_data["encoding"]
            try:
                preview = run_import(
                    self.import_kind, data, encoding=encoding, dry_run=True, user=request.user
                )
            except ImportRejected as rejected:
                context.update(problems=rejected.problems, more=rejected.count)
            else:
                context.update(
                    preview=preview,
                    signed=_sign(data, encoding),
                    filename=form.cleaned_data["file"].name,
                )
        return TemplateResponse(request, "admin/csv_import.html", context)


def _sign(data: bytes, encoding: str) -> str:
    return signing.dumps(
        {"data": base64.b64encode(zlib.compress(data)).decode(), "encoding": encoding},
        salt=SALT,
        compress=False,
    )


def _unsign(value: str) -> tuple[bytes, str]:
    payload = signing.loads(value, salt=SALT, max_age=60 * 60)
    return zlib.decompress(base64.b64decode(payload["data"])), payload["encoding"]
