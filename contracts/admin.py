"""Admin screens for sales staff: customers, IIJ ID Service contracts, SmartKey contracts
with their item history, conditions of use and termination notice."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from .admin_history import HistoryAdmin
from .admin_import import CsvImportMixin
from .admin_lists import IndexedSearchAdmin
from .codes import propose_code
from .forms import JapaneseDateField, JapaneseDateInput, JapaneseDatesMixin
from .models import (
    CONDITIONS,
    Contract,
    ContractStatus,
    Customer,
    IIJIDContract,
    Item,
    ItemChange,
    Termination,
)


class IIJIDContractInline(JapaneseDatesMixin, admin.TabularInline):
    model = IIJIDContract
    extra = 0
    fields = ("code", "start_on", "end_on")


@admin.register(Customer)
class CustomerAdmin(CsvImportMixin, HistoryAdmin, IndexedSearchAdmin):
    import_kind = "customers"

    def get_changeform_initial_data(self, request):
        return {
            "code": propose_code(Customer, settings.CUSTOMER_CODE_FORMAT),
            **super().get_changeform_initial_data(request),
        }

    list_display = ("code", "name", "billing_name", "email", "contract_count")
    search_fields = ("code", "name", "billing_name")
    search_prefix = ("code",)
    search_contains = ("name", "billing_name")
    search_help_text = _("Search by the start of a customer code, or by any part of a name.")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name")}),
        (
            _("Invoices"),
            {"fields": ("billing_name", "email", "email_cc", "postal_code", "address", "payment_terms_days")},
        ),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (IIJIDContractInline,)

    def get_queryset(self, request):
        # an aggregate drops Meta.ordering; keep pages (and autocomplete) stable
        return super().get_queryset(request).annotate(contract_count=Count("contracts")).order_by("code")

    @admin.display(description=_("SmartKey contracts"), ordering="contract_count")
    def contract_count(self, obj):
        return obj.contract_count


@admin.register(IIJIDContract)
class IIJIDContractAdmin(CsvImportMixin, HistoryAdmin):
    import_kind = "iijid_contracts"
    list_display = ("code", "customer", "start_on", "end_on")
    list_select_related = ("customer",)
    search_fields = ("code", "customer__code", "customer__name")
    autocomplete_fields = ("customer",)
    date_hierarchy = "start_on"


class CurrentItemFilter(admin.SimpleListFilter):
    title = _("item (today)")
    parameter_name = "current_item"

    def lookups(self, request, model_admin):
        return Item.choices

    def queryset(self, request, queryset):
        if self.value() in Item.values:
            return queryset.filter(current_item=self.value())
        return queryset


class StatusFilter(admin.SimpleListFilter):
    title = _("status (today)")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ContractStatus.choices

    def queryset(self, request, queryset):
        if self.value() in ContractStatus.values:
            return queryset.with_status(self.value())
        return queryset


class ItemChangeInline(JapaneseDatesMixin, admin.TabularInline):
    model = ItemChange
    extra = 0
    month_fields = ("effective_month",)
    fields = ("item", "effective_month", "requested_on", "accepted_on")
    ordering = ("effective_month",)


def say_when_no_effective_date(request, termination) -> None:
    """R6: a notice not on the prescribed form is recorded but sets no effective date;
    the person who saved it is told so, and what sets it."""
    if termination.pk and not termination.on_prescribed_form:
        messages.warning(
            request,
            _(
                "%(contract)s: the termination notice is recorded, but it is not on the prescribed "
                "termination form (解約申込書), so no effective date is set (Art. 6). Tick "
                "'on the prescribed termination form' once the form arrives."
            )
            % {"contract": termination.contract.code},
        )


class TerminationInline(JapaneseDatesMixin, admin.StackedInline):
    model = Termination
    extra = 0
    max_num = 1
    can_delete = True
    fields = ("on_prescribed_form", "notice_received_on", "requested_on", "effective_on")
    readonly_fields = ("effective_on",)


class ContractForm(forms.ModelForm):
    """The contract, with every Art. 5 condition confirmable at once (one date, one
    person), as the import's ``conditions_confirmed_on`` allows."""

    all_conditions_on = JapaneseDateField(
        label=_("all conditions: confirmed on"),
        required=False,
        widget=JapaneseDateInput,
        help_text=_("Confirms every condition not confirmed yet on this day."),
    )
    all_conditions_by = forms.CharField(
        label=_("all conditions: confirmed by"),
        required=False,
        max_length=150,
        help_text=_("Empty: yourself."),
    )

    def clean(self):
        data = super().clean()
        day = data.get("all_conditions_on")
        if day:
            for condition in CONDITIONS:
                if not data.get(condition.date_field):
                    data[condition.date_field] = day
                    data[condition.by_field] = (
                        data.get("all_conditions_by") or data.get(condition.by_field) or ""
                    )
        return data


