from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("IIJ SmartKey Management Service back office")
admin.site.site_title = _("SmartKey back office")
admin.site.index_title = _("Contracts and billing")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
