"""Game API keys and launcher keys: resolved per process and cached for a few seconds.

A revocation, a cafe's suspension or a change of its networks is seen at once by the process
that made it and within PLAYWAVE_API_KEY_CACHE_SECONDS by every other one.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings

from sessions.models import ApiKey, Cafe, Game, sha256_hex

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CACHED_KEYS = 10_000  # entries a process keeps; past that it starts again (unknown keys too)


class _KeyCache:
    """Resolved API keys per process for a few seconds: a heartbeat should not pay a query.

    Revocation is seen at once by the revoking process and within
    PLAYWAVE_API_KEY_CACHE_SECONDS by every other one.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Game | None]] = {}
        self._lock = threading.Lock()

    def get(self, raw: str) -> Game | None:
        ttl = settings.PLAYWAVE_API_KEY_CACHE_SECONDS
        digest = sha256_hex(raw)
        now = time.monotonic()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        key = ApiKey.objects.resolve(raw)
        game = key.game if key is not None else None
        if ttl > 0:
            with self._lock:
                if len(self._entries) > CACHED_KEYS:
                    self._entries.clear()  # bounded: unknown keys must not grow memory forever
                self._entries[digest] = (now + ttl, game)
        return game

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


api_keys = _KeyCache()


def forget_api_keys() -> None:
    """Drop this process's key cache: a revocation takes effect here at once."""
    api_keys.clear()


_CAFE_FIELDS = [f.attname for f in Cafe._meta.concrete_fields]


class _LauncherKeys:
    """Cafes by launcher key id, with their networks, per process for a few seconds: a
    launcher call should not pay two queries before its signature is even checked."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, tuple[Any, ...] | None, tuple[Network, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, key_id: str) -> tuple[Cafe, tuple[Network, ...]] | None:
        """A fresh Cafe instance of the key (never shared between requests) and its networks."""
        ttl = settings.PLAYWAVE_API_KEY_CACHE_SECONDS
        now = time.monotonic()
        entry = self._entries.get(key_id)
        if entry is None or entry[0] <= now:
            cafe = Cafe.objects.filter(launcher_key_id=key_id).first()
            if cafe is None:
                entry = (now + ttl, None, ())
            else:
                cidrs = cafe.networks.values_list("cidr", flat=True)
                networks = tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
                entry = (now + ttl, tuple(getattr(cafe, f) for f in _CAFE_FIELDS), networks)
            if ttl > 0:
                with self._lock:
                    if len(self._entries) > CACHED_KEYS:
                        self._entries.clear()
                    self._entries[key_id] = entry
        _, values, networks = entry
        if values is None:
            return None
        return Cafe.from_db("default", _CAFE_FIELDS, values), networks

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


launcher_keys = _LauncherKeys()


def forget_launcher_keys(**_: Any) -> None:
    """Drop this process's launcher keys (a signal receiver too): a cafe's suspension or a
    network change takes effect here at once."""
    launcher_keys.clear()


def revoke_api_key(key_id: str, *, now: datetime) -> ApiKey:
    """Revoke a key: this process refuses it at once, others within the key-cache TTL."""
    key = ApiKey.objects.get(key_id=key_id)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
        key.refresh_from_db(fields=["revoked_at"])
    forget_api_keys()
    return key
