"""Live sessions in memory: the registry, the ~1 Hz tick scheduler, routing of messages.

A :class:`Runtime` lives in each server process and owns the sessions created there. It is the
only place that touches a session's world, always on the event loop, so no locks are needed.
Sockets talk to it through a :class:`Handle`: a socket in the same process is delivered to
directly; a socket on another process is reached through the channel layer (its channel name),
and that process forwards the socket's messages to this runtime's *inbox* channel, whose name is
stored with the join code so every process can find the owner.

Time comes from an injected clock (seconds, float), so tests drive ticks one at a time with
:meth:`Runtime.tick` instead of waiting for the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from games import codes, metrics, protocol
from games.engine import (
    ENDED,
    EVERYONE,
    GM,
    Event,
    Input,
    Ruleset,
    World,
    apply,
    new_world,
    snapshot,
    snapshot_json,
    step,
)
from games.protocol import encode
from games.throttle import Bucket

if TYPE_CHECKING:
    from games.persistence import SnapshotStore

logger = logging.getLogger("playwave.games")

PLAYER = "player"
SPECTATOR = "gm"
YIELD_EVERY = 50  # sessions ticked between yields to the event loop, so sockets stay served


class Handle(Protocol):
    """One WebSocket, wherever it lives."""

    @property
    def channel(self) -> str: ...

    async def deliver(self, text: str) -> None: ...
    async def close(self, code: int) -> None: ...


class RemoteHandle:
    """A socket on another process, reached through the channel layer."""

    def __init__(self, layer: Any, channel: str):
        self.layer = layer
        self.channel = channel

    async def deliver(self, text: str) -> None:
        await self.layer.send(self.channel, {"type": "games.frame", "text": text})

    async def close(self, code: int) -> None:
        await self.layer.send(self.channel, {"type": "games.close", "code": code})


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
    """What one session takes from each of its players (settings GAMES_CHAT_*, GAMES_INPUTS_*)."""

    chat_per_minute: float = 30
    chat_burst: int = 10
    inputs_per_tick: int = 10


@dataclass(slots=True)
class Viewer:
    handle: Handle
    role: str  # PLAYER or SPECTATOR
    player_id: str | None = None


def hash_token(token: str) -> str:
    """Rejoin tokens are kept only as hashes, so a leaked snapshot cannot take a seat."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class LiveSession:
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
    chat_budgets: dict[str, Bucket] = field(default_factory=dict)  # author -> chat budget
    queued: dict[str, int] = field(default_factory=dict)  # channel -> inputs queued this tick

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


class CodeStore(codes.CodeStore, Protocol):
    def get(self, key: str) -> Any: ...
    def touch(self, key: str, timeout: int) -> bool: ...
    def delete(self, key: str) -> Any: ...


class UnknownGame(Exception):
    """The requested ruleset id is not in the catalog."""


