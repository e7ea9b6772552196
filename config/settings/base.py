"""Settings shared by every environment.

One ``env`` object reads the environment (cookiecutter-django style). With no
``DATABASE_URL`` the embedded SQLite database in the project directory is used,
so the demo runs anywhere; production and CI use PostgreSQL.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env(
    "SECRET_KEY",
    default="django-insecure-local-development-key-never-use-in-production",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "djmoney",
    "simple_history",
    "axes",
    "contracts",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

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
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# PostgreSQL: the role the application connects as when it does not own the tables (README,
# "Database roles"). Each migrate, run as the owner, grants it what the application needs.
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="")
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# django-money: everything is Japanese yen.
CURRENCIES = ("JPY",)
DEFAULT_CURRENCY = "JPY"

# The issuer printed on invoices (qualified invoice system, R12). The defaults are the
# demo's; production reads all three from the environment with no default.
ISSUER_NAME = env("ISSUER_NAME", default="株式会社インターネットイニシアティブ")
ISSUER_ADDRESS = env("ISSUER_ADDRESS", default="東京都千代田区富士見2-10-2 飯田橋グラン・ブルーム")
ISSUER_REGISTRATION_NUMBER = env("ISSUER_REGISTRATION_NUMBER", default="T2010001034531")
