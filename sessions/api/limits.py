"""The /v1 rate limits: per client IP, per API key (game) or launcher key (cafe), and failed
authentications per client IP. Each is a setting (README "Configuration"); `RATE_LIMITS=0` turns
them all off. A refusal is 429 RATE_LIMITED with Retry-After, in the header and the envelope.

While Redis is down the counters are kept in each process's memory (`ratelimits`), so an outage
never turns a call into a 500 and never refuses one for the outage itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

import ratelimits
from sessions.errors import ApiError, ErrorCode
from sessions.keys import Network


def _networks(cidrs: list[str]) -> list[Network]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def in_networks(ip: str, networks: Iterable[Network]) -> bool:
    """Whether `ip` (a string from a request: it may be anything) is in one of `networks`."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The socket peer, or the right-most untrusted X-Forwarded-For hop behind a trusted proxy."""
    cached: str | None = getattr(request, "_playwave_client_ip", None)
    if cached is not None:
        return cached
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = _networks(settings.PLAYWAVE_TRUSTED_PROXIES)
    found = peer
    if in_networks(peer, trusted):
        # A client can write anything into X-Forwarded-For; only our proxies are believed.
        hops = [
            h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()
        ]
        found = next(
            (h for h in reversed(hops) if not in_networks(h, trusted)), hops[0] if hops else peer
        )
    request._playwave_client_ip = found  # type: ignore[attr-defined]
    return found


def _refuse(verdict: ratelimits.Verdict, what: str) -> ApiError:
    return ApiError(
        ErrorCode.RATE_LIMITED,
        f"too many {what} (limit {verdict.limit}); retry after {verdict.retry_after} s",
        retry_after=verdict.retry_after,
    )


def check_client(request: HttpRequest) -> None:
    """Count one call from the client's IP (PLAYWAVE_RATE_PER_IP)."""
    verdict = ratelimits.hit(
        "v1-ip", client_ip(request), settings.PLAYWAVE_RATE_PER_IP, batched=True
    )
    if not verdict.allowed:
        raise _refuse(verdict, "calls from this address")


def check_key(kind: str, key: str) -> None:
    """Count one call made with a valid key: kind "game" (X-Api-Key) or "cafe" (X-PW-Key)."""
    rate = (
        settings.PLAYWAVE_RATE_PER_GAME_KEY
        if kind == "game"
        else settings.PLAYWAVE_RATE_PER_CAFE_KEY
    )
    verdict = ratelimits.hit(f"v1-{kind}-key", key, rate, batched=True)
    if not verdict.allowed:
        raise _refuse(verdict, "calls with this key")


def gate_failed_auth(request: HttpRequest) -> None:
    """Refuse, before any key is looked at, a client past its failed authentications."""
    verdict = ratelimits.peek(
        "v1-auth-failed", client_ip(request), settings.PLAYWAVE_RATE_AUTH_FAILURES, batched=True
    )
    if not verdict.allowed:
        raise _refuse(verdict, "failed authentications from this address")


def count_failed_auth(request: HttpRequest) -> None:
    """Count a bad API key, signature or session token against the client's IP."""
    ratelimits.hit("v1-auth-failed", client_ip(request), settings.PLAYWAVE_RATE_AUTH_FAILURES)
