"""The live operator dashboard's WebSocket: staff only, snapshot on connect, then updates."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard import queries
from dashboard.hub import hub

CLOSE_FORBIDDEN = 4403


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_active or not user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.query = queries.TableQuery()
        await self.accept()
        await hub.join(self.channel_name)
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "query"):
            await hub.leave(self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_error("a message is a JSON object with a type")
            return
        kind = content.get("type")
        if kind == "resync":
            await self.send_snapshot()
        elif kind == "query":
            try:
                self.query = queries.TableQuery.parse(content)
            except ValueError as exc:
                await self.send_error(str(exc))
                return
            page = await sync_to_async(self._table)()
            await self.send_json({"type": "table", "table": page})
        else:
            await self.send_error(f"unknown message type {kind!r}")

    async def dashboard_update(self, event: dict[str, Any]) -> None:
        await self.send_json(event["update"])

    async def send_snapshot(self) -> None:
        await self.send_json(await sync_to_async(hub.snapshot)(self.query))

    async def send_error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    def _table(self) -> dict[str, Any]:
        from django.utils import timezone

        return queries.table(self.query, timezone.now())