class Runtime:
    """The live sessions owned by this process and the loop that ticks them."""

    def __init__(
        self,
        *,
        store: CodeStore,
        layer: Any = None,
        clock: Callable[[], float] = time.time,
        tick_seconds: float = 1.0,
        idle_seconds: float = 3600,
        ended_keep_seconds: float = 600,
        code_ttl: int = 120,
        chat_history: int = 50,
        autostart: bool = True,
        snapshots: SnapshotStore | None = None,
        snapshot_seconds: float = 5.0,
        limits: RoomLimits | None = None,
    ):
        self.store = store
        self.layer = layer
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.idle_seconds = idle_seconds
        self.ended_keep_seconds = ended_keep_seconds
        self.code_ttl = code_ttl
        self.chat_history = chat_history
        self.autostart = autostart
        self.snapshots = snapshots
        self.snapshot_seconds = snapshot_seconds
        self.limits = limits or RoomLimits()
        self.sessions: dict[str, LiveSession] = {}
        self.inbox: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_refresh = 0.0
        self._last_save = 0.0
        self._restored = False
        self._unreadable: set[str] = set()  # snapshots already logged as unreadable

    # --- lifecycle of the process-wide tasks ---------------------------------------------------

    async def ensure_started(self) -> None:
        """Create the inbox channel, and start the scheduler and inbox reader on this loop."""
        if self.inbox is None and self.layer is not None:
            # The default prefix matters: channels_redis pulls every process-specific channel of
            # a process from one Redis list, so a custom prefix would never be read.
            self.inbox = await self.layer.new_channel()
        if not self._restored:
            self._restored = True
            await self.restore()
        if not self.autostart:
            return
        loop = asyncio.get_running_loop()
        if self._loop is loop and all(not t.done() for t in self._tasks):
            return
        self._loop = loop
        self._tasks = [loop.create_task(self._scheduler())]
        if self.layer is not None:
            self._tasks.append(loop.create_task(self._read_inbox()))

    async def stop(self) -> None:
        """Cancel the background tasks (tests and shutdown)."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await t
        self._tasks = []

    async def _scheduler(self) -> None:
        # Deadlines are absolute, so a slow tick delays only itself: the next one still comes
        # at start + n * period. Falling more than a period behind skips instead of bursting.
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self.tick_seconds
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # Behind schedule: still let the loop read and write sockets once, or an
                # overloaded process would tick back to back and never send what it queued.
                await asyncio.sleep(0)
                if delay < -self.tick_seconds:
                    deadline = loop.time()
            try:
                await self.tick()
            except Exception:
                logger.exception("games tick failed")
            # The last session's snapshots have been handed over: the tick's worst-case lag.
            metrics.GAMES_BROADCAST_LAG.observe(max(0.0, loop.time() - deadline))

    async def _read_inbox(self) -> None:
        assert self.inbox is not None  # noqa: S101 - created before the reader starts
        while True:
            try:
                m = await self.layer.receive(self.inbox)
                handle = RemoteHandle(self.layer, m["reply"])
                await self.handle(m["code"], handle, Identity(**m["ident"]), m["msg"])
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("games inbox message failed")

    # --- sessions ------------------------------------------------------------------------------

    async def create(self, ruleset: Ruleset, host_id: int | None) -> LiveSession:
        """Host a new session of ``ruleset``: claim a code and put a stopped world in memory."""
        await self.ensure_started()
        value = self.inbox or "local"
        code = await asyncio.to_thread(codes.claim, self.store, value, self.code_ttl)
        now = self.clock()
        world = new_world(ruleset, seed=secrets.randbits(32), now=now)
        s = LiveSession(code, ruleset.id, host_id, world, now, now)
        s.chat = deque(maxlen=self.chat_history)
        self.sessions[code] = s
        logger.info("games session %s created (%s)", code, ruleset.id)
        return s

    def get(self, code: str) -> LiveSession | None:
        """A session owned by this process."""
        return self.sessions.get(code)

    async def owner_of(self, code: str) -> str | None:
        """The inbox channel of the process that owns ``code``, or None when nobody does."""
        value = await asyncio.to_thread(self.store.get, codes.key(code))
        return str(value) if value else None

    async def release(self, s: LiveSession) -> None:
        """Forget a session and give its code back to the pool."""
        self.sessions.pop(s.code, None)
        if self.snapshots is not None:
            await asyncio.to_thread(self.snapshots.write, {}, [s.code])
        owner = await asyncio.to_thread(self.store.get, codes.key(s.code))
        if owner in (self.inbox or "local", None):
            await asyncio.to_thread(self.store.delete, codes.key(s.code))

    # --- messages from sockets -----------------------------------------------------------------

    async def handle(self, code: str, h: Handle, ident: Identity, msg: dict[str, Any]) -> None:
        """One validated message from a socket (local or forwarded)."""
        s = self.sessions.get(code)
        if s is None:
            if msg["type"] != "_disconnect":
                await _send(h, encode("error", code="unknown_code", message=_NO_SESSION))
                await _close(h, protocol.CLOSE_UNKNOWN_CODE)
            return
        t = msg["type"]
        if t == "_disconnect":
            s.viewers.pop(h.channel, None)
            return
        now = self.clock()
        s.last_activity = now
        v = s.viewers.get(h.channel)
        if t == "join":
            await self._join(s, h, v, msg, now)
        elif t == "spectate":
            await self._spectate(s, h, v, ident)
        elif t in ("location", "action"):
            if v is None or v.role != PLAYER:
                await _error(h, "not_joined", "join the game first")
                return
            queued = s.queued.get(h.channel, 0)
            if queued >= self.limits.inputs_per_tick:
                n = self.limits.inputs_per_tick
                await _error(h, "rate_limited", f"at most {n} moves and actions a tick")
                return
            s.queued[h.channel] = queued + 1
            data = {k: val for k, val in msg.items() if k != "type"}
            s.pending.append(Input(t, v.player_id, data, ref=h.channel))
        elif t == "chat":
            await self._chat(s, h, v, msg["text"], now)
        elif t.startswith("gm."):
            if v is None or v.role != SPECTATOR or not ident.staff:
                await _error(h, "forbidden", "only the game master may do that")
                return
            if ident.user_id is None or ident.user_id != s.host_id:
                await _error(h, "forbidden", "only the staff user hosting this game may do that")
                return
            data = {k: val for k, val in msg.items() if k != "type"}
            _, events = apply(s.world, now, [Input(t, GM, data, ref=h.channel)])
            if any(e.type == "error" for e in events):
                await self._route(s, events)  # refused: nothing changed, nothing to broadcast
                return
            await self._after(s, events, now)
            if t == "gm.kick":
                await self._kicked(s, str(data["playerId"]))

    async def _kicked(self, s: LiveSession, pid: str) -> None:
        """A removed player's token stops working and their sockets close (after the event)."""
        for th in [th for th, owner in s.tokens.items() if owner == pid]:
            s.kicked[th] = s.tokens.pop(th)
        for ch, v in list(s.viewers.items()):
            if v.role == PLAYER and v.player_id == pid:
                del s.viewers[ch]
                await _close(v.handle, protocol.CLOSE_KICKED)

    async def _join(
        self, s: LiveSession, h: Handle, v: Viewer | None, msg: dict[str, Any], now: float
    ) -> None:
        if v is not None:
            await _error(h, "already_joined", "this connection has already joined")
            return
        if s.world.status == ENDED:
            await _error(h, "ended", "this game is over")
            await _close(h, protocol.CLOSE_GAME_OVER)
            return
        token = msg.get("token")
        if token is not None and hash_token(token) in s.kicked:
            await _error(h, "kicked", "the game master removed you from this game")
            await _close(h, protocol.CLOSE_KICKED)
            return
        if token is not None:
            pid = s.tokens.get(hash_token(token))
            if pid is None:
                await _error(h, "bad_token", "this rejoin token is not valid here; join by name")
                return
            data: dict[str, Any] = {"playerId": pid}
        else:
            data = {"name": msg.get("name", "")}
            taken = _name_taken(s.world, data["name"])
            if taken is not None:
                await _error(h, "name_taken", taken)
                return
        _, events = apply(s.world, now, [Input("join", None, data, ref=h.channel)])
        joined = [e for e in events if e.type == "joined" and e.ref == h.channel]
        if not joined:
            for e in events:
                if e.type == "error" and e.ref == h.channel:
                    await _send(h, encode("error", **e.data))
            await self._route(s, [e for e in events if e.type != "error"])
            return
        pid = str(joined[0].data["playerId"])
        if token is None:
            token = secrets.token_urlsafe(24)
            s.tokens[hash_token(token)] = pid
        for ch, other in list(s.viewers.items()):
            if other.player_id == pid:
                # The same seat from a new phone or tab: the newest connection wins.
                del s.viewers[ch]
                note = "this seat is now played from another tab or phone"
                await _error(other.handle, "replaced", note)
                await _close(other.handle, protocol.CLOSE_REPLACED)
        s.viewers[h.channel] = Viewer(h, PLAYER, pid)
        world = snapshot(s.world, pid)
        await _send(h, encode("welcome", playerId=pid, token=token, world=world))
        await _send(h, encode("chat_history", messages=list(s.chat)))
        await self._route(s, events)

    async def _spectate(self, s: LiveSession, h: Handle, v: Viewer | None, ident: Identity) -> None:
        if not ident.staff:
            await _error(h, "forbidden", "spectating needs a signed-in staff user")
            return
        if v is not None:
            await _error(h, "already_joined", "this connection has already joined")
            return
        s.viewers[h.channel] = Viewer(h, SPECTATOR)
        world = snapshot(s.world, GM)
        host = ident.user_id is not None and ident.user_id == s.host_id
        setup = _setup(s.world.ruleset)
        frame = encode("welcome", playerId=None, token=None, world=world, host=host, setup=setup)
        await _send(h, frame)
        await _send(h, encode("chat_history", messages=list(s.chat)))

    async def _chat(
        self, s: LiveSession, h: Handle, v: Viewer | None, text: str, now: float
    ) -> None:
        if v is None:
            await _error(h, "not_joined", "join the game first")
            return
        text = text.strip()
        if not text:
            await _error(h, "bad_message", "text: empty message")
            return
        if v.role == PLAYER and v.player_id in s.world.players:
            author, name = v.player_id, s.world.players[v.player_id].name
        else:
            author, name = GM, "Game master"
        # Per player (every tab of a seat together), per socket for spectators.
        budget_key = author if author != GM else f"{GM}:{h.channel}"
        budget = s.chat_budgets.get(budget_key)
        if budget is None:
            lim = self.limits
            budget = s.chat_budgets[budget_key] = Bucket(lim.chat_per_minute / 60, lim.chat_burst)
        if not budget.take(now):
            per = self.limits.chat_per_minute
            await _error(
                h, "rate_limited", f"at most {per:g} chat messages a minute; wait a moment"
            )
            return
        entry = {"from": author, "name": name, "text": text, "ts": now}
        s.chat.append(entry)
        frame = encode("chat", message=entry)
        for viewer in list(s.viewers.values()):
            await self._deliver(s, viewer, frame)

    # --- ticking -------------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> None:
        """One scheduler iteration: step every session, broadcast, reap, refresh code claims."""
        now = self.clock() if now is None else now
        for i, s in enumerate(list(self.sessions.values())):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                await self.tick_session(s, now)
            except Exception:
                logger.exception("games session %s tick failed", s.code)
        await self.reap(now)
        self._export_load()
        if now - self._last_refresh >= self.code_ttl / 3:
            self._last_refresh = now
            await self.refresh_codes()
            if self.snapshots is not None:
                await self.restore()  # sessions whose owner died, once their claim expired
        if self.snapshots is not None and now - self._last_save >= self.snapshot_seconds:
            self._last_save = now
            await self.save_snapshots(now)

    async def tick_session(self, s: LiveSession, now: float) -> None:
        """Apply what arrived since the last tick, tick the world and send every viewer's view."""
        if s.world.status == ENDED:
            return
        started = time.perf_counter()
        inputs, s.pending = s.pending, []
        s.queued.clear()
        _, events = step(s.world, now, inputs)
        await self._after(s, events, now)
        metrics.GAMES_TICK.observe(time.perf_counter() - started)

    def _export_load(self) -> None:
        by_state = dict.fromkeys(metrics.STATES, 0)
        for live in self.sessions.values():
            by_state[live.world.status] = by_state.get(live.world.status, 0) + 1
        for state, n in by_state.items():
            metrics.GAMES_LIVE.labels(state).set(n)
        metrics.GAMES_PLAYERS.set(sum(len(live.viewers) for live in self.sessions.values()))

    async def _after(self, s: LiveSession, events: list[Event], now: float) -> None:
        """Route events, broadcast worlds, and close players' sockets once the game is over."""
        await self._route(s, events)
        await self.broadcast(s)
        if s.world.status == ENDED and s.ended_at is None:
            s.ended_at = now
            for ch, v in list(s.viewers.items()):
                if v.role == PLAYER:
                    del s.viewers[ch]
                    await _close(v.handle, protocol.CLOSE_GAME_OVER)

    async def broadcast(self, s: LiveSession) -> None:
        """Each viewer's snapshot, encoded once per distinct viewer."""
        cache: dict[str, str] = {}
        for i, v in enumerate(list(s.viewers.values())):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a big session lets sockets drain as it goes
            key = v.player_id if v.role == PLAYER and v.player_id else GM
            text = cache.get(key)
            if text is None:
                text = cache[key] = f'{{"type":"world","world":{snapshot_json(s.world, key)}}}'
            await self._deliver(s, v, text)

    async def _route(self, s: LiveSession, events: Iterable[Event]) -> None:
        for e in events:
            if e.type == "joined":
                continue
            if e.type == "error":
                v = s.viewers.get(e.ref or "")
                if v is not None:
                    await self._deliver(s, v, encode("error", **e.data))
                continue
            if e.type == "preflight":
                frame = encode("preflight", **e.data)
                targets = self._viewers(s, (GM,))
            elif e.type == "log":
                frame = encode("log", entry=e.data)
                targets = self._viewers(s, (GM,))
            elif e.type == "event":
                frame = encode("event", event=e.data["event"])
                targets = self._viewers(s, e.to)
            else:
                continue
            for v in targets:
                await self._deliver(s, v, frame)

    def _viewers(self, s: LiveSession, to: tuple[str, ...]) -> list[Viewer]:
        if EVERYONE in to:
            return list(s.viewers.values())
        return [
            v
            for v in s.viewers.values()
            if (v.role == SPECTATOR and GM in to) or (v.role == PLAYER and v.player_id in to)
        ]

    async def _deliver(self, s: LiveSession, v: Viewer, text: str) -> None:
        try:
            await v.handle.deliver(text)
        except Exception:
            # A socket that cannot take a frame is gone; its player keeps the seat for a rejoin.
            logger.info("games %s: dropping unreachable socket %s", s.code, v.handle.channel)
            s.viewers.pop(v.handle.channel, None)

    # --- operator actions (the operator console calls these; it audits them) -------------------

    async def end_session(self, code: str, *, reason: str) -> bool:
        """End a live game of this process as its GM's "end" would; False if none is running."""
        s = self.sessions.get(code)
        if s is None or s.world.status == ENDED:
            return False
        now = self.clock()
        s.last_activity = now
        _, events = apply(s.world, now, [Input("gm.end", GM, {}, ref=None)])
        await self._after(s, events, now)
        logger.info("games session %s ended by an operator (%s)", code, reason)
        return True

    async def kick(self, code: str, player_id: str, *, reason: str) -> bool:
        """Remove a player as the GM's "remove" does: seat given up, token void, sockets closed."""
        s = self.sessions.get(code)
        if s is None:
            return False
        now = self.clock()
        data = {"playerId": player_id, "reason": reason}
        _, events = apply(s.world, now, [Input("gm.kick", GM, data, ref=None)])
        if any(e.type == "error" for e in events):
            return False  # no such human player present
        s.last_activity = now
        await self._after(s, events, now)
        await self._kicked(s, player_id)
        logger.info("games session %s: player %s kicked (%s)", code, player_id, reason)
        return True

    # --- reaping and code claims ---------------------------------------------------------------

    async def reap(self, now: float) -> list[str]:
        """Close sessions idle past the limit (and ended ones past their keep time)."""
        reaped = []
        for s in list(self.sessions.values()):
            idle = now - s.last_activity >= self.idle_seconds
            done = s.ended_at is not None and now - s.ended_at >= self.ended_keep_seconds
            if not (idle or done):
                continue
            reason = "idle" if idle else "ended"
            minutes = round(self.idle_seconds / 60)
            text = (
                f"This game was closed after {minutes} minutes without activity."
                if idle
                else "This game is over and has been closed."
            )
            frame = encode("event", event={"type": "closed", "reason": reason, "text": text})
            for v in list(s.viewers.values()):
                await self._deliver(s, v, frame)
                await _close(v.handle, protocol.CLOSE_REAPED)
            s.viewers.clear()
            await self.release(s)
            reaped.append(s.code)
            logger.info("games session %s reaped (%s)", s.code, reason)
        return reaped

    async def refresh_codes(self) -> None:
        """Keep this process's code claims alive (they expire if the process dies)."""
        keys = [codes.key(c) for c in self.sessions]
        if keys:
            await asyncio.to_thread(_touch_all, self.store, keys, self.code_ttl)

    # --- snapshots (only with a snapshot store: Redis) ------------------------------------------

    def _snapshot_docs(self, now: float) -> tuple[dict[str, str], list[str]]:
        docs: dict[str, str] = {}
        gone: list[str] = []
        assert self.snapshots is not None  # noqa: S101 - callers check
        for s in self.sessions.values():
            if s.world.status == ENDED:
                gone.append(s.code)  # an ended game is not worth a restart
            else:
                docs[s.code] = self.snapshots.encode(s, now)
        return docs, gone

    async def save_snapshots(self, now: float | None = None) -> int:
        """Write every live session this process owns to the snapshot store; returns how many."""
        if self.snapshots is None:
            return 0
        # Encoded on the loop, where nothing else touches the worlds; written from a thread.
        docs, gone = self._snapshot_docs(self.clock() if now is None else now)
        try:
            await asyncio.to_thread(self.snapshots.write, docs, gone)
        except Exception:
            logger.exception("games: writing %d session snapshots failed", len(docs))
            return 0
        return len(docs)

    def shutdown(self) -> None:
        """Graceful exit: snapshot every session and give up the code claims at once.

        Synchronous, so it also runs from ``atexit`` after the event loop is gone. Releasing the
        claims lets a restarted process (or another one) restore the sessions right away instead
        of waiting for the claims to expire.
        """
        if self.snapshots is None or not self.sessions:
            return
        docs, gone = self._snapshot_docs(self.clock())
        try:
            self.snapshots.write(docs, gone)
        except Exception:
            logger.exception("games: snapshots at shutdown failed; sessions are lost")
            return
        mine = self.inbox or "local"
        for code in list(self.sessions):
            if self.store.get(codes.key(code)) == mine:
                self.store.delete(codes.key(code))
        logger.info("games: %d sessions snapshotted at shutdown", len(docs))

    def _orphans(self, only: str | None) -> dict[str, bytes]:
        # Only snapshots whose code nobody holds are fetched: the others' owners are alive.
        assert self.snapshots is not None  # noqa: S101 - callers check
        listed = [only] if only is not None else self.snapshots.codes()
        listed = [c for c in listed if c not in self.sessions]
        if not listed:
            return {}
        taken = self.store.get_many([codes.key(c) for c in listed])
        return self.snapshots.read([c for c in listed if codes.key(c) not in taken])

    async def restore(self, only: str | None = None) -> list[str]:
        """Adopt stored sessions whose code nobody holds (claimed again atomically).

        A snapshot that cannot be read is logged once and skipped; an ended one is dropped.
        With ``only``, just that code (a socket asked for a code no process owns).
        """
        if self.snapshots is None:
            return []
        try:
            stored = await asyncio.to_thread(self._orphans, only)
        except Exception:
            logger.exception("games: reading session snapshots failed")
            return []
        value = self.inbox or "local"
        restored = []
        for code, raw in stored.items():
            if code in self.sessions:
                continue
            try:
                s = self.snapshots.decode(raw, self.chat_history)
            except Exception as exc:
                if code not in self._unreadable:
                    self._unreadable.add(code)
                    logger.warning("games: skipping the snapshot of %s: %s", code, exc)
                continue
            try:
                if s.code != code or s.world.status == ENDED:
                    await asyncio.to_thread(self.snapshots.write, {}, [code])
                    continue
                key = codes.key(code)
                if not await asyncio.to_thread(self.store.add, key, value, self.code_ttl):
                    continue  # its owner lives, or its claim has not expired yet
            except Exception:
                logger.exception("games: restoring %s failed", code)  # Redis gone: next pass
                continue
            self.sessions[code] = s
            restored.append(code)
            logger.info("games session %s restored (%s)", code, s.game_id)
        return restored


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


_NO_SESSION = "no live game has this code; check it or ask the game master for a new one"


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


def _touch_all(store: CodeStore, keys: list[str], ttl: int) -> None:
    for k in keys:
        store.touch(k, ttl)


async def _send(h: Handle, text: str) -> None:
    with contextlib.suppress(Exception):
        await h.deliver(text)


async def _close(h: Handle, code: int) -> None:
    with contextlib.suppress(Exception):
        await h.close(code)


async def _error(h: Handle, code: str, message: str) -> None:
    await _send(h, encode("error", code=code, message=message))
