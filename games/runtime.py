"""The live sessions of this process: the ~1 Hz tick scheduler, the inbox, code claims, snapshots.

A :class:`Runtime` lives in each server process and owns the rooms (:class:`games.room.Room`)
created there. It only does process duties: it claims codes and keeps the claims alive, answers
"where is this code?", ticks every room on one scheduler, reads the inbox of messages forwarded
by other processes, reaps idle rooms and snapshots them. What a room does with a message is the
room's own business. Only the event loop touches rooms, so no locks are needed.

Sockets reach a room through a :class:`~games.room.Handle`: a socket in the same process is
delivered to directly; a socket on another process is reached through the channel layer (its
channel name), and that process forwards the socket's messages to this runtime's *inbox*
channel, whose name is stored with the join code so every process can find the owner.

Time comes from an injected clock (seconds, float), so tests drive ticks one at a time with
:meth:`Runtime.tick` instead of waiting for the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from games import codes, metrics, protocol
from games.engine import ENDED, Ruleset, new_world
from games.protocol import encode
from games.room import Handle, Identity, Room, RoomLimits, close_socket, send

logger = logging.getLogger("playwave.games")

YIELD_EVERY = 50  # sessions ticked between yields to the event loop, so sockets stay served
# Phases of the tick period; each room ticks in one (Runtime._scheduler).
TICK_SLOTS: Final = 20
HERE: Final = "here"  # Runtime.locate: this process owns the code
DISCONNECT: Final = "_disconnect"  # the consumer's note that a socket went away


class SnapshotStore(Protocol):
    """Where rooms are snapshotted (games.persistence.SnapshotStore; Redis)."""

    def encode(self, s: Room, saved_at: float) -> str: ...
    def decode(self, raw: str | bytes, chat_history: int = 50) -> Room: ...
    def write(self, docs: dict[str, str], gone: Iterable[str] = ()) -> None: ...
    def codes(self) -> list[str]: ...
    def read(self, codes: Iterable[str] | None = None) -> dict[str, bytes]: ...


class RemoteHandle:
    """A socket on another process, reached through the channel layer.

    ``via`` is the inbox of the process the socket is on: a room's frames for every socket of
    that process travel together, one layer message per process per tick
    (:meth:`deliver_batch`), and that process hands them to its own sockets.
    """

    BATCH_BYTES = 1 << 20  # a batch message carries at most about this much frame text

    def __init__(self, layer: Any, channel: str, via: str | None = None):
        self.layer = layer
        self.channel = channel
        self.via = via

    async def deliver(self, text: str) -> None:
        await self.layer.send(self.channel, {"type": "games.frame", "text": text})

    async def deliver_batch(self, frames: list[tuple[str, str]]) -> None:
        """``(channel, text)`` pairs for sockets on ``via``'s process, each text sent once."""
        assert self.via is not None  # noqa: S101 - only batched when the process is known
        chunk: list[tuple[str, int]] = []
        texts: list[str] = []
        index: dict[str, int] = {}
        size = 0
        for channel, text in frames:
            i = index.get(text)
            if i is None:
                if texts and size + len(text) > self.BATCH_BYTES:
                    await self._send_batch(chunk, texts)
                    chunk, texts, index, size = [], [], {}, 0
                i = index[text] = len(texts)
                texts.append(text)
                size += len(text)
            chunk.append((channel, i))
        if chunk:
            await self._send_batch(chunk, texts)

    async def _send_batch(self, chunk: list[tuple[str, int]], texts: list[str]) -> None:
        message = {"type": "games.frames", "to": [list(c) for c in chunk], "texts": texts}
        await self.layer.send(self.via, message)

    async def close(self, code: int) -> None:
        await self.layer.send(self.channel, {"type": "games.close", "code": code})


