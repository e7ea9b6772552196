"""
ASGI config for config project.

It exposes the ASGI callable as a module-level variable named ``application``.
A configuration error stops the process with one line on stderr (as config.wsgi does).

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/asgi/
"""

import os

from django.core.asgi import get_asgi_application

from config.startup import WORKER_BOOT_ERROR, stop_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

with stop_on_configuration_error(status=WORKER_BOOT_ERROR):
    application = get_asgi_application()
