"""The site's error pages: a refused page in the admin's look and in the user's language,
with the admin's header and navigation (Django's default is a bare English page)."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse


def permission_denied(request, exception=None):
    context = admin.site.each_context(request) if request.user.is_active and request.user.is_staff else {}
    response = TemplateResponse(request, "403.html", {**context, "title": None}, status=403)
    return response.render()
