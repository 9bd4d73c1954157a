"""The game-server side of PlayWave: verify on join, heartbeat, end on leave and at shutdown.

Follows the SDK's documented behaviour. Per player: NONE → VERIFYING → ACTIVE → ENDING → ENDED
(a failed verify goes back to NONE: the player stays, as an ordinary player).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from playwave_client._http import NETWORK_ERROR, Answer, NetworkError, encode, send

logger = logging.getLogger("playwave_client.game_server")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Callback = Callable[["PlayerSession"], Awaitable[None] | None]

VERIFY = "/v1/game/session/verify"
HEARTBEAT = "/v1/game/session/heartbeat"
END = "/v1/game/session/end"

# Answers that end a session for the game server: stop heartbeating and kick the player.
KICK_CODES = frozenset({"SESSION_NOT_FOUND", "SESSION_ENDED", "SESSION_ENDING"})


class PlayerState(enum.StrEnum):
    NONE = "NONE"
    VERIFYING = "VERIFYING"
    ACTIVE = "ACTIVE"
    ENDING = "ENDING"
    ENDED = "ENDED"


class EndCause(enum.StrEnum):
    """Why the game server stopped looking after a session."""

    LEFT = "left"  # end called with reason normal
    SHUTDOWN = "shutdown"  # end called with reason server_shutdown
    REPLACED = "replaced"  # heartbeat answered SESSION_REPLACED; end not called
    KICKED = "kicked"  # heartbeat answered 404/410; end not called
    ABANDONED = "abandoned"  # forgotten without a word (a simulated crash)


@dataclass
class PlayerSession:
    """What a game server knows about one player's PlayWave session."""

    provider_user_id: str
    launch_data: str = ""
    state: PlayerState = PlayerState.NONE
    game_session_id: str | None = None
    refusal: str | None = None  # verify's reason (or error code) when it did not succeed
    started_at: float | None = None  # client clock at ACTIVE
    exhausted: bool = False
    last_result: str | None = None  # last heartbeat result or error code
    heartbeats: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    cause: EndCause | None = None
    kicked_with: str | None = None
    end_answer: str | None = None  # SUCCESS, or the end call's error code
    play_duration_sec: int | None = None  # the server's, from the end answer
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _busy: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


@dataclass(frozen=True)
class HeartbeatOutcome:
    """One heartbeat: what came back and when to send the next one."""

    result: str  # OK, CHARGE_EXHAUSTED, SESSION_REPLACED, or an error code
    next_in: float
    stopped: bool