class TickSchedule:
    """The scheduler's deadlines, on the event loop's clock (seconds).

    Deadlines are absolute, so a slow tick delays only itself: the next one still comes at
    start + n * period. The period is cut into TICK_SLOTS phases and each room ticks in its own
    (rooms are spread evenly over them), so a process's work is spread over the period and no
    room waits for the others; the process duties run once a period, in phase 0. Falling more
    than a period behind starts the deadlines over instead of bursting. The phase-0 deadline
    they follow is exported (``playwave_games_tick_anchor_seconds``), so a client on the same
    machine knows when each phase was due.
    """

    def __init__(self, period: float, start: float):
        self.step = period / TICK_SLOTS
        self.slot = TICK_SLOTS - 1  # the first advance is phase 0, one step after the start
        self.deadline = start
        self._anchor(start + self.step)

    def advance(self) -> tuple[int, float]:
        """The next phase to tick and its deadline."""
        self.slot = (self.slot + 1) % TICK_SLOTS
        self.deadline += self.step
        return self.slot, self.deadline

    def restart(self, now: float) -> float:
        """The current phase is due ``now`` after all, and the following ones from there."""
        self.deadline = now
        self._anchor(now - self.slot * self.step)
        return now

    def _anchor(self, phase0: float) -> None:
        self.anchor = phase0
        metrics.GAMES_TICK_ANCHOR.set(phase0)


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
        self.sessions: dict[str, Room] = {}
        self.forwarded: dict[str, Handle] = {}  # channel -> socket here whose game is elsewhere
        self.inbox: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._last_refresh = 0.0
        self._last_save = 0.0
        self._restored = False
        self._unreadable: set[str] = set()  # snapshots already logged as unreadable
        self._restore_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._restore_locks = weakref.WeakKeyDictionary()

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
        loop = asyncio.get_running_loop()
        schedule = TickSchedule(self.tick_seconds, loop.time())
        while True:
            slot, deadline = schedule.advance()
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # Behind schedule: still let the loop read and write sockets once, or an
                # overloaded process would tick back to back and never send what it queued.
                await asyncio.sleep(0)
                if delay < -self.tick_seconds:
                    deadline = schedule.restart(loop.time())
            try:
                await self.tick_phase(slot)
            except Exception:
                logger.exception("games tick failed")
            # This phase's last room's snapshots have been handed over: the tick's lag.
            metrics.GAMES_BROADCAST_LAG.observe(max(0.0, loop.time() - deadline))

    async def _read_inbox(self) -> None:
        assert self.inbox is not None  # noqa: S101 - created before the reader starts
        while True:
            try:
                m = await self.layer.receive(self.inbox)
                if m["type"] == "games.frames":
                    await self._hand_out(m["to"], m["texts"])
                    continue
                handle = RemoteHandle(self.layer, m["reply"], m.get("via"))
                await self.handle(m["code"], handle, Identity(**m["ident"]), m["msg"])
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("games inbox message failed")

    async def _hand_out(self, to: list[list[Any]], texts: list[str]) -> None:
        """A batch of frames from an owner in another process, for sockets of this one."""
        for channel, i in to:
            h = self.forwarded.get(channel)
            if h is not None:
                with contextlib.suppress(Exception):  # a socket closing meanwhile
                    await h.deliver(texts[i])

    def attach(self, h: Handle) -> None:
        """A socket of this process whose game lives in another: batched frames reach it here."""
        self.forwarded[h.channel] = h

    def detach(self, h: Handle) -> None:
        self.forwarded.pop(h.channel, None)

    # --- sessions ------------------------------------------------------------------------------

    async def create(self, ruleset: Ruleset, host_id: int | None) -> Room:
        """Host a new session of ``ruleset``: claim a code and put a stopped world in memory."""
        await self.ensure_started()
        value = self.inbox or "local"
        code = await asyncio.to_thread(codes.claim, self.store, value, self.code_ttl)
        now = self.clock()
        world = new_world(ruleset, seed=secrets.randbits(32), now=now)
        s = Room(code, ruleset.id, host_id, world, now, now, limits=self.limits)
        s.chat = deque(maxlen=self.chat_history)
        self._place(s)
        logger.info("games session %s created (%s)", code, ruleset.id)
        return s

    def get(self, code: str) -> Room | None:
        """A session owned by this process."""
        return self.sessions.get(code)

    def is_live(self, code: str) -> bool:
        """Whether any process holds a live session with ``code`` (this one, or another's claim)."""
        return code in self.sessions or bool(self.store.get(codes.key(code)))

    async def locate(self, code: str) -> str | None:
        """Where the game ``code`` lives: :data:`HERE` (this process), another process's inbox
        channel, or None when no process has it.

        An orphaned game (its owner stopped) is adopted here on the way; a game this process is
        adopting for another socket at this very moment is waited for, not reported missing.
        """
        if code in self.sessions:
            return HERE
        owner = await self.owner_of(code)
        if owner is None or owner == (self.inbox or "local"):
            await self.restore(only=code)
            return HERE if code in self.sessions else None
        return owner

    async def owner_of(self, code: str) -> str | None:
        """The inbox channel of the process that owns ``code``, or None when nobody does."""
        value = await asyncio.to_thread(self.store.get, codes.key(code))
        return str(value) if value else None

    async def release(self, s: Room) -> None:
        """Forget a session and give its code back to the pool."""
        self.sessions.pop(s.code, None)
        if self.snapshots is not None:
            await asyncio.to_thread(self.snapshots.write, {}, [s.code])
        owner = await asyncio.to_thread(self.store.get, codes.key(s.code))
        if owner in (self.inbox or "local", None):
            await asyncio.to_thread(self.store.delete, codes.key(s.code))

    # --- messages from sockets -----------------------------------------------------------------

    # --- messages from sockets -----------------------------------------------------------------

    async def handle(self, code: str, h: Handle, ident: Identity, msg: dict[str, Any]) -> None:
        """One validated message from a socket (local or forwarded), to its room."""
        s = self.sessions.get(code)
        if s is None:
            if msg["type"] != DISCONNECT:
                await send(h, encode("error", code="unknown_code", message=_NO_SESSION))
                await close_socket(h, protocol.CLOSE_UNKNOWN_CODE)
            return
        if msg["type"] == DISCONNECT:
            s.leave(h.channel)
            return
        await s.handle(h, ident, msg, self.clock())

    # --- ticking -------------------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> None:
        """Every phase at once: tick every room, then the process duties (tests drive this)."""
        now = self.clock() if now is None else now
        await self._tick_rooms(list(self.sessions.values()), now)
        await self._duties(now)

    async def tick_phase(self, phase: int, now: float | None = None) -> None:
        """One scheduler step: tick the rooms of ``phase``; in phase 0, the process duties too."""
        now = self.clock() if now is None else now
        await self._tick_rooms([r for r in self.sessions.values() if r.phase == phase], now)
        if phase == 0:
            await self._duties(now)

    async def _tick_rooms(self, rooms: list[Room], now: float) -> None:
        for i, s in enumerate(rooms):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            try:
                await s.tick(now)
            except Exception:
                logger.exception("games session %s tick failed", s.code)

    async def _duties(self, now: float) -> None:
        """Reap, export the load, refresh code claims and adopt orphans, save snapshots."""
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

    def _place(self, room: Room) -> None:
        """Keep ``room`` in this process, in the tick phase with the fewest rooms."""
        load = [0] * TICK_SLOTS
        for other in self.sessions.values():
            load[other.phase] += 1
        room.phase = load.index(min(load))
        self.sessions[room.code] = room

    def _export_load(self) -> None:
        by_state = dict.fromkeys(metrics.STATES, 0)
        for live in self.sessions.values():
            by_state[live.world.status] = by_state.get(live.world.status, 0) + 1
        for state, n in by_state.items():
            metrics.GAMES_LIVE.labels(state).set(n)
        metrics.GAMES_PLAYERS.set(sum(len(live.viewers) for live in self.sessions.values()))

    # --- operator actions (the operator console calls these; it audits them) -------------------

    async def end_session(self, code: str, *, reason: str) -> bool:
        """End a live game of this process as its GM's "end" would; False if none is running."""
        s = self.sessions.get(code)
        if s is None or not await s.end(self.clock()):
            return False
        logger.info("games session %s ended by an operator (%s)", code, reason)
        return True

    async def kick(self, code: str, player_id: str, *, reason: str) -> bool:
        """Remove a player as the GM's "remove" does: seat given up, token void, sockets closed."""
        s = self.sessions.get(code)
        if s is None or not await s.kick(player_id, reason, self.clock()):
            return False  # no such session, or no such human player present
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
            await s.close(reason, idle_minutes=round(self.idle_seconds / 60))
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
        # One restore at a time in this process: two sockets asking for the same orphan at once
        # would otherwise both read it, one claim it, and the other say "unknown code" before
        # the first had put the session in memory.
        async with self._restore_lock():
            return await self._restore(only)

    def _restore_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._restore_locks.get(loop)
        if lock is None:
            lock = self._restore_locks[loop] = asyncio.Lock()
        return lock

    async def _restore(self, only: str | None) -> list[str]:
        assert self.snapshots is not None  # noqa: S101 - restore() checks
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
            s.limits = self.limits
            self._place(s)
            restored.append(code)
            logger.info("games session %s restored (%s)", code, s.game_id)
        return restored


_NO_SESSION = "no live game has this code; check it or ask the game master for a new one"


def _touch_all(store: CodeStore, keys: list[str], ttl: int) -> None:
    for k in keys:
        store.touch(k, ttl)
