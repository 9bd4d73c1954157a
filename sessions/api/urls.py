from __future__ import annotations

from django.urls import path

from sessions.api import launcher, views

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("game/session/verify", views.verify, name="verify"),
    path("game/session/heartbeat", views.heartbeat, name="heartbeat"),
    path("game/session/end", views.end, name="end"),
    path("game/session/check", views.check, name="check"),
    path("launcher/session/start", launcher.start, name="launcher-start"),
    path("launcher/ott", launcher.ott, name="launcher-ott"),
    path("launcher/session/heartbeat", launcher.heartbeat, name="launcher-heartbeat"),
    path("launcher/session/end", launcher.end, name="launcher-end"),
]
