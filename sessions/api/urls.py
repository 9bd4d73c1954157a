from __future__ import annotations

from django.urls import path

from sessions.api import views

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("game/session/verify", views.verify, name="verify"),
    path("game/session/heartbeat", views.heartbeat, name="heartbeat"),
    path("game/session/end", views.end, name="end"),
    path("game/session/check", views.check, name="check"),
]
