"""Game API keys: resolved per process and cached for a few seconds; revoked here."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from django.conf import settings

from sessions.models import ApiKey, Game, sha256_hex


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
                if len(self._entries) > 10_000:
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


def revoke_api_key(key_id: str, *, now: datetime) -> ApiKey:
    """Revoke a key: this process refuses it at once, others within the key-cache TTL."""
    key = ApiKey.objects.get(key_id=key_id)
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
        key.refresh_from_db(fields=["revoked_at"])
    forget_api_keys()
    return key
