"""Python clients for PlayWave: a game server's integration and a PC cafe launcher (httpx, async).

No Django here: game-server authors and our own tools (the simulator) use the same code.
"""

from __future__ import annotations

from playwave_client._http import Answer, ApiError, NetworkError, PlayWaveError
from playwave_client.game_server import (
    EndCause,
    GameServerClient,
    HeartbeatOutcome,
    PlayerSession,
    PlayerState,
)
from playwave_client.launcher import (
    GameListing,
    IssuedOtt,
    LauncherBeat,
    LauncherClient,
    LauncherSession,
    LauncherState,
)

__all__ = [
    "Answer",
    "ApiError",
    "EndCause",
    "GameListing",
    "GameServerClient",
    "HeartbeatOutcome",
    "IssuedOtt",
    "LauncherBeat",
    "LauncherClient",
    "LauncherSession",
    "LauncherState",
    "NetworkError",
    "PlayWaveError",
    "PlayerSession",
    "PlayerState",
]
