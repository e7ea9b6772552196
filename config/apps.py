"""App configurations of installed apps, where the project names them for its users."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes, named on the admin index for what it is to staff."""

    verbose_name = _("Login throttling (failed logins)")
