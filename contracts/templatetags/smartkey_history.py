"""The audit trail's page (templates/simple_history/object_history_list.html): when, in
Japan time, and who, by name."""

from django import template

from contracts import admin_history

register = template.Library()


@register.filter
def japan_time(moment):
    return admin_history.japan_time(moment) if moment else ""


@register.filter
def staff_name(user):
    return admin_history.staff_name(user) or ""
