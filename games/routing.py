"""WebSocket routes of the games app."""

from __future__ import annotations

from django.urls import re_path

from games.consumers import GameConsumer

websocket_urlpatterns = [
    re_path(r"^ws/games/(?P<code>[A-Za-z]{1,8})/$", GameConsumer.as_asgi()),
]
