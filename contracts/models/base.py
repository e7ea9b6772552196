"""What every model of the back office shares."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from contracts.text import invisible_character, refusal_message


class VisibleTextModel(models.Model):
    """Refuses invisible characters in every text field of the model, whichever form,
    command or shell session validates it (``full_clean``)."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        errors: dict[str, list] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            if (exclude and field.name in exclude) or field.name in errors:
                continue
            value = getattr(self, field.attname)
            if not isinstance(value, str):
                continue
            char = invisible_character(value, multiline=isinstance(field, models.TextField))
            if char is not None:
                errors.setdefault(field.name, []).append(
                    ValidationError(refusal_message(char), code="invisible_character")
                )
        if errors:
            raise ValidationError(errors)
