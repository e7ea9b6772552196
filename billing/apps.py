from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import imports, qualified_invoice  # noqa: F401  (import kinds, system checks)
        from .roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, sender=self)
