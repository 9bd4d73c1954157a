"""Per-socket and per-player message budgets: pure, in this process, time passed in.

A socket lives in one process, so its counters do too (no Redis round trip per frame). Counters
shared by every process (join attempts with unknown codes) use :mod:`ratelimits` instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(slots=True)
class Bucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``; starts full."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float | None = None  # time of the last take; None: never taken, so full

    def take(self, now: float) -> bool:
        """Spend one token at ``now`` if there is one."""
        if self.stamp is None:
            self.tokens = self.burst
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Verdict(enum.Enum):
    ADMIT = "admit"  # handle the message
    DROP = "drop"  # drop it and tell the client (at most once a second)
    DROP_QUIETLY = "drop_quietly"  # drop it; the client was told less than a second ago
    CLOSE = "close"  # the socket has flooded for too long: close it


@dataclass(slots=True)
class SocketGate:
    """Messages of one socket: ``per_second`` on average, bursts of ``burst``.

    Excess messages are dropped. A socket that is still being dropped ``flood_seconds`` after its
    drops began (each within a second of the previous one) is flooding and gets closed.
    """

    per_second: float
    burst: float
    flood_seconds: float
    bucket: Bucket = field(init=False)
    flood_since: float | None = None
    last_drop: float = float("-inf")
    last_told: float = float("-inf")

    def __post_init__(self) -> None:
        self.bucket = Bucket(self.per_second, self.burst)

    def admit(self, now: float) -> Verdict:
        """What to do with a message that arrives at ``now``."""
        if self.bucket.take(now):
            if now - self.last_drop > 1.0:
                self.flood_since = None
            return Verdict.ADMIT
        if self.flood_since is None or now - self.last_drop > 1.0:
            self.flood_since = now
        self.last_drop = now
        if now - self.flood_since >= self.flood_seconds:
            return Verdict.CLOSE
        if now - self.last_told >= 1.0:
            self.last_told = now
            return Verdict.DROP
        return Verdict.DROP_QUIETLY
