"""Operator pages outside the REST API."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from sessions.lifecycle import EndReason, State
from sessions.models import Cafe, Game


def dashboard(request: HttpRequest) -> HttpResponse:
    """The live dashboard of game sessions (behind the admin's staff login, in the admin's look)."""
    context = {
        **admin.site.each_context(request),
        "title": "Live dashboard: game sessions",
        "states": [s.value for s in State],
        "reasons": [r.value for r in EndReason],
        "games": Game.objects.values_list("slug", flat=True),
        "cafes": Cafe.objects.values_list("id", "name"),
        "time_zone": settings.TIME_ZONE,
        "login_url": reverse("admin:login") + "?next=" + request.path,
    }
    return TemplateResponse(request, "admin/dashboard/dashboard.html", context)
