"""Changelist filters the admin lacks: a range (from … to) over a date or an amount, as
the Electronic Bookkeeping Act's search asks (取引年月日・取引金額の範囲指定). Dates are
typed as staff type them (2026-11-05, 2026/11/05); an unreadable value is said beside
the field and not applied."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

DATE_INPUTS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]


class RangeFilter(admin.FieldListFilter):
    """``field__gte`` and ``field__lte`` from a two-field form in the sidebar."""

    template = "admin/billing/filters/range.html"
    form_field = forms.DecimalField

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lower, self.upper = f"{field_path}__gte", f"{field_path}__lte"
        super().__init__(field, request, params, model, model_admin, field_path)
        raw = {
            name: values[-1] if isinstance(values, list) else values
            for name, values in self.used_parameters.items()
        }
        self.form = forms.Form(data=raw)
        for name in (self.lower, self.upper):
            self.form.fields[name] = self.make_field()
        self.form.is_valid()

    def make_field(self) -> forms.Field:
        return self.form_field(required=False, min_value=0, decimal_places=0)

    def expected_parameters(self):
        return [self.lower, self.upper]

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        cleaned = getattr(self.form, "cleaned_data", {})
        bounds = {name: cleaned.get(name) for name in (self.lower, self.upper)}
        return queryset.filter(**{name: value for name, value in bounds.items() if value is not None})

    def choices(self, changelist):
        # the other filters and the search are kept when this one is applied or cleared
        keep = changelist.get_query_string(remove=[self.lower, self.upper, "p"])
        yield {
            "selected": any(self.used_parameters.values()),
            "hidden": parse_qsl(keep.lstrip("?")),
            "clear": keep or "?",
            "lower": self.form[self.lower],
            "upper": self.form[self.upper],
            "display": _("All"),
        }


class DateRangeFilter(RangeFilter):
    def make_field(self) -> forms.Field:
        return forms.DateField(
            required=False, input_formats=DATE_INPUTS, widget=forms.DateInput(attrs={"type": "date"})
        )


class AmountRangeFilter(RangeFilter):
    pass
