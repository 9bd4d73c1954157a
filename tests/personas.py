"""Named personas shared by the tests: a cafe with a PC, games with keys, a clock.

The fixtures are registered by conftest.py; test modules import the helpers. Tests speak to
the API the way a game server does (JSON over the test client) and move time with
time_machine; nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from sessions import billing, launchers, reaper
from sessions.keys import api_keys, launcher_keys
from sessions.models import ApiKey, Cafe, Game, GameSession, LauncherSession

T0 = datetime(2026, 3, 6, 12, 0, 0, tzinfo=UTC)

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    api_keys.clear()
    launcher_keys.clear()
    yield
    api_keys.clear()
    launcher_keys.clear()


class Clock:
    """Frozen time at T0 + offset; `at(seconds)` jumps there."""

    def __init__(self, traveller: Any) -> None:
        self._traveller = traveller
        self.now = T0

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        self._traveller.move_to(self.now)
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield Clock(traveller)


@dataclass
class GameWithKey:
    game: Game
    key: str


def make_game(slug: str, name: str, rate: int) -> GameWithKey:
    game = Game.objects.create(slug=slug, name=name, coins_per_minute=rate)
    return GameWithKey(game, ApiKey.objects.issue(game, label="tests").raw_key)


@pytest.fixture
def obby(db: None) -> GameWithKey:
    """The game under test: 10 G-coin per minute."""
    return make_game("obby", "Mega Obby", 10)


@pytest.fixture
def tycoon(db: None) -> GameWithKey:
    """Another game, with its own key."""
    return make_game("tycoon", "Cafe Tycoon", 5)


@dataclass
class CafePC:
    cafe: Cafe
    launcher: LauncherSession
    token: str

    def refresh(self) -> CafePC:
        self.cafe.refresh_from_db()
        self.launcher.refresh_from_db()
        return self

    def ott(self, game: GameWithKey | Game) -> str:
        target = game.game if isinstance(game, GameWithKey) else game
        ott = launchers.issue_ott(self.launcher, target, now=_now())
        return f"playwave_{ott.id}"


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def open_pc(cafe: Cafe, hardware_id: str) -> CafePC:
    start = launchers.start_launcher_session(
        cafe, hardware_id, now=_now(), hostname=hardware_id, internal_ip="10.0.0.11"
    )
    return CafePC(cafe, start.session, start.token)


@pytest.fixture
def cafe(db: None, clock: Clock) -> Cafe:
    """Sunny PC Bang, 1 000 G-coin, on 10.0.0.0/24."""
    return billing.create_cafe("Sunny PC Bang", ["10.0.0.0/24"], balance=1000, now=clock.now)


@pytest.fixture
def pc(cafe: Cafe) -> CafePC:
    """PC-01 of the cafe with a running launcher."""
    return open_pc(cafe, "PC-01")


@pytest.fixture
def pc2(cafe: Cafe) -> CafePC:
    """PC-02 of the same cafe."""
    return open_pc(cafe, "PC-02")


class GameServer:
    """A game server speaking the wire format with one game's key."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = Client()

    def call(self, method: str, path: str, body: Any) -> Any:
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.generic(
            method,
            path,
            raw,
            content_type="application/json",
            headers={"X-Api-Key": self.key},
        )

    def verify(self, ott: str, user: str = "1001") -> Any:
        return self.call("POST", "/v1/game/session/verify", {"ott": ott, "provider_user_id": user})

    def heartbeat(self, gs: str, user: str = "1001") -> Any:
        body = {"game_session_id": gs, "provider_user_id": user}
        return self.call("PATCH", "/v1/game/session/heartbeat", body)

    def check(self, gs: str, user: str = "1001") -> Any:
        body = {"game_session_id": gs, "provider_user_id": user}
        return self.call("POST", "/v1/game/session/check", body)

    def end(self, gs: str, **extra: Any) -> Any:
        return self.call("DELETE", "/v1/game/session/end", {"game_session_id": gs, **extra})

    def start(self, pc: CafePC, game: GameWithKey, user: str = "1001") -> str:
        """Verify a fresh OTT from `pc` and return the game session id."""
        response = self.verify(pc.ott(game), user)
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["is_valid"] is True, data
        return str(data["game_session_id"])


