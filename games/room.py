"""One hosted game: its world, its sockets and everything it does for them.

A :class:`Room` owns its behaviour: join (full state on join), spectate, leave, chat, player
inputs queued for the next tick, GM commands, its limits and the broadcast of each viewer's
world. It never looks at other rooms, the clock or the process: the runtime
(:mod:`games.runtime`) finds rooms by code, passes the time in and schedules their ticks.

Messages arrive validated (:mod:`games.protocol`); each type's handler is named in the protocol's
one table of message types and looked up in :attr:`Room.HANDLERS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from games import metrics, protocol
from games.engine import (
    ENDED,
    EVERYONE,
    GM,
    Event,
    Input,
    Ruleset,
    World,
    apply,
    snapshot,
    snapshot_json,
    step,
)
from games.protocol import encode
from games.throttle import Bucket

logger = logging.getLogger("playwave.games")

PLAYER = "player"
SPECTATOR = "gm"
YIELD_EVERY = 50  # viewers sent to between yields to the event loop, so sockets stay served


class Handle(Protocol):
    """One WebSocket, wherever it lives."""

    @property
    def channel(self) -> str: ...

    async def deliver(self, text: str) -> None: ...
    async def close(self, code: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is behind a socket, as the socket's process authenticated it."""

    user_id: int | None = None
    staff: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, to forward with a message."""
        return {"user_id": self.user_id, "staff": self.staff}


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """What one session takes from each of its players (settings GAMES_CHAT_*, GAMES_INPUTS_*)
    and how far each player's `world` reaches (GAMES_VIEW_RADIUS, metres; None: everyone)."""

    chat_per_minute: float = 30
    chat_burst: int = 10
    inputs_per_tick: int = 10
    view_radius: float | None = None


@dataclass(slots=True)
class Viewer:
    handle: Handle
    role: str  # PLAYER or SPECTATOR
    player_id: str | None = None


def hash_token(token: str) -> str:
    """Rejoin tokens are kept only as hashes, so a leaked snapshot cannot take a seat."""
    return hashlib.sha256(token.encode()).hexdigest()


Handler = Callable[
    ["Room", Handle, Viewer | None, Identity, dict[str, Any], float], Awaitable[None]
]


