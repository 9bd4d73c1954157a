"""The live operator dashboard's WebSocket: staff only, snapshot on connect, then updates; and
the operator's actions (end a session or a live game, kick a player), each checked and audited."""

from __future__ import annotations

import re
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard import actions, queries
from dashboard.hub import hub

CLOSE_FORBIDDEN = 4403
CODE = re.compile(r"^[A-Za-z]{4}$")
MAX_REASON = 200


def user_group(user_id: int) -> str:
    return f"playwave.dashboard.user.{user_id}"


def announce_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """user_logged_out receiver: close that user's open dashboards."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if user is None or layer is None:
        return
    async_to_sync(layer.group_send)(user_group(user.pk), {"type": "dashboard.signed_out"})


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_active or not user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.query = queries.TableQuery()
        self.can_end = await sync_to_async(actions.may_end)(user)
        await self.accept()
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await hub.join(self.channel_name)
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "query"):
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
            await hub.leave(self.channel_name)

    async def dashboard_signed_out(self, event: dict[str, Any]) -> None:
        """The user logged out (in any tab, on any process): this page must sign in again."""
        await self.close(code=CLOSE_FORBIDDEN)

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
        elif kind in ("session.end", "game.end", "game.kick"):
            await self.act(kind, content)
        else:
            await self.send_error(f"unknown message type {kind!r}")

    async def act(self, kind: str, content: dict[str, Any]) -> None:
        reason = content.get("reason", "")
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            await self.send_error(f"reason must be text of at most {MAX_REASON} characters")
            return
        try:
            if kind == "session.end":
                session_id = str(content.get("id") or "")
                message = await sync_to_async(actions.end_session)(self.user, session_id)
            else:
                code = content.get("code")
                if not isinstance(code, str) or not CODE.match(code):
                    raise actions.Refused("code must be a four-letter join code")
                if kind == "game.end":
                    message = await actions.end_game(self.user, code.upper(), reason.strip())
                else:
                    player = content.get("player")
                    if not isinstance(player, str) or not 0 < len(player) <= 32:
                        raise actions.Refused("player must be a player id")
                    message = await actions.kick(self.user, code.upper(), player, reason.strip())
        except actions.Refused as exc:
            await self.send_json({"type": "refused", "action": kind, "message": str(exc)})
            return
        await self.send_json({"type": "done", "action": kind, "message": message})

    async def dashboard_update(self, event: dict[str, Any]) -> None:
        await self.send_json(event["update"])

    async def send_snapshot(self) -> None:
        snapshot = await sync_to_async(hub.snapshot)(self.query)
        await self.send_json({**snapshot, "can_end": self.can_end})

    async def send_error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    def _table(self) -> dict[str, Any]:
        from django.utils import timezone

        return queries.table(self.query, timezone.now())
