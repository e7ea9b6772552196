from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("IIJ SmartKey Management Service back office")
admin.site.site_title = _("SmartKey back office")
admin.site.index_title = _("Contracts and billing")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # the language switch (set_language)
]

handler403 = "config.views.permission_denied"
