"""The game WebSocket: authenticate, validate every frame, hand it to the owning runtime."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from games import codes, guard, protocol
from games.protocol import BadMessage, encode
from games.registry import get_runtime
from games.room import Identity
from games.runtime import DISCONNECT, HERE
from games.throttle import SocketGate, Verdict


class GameConsumer(AsyncWebsocketConsumer):
    """``/ws/games/<CODE>/``: one socket of a player or of the GM console.

    The session may live in this process (messages go straight to the runtime) or in another
    one (messages are forwarded to the owner's inbox channel; its frames come back as
    ``games.frame`` / ``games.close`` layer events).
    """

    code: str
    owner: str | None  # inbox channel of the owning process when it is not this one
    ident: Identity
    gate: SocketGate
    closing: bool = False
    _heard: float = 0.0  # loop time of the owner's last frame (forwarded sockets)
    _watch: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        staff = bool(user and user.is_authenticated and user.is_active and user.is_staff)
        self.ident = Identity(user.pk if staff and user is not None else None, staff)
        self.gate = SocketGate(
            settings.GAMES_SOCKET_MESSAGES_PER_SECOND,
            settings.GAMES_SOCKET_BURST,
            settings.GAMES_SOCKET_FLOOD_SECONDS,
        )
        self.code = ""
        await self.accept()
        # The peer as the ASGI server reports it (behind a proxy: daphne/uvicorn --proxy-headers).
        ip = str((self.scope.get("client") or ("",))[0] or "")
        wait = await guard.blocked_for(ip)
        if wait:
            await self._refuse_joins(wait)
            return
        raw = str(self.scope["url_route"]["kwargs"]["code"])
        code = codes.normalise(raw)
        runtime = get_runtime()
        await runtime.ensure_started()
        where = await runtime.locate(code) if code is not None else None
        if where is None or code is None:
            wait = await guard.unknown_code(ip)
            if wait:
                await self._refuse_joins(wait)
                return
            msg = "no live game has this code; check it or ask the game master for a new one"
            await self.send(encode("error", code="unknown_code", message=msg))
            await self.close(protocol.CLOSE_UNKNOWN_CODE)
            return
        self.owner = None if where == HERE else where
        self.code = code
        if self.owner is not None:
            self._heard = asyncio.get_running_loop().time()
            runtime.attach(self)  # the owner's batched frames for this socket come through here
            self._watch = asyncio.create_task(self._watch_owner(runtime))

    async def _refuse_joins(self, wait: int) -> None:
        msg = f"too many tries with unknown codes from your network; try again in {wait} s"
        await self.send(encode("error", code="rate_limited", message=msg, retryAfter=wait))
        await self.close(protocol.CLOSE_FLOODING)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.code or self.closing:
            return
        verdict = self.gate.admit(get_runtime().clock())
        if verdict is Verdict.DROP_QUIETLY:
            return
        if verdict is not Verdict.ADMIT:
            why = f"at most {self.gate.per_second:g} messages a second; this one was dropped"
            if verdict is Verdict.CLOSE:
                why = "too many messages for too long; closing this connection"
            await self.send(encode("error", code="rate_limited", message=why))
            if verdict is Verdict.CLOSE:
                await self._close(protocol.CLOSE_FLOODING)
            return
        try:
            msg = protocol.parse(
                text_data if text_data is not None else bytes_data,
                settings.GAMES_MAX_MESSAGE_BYTES,
                settings.GAMES_MAX_FRAME_BYTES,
            )
        except BadMessage as exc:
            await self.send(encode("error", code=exc.code, message=exc.message))
            if exc.close is not None:
                await self._close(exc.close)
            return
        await self._forward(msg)

    async def _close(self, code: int) -> None:
        self.closing = True
        await self.close(code)

    async def disconnect(self, close_code: int) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        get_runtime().detach(self)
        if getattr(self, "code", ""):
            await self._forward({"type": DISCONNECT})

    async def _watch_owner(self, runtime: Any) -> None:
        """A forwarded socket whose owner fell silent asks where the game lives now.

        The owner sends every viewer a frame each tick, so silence for a few ticks means the
        owning process stopped (its claim is released at a graceful exit, or expires after a
        crash) or the game moved. Then the socket closes with 4503 and the page rejoins, which
        lands on the game's new owner or adopts its snapshot (docs/games.md, "Persistence").
        """
        silence = max(2.0, 3 * settings.GAMES_TICK_MS / 1000)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(silence)
            if loop.time() - self._heard < silence:
                continue
            if await runtime.owner_of(self.code) != self.owner:
                self._watch = None  # this task is ending: disconnect() must not await it
                await self.close(protocol.CLOSE_OWNER_GONE)
                return

    async def _forward(self, msg: dict[str, Any]) -> None:
        if self.owner is None:
            await get_runtime().handle(self.code, self, self.ident, msg)
            return
        message = {
            "type": "games.input",
            "code": self.code,
            "reply": self.channel_name,
            "via": get_runtime().inbox,
            "ident": self.ident.to_dict(),
            "msg": msg,
        }
        try:
            await self.channel_layer.send(self.owner, message)
        except ChannelFull:
            if msg["type"] == DISCONNECT:
                return  # the owner drops the seat's socket when its frames fail instead
            why = "the game's server is overloaded and dropped this message; send it again"
            await self.send(encode("error", code="busy", message=why))

    # Handle protocol, for the runtime in this process.
    @property
    def channel(self) -> str:
        return str(self.channel_name)

    async def deliver(self, text: str) -> None:
        self._heard = asyncio.get_running_loop().time()
        # Straight to the server, as send(text_data=...) ends up doing: a big game sends a
        # thousand frames a tick, and each layer of coroutines costs every one of them.
        await self.base_send({"type": "websocket.send", "text": text})

    # Layer events from an owner in another process.
    async def games_frame(self, event: dict[str, Any]) -> None:
        self._heard = asyncio.get_running_loop().time()
        await self.send(text_data=event["text"])

    async def games_close(self, event: dict[str, Any]) -> None:
        await self.close(int(event["code"]))