@pytest.fixture
def server(obby: GameWithKey) -> GameServer:
    """The obby's game server."""
    return GameServer(obby.key)


@pytest.fixture
def tycoon_server(tycoon: GameWithKey) -> GameServer:
    return GameServer(tycoon.key)


def session_row(gs: str) -> GameSession:
    return GameSession.objects.get(pk=gs.removeprefix("gs_"))


def reap(now: datetime) -> reaper.ReapReport:
    return reaper.reap_once(now=now, batch=1000)


def ledger_balanced(cafe: Cafe) -> bool:
    """The ledger invariant: top-ups - charges = balance."""
    from django.db.models import Sum

    cafe.refresh_from_db()
    sums = {
        row["kind"]: row["total"]
        for row in cafe.ledger.values("kind").annotate(total=Sum("amount"))
    }
    return sums.get("topup", 0) - sums.get("charge", 0) == cafe.balance


class SignedLauncher:
    """A cafe's launcher speaking the signed launcher API from an address inside the cafe."""

    def __init__(self, cafe: Cafe, *, ip: str = "10.0.0.11", hardware_id: str = "PC-01") -> None:
        self.cafe = cafe
        self.key_id = cafe.launcher_key_id
        self.secret = cafe.launcher_secret
        self.ip = ip
        self.hardware_id = hardware_id
        self.client = Client()
        self.token: str | None = None

    def headers(self, method: str, path: str, body: bytes, **overrides: str) -> dict[str, str]:
        import secrets as _secrets
        import time as _time

        from playwave_client.signing import sign

        timestamp = overrides.pop("timestamp", str(int(_time.time())))
        nonce = overrides.pop("nonce", _secrets.token_hex(12))
        secret = overrides.pop("secret", self.secret)
        headers = {
            "X-PW-Key": overrides.pop("key_id", self.key_id),
            "X-PW-Timestamp": timestamp,
            "X-PW-Nonce": nonce,
            "X-PW-Signature": sign(secret, method, path, timestamp, nonce, body),
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(overrides)
        return headers

    def call(self, method: str, path: str, body: Any, **overrides: str) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra = {"REMOTE_ADDR": overrides.pop("remote_addr", self.ip)}
        return self.client.generic(
            method,
            path,
            raw,
            content_type="application/json",
            headers=self.headers(method, path, raw, **overrides),
            **extra,
        )

    def start(self, **overrides: str) -> Any:
        body = {
            "pc": {
                "hardware_id": self.hardware_id,
                "internal_ip": "192.168.0.11",
                "hostname": "s1",
            },
            "launcher_version": "1.4.2",
        }
        response = self.call("POST", "/v1/launcher/session/start", body, **overrides)
        if response.status_code == 200:
            self.token = response.json()["data"]["session_token"]
        return response

    def ott(self, game_id: str, **overrides: str) -> Any:
        return self.call("POST", "/v1/launcher/ott", {"game_id": game_id}, **overrides)

    def heartbeat(self, **overrides: str) -> Any:
        return self.call("PATCH", "/v1/launcher/session/heartbeat", {}, **overrides)

    def end(self, **overrides: str) -> Any:
        return self.call("DELETE", "/v1/launcher/session/end", {}, **overrides)


def free_port() -> int:
    """A free TCP port on loopback for a server a test starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, timeout: float = 30.0) -> None:
    """Bounded poll of another process or thread until it answers HTTP at `url`."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answered at {url} within {timeout} s") from None
            time.sleep(0.05)  # polling another process, not waiting on a timer
