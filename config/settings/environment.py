"""The environment, read one variable at a time: a value, or one line saying what is wrong.

Every function here reads one variable and returns its value, or raises
``ImproperlyConfigured`` with a single line that names the variable and says what is
wrong with it. ``manage.py``, ``config.wsgi`` and ``config.asgi`` print that line and stop
(``config/startup.py``), so a configuration error never starts a server that then
answers 500, and never ends in a traceback.

Values are taken literally from ``os.environ``: django-environ would read a value that
starts with ``$`` as the name of another variable, and a random secret key may start
with ``$``. Secrets (``SECRET_KEY``, ``DATABASE_URL``, which may hold a password) are
never repeated in a message; other values are, as ``repr`` so that a stray newline
shows as ``\\n`` and the message stays on one line.

The messages are literal Japanese, not translatable strings: they are raised while the
settings load, and gettext cannot be used before the settings (LANGUAGE_CODE,
LOCALE_PATHS, INSTALLED_APPS) exist. The variable names stay in ASCII.
"""

from __future__ import annotations

import os
import re
import warnings
from urllib.parse import urlsplit

import environ
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from billing.bank import is_zengin_name
from billing.qualified_invoice import REGISTRATION_NUMBER_PATTERN, is_valid_registration_number
from contracts.text import invisible_character

POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_WHOLE = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MISSING = object()


def error(name: str, problem: str) -> ImproperlyConfigured:
    """``problem`` continues the sentence after the variable's name (が…, の…, は…)."""
    return ImproperlyConfigured(f"設定エラー: {name} {problem}")


def string(name: str, default=_MISSING) -> str:
    """The value as it is; with no default, a missing variable is an error."""
    return _read(name, default)


def _read(name: str, default=_MISSING) -> str:
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is _MISSING:
        raise error(name, "が設定されていません。環境変数 " + name + " を設定してください。")
    return default


def secret_key(name: str = "SECRET_KEY") -> str:
    """Django's own bar (check security.W009): 50 characters or more, 5 different ones or
    more, not the ``django-insecure-`` value of a new project."""
    value = _read(name)
    hint = f"{SECRET_KEY_MIN_LENGTH}文字以上のランダムな値を設定してください。"
    if not value.strip():
        raise error(name, "が空です。" + hint)
    if value.startswith(SECRET_KEY_INSECURE_PREFIX):
        raise error(name, f"が開発用の値（{SECRET_KEY_INSECURE_PREFIX} で始まる値）です。" + hint)
    if len(value) < SECRET_KEY_MIN_LENGTH:
        raise error(name, f"が短すぎます（{len(value)}文字）。" + hint)
    if len(set(value)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        raise error(name, f"の文字の種類が少なすぎます（{len(set(value))}種類）。" + hint)
    return value


def database(name: str = "DATABASE_URL", *, engines: tuple[str, ...], default=_MISSING) -> dict:
    """The ``DATABASES`` entry of a database URL whose engine is one of ``engines``."""
    value = _read(name, default)
    example = "postgres://ユーザー:パスワード@ホスト:5432/データベース名 の形式で設定してください。"
    if not value.strip():
        raise error(name, "が空です。" + example)
    try:
        if any(char.isspace() for char in value):
            raise ValueError("a URL has no spaces")
        urlsplit(value).port  # noqa: B018  (raises ValueError where django-environ would go on)
        with warnings.catch_warnings():
            # django-environ warns (on stderr, over several lines) about an unknown scheme
            warnings.simplefilter("ignore")
            config = environ.Env.db_url_config(value)
    except (ValueError, TypeError, KeyError):
        config = {}
    if not config.get("ENGINE"):
        raise error(name, "を解釈できません。" + example)
    if config["ENGINE"] not in engines:
        raise error(name, "は対応していない種類のデータベースを指しています。" + example)
    if not config.get("NAME"):
        raise error(name, "にデータベース名がありません。" + example)
    return config


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def hosts(name: str = "ALLOWED_HOSTS", default=_MISSING) -> list[str]:
    """Host names separated by commas (spaces around them allowed)."""
    values = _items(_read(name, default))
    if not values:
        raise error(name, "が空です。このサービスのホスト名を設定してください（例: smartkey.example.jp）。")
    for host in values:
        if "/" in host or any(char.isspace() for char in host):
            raise error(
                name,
                f"の {host!r} はホスト名ではありません。スキームやパスを付けずに設定してください（例: smartkey.example.jp）。",
            )
    return values


def origins(name: str = "CSRF_TRUSTED_ORIGINS", default: str = "") -> list[str]:
    """Origins separated by commas, each ``scheme://host[:port]`` exactly as a browser
    sends it in ``Origin`` (no path, not even a final ``/``, or it never matches)."""
    values = _items(_read(name, default))
    for origin in values:
        if not _is_origin(origin):
            raise error(
                name,
                f"の {origin!r} は スキーム://ホスト の形式ではありません。末尾の / やパスを付けずに設定してください（例: https://smartkey.example.jp）。",
            )
    return values


def _is_origin(value: str) -> bool:
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and "@" not in parts.netloc
        and not (parts.path or parts.query or parts.fragment or value.endswith(("?", "#")))
    )


