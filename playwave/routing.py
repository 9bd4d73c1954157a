"""WebSocket routes of every app."""

from __future__ import annotations

from typing import Any

from games.routing import websocket_urlpatterns as games_ws

websocket_urlpatterns: list[Any] = [*games_ws]
