"""Payments for accountants (R17, 入金消込): deposits, unmatched first; a screen to apply
an unmatched deposit to open invoices of a customer (suggestions ranked, amounts checked
on the server by ``deposit_apply``); undoing an application (kept, reversed); bank files
imported here with the command's engine and messages; the receivables download. Payer
names are kept by sales."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, DecimalField, F, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.exports import xlsx
from billing.exports.receivables import receivables_csv, receivables_xlsx
from billing.formatting import japanese_date, yen_text
from billing.models import Application, Deposit, DepositSource, Invoice, PayerName, Reminder
from billing.payments.matching import tolerance
from billing.payments.service import application_reverse, deposit_apply, payments_import, unapplied
from contracts.admin_history import HistoryAdmin
from contracts.csvimport import ImportRejected
from contracts.models import Customer

from .common import RecordAdmin, csv_content_type, csv_encoding, download
from .filters import AmountRangeFilter, DateRangeFilter

_YEN = DecimalField(max_digits=14, decimal_places=0)


class DepositStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("unmatched", _("unmatched")),
            ("credit", _("with credit (前受金)")),
            ("applied", _("fully applied")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "unmatched":
            return queryset.filter(customer__isnull=True)
        if self.value() == "credit":
            return queryset.filter(customer__isnull=False, unapplied_amount__gt=0)
        if self.value() == "applied":
            return queryset.filter(unapplied_amount=0)
        return queryset


class ApplicationInline(admin.TabularInline):
    model = Application
    extra = 0
    can_delete = False
    fields = ("invoice", "amount", "fee", "rule", "applied_at", "applied_by", "reversed_at", "undo")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("invoice", "applied_by")

    @admin.display(description=_("undo"))
    def undo(self, obj):
        if obj.reversed_at is not None:
            return obj.reversal_reason
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_deposit_reverse", args=[obj.pk]), _("undo")
        )


class ManualDepositForm(forms.ModelForm):
    class Meta:
        model = Deposit
        fields = ("received_on", "amount", "payer_name", "reference", "customer")


@admin.register(Deposit)
class DepositAdmin(HistoryAdmin):
    list_display = (
        "received_on_label",
        "payer_name",
        "amount",
        "unapplied_label",
        "customer",
        "candidate_customer",
        "reference",
        "source",
    )
    list_filter = (DepositStateFilter, "source")
    search_fields = ("payer_name", "reference", "customer__code", "customer__name")
    list_select_related = ("customer", "candidate_customer")
    show_full_result_count = False
    inlines = (ApplicationInline,)
    form = ManualDepositForm
    readonly_fields = (
        "source",
        "source_id",
        "bank_name",
        "candidate_customer",
        "created_at",
        "created_by",
        "apply_link",
    )
    change_list_template = "admin/billing/deposit/change_list.html"

    def get_queryset(self, request):
        applied = (
            Application.objects.filter(deposit=OuterRef("pk"), reversed_at__isnull=True)
            .order_by()
            .values("deposit")
            .annotate(s=Sum("amount", output_field=_YEN))
            .values("s")
        )
        return (
            self.model._default_manager.get_queryset()
            .annotate(
                applied_amount=Coalesce(Subquery(applied, output_field=_YEN), Value(0, output_field=_YEN))
            )
            .annotate(unapplied_amount=F("amount") - F("applied_amount"))
            .annotate(
                customer_known=Case(
                    When(customer__isnull=True, then=0), default=1, output_field=IntegerField()
                )
            )
            .order_by(*self.get_ordering(request))
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()  # a new deposit has no applications yet

    def get_ordering(self, request):
        return ["customer_known", "-received_on", "source_id"]  # unmatched first

    def get_fields(self, request, obj=None):
        if obj is None:
            return ManualDepositForm.Meta.fields
        return (
            "received_on",
            "amount",
            "payer_name",
            "reference",
            "bank_name",
            "customer",
            "candidate_customer",
            "source",
            "source_id",
            "created_at",
            "created_by",
            # the 入金消込 link only for those who may apply (a Viewer sees no link it cannot use)
            *(("apply_link",) if request.user.has_perm("billing.apply_deposit") else ()),
        )

    def has_change_permission(self, request, obj=None):
        return False  # R17: a deposit is kept as it arrived; it is applied from its page

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.source = DepositSource.MANUAL
        obj.source_id = f"manual:{uuid.uuid4()}"
        obj.created_by = request.user
        obj._history_user = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/apply/", view(self.apply_view), name="billing_deposit_apply"),
            path("reverse/<int:application_pk>/", view(self.reverse_view), name="billing_deposit_reverse"),
            path("import/", view(self.import_view), name="billing_deposit_import"),
            path("receivables.csv", view(self.receivables_view), name="billing_deposit_receivables"),
            *super().get_urls(),
        ]

    @admin.display(description=_("received on"), ordering="received_on")
    def received_on_label(self, obj):
        return japanese_date(obj.received_on)

    @admin.display(description=_("not applied"), ordering="unapplied_amount")
    def unapplied_label(self, obj):
        return yen_text(obj.unapplied_amount)

    @admin.display(description=_("apply to invoices"))
    def apply_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:billing_deposit_apply", args=[obj.pk]),
            _("apply to invoices"),
        )

    def _may_apply(self, request):
        if not request.user.has_perm("billing.apply_deposit"):
            raise PermissionDenied

    def apply_view(self, request, pk):
        """R17: part or all of a deposit applied to open invoices of one customer."""
        self._may_apply(request)
        deposit = get_object_or_404(Deposit.objects.select_related("customer", "candidate_customer"), pk=pk)
        left = unapplied(deposit)
        code = request.POST.get("customer") or request.GET.get("customer") or ""
        customer = deposit.customer or (
            Customer.objects.filter(code=code).first() if code else deposit.candidate_customer
        )
        invoices = list(Invoice.objects.filter(customer=customer).open_items()) if customer else []
        fee_tolerance = tolerance()
        # ranked: the balance equal to what is left, then within the bank-fee tolerance, then oldest due
        invoices.sort(
            key=lambda i: (
                0 if i.balance == left else 1 if 0 < i.balance - left <= fee_tolerance else 2,
                i.due_date,
                i.number,
            )
        )
        form = forms.Form(request.POST or None)
        for invoice in invoices:
            form.fields[f"amount_{invoice.pk}"] = forms.IntegerField(min_value=0, required=False)
            form.fields[f"fee_{invoice.pk}"] = forms.IntegerField(min_value=0, required=False)
        if request.method == "POST" and customer is not None and form.is_valid():
            allocations = [
                (
                    invoice,
                    Decimal(form.cleaned_data[f"amount_{invoice.pk}"] or 0),
                    Decimal(form.cleaned_data[f"fee_{invoice.pk}"] or 0),
                )
                for invoice in invoices
            ]
            try:
                made = deposit_apply(deposit=deposit, allocations=allocations, by=request.user)
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("%(count)d application(s) recorded; %(left)s yen of the deposit left.")
                    % {"count": len(made), "left": yen_text(unapplied(deposit))},
                )
                return HttpResponseRedirect(reverse("admin:billing_deposit_change", args=[deposit.pk]))
        rows = [
            {
                "invoice": invoice,
                "due": japanese_date(invoice.due_date),
                "balance": yen_text(invoice.balance),
                "suggested": invoice.balance == left or 0 < invoice.balance - left <= fee_tolerance,
                "amount": form[f"amount_{invoice.pk}"],
                "fee": form[f"fee_{invoice.pk}"],
            }
            for invoice in invoices
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Apply %(deposit)s to invoices") % {"deposit": deposit},
            "opts": self.model._meta,
            "deposit": deposit,
            "received": japanese_date(deposit.received_on),
            "left": yen_text(left),
            "customer": customer,
            "code": code,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/billing/deposit/apply.html", context)

    def reverse_view(self, request, application_pk):
        """R17: undo an application; it is kept, reversed, with the reason."""
        self._may_apply(request)
        application = get_object_or_404(
            Application.objects.select_related("deposit", "invoice"), pk=application_pk
        )
        form = ReverseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                application_reverse(
                    application=application, by=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("The application to %(number)s is undone; its money is back on the deposit.")
                    % {"number": application.invoice.number},
                )
            return HttpResponseRedirect(
                reverse("admin:billing_deposit_change", args=[application.deposit_id])
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Undo the application to %(number)s") % {"number": application.invoice.number},
            "opts": self.model._meta,
            "application": application,
            "form": form,
        }
        return TemplateResponse(request, "admin/billing/deposit/reverse.html", context)

    def import_view(self, request):
        """R17: a bank file (Zengin or CSV) imported and matched, as ``import_payments``."""
        self._may_apply(request)
        form = ImportForm(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            try:
                result = payments_import(
                    data=form.cleaned_data["file"].read(),
                    file_format=form.cleaned_data["format"],
                    dry_run=form.cleaned_data["dry_run"],
                    user=request.user,
                )
            except ImportRejected as rejected:
                problems = [str(p) for p in rejected.problems]
                if rejected.more:
                    problems.append(rejected.more_message())
                messages.error(request, _("Nothing was imported: the file has problems."))
            else:
                if result.dry_run:
                    messages.info(request, _("Dry run, nothing written. %(message)s") % {"message": result})
                else:
                    messages.success(request, str(result))
                    return HttpResponseRedirect(reverse("admin:billing_deposit_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a bank file"),
            "opts": self.model._meta,
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/billing/deposit/import.html", context)

    def receivables_view(self, request):
        """R17: the receivables export (``export_receivables``), as of today in Japan."""
        if not request.user.has_perm("billing.export_invoices"):
            raise PermissionDenied
        as_of = timezone.localdate()
        if request.GET.get("format") == "xlsx":
            return download(
                receivables_xlsx(as_of=as_of, all_=request.GET.get("all") == "1"),
                filename=f"receivables-{as_of:%Y%m%d}.xlsx",
                content_type=xlsx.CONTENT_TYPE,
            )
        encoding = csv_encoding(request)
        return download(
            receivables_csv(as_of=as_of, all_=request.GET.get("all") == "1", encoding=encoding),
            filename=f"receivables-{as_of:%Y%m%d}.csv",
            content_type=csv_content_type(encoding),
        )


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for reversal"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("bank file"), help_text=_("振込入金通知 or 入出金取引明細 (Zengin), or CSV.")
    )
    format = forms.ChoiceField(
        label=_("format"),
        choices=[("auto", _("detect")), ("zengin", _("Zengin")), ("csv", "CSV")],
        initial="auto",
    )
    dry_run = forms.BooleanField(label=_("check only (dry run)"), required=False)


@admin.register(PayerName)
class PayerNameAdmin(HistoryAdmin):
    list_display = ("payer_name", "normalized", "customer")
    search_fields = ("payer_name", "normalized", "customer__code", "customer__name")
    list_select_related = ("customer",)
    autocomplete_fields = ()
    fields = ("customer", "payer_name", "normalized")
    readonly_fields = ("normalized",)


@admin.register(Reminder)
class ReminderAdmin(RecordAdmin):
    """R17: the reminders sent (督促), as recorded: read only."""

    list_display = ("sent_at", "customer", "as_of", "total", "result", "to", "subject")
    # R19: found again by date range, amount range and counterparty, as the issued documents are
    list_filter = (("as_of", DateRangeFilter), ("total", AmountRangeFilter), "result")
    search_fields = ("customer__code", "customer__name", "to")
    list_select_related = ("customer",)
    show_full_result_count = False
    readonly_fields = (
        "customer", "as_of", "invoices", "total", "subject", "body", "to", "result", "error", "sent_at",
    )  # fmt: skip
    fields = readonly_fields
