"""The qualified invoice system's registration number (適格請求書発行事業者登録番号).

"T" followed by the 13-digit corporate number, whose first digit is a check digit:
check = 9 - (Σ P_n × Q_n mod 9) over the other 12 digits, P_n being the n-th digit
counted from the right and Q_n = 1 for odd n, 2 for even n (National Tax Agency).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

#: "T", the check digit, the other 12 digits; ASCII digits only (``\d`` would also take
#: full-width ones). Use with ``fullmatch``: ``match`` with ``$`` accepts a final newline.
REGISTRATION_NUMBER_PATTERN = re.compile(r"T([0-9])([0-9]{12})")


def corporate_number_check_digit(base12: str) -> int:
    digits = [int(d) for d in reversed(base12)]
    total = sum(d * (1 if n % 2 else 2) for n, d in enumerate(digits, start=1))
    return 9 - total % 9


def is_valid_registration_number(value: str) -> bool:
    match = REGISTRATION_NUMBER_PATTERN.fullmatch(value or "")
    return bool(match) and int(match[1]) == corporate_number_check_digit(match[2])


def issuer() -> dict[str, str]:
    """The issuer printed on every invoice, from settings; refuses a bad number."""
    number = settings.ISSUER_REGISTRATION_NUMBER
    if not is_valid_registration_number(number):
        raise ImproperlyConfigured(
            f"ISSUER_REGISTRATION_NUMBER {number!r} is not T + 13 digits with a valid check digit"
        )
    return {
        "issuer_name": settings.ISSUER_NAME,
        "issuer_address": settings.ISSUER_ADDRESS,
        "issuer_registration_number": number,
    }


@checks.register()
def check_issuer(app_configs, **kwargs):
    errors = []
    if not is_valid_registration_number(getattr(settings, "ISSUER_REGISTRATION_NUMBER", "")):
        errors.append(
            checks.Error(
                "ISSUER_REGISTRATION_NUMBER must be 'T' + 13 digits with a valid check digit.",
                hint="Set ISSUER_REGISTRATION_NUMBER in the environment (qualified invoice system).",
                id="billing.E001",
            )
        )
    if not getattr(settings, "ISSUER_NAME", ""):
        errors.append(checks.Error("ISSUER_NAME is empty.", id="billing.E002"))
    return errors
