"""Join attempts with unknown codes, per client IP, counted by every process together.

Without a limit the 18 999 codes could be swept in minutes. Each socket that asks for a code no
session has counts one hit (:mod:`ratelimits`: Redis when configured, memory otherwise). Past the
limit the IP is blocked for the rest of the window, for every code, so a sweep learns nothing
from which joins still work; the block is a key in the shared cache. Both fail open: while Redis
is down nothing is refused for the outage.
"""

from __future__ import annotations

import logging
import math
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

import ratelimits

logger = logging.getLogger("playwave.games")

LIMITER = "games-unknown-code"


def _block_key(ip: str) -> str:
    return f"games:join-blocked:{ip}"


def _blocked_for(ip: str) -> int:
    try:
        until = cache.get(_block_key(ip))
    except Exception as exc:  # the cache (Redis) is down: refuse nothing for it
        logger.warning("games: join block unreadable (%s: %s)", type(exc).__name__, exc)
        return 0
    if until is None:
        return 0
    return max(1, math.ceil(float(until) - time.time()))


def _block(ip: str, seconds: int) -> None:
    try:
        cache.set(_block_key(ip), time.time() + seconds, timeout=seconds)
    except Exception as exc:
        logger.warning("games: join block not stored (%s: %s)", type(exc).__name__, exc)


async def blocked_for(ip: str) -> int:
    """Seconds this IP may not join any game yet (0: it may)."""
    if not ip or not settings.RATE_LIMITS:
        return 0
    return await sync_to_async(_blocked_for, thread_sensitive=False)(ip)


async def unknown_code(ip: str) -> int:
    """Count a join with an unknown code; seconds of block when this one went over the limit."""
    if not ip:
        return 0
    verdict = await ratelimits.ahit(LIMITER, ip, settings.GAMES_UNKNOWN_CODE_RATE)
    if verdict.allowed:
        return 0
    await sync_to_async(_block, thread_sensitive=False)(ip, verdict.retry_after)
    logger.info("games: %s blocked from joining for %d s (unknown codes)", ip, verdict.retry_after)
    return verdict.retry_after
