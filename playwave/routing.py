"""WebSocket routes of every app."""

from __future__ import annotations

from typing import Any

from games.routing import websocket_urlpatterns as games_ws
from sessions.routing import websocket_urlpatterns as sessions_ws

websocket_urlpatterns: list[Any] = [*sessions_ws, *games_ws]