@dataclass(slots=True)
class Room:
    """One hosted game: its world plus everything the engine does not know about."""

    code: str
    game_id: str
    host_id: int | None
    world: World
    created_at: float
    last_activity: float
    pending: list[Input] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # token hash -> player id
    kicked: dict[str, str] = field(default_factory=dict)  # token hash -> removed player id
    viewers: dict[str, Viewer] = field(default_factory=dict)  # channel name -> viewer
    chat: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))
    ended_at: float | None = None
    limits: RoomLimits = field(default_factory=RoomLimits)
    chat_budgets: dict[str, Bucket] = field(default_factory=dict)  # author -> chat budget
    queued: dict[str, int] = field(default_factory=dict)  # channel -> inputs queued this tick
    phase: int = 0  # which phase of the tick period this room ticks in (Runtime._scheduler)

    HANDLERS: ClassVar[dict[str, Handler]]  # each kind of message's handler (below the class)

    def summary(self) -> dict[str, Any]:
        """A line for the admin list of live sessions."""
        w = self.world
        return {
            "code": self.code,
            "game": self.game_id,
            "status": w.status,
            "players": sum(1 for p in w.players.values() if p.present and p.bot is None),
            "bots": sum(1 for p in w.players.values() if p.present and p.bot is not None),
            "sockets": len(self.viewers),
            "host_id": self.host_id,
            "created_at": self.created_at,
            "last_activity": self.last_activity,
        }

    # --- messages from sockets -----------------------------------------------------------------

    async def handle(self, h: Handle, ident: Identity, msg: dict[str, Any], now: float) -> None:
        """One validated message from a socket (local or forwarded)."""
        self.last_activity = now
        handler = self.HANDLERS[protocol.MESSAGES[msg["type"]].handler]
        await handler(self, h, self.viewers.get(h.channel), ident, msg, now)

    def leave(self, channel: str) -> None:
        """A socket went away; its player keeps the seat for a rejoin."""
        self.viewers.pop(channel, None)

    async def _on_join(
        self, h: Handle, v: Viewer | None, ident: Identity, msg: dict[str, Any], now: float
    ) -> None:
        if v is not None:
            await error(h, "already_joined", "this connection has already joined")
            return
        if self.world.status == ENDED:
            await error(h, "ended", "this game is over")
            await close_socket(h, protocol.CLOSE_GAME_OVER)
            return
        token = msg.get("token")
        if token is not None and hash_token(token) in self.kicked:
            await error(h, "kicked", "the game master removed you from this game")
            await close_socket(h, protocol.CLOSE_KICKED)
            return
        if token is not None:
            pid = self.tokens.get(hash_token(token))
            if pid is None:
                await error(h, "bad_token", "this rejoin token is not valid here; join by name")
                return
            data: dict[str, Any] = {"playerId": pid}
        else:
            data = {"name": msg.get("name", "")}
            taken = _name_taken(self.world, data["name"])
            if taken is not None:
                await error(h, "name_taken", taken)
                return
        _, events = apply(self.world, now, [Input("join", None, data, ref=h.channel)])
        joined = [e for e in events if e.type == "joined" and e.ref == h.channel]
        if not joined:
            for e in events:
                if e.type == "error" and e.ref == h.channel:
                    await send(h, encode("error", **e.data))
            await self.route([e for e in events if e.type != "error"])
            return
        pid = str(joined[0].data["playerId"])
        if token is None:
            token = secrets.token_urlsafe(24)
            self.tokens[hash_token(token)] = pid
        for ch, other in list(self.viewers.items()):
            if other.player_id == pid:
                # The same seat from a new phone or tab: the newest connection wins.
                del self.viewers[ch]
                note = "this seat is now played from another tab or phone"
                await error(other.handle, "replaced", note)
                await close_socket(other.handle, protocol.CLOSE_REPLACED)
        self.viewers[h.channel] = Viewer(h, PLAYER, pid)
        world = snapshot(self.world, pid, view_radius=self.limits.view_radius)
        await send(h, encode("welcome", playerId=pid, token=token, world=world))
        await send(h, encode("chat_history", messages=list(self.chat)))
        await self.route(events)

    async def _on_spectate(
        self, h: Handle, v: Viewer | None, ident: Identity, msg: dict[str, Any], now: float
    ) -> None:
        if not ident.staff:
            await error(h, "forbidden", "spectating needs a signed-in staff user")
            return
        if v is not None:
            await error(h, "already_joined", "this connection has already joined")
            return
        self.viewers[h.channel] = Viewer(h, SPECTATOR)
        world = snapshot(self.world, GM)
        host = ident.user_id is not None and ident.user_id == self.host_id
        setup = _setup(self.world.ruleset)
        frame = encode("welcome", playerId=None, token=None, world=world, host=host, setup=setup)
        await send(h, frame)
        await send(h, encode("chat_history", messages=list(self.chat)))

    async def _on_input(
        self, h: Handle, v: Viewer | None, ident: Identity, msg: dict[str, Any], now: float
    ) -> None:
        """A location or action: checked and applied at the next tick, a bounded few per tick."""
        if v is None or v.role != PLAYER:
            await error(h, "not_joined", "join the game first")
            return
        queued = self.queued.get(h.channel, 0)
        if queued >= self.limits.inputs_per_tick:
            n = self.limits.inputs_per_tick
            await error(h, "rate_limited", f"at most {n} moves and actions a tick")
            return
        self.queued[h.channel] = queued + 1
        data = {k: val for k, val in msg.items() if k != "type"}
        self.pending.append(Input(msg["type"], v.player_id, data, ref=h.channel))

    async def _on_chat(
        self, h: Handle, v: Viewer | None, ident: Identity, msg: dict[str, Any], now: float
    ) -> None:
        if v is None:
            await error(h, "not_joined", "join the game first")
            return
        text = msg["text"].strip()
        if not text:
            await error(h, "bad_message", "text: empty message")
            return
        if v.role == PLAYER and v.player_id in self.world.players:
            author, name = v.player_id, self.world.players[v.player_id].name
        else:
            author, name = GM, "Game master"
        # Per player (every tab of a seat together), per socket for spectators.
        budget_key = author if author != GM else f"{GM}:{h.channel}"
        budget = self.chat_budgets.get(budget_key)
        if budget is None:
            lim = self.limits
            budget = Bucket(lim.chat_per_minute / 60, lim.chat_burst)
            self.chat_budgets[budget_key] = budget
        if not budget.take(now):
            per = self.limits.chat_per_minute
            await error(h, "rate_limited", f"at most {per:g} chat messages a minute; wait a moment")
            return
        entry = {"from": author, "name": name, "text": text, "ts": now}
        self.chat.append(entry)
        frame = encode("chat", message=entry)
        for viewer in list(self.viewers.values()):
            await self._deliver(viewer, frame)

    async def _on_gm(
        self, h: Handle, v: Viewer | None, ident: Identity, msg: dict[str, Any], now: float
    ) -> None:
        """A GM command from the hosting staff user: applied at once, a fresh world for all."""
        if v is None or v.role != SPECTATOR or not ident.staff:
            await error(h, "forbidden", "only the game master may do that")
            return
        if ident.user_id is None or ident.user_id != self.host_id:
            await error(h, "forbidden", "only the staff user hosting this game may do that")
            return
        t = msg["type"]
        data = {k: val for k, val in msg.items() if k != "type"}
        _, events = apply(self.world, now, [Input(t, GM, data, ref=h.channel)])
        if any(e.type == "error" for e in events):
            await self.route(events)  # refused: nothing changed, nothing to broadcast
            return
        await self.after(events, now)
        if t == "gm.kick":
            await self._kicked(str(data["playerId"]))

    # --- operator actions ----------------------------------------------------------------------

    async def end(self, now: float) -> bool:
        """End the game as its GM's "end" would; False if it is over already."""
        if self.world.status == ENDED:
            return False
        self.last_activity = now
        _, events = apply(self.world, now, [Input("gm.end", GM, {}, ref=None)])
        await self.after(events, now)
        return True

    async def kick(self, player_id: str, reason: str, now: float) -> bool:
        """Remove a player as the GM's "remove" does; False if no such human player is present."""
        data = {"playerId": player_id, "reason": reason}
        _, events = apply(self.world, now, [Input("gm.kick", GM, data, ref=None)])
        if any(e.type == "error" for e in events):
            return False
        self.last_activity = now
        await self.after(events, now)
        await self._kicked(player_id)
        return True

    async def _kicked(self, pid: str) -> None:
        """A removed player's token stops working and their sockets close (after the event)."""
        for th in [th for th, owner in self.tokens.items() if owner == pid]:
            self.kicked[th] = self.tokens.pop(th)
        for ch, v in list(self.viewers.items()):
            if v.role == PLAYER and v.player_id == pid:
                del self.viewers[ch]
                await close_socket(v.handle, protocol.CLOSE_KICKED)

    async def close(self, reason: str, idle_minutes: int) -> None:
        """The server closes this room: every socket is told why, then closed."""
        text = (
            f"This game was closed after {idle_minutes} minutes without activity."
            if reason == "idle"
            else "This game is over and has been closed."
        )
        frame = encode("event", event={"type": "closed", "reason": reason, "text": text})
        for v in list(self.viewers.values()):
            await self._deliver(v, frame)
            await close_socket(v.handle, protocol.CLOSE_REAPED)
        self.viewers.clear()

    # --- ticking and broadcasting --------------------------------------------------------------

    async def tick(self, now: float) -> None:
        """Apply what arrived since the last tick, tick the world and send every viewer's view."""
        if self.world.status == ENDED:
            return
        started = time.perf_counter()
        inputs, self.pending = self.pending, []
        self.queued.clear()
        _, events = step(self.world, now, inputs)
        await self.after(events, now)
        metrics.GAMES_TICK.observe(time.perf_counter() - started)

    async def after(self, events: list[Event], now: float) -> None:
        """Route events, broadcast worlds, and close players' sockets once the game is over."""
        await self.route(events)
        await self.broadcast()
        if self.world.status == ENDED and self.ended_at is None:
            self.ended_at = now
            for ch, v in list(self.viewers.items()):
                if v.role == PLAYER:
                    del self.viewers[ch]
                    await close_socket(v.handle, protocol.CLOSE_GAME_OVER)

    async def broadcast(self) -> None:
        """Each viewer's snapshot, encoded once per distinct viewer; the frames for sockets on
        another process go there together, one layer message per process."""
        cache: dict[str, str] = {}
        batches: dict[str, list[Viewer]] = {}
        for i, v in enumerate(list(self.viewers.values())):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a big session lets sockets drain as it goes
            key = _viewer_key(v)
            text = cache.get(key)
            if text is None:
                world = snapshot_json(self.world, key, self.limits.view_radius)
                text = cache[key] = f'{{"type":"world","world":{world}}}'
            via = getattr(v.handle, "via", None)
            if via is not None:
                batches.setdefault(via, []).append(v)
            else:
                await self._deliver(v, text)
        for viewers in batches.values():
            await self._deliver_batch(viewers, cache)

    async def route(self, events: Iterable[Event]) -> None:
        """Send each event to the viewers it is for."""
        for e in events:
            if e.type == "joined":
                continue
            if e.type == "error":
                v = self.viewers.get(e.ref or "")
                if v is not None:
                    await self._deliver(v, encode("error", **e.data))
                continue
            if e.type == "preflight":
                frame = encode("preflight", **e.data)
                targets = self._viewers((GM,))
            elif e.type == "log":
                frame = encode("log", entry=e.data)
                targets = self._viewers((GM,))
            elif e.type == "event":
                frame = encode("event", event=e.data["event"])
                targets = self._viewers(e.to)
            else:
                continue
            for v in targets:
                await self._deliver(v, frame)

    def _viewers(self, to: tuple[str, ...]) -> list[Viewer]:
        if EVERYONE in to:
            return list(self.viewers.values())
        return [
            v
            for v in self.viewers.values()
            if (v.role == SPECTATOR and GM in to) or (v.role == PLAYER and v.player_id in to)
        ]

    async def _deliver_batch(self, viewers: list[Viewer], texts: dict[str, str]) -> None:
        frames = [(v.handle.channel, texts[_viewer_key(v)]) for v in viewers]
        try:
            await viewers[0].handle.deliver_batch(frames)  # type: ignore[attr-defined]
        except Exception:
            # That process is unreachable (gone, or its inbox full): its sockets rejoin.
            logger.info(
                "games %s: dropping %d sockets of an unreachable process", self.code, len(viewers)
            )
            for v in viewers:
                self.viewers.pop(v.handle.channel, None)

    async def _deliver(self, v: Viewer, text: str) -> None:
        try:
            await v.handle.deliver(text)
        except Exception:
            # A socket that cannot take a frame is gone; its player keeps the seat for a rejoin.
            logger.info("games %s: dropping unreachable socket %s", self.code, v.handle.channel)
            self.viewers.pop(v.handle.channel, None)


