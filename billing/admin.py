"""Admin screens: rate cards for sales staff; runs, invoices and the month's CSV for
accountants. Actions call the services and report "N done, M refused" with reasons."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contracts import periods
from contracts.admin_history import HistoryAdmin

from . import breakdown, calculation, documents, exports, journal, runs
from .models import (
    AccountRegistration,
    AuthCount,
    AuthTier,
    BillingRun,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    OneTimeCharge,
    RateCard,
    RunException,
)
from .models.rates import PRICE_FIELDS, REQUEST_FIELDS

# --- rate cards ------------------------------------------------------------------------


class AuthTierFormSet(forms.BaseInlineFormSet):
    """R11: the tiers of a table are contiguous from 1, increasing, the last open."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        pricing = self.instance.auth_pricing
        tiers = [
            calculation.Tier(
                f.cleaned_data["up_to"],
                f.cleaned_data["unit_price"].amount,
                f.cleaned_data["flat_fee"].amount,
            )
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        tiers.sort(key=lambda t: (t.up_to is None, t.up_to or 0))
        if not pricing and tiers:
            raise ValidationError(_("Choose an authentication pricing for these tiers, or remove them."))
        if pricing:
            try:
                calculation.validate_tiers(pricing, tiers)
            except calculation.TierError as error:
                raise ValidationError(
                    _("Authentication price table: %(error)s") % {"error": error}
                ) from error


class AuthTierInline(admin.TabularInline):
    model = AuthTier
    formset = AuthTierFormSet
    extra = 0
    fields = ("up_to", "unit_price", "flat_fee")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.approved_by_id is not None:
            return False
        return super().has_change_permission(request, obj)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


class ApprovalFilter(admin.SimpleListFilter):
    title = _("billable")
    parameter_name = "billable"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("approved and notified")),
            ("unapproved", _("awaiting approval")),
            ("unnotified", _("approved, not notified")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.billable()
        if self.value() == "unapproved":
            return queryset.filter(Q(approved_by__isnull=True) | Q(change_requested_by__isnull=False))
        if self.value() == "unnotified":
            return queryset.filter(approved_by__isnull=False, notified_on__isnull=True)
        return queryset


@admin.register(RateCard)
class RateCardAdmin(HistoryAdmin):
    list_display = (
        "contract",
        "valid_from_month",
        "valid_until_month",
        "base_fee",
        "account_unit_price",
        "auth_pricing",
        "created_by",
        "approved_by",
        "notified_on",
        "billable",
    )
    list_filter = (ApprovalFilter, "auth_pricing")
    list_select_related = ("contract", "created_by", "approved_by")
    search_fields = ("contract__code", "contract__customer__code", "contract__customer__name")
    autocomplete_fields = ("contract",)
    readonly_fields = (
        "created_by",
        "approved_by",
        "approved_on",
        *REQUEST_FIELDS,
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("contract", "valid_from", "valid_until")}),
        (
            _("Amounts shown separately to the contractor (Annex 1)"),
            {"fields": ("base_fee", "account_unit_price", "auth_pricing")},
        ),
        (
            _("Approval and notification (R8)"),
            {"fields": ("created_by", "approved_by", "approved_on", "notified_on")},
        ),
        (
            _("Change waiting for approval"),
            {
                "fields": REQUEST_FIELDS,
                "description": _(
                    "A new last month or notification date of an approved card takes effect once "
                    "another staff member approves it; until then billing uses the approved values."
                ),
            },
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (AuthTierInline,)
    actions = ("approve_selected",)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.approved_by_id is not None:
            fields += ["contract", *PRICE_FIELDS]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        stored = RateCard.objects.filter(pk=obj.pk).first() if change else None
        if stored is not None and stored.needs_approval_to_set(
            valid_until=obj.valid_until, notified_on=obj.notified_on
        ):
            # R8: the approved values stay in force until another staff member approves
            requested = {"valid_until": obj.valid_until, "notified_on": obj.notified_on}
            obj.valid_until, obj.notified_on = stored.valid_until, stored.notified_on
            super().save_model(request, obj, form, change)
            obj.request_change(by=request.user, on=timezone.localdate(), **requested)
            messages.warning(
                request,
                _(
                    "%(card)s: the new last month and notification date wait for another staff "
                    "member's approval; until then the approved values stay in force."
                )
                % {"card": obj},
            )
            return
        super().save_model(request, obj, form, change)

    @admin.display(description=_("from"), ordering="valid_from")
    def valid_from_month(self, obj):
        return periods.format_month(obj.valid_from)

    @admin.display(description=_("until"), ordering="valid_until")
    def valid_until_month(self, obj):
        return periods.format_month(obj.valid_until) if obj.valid_until else "—"

    @admin.display(description=_("billable"), boolean=True)
    def billable(self, obj):
        return obj.is_billable

    @admin.action(description=_("Approve the selected rate cards"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        done, refused = 0, []
        for card in queryset.select_related("contract"):
            try:
                card.approve(by=request.user, on=timezone.localdate())
                done += 1
            except ValidationError as error:
                refused.append(f"{card}: {' '.join(error.messages)}")
        report(request, done, refused)

    def has_approve_permission(self, request):
        return request.user.has_perm("billing.approve_ratecard")


def report(request, done: int, refused: list[str]) -> None:
    """ "N done, M refused" with the reasons."""
    level = messages.SUCCESS if not refused else messages.WARNING
    messages.add_message(
        request, level, _("%(done)d done, %(refused)d refused.") % {"done": done, "refused": len(refused)}
    )
    for reason in refused:
        messages.error(request, reason)


# --- usage -------------------------------------------------------------------------------


class UsageAdmin(admin.ModelAdmin):
    list_select_related = ("contract",)
    search_fields = ("contract__code",)
    autocomplete_fields = ("contract",)
    show_full_result_count = False


@admin.register(AccountRegistration)
class AccountRegistrationAdmin(UsageAdmin):
    list_display = ("contract", "account_id", "registered_on", "deregistered_on")
    search_fields = ("contract__code", "account_id")
    date_hierarchy = "registered_on"

    def get_urls(self):
        return [*breakdown.admin_urls(self), *super().get_urls()]


@admin.register(AuthCount)
class AuthCountAdmin(UsageAdmin):
    list_display = ("contract", "date", "success_count")
    date_hierarchy = "date"


@admin.register(OneTimeCharge)
class OneTimeChargeAdmin(HistoryAdmin, UsageAdmin):
    list_display = ("contract", "due_on", "description", "amount")
    search_fields = ("contract__code", "description")
    date_hierarchy = "due_on"


# --- runs ---------------------------------------------------------------------------------


class RunMonthForm(forms.Form):
    month = forms.CharField(
        label=_("billing month"),
        help_text=_("YYYY-MM"),
        max_length=7,
        widget=forms.TextInput(attrs={"size": 8}),
    )

    def clean_month(self):
        try:
            return periods.parse_month(self.cleaned_data["month"])
        except ValueError:
            raise ValidationError(_("Enter a month as YYYY-MM.")) from None


class RunExceptionInline(admin.TabularInline):
    model = RunException
    extra = 0
    can_delete = False
    fields = ("contract", "rule", "billed", "message", "action")
    readonly_fields = fields

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
        "month",
        "status",
        "computed_at",
        "computed_by",
        "issued_at",
        "issued_by",
        "last_invoice_number",
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
                "<int:pk>/export/<str:layout>/",
                self.admin_site.admin_view(self.export_view),
                name="billing_billingrun_export",
            ),
            *journal.admin_urls(self),
            *super().get_urls(),
        ]

    # --- displays

    @admin.display(description=_("month"), ordering="month")
    def month_label(self, obj):
        return periods.format_month(obj.month)

    @admin.display(description=_("invoices"), ordering="invoice_count")
    def invoice_count(self, obj):
        return obj.invoice_count

    @admin.display(description=_("total billed (tax included)"), ordering="billed_total")
    def billed_total(self, obj):
        return f"¥{obj.billed_total or 0:,.0f}"

    @admin.display(description=_("exceptions"), ordering="exception_count")
    def exception_count(self, obj):
        return obj.exception_count

    @admin.display(description=_("CSV"))
    def downloads(self, obj):
        return format_html(
            '<a href="{}">{}</a> / <a href="{}">{}</a> / <a href="{}?encoding=cp932">{}</a>',
            reverse("admin:billing_billingrun_export", args=[obj.pk, "lines"]),
            _("lines"),
            reverse("admin:billing_billingrun_export", args=[obj.pk, "invoices"]),
            _("invoices"),
            reverse("admin:billing_billingrun_export", args=[obj.pk, "lines"]),
            _("lines (Shift_JIS)"),
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

    def export_view(self, request, pk, layout):
        if not request.user.has_perm("billing.export_invoices"):
            raise PermissionDenied
        run = get_object_or_404(BillingRun, pk=pk)
        if layout not in exports.LAYOUTS:
            raise PermissionDenied
        encoding = request.GET.get("encoding", "utf-8-sig")
        if encoding not in exports.ENCODINGS:
            encoding = "utf-8-sig"
        response = StreamingHttpResponse(
            exports.export(run.month, layout=layout, encoding=encoding),
            content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}",
        )
        suffix = "-sjis" if encoding == "cp932" else ""
        response["Content-Disposition"] = (
            f'attachment; filename="invoices-{run.month_label}-{layout}{suffix}.csv"'
        )
        return response

    # --- actions

    @admin.action(description=_("Recompute the selected months (drafts only)"), permissions=["run"])
    def recompute_selected(self, request, queryset):
        done, refused = 0, []
        for run in queryset:
            try:
                runs.billing_month_compute(month=run.month, by=request.user)
                done += 1
            except runs.BillingRefused as error:
                refused.append(str(error))
        report(request, done, refused)

    @admin.action(description=_("Issue the selected months"), permissions=["issue"])
    def issue_selected(self, request, queryset):
        done, refused = 0, []
        for run in queryset:
            try:
                runs.billing_month_issue(month=run.month, by=request.user)
                done += 1
            except runs.BillingRefused as error:
                refused.append(str(error))
        report(request, done, refused)

    def has_run_permission(self, request):
        return request.user.has_perm("billing.run_billing")

    def has_issue_permission(self, request):
        return request.user.has_perm("billing.issue_billing")


# --- invoices -----------------------------------------------------------------------------


class MonthFilter(admin.SimpleListFilter):
    title = _("billing month")
    parameter_name = "month"

    def lookups(self, request, model_admin):
        months = BillingRun.objects.order_by("-month").values_list("month", flat=True)[:36]
        return [(periods.format_month(m), periods.format_month(m)) for m in months]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(billing_month=periods.parse_month(self.value()))
            except ValueError:
                return queryset.none()
        return queryset


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("contract", "line_type", "item", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    ordering = ("contract__code", "position")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contract")


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for voiding"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )


@admin.register(Invoice)
class InvoiceAdmin(HistoryAdmin):
    list_display = (
        "number_or_draft",
        "status",
        "customer_code",
        "billing_name",
        "month_label",
        "subtotal",
        "tax",
        "total",
        "issue_date",
        "due_date",
    )
    list_filter = (MonthFilter, "status")
    search_fields = ("number", "customer_code", "billing_name", "customer__name")
    list_select_related = ("customer",)
    show_full_result_count = False
    inlines = (InvoiceLineInline,)
    fieldsets = (
        (None, {"fields": ("number", "status", "billing_month", "issue_date", "due_date")}),
        (
            _("Recipient (宛名)"),
            {"fields": ("customer", "customer_code", "billing_name", "postal_code", "address")},
        ),
        (
            _("Amounts"),
            {"fields": ("subtotal", "tax_rate", "tax", "total")},
        ),
        (_("Issuer"), {"fields": ("issuer_name", "issuer_address", "issuer_registration_number")}),
        (
            _("History"),
            {
                "fields": (
                    "replaces",
                    "replaced_by_link",
                    "issued_at",
                    "issued_by",
                    "voided_at",
                    "voided_by",
                    "void_reason",
                )
            },
        ),
    )
    change_form_template = "admin/billing/invoice/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["replaced_by_link"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # R12: an invoice is only ever viewed; the run issues it and the void view corrects it
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("<int:pk>/void/", self.admin_site.admin_view(self.void_view), name="billing_invoice_void"),
            *documents.admin_urls(self),
            *super().get_urls(),
        ]

    @admin.display(description=_("invoice number"), ordering="number")
    def number_or_draft(self, obj):
        return obj.number or _("(draft)")

    @admin.display(description=_("month"), ordering="billing_month")
    def month_label(self, obj):
        return periods.format_month(obj.billing_month)

    @admin.display(description=_("replaced by"))
    def replaced_by_link(self, obj):
        replacement = Invoice.objects.filter(replaces=obj).first()
        if replacement is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_invoice_change", args=[replacement.pk]), replacement
        )

    def void_view(self, request, pk):
        """R12: void an issued invoice and issue its replacement from current data."""
        if not request.user.has_perm("billing.void_invoice"):
            raise PermissionDenied
        invoice = get_object_or_404(Invoice, pk=pk)
        form = VoidForm(request.POST or None)
        if invoice.status != InvoiceStatus.ISSUED:
            messages.error(request, _("R12: only an issued invoice can be voided."))
            return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[pk]))
        if request.method == "POST" and form.is_valid():
            try:
                replacement = runs.invoice_void_and_replace(
                    invoice=invoice, by=request.user, reason=form.cleaned_data["reason"]
                )
            except (ValidationError, runs.BillingRefused) as error:
                messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            else:
                if replacement is None:
                    messages.warning(
                        request,
                        _("%(number)s voided; nothing is billable any more, so no replacement.")
                        % {"number": invoice.number},
                    )
                    return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[pk]))
                messages.success(
                    request,
                    _("%(old)s voided and replaced by %(new)s.")
                    % {"old": invoice.number, "new": replacement.number},
                )
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[replacement.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Void %(number)s and issue a replacement") % {"number": invoice.number},
            "form": form,
            "invoice": invoice,
            "opts": self.model._meta,
            "original": invoice,
        }
        return TemplateResponse(request, "admin/billing/invoice/void.html", context)
