from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import imports, qualified_invoice  # noqa: F401  (import kinds, system checks)
        from .documents import fonts  # noqa: F401  (system checks)
        from .roles import sync_roles_after_migrate
        from .runs import late

        late.connect()  # R15: changes of issued months are noted for the next run
        post_migrate.connect(sync_roles_after_migrate, sender=self)
        _show_empty_money_as_empty()


def _show_empty_money_as_empty() -> None:
    """django-money's admin integration prints an empty MoneyField as the text "None"
    (django-money/django-money#775, open). Wrap its display function so an empty amount
    shows the admin's empty value ("-"), like every other empty field."""
    import django.contrib.admin.helpers as admin_helpers
    import django.contrib.admin.templatetags.admin_list as admin_list
    import django.contrib.admin.utils as admin_utils
    from djmoney.models.fields import MoneyField

    money_display = admin_utils.display_for_field

    def display_for_field(value, field, empty_value_display, *args, **kwargs):
        if isinstance(field, MoneyField) and value is None:
            return empty_value_display
        return money_display(value, field, empty_value_display, *args, **kwargs)

    for module in (admin_utils, admin_helpers, admin_list):
        module.display_for_field = display_for_field
