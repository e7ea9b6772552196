"""The admin's date and month fields, one of each for every form (issue 15): dates typed as
Japanese staff type them (``contracts.dates``) with the formats in the help text, months
with the browser's month picker (``<input type="month">``, YYYY-MM)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from contracts import dates


class JapaneseDateField(forms.DateField):
    """A date: 2026-11-10, 2026/11/10, ２０２６－１１－１０, R8.11.10, 令和8年11月10日."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dates.parse_date(str(value))
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None


class JapaneseDateInput(AdminDateWidget):
    """The admin's date input (its calendar and 今日 link), shown as 2026-11-10."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"size": "12", **(attrs or {})}, format="%Y-%m-%d")


class MonthInput(forms.DateInput):
    """The browser's month picker: the value is YYYY-MM."""

    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "smartkey-month", **(attrs or {})}, format="%Y-%m")


class MonthField(forms.DateField):
    """A month, stored as its first day: 2027-01 (the picker), 2027/1, R9.1, 令和9年1月."""

    widget = MonthInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value.replace(day=1) if value.day == 1 else value
        try:
            return dates.parse_month(str(value))
        except ValueError as error:
            raise ValidationError(str(error), code="invalid") from None

    def validate(self, value):
        super().validate(value)
        if value is not None and value.day != 1:
            raise ValidationError(_("Enter a month (YYYY-MM), not a day."), code="invalid")


DATE_HELP = _("e.g. 2026-11-10 (2026/11/10, R8.11.10 and 令和8年11月10日 are read too)")
MONTH_HELP = _("Month, e.g. 2027-01 (2027/1, R9.1 and 令和9年1月 are read too)")


def date_help(model_help: str) -> str:
    return f"{model_help} {DATE_HELP}" if model_help else str(DATE_HELP)


class JapaneseDatesMixin:
    """For a ModelAdmin or an inline: every date field of the form is a
    ``JapaneseDateField``, those named in ``month_fields`` a ``MonthField`` with the
    month picker."""

    month_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
            if db_field.name in self.month_fields:
                kwargs.update(form_class=MonthField, widget=MonthInput, help_text=MONTH_HELP)
            else:
                kwargs.update(
                    form_class=JapaneseDateField,
                    widget=JapaneseDateInput,
                    help_text=date_help(db_field.help_text),
                )
        return super().formfield_for_dbfield(db_field, request, **kwargs)
