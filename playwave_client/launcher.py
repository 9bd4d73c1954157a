"""The launcher side of PlayWave: signed calls to start, issue OTTs, heartbeat and end.

Signing is `playwave_client.signing`, the very module the server verifies with, so client and
server cannot drift apart.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from playwave_client._http import (
    NETWORK_ERROR,
    Answer,
    ApiError,
    NetworkError,
    encode,
    send,
)
from playwave_client.signing import sign

logger = logging.getLogger("playwave_client.launcher")

Sleep = Callable[[float], Awaitable[None]]

START = "/v1/launcher/session/start"
OTT = "/v1/launcher/ott"
HEARTBEAT = "/v1/launcher/session/heartbeat"
END = "/v1/launcher/session/end"

# The launcher session is over for good: sign in again with `start`.
DEAD_CODES = frozenset({"SESSION_ENDED", "INVALID_SESSION_TOKEN"})


class LauncherState(enum.StrEnum):
    IDLE = "IDLE"  # not signed in
    RUNNING = "RUNNING"  # signed in
    ENDED = "ENDED"  # ended by `end`
    DEAD = "DEAD"  # the server no longer knows the session (timed out, replaced, closed)


@dataclass(frozen=True)
class GameListing:
    game_id: str
    name: str
    featured: bool
    coins_per_minute: int


@dataclass(frozen=True)
class LauncherSession:
    launcher_session_id: str
    session_token: str
    heartbeat_interval: float
    games: list[GameListing]


@dataclass(frozen=True)
class IssuedOtt:
    ott: str
    launch_data: str  # playwave_<uuid>: what the launcher hands the game
    expires_in: int


@dataclass(frozen=True)
class LauncherBeat:
    result: str
    next_in: float
    active_game_session_id: str | None


class LauncherClient:
    """One PC's launcher. `wall_clock` stamps signatures; `sleep` paces the heartbeat loop."""

    def __init__(
        self,
        base_url: str,
        key_id: str,
        secret: str,
        *,
        hardware_id: str,
        internal_ip: str = "10.0.0.1",
        hostname: str = "",
        launcher_version: str = "playwave-client",
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
        on_dead: Callable[[LauncherClient], None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.hardware_id = hardware_id
        self.internal_ip = internal_ip
        self.hostname = hostname
        self.launcher_version = launcher_version
        # Pass `http` to share one connection pool between many clients (the simulator).
        self._http = http or httpx.AsyncClient(timeout=timeout, transport=transport)
        self._owns_http = http is None
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.nonce = nonce
        self.on_dead = on_dead
        self.state = LauncherState.IDLE
        self.session: LauncherSession | None = None
        self.stats: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LauncherClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.state is LauncherState.RUNNING:
            await self.end()
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the heartbeat loop and close the HTTP client if this object created it."""
        await self.stop_heartbeats()
        if self._owns_http:
            await self._http.aclose()

    def signed_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """The X-PW-* headers (and the bearer token once signed in) for one request."""
        timestamp = str(int(self.wall_clock()))
        nonce = self.nonce()
        headers = {
            "Content-Type": "application/json",
            "X-PW-Key": self.key_id,
            "X-PW-Timestamp": timestamp,
            "X-PW-Nonce": nonce,
            "X-PW-Signature": sign(self.secret, method, path, timestamp, nonce, body),
        }
        if self.session is not None:
            headers["Authorization"] = f"Bearer {self.session.session_token}"
        return headers

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        raw = encode(body)
        url = httpx.URL(self.base_url + path)
        # The server checks the path it was asked for, prefix included.
        request = self._http.build_request(
            method, url, content=raw, headers=self.signed_headers(method, url.path, raw)
        )
        answer = await send(self._http, request)
        self.stats[f"{path.rsplit('/', 1)[-1]}:{answer.code or 'OK'}"] += 1
        return answer

    async def _checked(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        answer = await self._call(method, path, body)
        if not answer.ok:
            if answer.code in DEAD_CODES and self.state is LauncherState.RUNNING:
                self._died()
            raise ApiError(answer)
        return answer

    async def start(self) -> LauncherSession:
        """Sign the PC in (ending any earlier launcher session on it) and list the games."""
        pc: dict[str, Any] = {"hardware_id": self.hardware_id, "internal_ip": self.internal_ip}
        if self.hostname:
            pc["hostname"] = self.hostname
        await self.stop_heartbeats()
        self.session = None
        answer = await self._checked(
            "POST", START, {"pc": pc, "launcher_version": self.launcher_version}
        )
        data = answer.data
        self.session = LauncherSession(
            launcher_session_id=str(data["launcher_session_id"]),
            session_token=str(data["session_token"]),
            heartbeat_interval=float(data["heartbeat_interval_sec"]),
            games=[GameListing(**g) for g in data.get("games", [])],
        )
        self.state = LauncherState.RUNNING
        return self.session

    async def issue_ott(self, game_id: str) -> IssuedOtt:
        """A one-time token for `game_id` on this PC; launch the game with `launch_data`."""
        answer = await self._checked("POST", OTT, {"game_id": game_id})
        data = answer.data
        return IssuedOtt(str(data["ott"]), str(data["launch_data"]), int(data["expires_in"]))

    async def heartbeat(self) -> LauncherBeat:
        """One launcher heartbeat; raises ApiError (and marks the launcher DEAD) if it is over."""
        answer = await self._checked("PATCH", HEARTBEAT, {})
        data = answer.data
        active = data.get("active_game_session_id")
        return LauncherBeat(
            str(data["result"]), float(data["next_heartbeat_in"]), str(active) if active else None
        )

    async def heartbeat_once(self) -> float | None:
        """One loop iteration: the delay before the next heartbeat, or None when dead."""
        interval = self.session.heartbeat_interval if self.session else 60.0
        try:
            return (await self.heartbeat()).next_in
        except NetworkError as exc:
            logger.warning("launcher %s heartbeat failed: %s", self.hardware_id, exc)
            self.stats[f"heartbeat:{NETWORK_ERROR}"] += 1
        except ApiError as exc:
            if self.state is not LauncherState.RUNNING:
                return None
            # 5xx and anything unexpected: the session may be fine; try again next cycle.
            logger.warning("launcher %s heartbeat: %s", self.hardware_id, exc)
        return interval

    async def run_heartbeats(self) -> None:
        """Heartbeat until the session ends or dies, honouring `next_heartbeat_in`."""
        delay = self.session.heartbeat_interval if self.session else 60.0
        while self.state is LauncherState.RUNNING:
            await self.sleep(delay)
            if self.state is not LauncherState.RUNNING:
                return
            next_delay = await self.heartbeat_once()
            if next_delay is None:
                return
            delay = next_delay

    def start_heartbeats(self) -> asyncio.Task[None]:
        """Run the heartbeat loop in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(
                self.run_heartbeats(), name=f"playwave-launcher-{self.hardware_id}"
            )
        return self._task

    async def stop_heartbeats(self) -> None:
        """Stop heartbeating without ending the session (what a crashed launcher does)."""
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def end(self) -> None:
        """Close the launcher: its game session ends at its next touch (`launcher_closed`)."""
        await self.stop_heartbeats()
        try:
            await self._checked("DELETE", END, {})
        finally:
            if self.state is LauncherState.RUNNING:
                self.state = LauncherState.ENDED

    def _died(self) -> None:
        self.state = LauncherState.DEAD
        if self.on_dead is not None:
            self.on_dead(self)
