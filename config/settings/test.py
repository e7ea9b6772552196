"""Test settings: the same database choice as base (``DATABASE_URL`` or SQLite),
a fast password hasher, and no real mail."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Tests log in with force_login; the login-throttling tests switch axes on themselves.
AXES_ENABLED = False
