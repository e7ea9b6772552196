"""Codes proposed for new customers and contracts (issue 15): the next number of the
pattern the settings give (``CUSTOMER_CODE_FORMAT``, ``CONTRACT_CODE_FORMAT``, e.g.
``C{number:05d}`` → C00042). A proposal only: staff may type another code."""

from __future__ import annotations

import re

from django.db import models


def propose_code(model: type[models.Model], pattern: str, field: str = "code") -> str:
    """The pattern with the number after the highest code of that pattern. One query."""
    prefix, _, rest = pattern.partition("{")
    suffix = rest.partition("}")[2]
    shape = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
    codes = model.objects.filter(**{f"{field}__startswith": prefix}).values_list(field, flat=True)
    if suffix:
        codes = codes.filter(**{f"{field}__endswith": suffix})
    numbers = [int(match[1]) for code in codes.iterator() if (match := shape.fullmatch(code))]
    return pattern.format(number=max(numbers, default=0) + 1)
