"""Rate limits for every door: how many hits a key may make in a window, shared by all processes.

``hit("v1-key", key_id, "600/minute")`` counts one hit and says whether it is allowed and, if not,
how many whole seconds until one is. Windows are sliding counters from the ``limits`` library,
stored in Redis when ``REDIS_URL`` is set (so every process counts together) and in this
process's memory otherwise.

While Redis is unreachable a limiter does not fail the request: it counts in this process's
memory instead (each process then limits on its own share, so the limits hold per process),
logs one warning per outage, and tries Redis again after ``RETRY_REDIS_AFTER`` seconds.
``RATE_LIMITS=0`` turns every limit off.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)

KEY_PREFIX = "playwave-limits"
RETRY_REDIS_AFTER = 5.0  # seconds counted in memory before Redis is tried again
REDIS_TIMEOUT = 0.25  # seconds; a limiter must never hold a request up for long


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds until a hit would be allowed; 0 when allowed
    limit: str = ""  # the rate that was applied, e.g. "600 per 1 minute"


ALLOWED = Verdict(True)


@lru_cache(maxsize=256)
def rate(text: str) -> RateLimitItem:
    """A rate such as ``"600/minute"`` or ``"10/second"`` (the ``limits`` library's notation)."""
    return parse(text)


class _Limiter:
    """The shared counter, with this process's memory as the fallback while Redis is down."""

    def __init__(self, redis_url: str) -> None:
        self._memory = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._redis: SlidingWindowCounterRateLimiter | None = None
        self._redis_down_until = 0.0
        self._lock = threading.Lock()
        if redis_url:
            storage = storage_from_string(
                redis_url,
                key_prefix=KEY_PREFIX,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
            )
            if not isinstance(storage, Storage):  # the synchronous kind, for a redis:// URL
                raise TypeError(f"no synchronous rate-limit storage for {redis_url!r}")
            self._redis = SlidingWindowCounterRateLimiter(storage)

    def hit(self, item: RateLimitItem, name: str, key: str, cost: int) -> Verdict:
        return self._ask(item, name, key, lambda lim: lim.hit(item, name, key, cost=cost))

    def peek(self, item: RateLimitItem, name: str, key: str) -> Verdict:
        return self._ask(item, name, key, lambda lim: lim.test(item, name, key))

    def _ask(
        self,
        item: RateLimitItem,
        name: str,
        key: str,
        ask: Callable[[SlidingWindowCounterRateLimiter], bool],
    ) -> Verdict:
        limiter = self._shared()
        try:
            allowed = ask(limiter)
            stats = None if allowed else limiter.get_window_stats(item, name, key)
            if limiter is self._redis and self._redis_down_until:
                self._redis_down_until = 0.0
                log.info("rate limits: counting in Redis again")
        except Exception as exc:
            if limiter is self._memory:
                raise
            self._redis_failed(exc)
            limiter = self._memory
            allowed = ask(limiter)
            stats = None if allowed else limiter.get_window_stats(item, name, key)
        if allowed or stats is None:
            return ALLOWED
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(False, retry_after=min(wait, item.get_expiry()), limit=str(item))

    def _shared(self) -> SlidingWindowCounterRateLimiter:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            return self._memory
        return self._redis

    def _redis_failed(self, exc: Exception) -> None:
        with self._lock:
            first = self._redis_down_until == 0.0
            self._redis_down_until = time.monotonic() + RETRY_REDIS_AFTER
        if first:
            log.warning(
                "rate limits: Redis unreachable (%s: %s); counting in this process's memory",
                type(exc).__name__,
                exc,
            )


_limiters: dict[str, _Limiter] = {}


def _limiter() -> _Limiter:
    url = str(getattr(settings, "REDIS_URL", "") or "")
    found = _limiters.get(url)
    if found is None:
        found = _limiters.setdefault(url, _Limiter(url))
    return found


def hit(name: str, key: str, limit: str, *, cost: int = 1) -> Verdict:
    """Count ``cost`` hits of ``key`` on the limiter ``name`` at the rate ``limit``."""
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    return _limiter().hit(rate(limit), name, key, cost)


def peek(name: str, key: str, limit: str) -> Verdict:
    """Whether one more hit of ``key`` would be allowed, without counting it (a gate before work
    whose failures are what :func:`hit` counts)."""
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    return _limiter().peek(rate(limit), name, key)


async def ahit(name: str, key: str, limit: str, *, cost: int = 1) -> Verdict:
    """:func:`hit` for async callers (consumers): the storage call runs off the event loop."""
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    return await sync_to_async(hit, thread_sensitive=False)(name, key, limit, cost=cost)


def reset() -> None:
    """Forget every counter of this process (tests; Redis counters expire with their windows)."""
    _limiters.clear()