def text(name: str, default=_MISSING) -> str:
    """Text printed on invoices: not empty, no invisible character (the rule of every
    text of the back office, ``contracts/text.py``), no spaces around it."""
    value = _read(name, default)
    if not value.strip():
        raise error(name, "が空です。請求書に印字する値を設定してください。")
    char = invisible_character(value)
    if char is not None:
        raise error(name, f"に表示されない文字（U+{ord(char):04X}）が含まれています。取り除いてください。")
    if value != value.strip():
        raise error(name, "の前後に空白があります。取り除いてください。")
    return value


def registration_number(name: str = "ISSUER_REGISTRATION_NUMBER", default=_MISSING) -> str:
    """The issuer's qualified invoice registration number, check digit verified."""
    value = _read(name, default)
    if not value.strip():
        raise error(name, "が空です。T と13桁の数字の登録番号を設定してください（例: T2010001034531）。")
    if not REGISTRATION_NUMBER_PATTERN.fullmatch(value):
        raise error(name, f"の {value!r} は T と13桁の半角数字ではありません（例: T2010001034531）。")
    if not is_valid_registration_number(value):
        raise error(
            name,
            f"の {value!r} はチェックディジット（先頭の数字）が正しくありません。登録番号を確かめてください。",
        )
    return value


def whole_number(name: str, default: int, *, minimum: int = 0) -> int:
    value = _read(name, None)
    if value is None:
        return default
    if not _WHOLE.fullmatch(value.strip()) or int(value) < minimum:
        raise error(name, f"は {minimum} 以上の整数で設定してください（{value!r} が設定されています）。")
    return int(value)


def positive_number(name: str, default: float) -> float:
    value = _read(name, None)
    if value is None:
        return default
    if not _NUMBER.fullmatch(value.strip()) or float(value) <= 0:
        raise error(name, f"は 0 より大きい数で設定してください（{value!r} が設定されています）。")
    return float(value)


def boolean(name: str, default: bool) -> bool:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``); anything else is
    an error, where django-environ would read a misspelt ``ture`` as false."""
    value = _read(name, None)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise error(name, f"は true か false で設定してください（{value!r} が設定されています）。")


def log_level(name: str = "LOG_LEVEL", default: str = "INFO") -> str:
    value = _read(name, default)
    if value.strip().upper() not in _LOG_LEVELS:
        raise error(
            name,
            f"は {'、'.join(_LOG_LEVELS)} のいずれかで設定してください（{value!r} が設定されています）。",
        )
    return value.strip().upper()


def choice(name: str, choices: tuple[str, ...], default=_MISSING) -> str:
    value = _read(name, default)
    if value not in choices:
        raise error(
            name, f"は {'、'.join(choices)} のいずれかで設定してください（{value!r} が設定されています）。"
        )
    return value


def account_number(name: str, default=_MISSING) -> str:
    """A bank account number: 7 ASCII digits, as the Zengin formats carry it."""
    value = _read(name, default)
    if not re.fullmatch(r"[0-9]{7}", value):
        raise error(name, f"は7桁の半角数字で設定してください（{value!r} が設定されています）。")
    return value


def zengin_name(name: str, default=_MISSING) -> str:
    """An account holder's name as the bank prints it: half-width katakana, upper-case
    letters, digits and the signs of the Zengin formats (e.g. ｶ)ｲﾝﾀｰﾈｯﾄｲﾆｼｱﾃｨﾌﾞ)."""
    value = _read(name, default)
    if not is_zengin_name(value):
        raise error(
            name,
            f"は半角カナ・英大文字・数字（全銀協の文字）で設定してください（{value!r} が設定されています）。",
        )
    return value


def journal_name(name: str, default=_MISSING, *, width: int = 24) -> str:
    """An account name or tax category as the accounting software has it: printable text
    (``text``) that Shift_JIS (CP932) can hold, at most ``width`` half-width units (弥生's
    勘定科目 holds 24)."""
    value = text(name, default)
    try:
        encoded = value.encode("cp932")
    except UnicodeEncodeError as problem:
        char = value[problem.start]
        raise error(
            name,
            f"の「{char}」は Shift_JIS (CP932) で書けません。会計ソフトの科目名のとおりに設定してください。",
        ) from None
    if len(encoded) > width:
        raise error(
            name, f"は半角{width}文字（全角{width // 2}文字）までです（{value!r} が設定されています）。"
        )
    return value


EMAIL_SCHEMES = (
    "smtp",
    "smtps",
    "smtp+tls",
    "smtp+ssl",
    "consolemail",
    "filemail",
    "memorymail",
    "dummymail",
)


def email_url(name: str = "EMAIL_URL", default=_MISSING) -> dict:
    """Django's EMAIL_* settings from one URL (django-environ's ``email_url``), e.g.
    ``smtp+tls://user:password@smtp.example.jp:587`` or ``filemail:///var/mail/smartkey``."""
    value = _read(name, default)
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in EMAIL_SCHEMES:
        raise error(
            name,
            f"は {'、'.join(EMAIL_SCHEMES)} のいずれかで始まる URL で設定してください（例: smtp+tls://user:pass@smtp.example.jp:587）。",
        )
    try:
        config = environ.Env.email_url_config(value)
    except (ValueError, KeyError) as problem:
        raise error(name, f"の URL を読めません（{problem}）。") from None
    if scheme == "filemail":
        # the path as written after "filemail://" (django-environ drops its first "/")
        config["EMAIL_FILE_PATH"] = value.split("://", 1)[1]
    if scheme.startswith("smtp") and not config.get("EMAIL_HOST"):
        raise error(name, "にメールサーバーのホスト名がありません（例: smtp://smtp.example.jp:25）。")
    return config
