"""Settings shared by every environment.

One module reads the environment (``environment``: a value, or one line naming the
variable and what is wrong with it). With no ``DATABASE_URL`` the embedded SQLite
database in the project directory is used, so the demo runs anywhere; production and
CI use PostgreSQL.
"""

from pathlib import Path

from csp.constants import NONCE, NONE, SELF, UNSAFE_HASHES

from billing.bank import ACCOUNT_TYPES

from . import client_address, environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = environment.boolean("DEBUG", default=True)
SECRET_KEY = environment.string(
    "SECRET_KEY",
    default="django-insecure-local-development-key-never-use-in-production",
)
ALLOWED_HOSTS = environment.hosts("ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djmoney",
    "simple_history",
    "config.apps.AxesConfig",  # django-axes, named in Japanese
    "csp",
    "contracts",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (django-csp)
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # audit trail: the user behind each change (django-simple-history)
    "simple_history.middleware.HistoryRequestMiddleware",
    # throttles repeated failed logins; last, as django-axes requires
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes: after 5 failed logins for one username from one address, refuse that
# pair for an hour (a person can still log in from elsewhere; an attacker cannot guess on)
AXES_FAILURE_LIMIT = environment.whole_number("AXES_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = environment.positive_number("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address of a login attempt (client_address.py): REMOTE_ADDR with no proxy in front;
# behind N trusted proxies, the address the outermost one saw, from X-Forwarded-For.
TRUSTED_PROXY_COUNT = environment.whole_number("TRUSTED_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_META_PRECEDENCE_ORDER, AXES_IPWARE_PROXY_COUNT = client_address.ipware_source(TRUSTED_PROXY_COUNT)
IPWARE_STRICT = False  # read by django-ipware itself: django-axes passes no strict argument

# The admin is the whole site: its login page, and after login its index (also where a
# "next" pointing to another site falls back to, instead of Django's /accounts/profile/)
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": environment.database(
        "DATABASE_URL",
        engines=(environment.POSTGRESQL, environment.SQLITE),
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    ),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# PostgreSQL: the role the application connects as when it does not own the tables (README,
# "Database roles"). Each migrate, run as the owner, grants it what the application needs.
DATABASE_APP_ROLE = environment.string("DATABASE_APP_ROLE", default="")
# import_csv: the largest file imported without --allow-large (the whole file is checked
# before anything is written, in memory)
# the codes proposed for a new customer or contract on its add page: the next number of
# the pattern ({number} with Python's format, e.g. {number:05d}); staff may type another
CUSTOMER_CODE_FORMAT = environment.string("CUSTOMER_CODE_FORMAT", default="C{number:05d}")
CONTRACT_CODE_FORMAT = environment.string("CONTRACT_CODE_FORMAT", default="SK-{number:05d}")
IMPORT_MAX_BYTES = environment.whole_number("IMPORT_MAX_BYTES", default=100 * 1024 * 1024, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Screens are Japanese; English stays available through the language setting.
LANGUAGE_CODE = "ja"
# each language named in itself in the switch
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
# R13: every business date is a date in Japan.
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# the project's own scripts and styles (templates/ holds no inline script or style)
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# django-money: everything is Japanese yen.
CURRENCIES = ("JPY",)
DEFAULT_CURRENCY = "JPY"
# amounts as the screens' own figures write them (¥30,000): Babel's Japanese symbol is the
# full-width ￥, which stood beside ¥250.5 on the same page
MONEY_FORMAT = {"format": "¥#,##0"}

# The issuer printed on invoices (qualified invoice system, R12). The defaults are the
# demo's; production reads all three from the environment with no default.
ISSUER_NAME = environment.text("ISSUER_NAME", default="株式会社インターネットイニシアティブ")
ISSUER_ADDRESS = environment.text(
    "ISSUER_ADDRESS", default="東京都千代田区富士見2-10-2 飯田橋グラン・ブルーム"
)
ISSUER_REGISTRATION_NUMBER = environment.registration_number(
    "ISSUER_REGISTRATION_NUMBER", default="T2010001034531"
)

# R18: the account invoices ask to be paid into (振込先), printed on every invoice; the
# defaults are the demo's, production reads each from the environment with no default.
PAYEE_BANK = environment.text("PAYEE_BANK", default="みずほ銀行")
PAYEE_BRANCH = environment.text("PAYEE_BRANCH", default="飯田橋支店")
PAYEE_ACCOUNT_TYPE = environment.choice("PAYEE_ACCOUNT_TYPE", tuple(ACCOUNT_TYPES), default="普通")
PAYEE_ACCOUNT_NUMBER = environment.account_number("PAYEE_ACCOUNT_NUMBER", default="1234567")
PAYEE_ACCOUNT_HOLDER = environment.zengin_name("PAYEE_ACCOUNT_HOLDER", default="ｶ)ｲﾝﾀｰﾈﾂﾄｲﾆｼｱﾃｲﾌﾞ")
# R18: a due date on which banks are closed moves to the bank business day before it
# (previous) or after it (next)
DUE_DATE_ROLL = environment.choice("DUE_DATE_ROLL", ("previous", "next"), default="previous")
# R17: how far short of an invoice's balance a transfer may be and still pay it, the
# difference being the payer's bank transfer fee (振込手数料) the company accepts, in yen
PAYMENT_FEE_TOLERANCE = environment.whole_number("PAYMENT_FEE_TOLERANCE", default=880)

# R19: where the issued PDFs are kept (database, or Django's "documents" storage if it is
# configured, else the default one) and the Japanese TrueType fonts embedded in them
# (empty: the IPA fonts of the distribution, found by billing/documents/fonts.py)
DOCUMENT_STORAGE = environment.choice("DOCUMENT_STORAGE", ("database", "storage"), default="database")
DOCUMENT_FONT_GOTHIC = environment.string("DOCUMENT_FONT_GOTHIC", default="")
DOCUMENT_FONT_MINCHO = environment.string("DOCUMENT_FONT_MINCHO", default="")

# R19: sending documents (send_invoices): Django's email settings from one URL. The demo
# writes each message as a file under sent-mail/; production names its SMTP server.
vars().update(environment.email_url("EMAIL_URL", default=f"filemail://{BASE_DIR / 'sent-mail'}"))
DEFAULT_FROM_EMAIL = environment.text(
    "DEFAULT_FROM_EMAIL", default="IIJ SmartKey 請求書 <billing@example.jp>"
)
# where Django's default storage keeps files (documents kept with DOCUMENT_STORAGE=storage)
MEDIA_ROOT = BASE_DIR / "media"

# The journals for accounting software (export_journal): the account names and tax
# categories of the company's chart of accounts. 弥生 "課税売上内10%" books the
# tax-included amount with its tax (税抜経理, 内税); 税込経理 or 簡易課税 users set the
# name their program has, e.g. "課税売上込10%" or "課税売上内四10%".
JOURNAL_RECEIVABLE_ACCOUNT = environment.journal_name("JOURNAL_RECEIVABLE_ACCOUNT", default="売掛金")
JOURNAL_SALES_ACCOUNT = environment.journal_name("JOURNAL_SALES_ACCOUNT", default="売上高")
# the receipts journal (R17): the bank account deposits arrive in, the customer's credit
# (前受金) they are booked to until applied, and the transfer fees accepted
JOURNAL_BANK_ACCOUNT = environment.journal_name("JOURNAL_BANK_ACCOUNT", default="普通預金")
JOURNAL_ADVANCE_ACCOUNT = environment.journal_name("JOURNAL_ADVANCE_ACCOUNT", default="前受金")
JOURNAL_FEE_ACCOUNT = environment.journal_name("JOURNAL_FEE_ACCOUNT", default="支払手数料")
JOURNAL_YAYOI_TAX_CATEGORY = environment.journal_name("JOURNAL_YAYOI_TAX_CATEGORY", default="課税売上内10%")
JOURNAL_FREEE_TAX_CATEGORY = environment.journal_name("JOURNAL_FREEE_TAX_CATEGORY", default="課税売上10%")
JOURNAL_MF_TAX_CATEGORY = environment.journal_name("JOURNAL_MF_TAX_CATEGORY", default="課税売上 10%")

# Content-Security-Policy (django-csp): scripts, styles and images from this site only;
# no inline script and no event-handler attribute (templates/ has none: their behaviour
# is in config/static/smartkey/site.js); no plugin, no <base>, no framing, forms posted
# here only. Styles: stylesheets from this site and, on the invoice document, its one
# <style> element by nonce; Django's admin writes no style attribute (its scripts use
# the CSSOM, which CSP allows). The one style attribute allowed, by hash, is
# django-simple-history's history page's <p class="paginator" style="border-top: 0">.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_HASHES, "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