def _viewer_key(v: Viewer) -> str:
    """Whose snapshot a viewer gets: its player's, or the GM's."""
    return v.player_id if v.role == PLAYER and v.player_id else GM


Room.HANDLERS = {
    "join": Room._on_join,
    "spectate": Room._on_spectate,
    "input": Room._on_input,
    "chat": Room._on_chat,
    "gm": Room._on_gm,
}


def _setup(rs: Ruleset) -> dict[str, Any]:
    """What the GM console's panels need beyond the snapshot: bot classes and item kinds."""
    spec = rs.spec
    return {
        "game": {"id": rs.id, "name": spec.name, "summary": spec.summary},
        "bots": [
            {
                "id": b.id,
                "name": b.name or b.id,
                "min": b.min,
                "max": b.max,
                "speed": b.speed,
                "tunable": b.tunable.model_dump() if b.tunable else None,
            }
            for b in spec.bots
        ],
        "itemTypes": [{"kind": t.kind, "label": t.label or t.kind} for t in spec.item_types],
        "minPlayers": spec.min_players,
        "maxPlayers": spec.max_players,
    }


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _name_taken(world: World, name: str) -> str | None:
    """Why ``name`` may not join ``world`` as a new player: someone already has it.

    Names are compared without case and extra spaces, against every seat (also one whose player
    dropped and may rejoin with their token) and bots, so two players are never confused on the
    map, in the chat or in a claim.
    """
    key = _name_key(name)
    if not key:
        return None
    for p in world.players.values():
        if _name_key(p.name) == key:
            return (
                f"someone in this game is already called {p.name!r}; "
                "pick another name (add an initial, for example)"
            )
    return None


async def send(h: Handle, text: str) -> None:
    """A frame to a socket that may be gone already."""
    with contextlib.suppress(Exception):
        await h.deliver(text)


async def close_socket(h: Handle, code: int) -> None:
    """Close a socket that may be gone already."""
    with contextlib.suppress(Exception):
        await h.close(code)


async def error(h: Handle, code: str, message: str) -> None:
    """An ``error`` frame to a socket that may be gone already."""
    await send(h, encode("error", code=code, message=message))
