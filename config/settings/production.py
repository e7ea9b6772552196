"""Production settings: PostgreSQL, no default for any secret.

A missing ``SECRET_KEY``, ``DATABASE_URL`` or ``ALLOWED_HOSTS`` stops start-up
(django-environ raises ``ImproperlyConfigured``).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
ISSUER_NAME = env("ISSUER_NAME")
ISSUER_ADDRESS = env("ISSUER_ADDRESS")
ISSUER_REGISTRATION_NUMBER = env("ISSUER_REGISTRATION_NUMBER")
