"""WebSocket routes of every app."""

from __future__ import annotations

from typing import Any

from dashboard.routing import websocket_urlpatterns as dashboard_ws
from games.routing import websocket_urlpatterns as games_ws

websocket_urlpatterns: list[Any] = [*dashboard_ws, *games_ws]
