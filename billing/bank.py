"""Japanese bank transfers as the banks' own files write them (全銀協 formats): the
characters a name may hold (半角カナ, upper-case letters, digits and a few signs) and the
account types. Pure, importable before the settings exist (the payee account of the
invoices is validated at start-up)."""

from __future__ import annotations

import re

from django.conf import settings

#: 預金種目 of the Zengin formats
ACCOUNT_TYPES = {"普通": "1", "当座": "2", "貯蓄": "4"}

#: the characters of a name in a Zengin record (JIS X 0201: digits, upper-case letters,
#: half-width katakana with their voicing marks, and these signs)
ZENGIN_NAME = re.compile(r"[0-9A-Zｦ-ﾟ ()\-./,｢｣\\]+")


def is_zengin_name(text: str) -> bool:
    return bool(ZENGIN_NAME.fullmatch(text))


def payee() -> dict[str, str]:
    """The account invoices ask to be paid into (振込先, R18), from the settings: bank,
    branch, account type, number and holder as the bank prints it."""
    return {
        "bank": settings.PAYEE_BANK,
        "branch": settings.PAYEE_BRANCH,
        "type": settings.PAYEE_ACCOUNT_TYPE,
        "number": settings.PAYEE_ACCOUNT_NUMBER,
        "holder": settings.PAYEE_ACCOUNT_HOLDER,
    }
