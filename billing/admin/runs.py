"""Monthly runs for accountants: compute a month, issue it, download its CSV and journal,
with the exceptions people must act on."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing import runs
from billing.documents.store import store_month
from billing.exports import invoices as invoices_export
from billing.exports import journal, xlsx
from billing.formatting import yen_text
from billing.models import BillingRun, InvoiceStatus, RunException, RunStatus
from billing.runs import issue
from billing.runs import late as late_changes
from billing.runs.adjustments import draft_adjustments
from contracts import periods
from contracts.admin_history import HistoryAdmin
from contracts.forms import MONTH_HELP, MonthField

from .common import csv_content_type, csv_encoding, download, report


class RunMonthForm(forms.Form):
    month = MonthField(label=_("billing month"), help_text=MONTH_HELP)


def _stamp(run: BillingRun) -> str:
    """When the run was computed, as the confirmation page carries it: a month recomputed
    between the page and the click is not issued from a page that no longer describes it."""
    return run.computed_at.isoformat() if run.computed_at else ""


#: contracts named where a draft says its data changed since it was computed
CHANGED_SHOWN = 20


def changed_since(run: BillingRun) -> dict:
    """The contracts whose data changed after ``run``'s drafts were computed (issue 15,
    item 9), for the run's page and its issue confirmation: the first ``CHANGED_SHOWN``
    codes and how many in all. One query, two when there are more."""
    changed = late_changes.contracts_changed_since(run)
    codes = list(changed.values_list("code", flat=True)[: CHANGED_SHOWN + 1])
    total = len(codes) if len(codes) <= CHANGED_SHOWN else changed.count()
    return {
        "changed_codes": codes[:CHANGED_SHOWN] + (["…"] if total > CHANGED_SHOWN else []),
        "changed_total": total,
    }


class RunExceptionInline(admin.TabularInline):
    model = RunException
    extra = 0
    can_delete = False
    fields = ("contract", "article", "billed", "message", "action")
    readonly_fields = fields

    @admin.display(description=_("basis"))
    def article(self, obj):
        return obj.article

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contract")


@admin.register(BillingRun)
class BillingRunAdmin(HistoryAdmin):
    list_display = (
        "month_label",
        "status",
        "invoice_count",
        "billed_total",
        "exception_count",
        "computed_at",
        "issued_at",
        "downloads",
    )
    list_filter = ("status",)
    readonly_fields = (
        "billing_month",
        "status",
        "computed_at",
        "computed_by",
        "issued_at",
        "issued_by",
        "last_invoice_number",
        "numbers_given",
        "downloads",
    )
    inlines = (RunExceptionInline,)
    actions = ("recompute_selected", "issue_selected")
    change_list_template = "admin/billing/billingrun/change_list.html"

    def get_queryset(self, request):
        live = Q(invoices__status__in=[InvoiceStatus.DRAFT, InvoiceStatus.ISSUED])
        # exceptions counted in a subquery: joining them too would repeat every invoice
        # once per exception and multiply the billed total
        exceptions = (
            RunException.objects.filter(run=OuterRef("pk")).order_by().values("run").annotate(n=Count("pk"))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                invoice_count=Count("invoices", filter=live, distinct=True),
                billed_total=Sum("invoices__total", filter=live),
                exception_count=Coalesce(Subquery(exceptions.values("n"), output_field=IntegerField()), 0),
            )
        )

    def get_list_display(self, request):
        # the CSV links only for those who may download: a Viewer followed them to a 403
        shown = super().get_list_display(request)
        if request.user.has_perm("billing.export_invoices"):
            return shown
        return [name for name in shown if name != "downloads"]

    def get_readonly_fields(self, request, obj=None):
        shown = super().get_readonly_fields(request, obj)
        if request.user.has_perm("billing.export_invoices"):
            return shown
        return [name for name in shown if name != "downloads"]

    def get_fields(self, request, obj=None):
        shown = super().get_fields(request, obj)
        if request.user.has_perm("billing.export_invoices"):
            return shown
        return [name for name in shown if name != "downloads"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("run/", self.admin_site.admin_view(self.run_view), name="billing_billingrun_run"),
            path(
                "<int:pk>/issue/",
                self.admin_site.admin_view(self.issue_view),
                name="billing_billingrun_issue",
            ),
            path(
                "<int:pk>/export/<str:layout>/",
                self.admin_site.admin_view(self.export_view),
                name="billing_billingrun_export",
            ),
            path(
                "<int:pk>/journal/<str:fmt>/",
                self.admin_site.admin_view(self.journal_view),
                name="billing_billingrun_journal",
            ),
            path(
                "<int:pk>/journal/<str:fmt>/new/",
                self.admin_site.admin_view(self.journal_new_view),
                name="billing_billingrun_journal_new",
            ),
            *super().get_urls(),
        ]

    # --- displays

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return periods.japanese_month(obj.month)

    @admin.display(description=_("billing month"))
    def billing_month(self, obj):
        """The month as a month (2026年10月), not as its first day."""
        return periods.japanese_month(obj.month)

    @admin.display(description=_("invoices"), ordering="invoice_count")
    def invoice_count(self, obj):
        return obj.invoice_count

    @admin.display(description=_("total billed (tax included)"), ordering="billed_total")
    def billed_total(self, obj):
        return f"¥{obj.billed_total or 0:,.0f}"

    @admin.display(description=_("exceptions"), ordering="exception_count")
    def exception_count(self, obj):
        return obj.exception_count

    @admin.display(description=_("invoice numbers given"))
    def numbers_given(self, obj):
        """The month's series so far: its first and last number (replacements included)."""
        if not obj.last_invoice_number:
            return "-"
        return _("%(first)s to %(last)s (%(count)d numbers)") % {
            "first": issue.invoice_number(obj.month, 1),
            "last": issue.invoice_number(obj.month, obj.last_invoice_number),
            "count": obj.last_invoice_number,
        }

    @admin.display(description=_("downloads"))
    def downloads(self, obj):
        lines = reverse("admin:billing_billingrun_export", args=[obj.pk, "lines"])
        invoices = reverse("admin:billing_billingrun_export", args=[obj.pk, "invoices"])
        # CSV on one line, Excel on the next: the column stays narrow at 1366 px
        return format_html(
            'CSV: <a href="{}">{}</a> / <a href="{}">{}</a> / <a href="{}?encoding=cp932">{}</a>'
            '<br>Excel: <a href="{}?format=xlsx">{}</a> / <a href="{}?format=xlsx">{}</a>',
            lines,
            _("lines"),
            invoices,
            _("invoices"),
            lines,
            _("lines (Shift_JIS)"),
            lines,
            _("lines"),
            invoices,
            _("invoices"),
        )

    # --- views

    def run_view(self, request):
        """Compute (or recompute) a month's drafts from a form."""
        if not request.user.has_perm("billing.run_billing"):
            raise PermissionDenied
        form = RunMonthForm(
            request.POST or None,
            initial={
                "month": periods.format_month(
                    periods.add_months(periods.month_start(timezone.localdate()), -1)
                )
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                summary = runs.billing_month_compute(month=form.cleaned_data["month"], by=request.user)
            except runs.BillingRefused as refused:
                messages.error(request, str(refused))
            else:
                # 「最近行った操作」 on the index lists what the services did, not only saved forms
                self.log_change(request, summary.run, [{"changed": {"fields": [str(_("computed at"))]}}])
                messages.success(
                    request,
                    _(
                        "%(month)s computed: %(count)d draft invoice(s), %(total)s yen, %(exceptions)d exception(s)."
                    )
                    % {
                        "month": summary.run.month_label,
                        "count": summary.invoices,
                        "total": f"{summary.total:,.0f}",
                        "exceptions": len(summary.exceptions),
                    },
                )
                return HttpResponseRedirect(reverse("admin:billing_billingrun_change", args=[summary.run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Compute a month's invoices"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/billingrun/run.html", context)

    def issue_view(self, request, pk: int):
        """Issuing a month numbers every invoice for good: first a page that says what will
        happen (month, invoices, total, the numbers, the exceptions still open) or why it is
        refused, then, posted from it, the issue and the numbers it gave."""
        if not request.user.has_perm("billing.issue_billing"):
            raise PermissionDenied
        run = get_object_or_404(BillingRun, pk=pk)
        back = HttpResponseRedirect(reverse("admin:billing_billingrun_change", args=[run.pk]))
        if request.method == "POST":
            if request.POST.get("computed_at") != _stamp(run):
                messages.error(
                    request,
                    _("%(month)s was recomputed after this confirmation was shown: check it again.")
                    % {"month": run.month_label},
                )
                return HttpResponseRedirect(reverse("admin:billing_billingrun_issue", args=[run.pk]))
            before = run.last_invoice_number
            try:
                summary = runs.billing_month_issue(month=run.month, by=request.user)
            except runs.BillingRefused as refused:
                messages.error(request, str(refused))
                return back
            # R19: the PDFs as issued, rendered once and kept (after the issue committed)
            store_month(run.month)
            after = summary.run.last_invoice_number
            self.log_change(request, summary.run, [{"changed": {"fields": [str(_("issued at"))]}}])
            given = (
                _("numbers %(first)s to %(last)s")
                % {
                    "first": issue.invoice_number(run.month, before + 1),
                    "last": issue.invoice_number(run.month, after),
                }
                if after > before
                else _("no numbers")
            )
            messages.success(
                request,
                _("%(month)s issued: %(count)d invoice(s), %(given)s, %(total)s yen in all.")
                % {
                    "month": run.month_label,
                    "count": after - before,
                    "given": given,
                    "total": yen_text(summary.total),
                },
            )
            if summary.credit_notes:
                messages.info(
                    request,
                    _("%(count)d customer(s) netted to a credit: credit notes of %(total)s yen in all.")
                    % {"count": summary.credit_notes, "total": yen_text(summary.credited)},
                )
            return back
        try:
            plan, refusal = runs.billing_month_issue_preview(month=run.month), None
        except runs.BillingRefused as refused:
            plan, refusal = None, str(refused)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issue %(month)s?") % {"month": run.month_label},
            "opts": self.model._meta,
            "run": run,
            "plan": plan,
            "refusal": refusal,
            "total": yen_text(plan.total) if plan else None,
            "open_exceptions": run.exceptions.select_related("contract").order_by("contract__code", "rule"),
            "stamp": _stamp(run),
            **changed_since(run),
        }
        return TemplateResponse(request, "admin/billing/billingrun/issue.html", context)

    def export_view(self, request, pk, layout):
        """The month's invoices as CSV (interfaces.md), for those who may download it."""
        if not request.user.has_perm("billing.export_invoices"):
            raise PermissionDenied
        run = get_object_or_404(BillingRun, pk=pk)
        if layout not in invoices_export.LAYOUTS:
            raise PermissionDenied
        if request.GET.get("format") == "xlsx":
            return download(
                invoices_export.export_xlsx(run.month, layout=layout),
                filename=f"invoices-{periods.format_month(run.month)}-{layout}.xlsx",
                content_type=xlsx.CONTENT_TYPE,
            )
        encoding = csv_encoding(request)
        suffix = "-sjis" if encoding == "cp932" else ""
        return download(
            invoices_export.export(run.month, layout=layout, encoding=encoding),
            filename=f"invoices-{periods.format_month(run.month)}-{layout}{suffix}.csv",
            content_type=csv_content_type(encoding),
        )

    def journal_view(self, request, pk: int, fmt: str, since_last: bool = False):
        """The issued month's journal in layout ``fmt``, for those who may download the
        month's CSV: every entry (GET), or, posted, the entries no earlier such file
        carried, recorded as exported by the user (kept under journal exports, to download
        again)."""
        if not request.user.has_perm("billing.export_invoices"):
            raise PermissionDenied
        run = get_object_or_404(BillingRun, pk=pk)
        if fmt not in journal.FORMATS:
            raise Http404(fmt)
        back = HttpResponseRedirect(reverse("admin:billing_billingrun_change", args=[run.pk]))
        if since_last and request.method != "POST":
            return back
        if run.status != RunStatus.ISSUED:
            messages.error(
                request,
                _("%(month)s is not issued: the journal holds issued invoices only.")
                % {"month": run.month_label},
            )
            return back
        try:
            file = journal.journal_file(run.month, fmt, since_last=since_last, by=request.user)
        except journal.JournalRefused as refused:
            messages.error(request, str(refused))
            return back
        if since_last and not file.entries:
            messages.info(
                request, _("Every entry of %(month)s was exported before.") % {"month": run.month_label}
            )
            return back
        return download(file.data, filename=file.filename, content_type="text/csv; charset=shift_jis")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        layouts = [
            ("yayoi", _("Journal for Yayoi Kaikei (CSV)")),
            ("freee", _("Journal for freee (CSV)")),
            ("mf", _("Journal for Money Forward (CSV)")),
        ]
        run = self.get_object(request, object_id)
        late = {
            # R15: what waits for a run, and what this draft settles
            "late_waiting": [
                {**row, "month_label": periods.japanese_month(row["month"])}
                for row in late_changes.waiting_by_month()
            ],
            "adjustments": list(draft_adjustments(run)) if run and run.status == RunStatus.DRAFT else [],
        }
        changed = changed_since(run) if run else {}
        return super().change_view(
            request,
            object_id,
            form_url,
            {
                **(extra_context or {}),
                "journal_layouts": layouts,
                "may_issue": request.user.has_perm("billing.issue_billing"),
                **late,
                **changed,
            },
        )

    def journal_new_view(self, request, pk: int, fmt: str):
        return self.journal_view(request, pk, fmt, since_last=True)

    # --- actions

    @admin.action(description=_("Recompute the selected months (drafts only)"), permissions=["run"])
    def recompute_selected(self, request, queryset):
        done, refused = 0, []
        for run in queryset:
            try:
                runs.billing_month_compute(month=run.month, by=request.user)
                self.log_change(request, run, [{"changed": {"fields": [str(_("computed at"))]}}])
                done += 1
            except runs.BillingRefused as error:
                refused.append(str(error))
        report(request, done, refused)

    @admin.action(description=_("Issue the selected month (after a confirmation)"), permissions=["issue"])
    def issue_selected(self, request, queryset):
        """Issuing is never one click: the month's confirmation page, one month at a time."""
        months = list(queryset[:2])
        if len(months) != 1:
            messages.error(
                request,
                _("Select one month to issue: each month's confirmation shows the numbers it will give."),
            )
            return None
        return HttpResponseRedirect(reverse("admin:billing_billingrun_issue", args=[months[0].pk]))

    def has_run_permission(self, request):
        return request.user.has_perm("billing.run_billing")

    def has_issue_permission(self, request):
        return request.user.has_perm("billing.issue_billing")
