from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from dashboard import views as dashboard_views
from playwave import views
from playwave.metrics import metrics_view

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("v1/", include("sessions.api.urls")),
    path("admin/dashboard/", admin.site.admin_view(dashboard_views.dashboard), name="dashboard"),
    path("admin/", admin.site.urls),
    path("games/", include("games.urls")),
]
