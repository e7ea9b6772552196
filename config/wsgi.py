"""
WSGI config for config project.

It exposes the WSGI callable as a module-level variable named ``application``.
A configuration error stops the process with one line on stderr and exit status 3,
on which gunicorn's master halts (with or without --preload) instead of restarting
workers that would fail the same way.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

from config.startup import WORKER_BOOT_ERROR, stop_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

with stop_on_configuration_error(status=WORKER_BOOT_ERROR):
    application = get_wsgi_application()