class GameServerClient:
    """One game server's PlayWave integration, for any number of players.

    `clock` (seconds, monotonic) and `sleep` are injectable so loops can be driven without
    waiting; callbacks may be plain functions or coroutines.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        heartbeat_interval: float = 120.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_kick: Callback | None = None,
        on_charge_exhausted: Callback | None = None,
        on_charge_restored: Callback | None = None,
        on_replaced: Callback | None = None,
        retry_delay: float = 1.0,
        attempts: int = 3,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        # Pass `http` to share one connection pool between many clients (the simulator).
        self._http = http or httpx.AsyncClient(timeout=timeout, transport=transport)
        self._owns_http = http is None
        # Before the first answer the SDK's documented interval; then the server's.
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock
        self.sleep = sleep
        self.on_kick = on_kick
        self.on_charge_exhausted = on_charge_exhausted
        self.on_charge_restored = on_charge_restored
        self.on_replaced = on_replaced
        self.retry_delay = retry_delay
        self.attempts = max(1, attempts)
        self.players: dict[str, PlayerSession] = {}
        self.stats: Counter[str] = Counter()
        self._closing = False

    async def __aenter__(self) -> GameServerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    def state(self, provider_user_id: str) -> PlayerState:
        """The player's session state; NONE for a player never seen."""
        player = self.players.get(provider_user_id)
        return player.state if player else PlayerState.NONE

    def active(self) -> list[PlayerSession]:
        """Players whose session is ACTIVE."""
        return [p for p in self.players.values() if p.state is PlayerState.ACTIVE]

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> Answer:
        request = self._http.build_request(
            method,
            self.base_url + path,
            content=encode(body),
            headers={"X-Api-Key": self.api_key, "Content-Type": "application/json"},
        )
        return await send(self._http, request)

    # --- join ----------------------------------------------------------------------------------

    async def join(self, provider_user_id: str, launch_data: str | None) -> PlayerSession:
        """A player joined: verify the OTT in their launch data and start heartbeating."""
        previous = self.players.get(provider_user_id)
        if previous is not None and previous.state in (PlayerState.ACTIVE, PlayerState.ENDING):
            await self.leave(provider_user_id)
        player = PlayerSession(provider_user_id, launch_data or "")
        self.players[provider_user_id] = player
        if not launch_data:
            return player  # not from a PlayWave PC: an ordinary player, nothing to verify
        player.state = PlayerState.VERIFYING
        body = {"ott": launch_data, "provider_user_id": provider_user_id}
        answer = await self._with_retries(player, "POST", VERIFY, body)
        if answer is None or not answer.ok:
            player.state = PlayerState.NONE
            player.refusal = answer.code if answer is not None else NETWORK_ERROR
            self.stats[f"verify:{player.refusal}"] += 1
            return player
        if answer.data.get("is_valid") is not True:
            player.state = PlayerState.NONE
            player.refusal = str(answer.data.get("reason"))
            self.stats[f"verify:{player.refusal}"] += 1
            return player
        self.stats["verify:OK"] += 1
        player.game_session_id = str(answer.data["game_session_id"])
        player.started_at = self.clock()
        player.state = PlayerState.ACTIVE
        if self._closing:
            await self._end(player, "server_shutdown")
            return player
        player._task = asyncio.create_task(
            self._heartbeat_loop(player), name=f"playwave-heartbeat-{provider_user_id}"
        )
        return player

    async def _with_retries(
        self, player: PlayerSession, method: str, path: str, body: dict[str, Any]
    ) -> Answer | None:
        """Verify and end are safe to repeat, so network trouble and 5xx are retried a little."""
        answer: Answer | None = None
        for attempt in range(self.attempts):
            if attempt:
                await self.sleep(self.retry_delay)
            try:
                answer = await self._call(method, path, body)
            except NetworkError as exc:
                logger.warning("%s for player %s: %s", path, player.provider_user_id, exc)
                answer = None
                player.errors += 1
                self.stats[f"error:{NETWORK_ERROR}"] += 1
                continue
            if not answer.retryable:
                return answer
            player.errors += 1
            self.stats[f"error:{answer.code}"] += 1
        return answer

    # --- heartbeat -----------------------------------------------------------------------------

    async def _heartbeat_loop(self, player: PlayerSession) -> None:
        interval = self.heartbeat_interval
        while player.state is PlayerState.ACTIVE:
            await self.sleep(interval)
            if player.state is not PlayerState.ACTIVE:
                return
            outcome = await self.heartbeat_once(player.provider_user_id)
            if outcome.stopped:
                return
            interval = outcome.next_in

    async def heartbeat_once(self, provider_user_id: str) -> HeartbeatOutcome:
        """Send one heartbeat for the player and act on the answer (one loop iteration)."""
        player = self.players[provider_user_id]
        async with player._busy:
            if player.state is not PlayerState.ACTIVE:
                return HeartbeatOutcome(player.last_result or "", self.heartbeat_interval, True)
            body = {
                "game_session_id": player.game_session_id,
                "provider_user_id": provider_user_id,
            }
            try:
                answer = await self._call("PATCH", HEARTBEAT, body)
            except NetworkError as exc:
                logger.warning("heartbeat for %s failed: %s", provider_user_id, exc)
                return self._count_error(player, NETWORK_ERROR)
            if answer.ok:
                return await self._on_result(player, answer)
            if answer.code in KICK_CODES and answer.status in (404, 410):
                await self._kick(player, answer.code or "")
                return HeartbeatOutcome(answer.code or "", self.heartbeat_interval, True)
            # 5xx, 429 and anything unexpected: the session may well be alive; try next cycle.
            logger.warning("heartbeat for %s: %s %s", provider_user_id, answer.status, answer.code)
            return self._count_error(player, answer.code or f"HTTP_{answer.status}")

    def _count_error(self, player: PlayerSession, code: str) -> HeartbeatOutcome:
        player.errors += 1
        player.last_result = code
        self.stats[f"error:{code}"] += 1
        return HeartbeatOutcome(code, self.heartbeat_interval, False)

    async def _on_result(self, player: PlayerSession, answer: Answer) -> HeartbeatOutcome:
        result = str(answer.data.get("result"))
        next_in = float(answer.data.get("next_heartbeat_in") or self.heartbeat_interval)
        self.heartbeat_interval = next_in
        player.heartbeats[result] += 1
        player.last_result = result
        self.stats[f"heartbeat:{result}"] += 1
        if result == "SESSION_REPLACED":
            # Another game took the PC; the server already ended this session: no end call.
            self._finish(player, EndCause.REPLACED)
            await _notify(self.on_replaced, player)
            return HeartbeatOutcome(result, next_in, True)
        if result == "CHARGE_EXHAUSTED":
            if not player.exhausted:
                player.exhausted = True
                await _notify(self.on_charge_exhausted, player)
        elif player.exhausted:
            player.exhausted = False
            await _notify(self.on_charge_restored, player)
        return HeartbeatOutcome(result, next_in, False)

    async def _kick(self, player: PlayerSession, code: str) -> None:
        player.kicked_with = code
        player.last_result = code
        self.stats[f"heartbeat:{code}"] += 1
        self._finish(player, EndCause.KICKED)
        await _notify(self.on_kick, player)

    def _finish(self, player: PlayerSession, cause: EndCause) -> None:
        player.state = PlayerState.ENDED
        player.cause = cause

    # --- end -----------------------------------------------------------------------------------

    async def leave(self, provider_user_id: str) -> PlayerSession | None:
        """The player left: stop heartbeating and end the session (reason `normal`)."""
        player = self.players.get(provider_user_id)
        if player is None:
            return None
        if player.state is PlayerState.ACTIVE:
            await self._end(player, "normal")
        return player

    async def shutdown(self) -> None:
        """The server is closing: end every ACTIVE session with reason `server_shutdown`."""
        self._closing = True
        await asyncio.gather(
            *(self._end(p, "server_shutdown") for p in self.active()), return_exceptions=False
        )

    async def abandon(self, provider_user_id: str) -> PlayerSession | None:
        """Forget a player without telling the server, as a crashed game server would."""
        player = self.players.get(provider_user_id)
        if player is None or player.state is not PlayerState.ACTIVE:
            return player
        player.state = PlayerState.ENDING  # stops the loop at its next look
        await self._stop_loop(player)
        self._finish(player, EndCause.ABANDONED)
        return player

    async def _stop_loop(self, player: PlayerSession) -> None:
        # Wait out a heartbeat in flight rather than cancel it: its answer must be counted,
        # and it may already have ended the session (then there is nothing to end).
        async with player._busy:
            task = player._task
            if task is not None and task is not asyncio.current_task() and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _end(self, player: PlayerSession, reason: str) -> None:
        player.state = PlayerState.ENDING
        await self._stop_loop(player)
        if player.state is not PlayerState.ENDING:
            return  # the heartbeat in flight ended it (replaced or kicked)
        body: dict[str, Any] = {"game_session_id": player.game_session_id, "reason": reason}
        if player.started_at is not None:
            body["play_duration_sec"] = max(0, int(self.clock() - player.started_at))
        answer = await self._with_retries(player, "DELETE", END, body)
        # 404 and 409 mean the server ended it already; a client ignores both.
        player.end_answer = (
            NETWORK_ERROR if answer is None else ("SUCCESS" if answer.ok else answer.code)
        )
        if answer is not None and answer.ok:
            player.play_duration_sec = int(answer.data.get("play_duration_sec") or 0)
        self.stats[f"end:{player.end_answer}"] += 1
        self._finish(player, EndCause.SHUTDOWN if reason == "server_shutdown" else EndCause.LEFT)


async def _notify(callback: Callback | None, player: PlayerSession) -> None:
    if callback is None:
        return
    result = callback(player)
    if inspect.isawaitable(result):
        await result
