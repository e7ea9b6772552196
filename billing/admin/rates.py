"""Rate cards for sales staff (R8): the amounts shown separately to the contractor, their
tiers, approval by a second person and change requests."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.money import Money

from billing import calculation
from billing.formatting import decimal_cell
from billing.models import AuthTier, RateCard
from billing.models.rates import PRICE_FIELDS, REQUEST_FIELDS
from contracts import periods
from contracts.admin_history import HistoryAdmin, japan_time, staff_name
from contracts.admin_import import CsvImportMixin

from .common import price_display, report


class PlainPricesForm(forms.ModelForm):
    """Prices in the form as people typed them: 0.35, not the column's 0.3500."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, value in list(self.initial.items()):
            if isinstance(value, Money):
                self.initial[name] = Money(Decimal(decimal_cell(value.amount)), value.currency)


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
    form = PlainPricesForm
    extra = 0
    fields = ("up_to", "unit_price", "flat_fee")

    def get_fields(self, request, obj=None):
        # an approved card's tiers are read only: their prices shown with their decimals
        if obj is not None and obj.approved_by_id is not None:
            return ("up_to", "unit_price_text", "flat_fee")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.approved_by_id is not None:
            return ("up_to", "unit_price_text", "flat_fee")
        return ()

    @admin.display(description=_("unit price"))
    def unit_price_text(self, obj):
        return price_display(obj.unit_price)

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


#: the month fields of a card, and what shows them as months when they are read only
MONTH_LABELS = {
    "valid_from": "valid_from_label",
    "valid_until": "valid_until_label",
    "requested_valid_until": "requested_valid_until_label",
}


@admin.register(RateCard)
class RateCardAdmin(CsvImportMixin, HistoryAdmin):
    import_kind = "rate_cards"
    form = PlainPricesForm
    list_display = (
        "contract",
        "valid_from_month",
        "valid_until_month",
        "base_fee",
        "account_unit_price_text",
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
        "last_changed",
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
            _("Approval and notification (Annex 1)"),
            {"fields": ("created_by", "last_changed", "approved_by", "approved_on", "notified_on")},
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
    month_fields = ("valid_from", "valid_until", "requested_valid_until")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.approved_by_id is not None:
            fields += ["contract", *PRICE_FIELDS]
        return [*fields, "account_unit_price_text", *MONTH_LABELS.values()]

    def _shown_read_only(self, request, obj) -> set[str]:
        if obj is not None and not self.has_change_permission(request, obj):
            return {"account_unit_price", *MONTH_LABELS}
        # an approved card's prices and first month are read only (its amounts were approved)
        shown = set(self.get_readonly_fields(request, obj)) & set(MONTH_LABELS)
        if obj is not None and obj.approved_by_id is not None:
            shown.add("account_unit_price")
        return shown

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        # read only: the unit price with its decimals, not django-money's yen; months as
        # months (2026年10月), not as their first day
        labels = {"account_unit_price": "account_unit_price_text", **MONTH_LABELS}
        shown = self._shown_read_only(request, obj)
        return [
            (
                name,
                {
                    **options,
                    "fields": tuple(labels[f] if f in shown else f for f in options["fields"]),
                },
            )
            for name, options in fieldsets
        ]

    def _month_label(self, value):
        return periods.japanese_month(value) if value else "—"

    @admin.display(description=_("valid from (month)"))
    def valid_from_label(self, obj):
        return self._month_label(obj.valid_from)

    @admin.display(description=_("valid until (month)"))
    def valid_until_label(self, obj):
        return self._month_label(obj.valid_until)

    @admin.display(description=_("requested valid until (month)"))
    def requested_valid_until_label(self, obj):
        return self._month_label(obj.requested_valid_until)

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
        return periods.japanese_month(obj.valid_from)

    @admin.display(description=_("until"), ordering="valid_until")
    def valid_until_month(self, obj):
        return periods.japanese_month(obj.valid_until) if obj.valid_until else "—"

    @admin.display(description=_("last changed by"))
    def last_changed(self, obj):
        """Who last changed the card, and when (Japan time): its audit trail's latest
        change, approvals included."""
        if obj is None or obj.pk is None:
            return "-"  # a card being entered: as the other empty read-only fields
        record = (
            obj.history.filter(history_type="~")
            .select_related("history_user")
            .order_by("-history_date")
            .first()
        )
        if record is None:
            return _("not changed since it was entered")
        return _("%(who)s, %(when)s") % {
            "who": staff_name(record.history_user) or _("the system (a command or an import)"),
            "when": japan_time(record.history_date),
        }

    @admin.display(description=_("account unit price"), ordering="account_unit_price")
    def account_unit_price_text(self, obj):
        return price_display(obj.account_unit_price)

    @admin.display(description=_("billable"), boolean=True)
    def billable(self, obj):
        return obj.is_billable

    def get_urls(self):
        return [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="billing_ratecard_approve",
            ),
            *super().get_urls(),
        ]

    def approve_view(self, request, pk: int):
        """The card's approve button (posted): the same approval as the action, for this card."""
        if not self.has_approve_permission(request):
            raise PermissionDenied
        card = get_object_or_404(RateCard.objects.select_related("contract"), pk=pk)
        back = HttpResponseRedirect(reverse("admin:billing_ratecard_change", args=[card.pk]))
        if request.method != "POST":
            return back
        try:
            card.approve(by=request.user, on=timezone.localdate())
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            self.log_change(request, card, [{"changed": {"fields": [str(_("approved by"))]}}])
            messages.success(
                request,
                _("%(card)s approved by %(who)s.") % {"card": card, "who": staff_name(request.user)},
            )
        return back

    def change_view(self, request, object_id, form_url="", extra_context=None):
        card = RateCard.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        approval = None
        if card is not None and (card.approved_by_id is None or card.has_change_request):
            refusal = card.approval_refusal(request.user) if self.has_approve_permission(request) else None
            approval = {
                "may": self.has_approve_permission(request),
                "refusal": " ".join(refusal.messages) if refusal is not None else "",
                "change": card.has_change_request,
            }
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "approval": approval}
        )

    @admin.action(description=_("Approve the selected rate cards"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        done, refused = 0, []
        for card in queryset.select_related("contract"):
            try:
                card.approve(by=request.user, on=timezone.localdate())
                self.log_change(request, card, [{"changed": {"fields": [str(_("approved by"))]}}])
                done += 1
            except ValidationError as error:
                refused.append(f"{card}: {' '.join(error.messages)}")
        report(request, done, refused)

    def has_approve_permission(self, request):
        return request.user.has_perm("billing.approve_ratecard")