@admin.register(Contract)
class ContractAdmin(CsvImportMixin, HistoryAdmin, IndexedSearchAdmin):
    import_kind = "contracts"
    form = ContractForm

    def get_changeform_initial_data(self, request):
        return {
            "code": propose_code(Contract, settings.CONTRACT_CODE_FORMAT),
            **super().get_changeform_initial_data(request),
        }

    list_display = (
        "code",
        "customer",
        "current_item_display",
        "status_display",
        "accepted_on",
        "billing_start_on",
        "termination_effective_display",
    )
    list_filter = (CurrentItemFilter, StatusFilter, "terms_version")
    list_select_related = ("customer", "termination")
    search_fields = ("code", "customer__code", "customer__name")
    search_prefix = ("code",)
    search_related = {"customer": (("code",), ("name",))}
    search_help_text = _(
        "Search by the start of a contract or customer code, or by any part of the customer's name."
    )
    autocomplete_fields = ("customer",)
    readonly_fields = ("unconfirmed_conditions", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "customer", "item", "terms_version")}),
        (
            _("Application and acceptance (Art. 3, Art. 7)"),
            {"fields": ("applied_on", "accepted_on")},
        ),
        (
            _("Conditions of use (Art. 5)"),
            {
                "fields": (
                    "unconfirmed_conditions",
                    ("all_conditions_on", "all_conditions_by"),
                    *((c.date_field, c.by_field) for c in CONDITIONS),
                ),
                "description": _(
                    "Billing can start only when every condition is confirmed. Leave "
                    "'confirmed by' empty to record yourself."
                ),
            },
        ),
        (_("Service"), {"fields": ("billing_start_on",)}),
        (_("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (ItemChangeInline, TerminationInline)

    def get_queryset(self, request):
        return super().get_queryset(request).with_current_item()

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # confirming at once is an act, not a value: a page read only showed it as
        # "All conditions on: None"
        bulk = ("all_conditions_on", "all_conditions_by")
        return [
            (name, {**options, "fields": tuple(f for f in options["fields"] if f != bulk)})
            for name, options in fieldsets
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # the conditions named on the form as in the list of unconfirmed conditions
        for condition in CONDITIONS:
            for field, label in (
                (condition.date_field, _("%(condition)s: confirmed on")),
                (condition.by_field, _("%(condition)s: confirmed by")),
            ):
                if field in form.base_fields:
                    form.base_fields[field].label = label % {"condition": condition.label}
        return form

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Termination:
            for termination in formset.new_objects + [obj for obj, _changed in formset.changed_objects]:
                say_when_no_effective_date(request, termination)

    def save_model(self, request, obj, form, change):
        for condition in CONDITIONS:
            if getattr(obj, condition.date_field) and not getattr(obj, condition.by_field):
                setattr(obj, condition.by_field, request.user.get_username())
        super().save_model(request, obj, form, change)

    @admin.display(description=_("item (today)"), ordering="current_item")
    def current_item_display(self, obj):
        return Item(obj.current_item).label

    @admin.display(description=_("status (today)"))
    def status_display(self, obj):
        return ContractStatus(obj.status_on(timezone.localdate())).label

    @admin.display(description=_("termination effective"), ordering="termination__effective_on")
    def termination_effective_display(self, obj):
        return obj.termination_effective_on or "—"

    @admin.display(description=_("unconfirmed conditions"))
    def unconfirmed_conditions(self, obj):
        missing = obj.missing_conditions()
        if not missing:
            return _("none: every condition is confirmed")
        return format_html_join("", "<div>{} ({})</div>", ((c.label, c.article) for c in missing))


@admin.register(ItemChange)
class ItemChangeAdmin(CsvImportMixin, HistoryAdmin):
    import_kind = "item_changes"
    list_display = ("contract", "item", "effective_month", "requested_on", "accepted_on")
    list_filter = ("item",)
    list_select_related = ("contract",)
    search_fields = ("contract__code", "contract__customer__code", "contract__customer__name")
    autocomplete_fields = ("contract",)
    date_hierarchy = "effective_month"
    month_fields = ("effective_month",)


@admin.register(Termination)
class TerminationAdmin(CsvImportMixin, HistoryAdmin):
    import_kind = "terminations"
    list_display = (
        "contract",
        "on_prescribed_form",
        "notice_received_on",
        "requested_on",
        "effective_on",
    )
    list_filter = ("on_prescribed_form",)
    list_select_related = ("contract",)
    search_fields = ("contract__code", "contract__customer__code", "contract__customer__name")
    autocomplete_fields = ("contract",)
    readonly_fields = ("effective_on",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        say_when_no_effective_date(request, obj)
