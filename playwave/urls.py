from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from playwave import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("v1/", include("sessions.api.urls")),
    path("admin/", admin.site.urls),
]
