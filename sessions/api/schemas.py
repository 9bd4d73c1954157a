"""Request and response bodies of the /v1 API (game-server part wire-exact; see docs/api.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StringConstraints,
)

OTT_PREFIX = "playwave_"
SESSION_PREFIX = "gs_"


def _parse_uuid(raw: str, what: str) -> uuid.UUID:
    try:
        value = uuid.UUID(raw)
    except ValueError:
        raise ValueError(f"{what} is not a UUID") from None
    if str(value) != raw.lower():
        # Braced, URN or unhyphenated spellings are not what clients are given.
        raise ValueError(f"{what} is not a UUID in its canonical 8-4-4-4-12 form")
    return value


def parse_ott(raw: str) -> uuid.UUID:
    body = raw[len(OTT_PREFIX) :] if raw.startswith(OTT_PREFIX) else raw
    return _parse_uuid(body, "ott")


def parse_session_id(raw: str) -> uuid.UUID:
    if not raw.startswith(SESSION_PREFIX):
        raise ValueError("game_session_id must look like gs_<uuid>")
    return _parse_uuid(raw[len(SESSION_PREFIX) :], "game_session_id")


def _check_ott(raw: str) -> str:
    parse_ott(raw)
    return raw


def _check_session_id(raw: str) -> str:
    parse_session_id(raw)
    return raw


# PostgreSQL text cannot hold NUL (a DataError at insert), and no id or name needs one.
NO_NUL = r"^[^\x00]*$"
ProviderUserId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, strip_whitespace=False, pattern=NO_NUL)
]
UUID_RE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
OttField = Annotated[
    str,
    StringConstraints(pattern=f"^(playwave_)?{UUID_RE}$"),
    Field(description="The OTT (a UUID), with or without the `playwave_` prefix."),
    AfterValidator(_check_ott),
]
SessionIdField = Annotated[
    str,
    StringConstraints(pattern=f"^gs_{UUID_RE}$"),
    Field(
        description="`gs_` followed by a UUID.",
        examples=["gs_550e8400-e29b-41d4-a716-446655440000"],
    ),
    AfterValidator(_check_session_id),
]


def _integral_float_to_int(value: object) -> object:
    # Luau numbers are doubles, so some encoders write 1795 as 1795.0; JSON Schema's
    # "integer" admits it too. Any other type still fails strict validation.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Strict(BaseModel):
    # Strict types (no "123" for 123), unknown fields ignored so newer SDKs keep working.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class VerifyRequest(Strict):
    ott: OttField
    provider_user_id: ProviderUserId


class SessionRequest(Strict):
    game_session_id: SessionIdField
    provider_user_id: ProviderUserId


class EndRequest(Strict):
    game_session_id: SessionIdField
    play_duration_sec: (
        Annotated[int, Field(ge=0, le=10_000_000), BeforeValidator(_integral_float_to_int)] | None
    ) = None
    reason: Literal["normal", "server_shutdown"] = "normal"


class VerifyValid(BaseModel):
    is_valid: Literal[True]
    game_session_id: str
    is_pc_cafe: Literal[True]


class VerifyRefused(BaseModel):
    is_valid: Literal[False]
    reason: Literal["OTT_EXPIRED", "OTT_ALREADY_USED", "GAME_MISMATCH", "NOT_CHARGEABLE"]


class HeartbeatData(BaseModel):
    result: Literal["OK", "CHARGE_EXHAUSTED", "SESSION_REPLACED"]
    next_heartbeat_in: int
    play_duration_sec: int


class EndData(BaseModel):
    result: Literal["SUCCESS"]
    play_duration_sec: int
    client_play_duration_sec: int | None


class CheckData(VerifyValid):
    pass


# --- Launcher API -----------------------------------------------------------------------------


class PcInfo(Strict):
    hardware_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
    internal_ip: IPvAnyAddress
    hostname: Annotated[str, StringConstraints(max_length=128, pattern=NO_NUL)] = ""


class LauncherStartRequest(Strict):
    pc: PcInfo
    launcher_version: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NO_NUL)]


class OttRequest(Strict):
    game_id: Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=NO_NUL)]


class Empty(Strict):
    pass


class GameListing(BaseModel):
    game_id: str
    name: str
    featured: bool
    coins_per_minute: int


class LauncherStartData(BaseModel):
    launcher_session_id: str
    session_token: str
    heartbeat_interval_sec: int
    games: list[GameListing]


class OttData(BaseModel):
    ott: str
    launch_data: str
    expires_in: int


class LauncherHeartbeatData(BaseModel):
    result: Literal["OK"]
    next_heartbeat_in: int
    active_game_session_id: str | None


class LauncherEndData(BaseModel):
    result: Literal["SUCCESS"]
