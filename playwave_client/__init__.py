"""Python clients for PlayWave: a game server's integration and a PC cafe launcher (httpx, async).

Its own distribution (`playwave-client`, see pyproject.toml beside this file), whose only
dependency is httpx: it imports nothing of the server, which imports its signing from here.
Game-server authors and our own tools (the simulator) use the same code.
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

__version__ = "1.0.0"

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
