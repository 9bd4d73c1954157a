from __future__ import annotations

from django.urls import path

from games import views

app_name = "games"

urlpatterns = [
    path("api/catalog", views.api_catalog, name="catalog"),
    path("api/sessions", views.api_create_session, name="sessions"),
    path("gm/", views.gm_console, name="gm_home"),
    path("gm/<str:code>/", views.gm_console, name="gm"),
    path("gm/<str:code>/qr.svg", views.gm_qr, name="gm_qr"),
    path("play/", views.player_page, name="play_home"),
    path("play/<str:code>/", views.player_page, name="play"),
]
