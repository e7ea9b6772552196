"""Production settings: PostgreSQL, HTTPS only, no default for any secret.

Every variable is checked as the settings load (``environment``): a missing, empty or
malformed one (a short ``SECRET_KEY``, an unparsable ``DATABASE_URL``, a registration
number with a wrong check digit, ...) stops every entry point with one line naming it
(``config/startup.py``). Served by gunicorn behind a TLS-terminating proxy; static files
by whitenoise. ``manage.py check --deploy`` is clean with the environment documented in
the README.
"""

from billing.bank import ACCOUNT_TYPES

from . import environment
from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = environment.secret_key("SECRET_KEY")
ALLOWED_HOSTS = environment.hosts("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = environment.origins("CSRF_TRUSTED_ORIGINS", default="")
DATABASES = {"default": environment.database("DATABASE_URL", engines=(environment.POSTGRESQL,))}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = environment.whole_number("CONN_MAX_AGE", default=60)

# HTTPS: the proxy terminates TLS and says so in X-Forwarded-Proto
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = environment.boolean("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_HSTS_SECONDS = environment.whole_number("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = environment.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = environment.boolean("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# static files served by the application itself (whitenoise), right after security
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# no default: an invoice sent from the demo's folder would never reach a customer
vars().update(environment.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = environment.text("DEFAULT_FROM_EMAIL")

ISSUER_NAME = environment.text("ISSUER_NAME")
ISSUER_ADDRESS = environment.text("ISSUER_ADDRESS")
ISSUER_REGISTRATION_NUMBER = environment.registration_number("ISSUER_REGISTRATION_NUMBER")
PAYEE_BANK = environment.text("PAYEE_BANK")
PAYEE_BRANCH = environment.text("PAYEE_BRANCH")
PAYEE_ACCOUNT_TYPE = environment.choice("PAYEE_ACCOUNT_TYPE", tuple(ACCOUNT_TYPES))
PAYEE_ACCOUNT_NUMBER = environment.account_number("PAYEE_ACCOUNT_NUMBER")
PAYEE_ACCOUNT_HOLDER = environment.zengin_name("PAYEE_ACCOUNT_HOLDER")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": environment.log_level("LOG_LEVEL", default="INFO")},
}
