"""Live sessions snapshotted to Redis, so a restart of the owning process does not lose them.

A snapshot is one JSON document per join code: the engine world (``World.to_dict()``, ruleset
included), the hashed rejoin tokens, chat history, host, game id and timestamps. Sockets and
inputs queued since the last tick are not part of it: after a restart players reconnect and
rejoin with their token. The owner rewrites its snapshots every few seconds and on a graceful
shutdown; any runtime restores a snapshot whose code claim is free (or has expired) by claiming
the code again atomically, so exactly one process adopts it.

Only this module knows the snapshot format; a document it cannot read (corrupt, or written by
another format ``VERSION``) raises :class:`SnapshotError` and the runtime skips it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import Any

from games.engine import World
from games.room import Room

VERSION = 1


class SnapshotError(Exception):
    """A snapshot that cannot be restored: unreadable, or from another format version."""


def dump_session(s: Room, saved_at: float) -> str:
    """The session as a JSON document (no sockets, no queued inputs)."""
    return json.dumps(
        {
            "version": VERSION,
            "code": s.code,
            "game_id": s.game_id,
            "host_id": s.host_id,
            "created_at": s.created_at,
            "last_activity": s.last_activity,
            "ended_at": s.ended_at,
            "saved_at": saved_at,
            "tokens": dict(s.tokens),
            "kicked": dict(s.kicked),
            "chat": list(s.chat),
            "world": s.world.to_dict(),
        },
        separators=(",", ":"),
    )


def load_session(raw: str | bytes, chat_history: int = 50) -> Room:
    """Inverse of :func:`dump_session`; raises :class:`SnapshotError` when it cannot."""
    try:
        d = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"not JSON: {exc}") from exc
    if not isinstance(d, dict):
        raise SnapshotError("not a JSON object")
    if d.get("version") != VERSION:
        raise SnapshotError(f"format version {d.get('version')!r}, this server reads {VERSION}")
    try:
        # The embedded ruleset is validated again: the engine may have changed since.
        world = World.from_dict(d["world"])
        s = Room(
            code=str(d["code"]),
            game_id=str(d["game_id"]),
            host_id=d["host_id"],
            world=world,
            created_at=float(d["created_at"]),
            last_activity=float(d["last_activity"]),
            tokens={str(k): str(v) for k, v in d["tokens"].items()},
            ended_at=d["ended_at"],
            kicked={str(k): str(v) for k, v in d.get("kicked", {}).items()},
        )
        s.chat = deque(d["chat"], maxlen=chat_history)
    except Exception as exc:  # any malformed field, including a ruleset that no longer validates
        raise SnapshotError(f"{type(exc).__name__}: {exc}") from exc
    return s


class SnapshotStore:
    """Snapshots in Redis: a key per code with a TTL, and a set of the codes that have one."""

    def __init__(self, client: Any, prefix: str = "playwave", ttl: int = 3600) -> None:
        self.client = client  # a synchronous redis.Redis; the runtime calls it from a thread
        self.prefix = f"{prefix}:games:snapshot:"
        self.index = f"{prefix}:games:snapshots"
        self.ttl = ttl

    def encode(self, s: Room, saved_at: float) -> str:
        """:func:`dump_session`, for the runtime (which does not import this module)."""
        return dump_session(s, saved_at)

    def decode(self, raw: str | bytes, chat_history: int = 50) -> Room:
        """:func:`load_session`, for the runtime."""
        return load_session(raw, chat_history)

    def key(self, code: str) -> str:
        """The Redis key that holds ``code``'s snapshot."""
        return self.prefix + code

    def write(self, docs: dict[str, str], gone: Iterable[str] = ()) -> None:
        """Store ``docs`` (code → document) and delete the snapshots of ``gone``, in one trip."""
        gone = list(gone)
        if not docs and not gone:
            return
        pipe = self.client.pipeline(transaction=False)
        for code, doc in docs.items():
            pipe.set(self.key(code), doc, ex=self.ttl)
        if docs:
            pipe.sadd(self.index, *docs)
        if gone:
            pipe.delete(*(self.key(c) for c in gone))
            pipe.srem(self.index, *gone)
        pipe.execute()

    def codes(self) -> list[str]:
        """The codes listed as having a snapshot (some may have expired since)."""
        members = self.client.smembers(self.index)
        return sorted(c.decode() if isinstance(c, bytes) else str(c) for c in members)

    def read(self, codes: Iterable[str] | None = None) -> dict[str, bytes]:
        """The stored snapshots of ``codes`` (default: all), dropping index entries that expired."""
        wanted = self.codes() if codes is None else list(codes)
        if not wanted:
            return {}
        docs = self.client.mget([self.key(c) for c in wanted])
        expired = [c for c, doc in zip(wanted, docs, strict=True) if doc is None]
        if expired:
            self.client.srem(self.index, *expired)
        return {c: doc for c, doc in zip(wanted, docs, strict=True) if doc is not None}
