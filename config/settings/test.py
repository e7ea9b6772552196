"""Test settings: the same database choice as base (``DATABASE_URL`` or SQLite),
a fast password hasher, and no real mail."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Tests log in with force_login; the login-throttling tests switch axes on themselves.
AXES_ENABLED = False

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's in-memory database: with a file, each request thread of the
    # browser test's live server has a connection of its own, as in production. In
    # memory, all of them would share the test's one connection, and Chromium's parallel
    # requests (favicon, autocomplete, the form) interleaved on it break each other's
    # savepoints ("no such savepoint", seen once in CI). Django deletes the file after.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}  # noqa: F405
