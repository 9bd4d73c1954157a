"""Rate limits for every door: how many hits a key may make in a window, shared by all processes.

``hit("v1-key", key_id, "600/minute")`` counts one hit and says whether it is allowed and, if not,
how many whole seconds until one is. Windows are sliding counters from the ``limits`` library,
stored in Redis when ``REDIS_URL`` is set (so every process counts together) and in this
process's memory otherwise.

While Redis is unreachable a limiter does not fail the request: it counts in this process's
memory instead (each process then limits on its own share, so the limits hold per process),
logs one warning per outage, and tries Redis again after ``RETRY_REDIS_AFTER`` seconds.
``RATE_LIMITS=0`` turns every limit off.

A limiter on every request of a busy door (``batched=True``) does not ask Redis each time: the
process counts its hits itself and adds them to the shared window at most every
``SHARE_EVERY`` seconds, or sooner when they would use up what the window had left when it
last asked. Within one process a limit is as exact as unbatched; all processes together admit
at most what each let through in its last ``SHARE_EVERY`` too many (`_Batched`).
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
SHARE_EVERY = 0.1  # seconds a batched limiter keeps its hits before adding them to the window
BATCHED_KEYS = 10_000  # keys a process keeps batches for; more are forgotten (one window's worth)


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

    def left(self, item: RateLimitItem, name: str, key: str) -> int:
        """Hits the window has left for `key` (0 when Redis fails: the caller asks again)."""
        try:
            return int(self._shared().get_window_stats(item, name, key).remaining)
        except Exception:
            return 0

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


@dataclass
class _Batch:
    until: float  # monotonic time of the next sharing at the latest
    left: int  # hits the shared window had left when this process last asked
    pending: int = 0  # hits allowed here since, not yet in the shared window


class _Batched:
    """One process's batches over a `_Limiter`: hits counted here, shared every SHARE_EVERY.

    A hit is allowed at once while the process's pending hits fit in what the window had left
    at the last sharing, and that was under SHARE_EVERY ago. Otherwise the pending hits are
    added to the window (already allowed, they count whatever the verdict), then this hit is
    asked for: its verdict is the answer, and the window's remainder is learnt again. A peek
    is remembered for SHARE_EVERY too, and forgotten when this process counts that key.
    """

    def __init__(self, limiter: _Limiter) -> None:
        self.limiter = limiter
        self._batches: dict[tuple[str, str, RateLimitItem], _Batch] = {}
        self._peeks: dict[tuple[str, str, RateLimitItem], tuple[float, Verdict]] = {}
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, name: str, key: str, cost: int, now: float) -> Verdict:
        slot = (name, key, item)
        with self._lock:
            batch = self._batches.get(slot)
            if batch is not None and now < batch.until and batch.pending + cost <= batch.left:
                batch.pending += cost
                return ALLOWED
            earlier = batch.pending if batch is not None else 0
            if batch is not None:
                batch.pending = 0
        if earlier:
            self.limiter.hit(item, name, key, earlier)
        verdict = self.limiter.hit(item, name, key, cost)
        left = self.limiter.left(item, name, key) if verdict.allowed else 0
        with self._lock:
            if len(self._batches) >= BATCHED_KEYS:
                self._batches.clear()  # bounded; what is forgotten is under SHARE_EVERY of hits
            found = self._batches.setdefault(slot, _Batch(now + SHARE_EVERY, left))
            found.until, found.left = now + SHARE_EVERY, left
            self._peeks.pop(slot, None)
        return verdict

    def peek(self, item: RateLimitItem, name: str, key: str, now: float) -> Verdict:
        slot = (name, key, item)
        seen = self._peeks.get(slot)
        if seen is not None and now < seen[0]:
            return seen[1]
        verdict = self.limiter.peek(item, name, key)
        with self._lock:
            if len(self._peeks) >= BATCHED_KEYS:
                self._peeks.clear()
            self._peeks[slot] = (now + SHARE_EVERY, verdict)
        return verdict

    def forget_peek(self, item: RateLimitItem, name: str, key: str) -> None:
        self._peeks.pop((name, key, item), None)


_limiters: dict[str, _Batched] = {}


def _batched() -> _Batched:
    url = str(getattr(settings, "REDIS_URL", "") or "")
    found = _limiters.get(url)
    if found is None:
        found = _limiters.setdefault(url, _Batched(_Limiter(url)))
    return found


def _limiter() -> _Limiter:
    return _batched().limiter


def hit(name: str, key: str, limit: str, *, cost: int = 1, batched: bool = False) -> Verdict:
    """Count ``cost`` hits of ``key`` on the limiter ``name`` at the rate ``limit``.

    ``batched``: count in this process and share every SHARE_EVERY (a door every request
    passes); otherwise every hit goes to the shared window at once.
    """
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    if batched:
        return _batched().hit(rate(limit), name, key, cost, time.monotonic())
    batches = _batched()
    batches.forget_peek(rate(limit), name, key)
    return batches.limiter.hit(rate(limit), name, key, cost)


def peek(name: str, key: str, limit: str, *, batched: bool = False) -> Verdict:
    """Whether one more hit of ``key`` would be allowed, without counting it (a gate before work
    whose failures are what :func:`hit` counts). ``batched``: the answer may be up to
    SHARE_EVERY old, but never older than this process's own last hit of the key."""
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    if batched:
        return _batched().peek(rate(limit), name, key, time.monotonic())
    return _limiter().peek(rate(limit), name, key)


async def ahit(name: str, key: str, limit: str, *, cost: int = 1) -> Verdict:
    """:func:`hit` for async callers (consumers): the storage call runs off the event loop."""
    if not getattr(settings, "RATE_LIMITS", True) or not limit:
        return ALLOWED
    return await sync_to_async(hit, thread_sensitive=False)(name, key, limit, cost=cost)


def reset() -> None:
    """Forget every counter of this process (tests; Redis counters expire with their windows)."""
    _limiters.clear()
