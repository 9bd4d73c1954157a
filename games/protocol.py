"""The WebSocket protocol: every client message, validated strictly before the runtime sees it.

Close codes (also in docs/games.md):

* ``4000`` the game is over (sent after the ``game_over`` event);
* ``4403`` the game master removed this player (the rejoin token no longer works);
* ``4404`` no live session has this code (wrong or expired);
* ``4409`` this seat was taken over by a newer connection with the same rejoin token;
* ``4410`` the session was closed by the server (idle for too long);
* ``4503`` the process that holds the game went away; rejoin, and the game is found where it
  lives now.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CLOSE_GAME_OVER = 4000
CLOSE_KICKED = 4403
CLOSE_UNKNOWN_CODE = 4404
CLOSE_REPLACED = 4409
CLOSE_REAPED = 4410
CLOSE_OWNER_GONE = 4503
CLOSE_FLOODING = 4429
CLOSE_TOO_BIG = 1009  # RFC 6455 "message too big"

# JSON nesting a client frame may have; the deepest valid message (an action payload) needs far
# less. Checked before decoding, so a frame of "[" * 3000 never reaches the recursive decoder.
MAX_DEPTH = 16
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = re.compile(r"[\[\]{}]")

Number = Annotated[float, Field(allow_inf_nan=False)]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # Which of the room's handlers takes it (games.room.Room.HANDLERS).
    handler: ClassVar[str] = ""


class LatLng(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lng: Annotated[Number, Field(ge=-180, le=180)]


class Join(_Msg):
    handler = "join"
    type: Literal["join"]
    name: Annotated[str, Field(max_length=40)] = ""
    token: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class Spectate(_Msg):
    handler = "spectate"
    type: Literal["spectate"]


class Location(_Msg):
    handler = "input"
    type: Literal["location"]
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lng: Annotated[Number, Field(ge=-180, le=180)]
    accuracy: Annotated[Number, Field(ge=0, le=1e6)] | None = None
    heading: Annotated[Number, Field(ge=-360, le=360)] | None = None
    ts: Annotated[Number, Field(ge=0, le=1e13)]


class Action(_Msg):
    handler = "input"
    type: Literal["action"]
    actionId: Annotated[str, Field(min_length=1, max_length=64)]
    payload: dict[str, Any] | None = None


class Chat(_Msg):
    handler = "chat"
    type: Literal["chat"]
    text: Annotated[str, Field(min_length=1, max_length=500)]


class _Gm(_Msg):
    handler = "gm"


class GmStart(_Gm):
    type: Literal["gm.start"]


class GmStop(_Gm):
    type: Literal["gm.stop"]


class GmEnd(_Gm):
    type: Literal["gm.end"]


class GmPlace(_Gm):
    type: Literal["gm.place"]
    zoneId: Annotated[str, Field(max_length=64)] | None = None
    origin: LatLng
    rotation: Annotated[Number, Field(ge=-360, le=360)] = 0.0
    scale: Annotated[Number, Field(ge=0.05, le=20)] = 1.0


class GmBots(_Gm):
    type: Literal["gm.bots"]
    classId: Annotated[str, Field(min_length=1, max_length=64)]
    count: Annotated[int, Field(ge=0, le=1000)]


class GmTunable(_Gm):
    type: Literal["gm.tunable"]
    key: Annotated[str, Field(min_length=1, max_length=64)]
    value: Number


class GmSpawn(_Gm):
    type: Literal["gm.spawn"]
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    at: LatLng


PlayerId = Annotated[str, Field(min_length=1, max_length=64)]
StateValue = Annotated[str, Field(max_length=100)] | bool | int | Number | None


class GmKick(_Gm):
    type: Literal["gm.kick"]
    playerId: PlayerId


class GmTeam(_Gm):
    type: Literal["gm.team"]
    playerId: PlayerId
    team: Annotated[str, Field(min_length=1, max_length=64)]


class GmState(_Gm):
    type: Literal["gm.state"]
    playerId: PlayerId
    key: Annotated[str, Field(min_length=1, max_length=64)]
    value: StateValue


class GmMessage(_Gm):
    type: Literal["gm.message"]
    playerId: PlayerId
    text: Annotated[str, Field(min_length=1, max_length=500)]


# The one table of client messages: type -> model (whose ``handler`` names the room's handler).
MESSAGES: dict[str, type[_Msg]] = {
    get_args(m.model_fields["type"].annotation)[0]: m
    for m in (
        Join,
        Spectate,
        Location,
        Action,
        Chat,
        GmStart,
        GmStop,
        GmEnd,
        GmPlace,
        GmBots,
        GmTunable,
        GmSpawn,
        GmKick,
        GmTeam,
        GmState,
        GmMessage,
    )
}


class BadMessage(Exception):
    """A client message that is refused before it reaches the session; carries the error code."""

    def __init__(self, code: str, message: str, close: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close  # a close code when the socket must go too


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``text`` nests arrays/objects deeper than ``limit`` (strings are skipped)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # cannot nest deeper than it opens (every ordinary message)
    depth = 0
    for bracket in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def parse(
    text: str | bytes | None, max_bytes: int, max_frame_bytes: int | None = None
) -> dict[str, Any]:
    """Decode and validate one client frame into a plain dict, or raise :class:`BadMessage`.

    Frames over ``max_bytes`` are refused; over ``max_frame_bytes`` the socket is closed too.
    """
    data = text if isinstance(text, bytes) else (text or "").encode()
    if max_frame_bytes is not None and len(data) > max_frame_bytes:
        message = f"messages are at most {max_bytes} bytes; this one closes the connection"
        raise BadMessage("too_large", message, close=CLOSE_TOO_BIG)
    if not isinstance(text, str):
        raise BadMessage("bad_message", "send JSON text frames")
    if len(data) > max_bytes:
        raise BadMessage("too_large", f"messages are at most {max_bytes} bytes")
    if too_deep(text):
        raise BadMessage("bad_message", f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        raw = json.loads(text)
    except ValueError:
        raise BadMessage("bad_message", "not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise BadMessage("bad_message", 'a message is a JSON object with a "type"')
    model = MESSAGES.get(raw["type"])
    if model is None:
        raise BadMessage("unknown_message", f"unknown message type {raw['type'][:40]!r}")
    try:
        msg = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise BadMessage("bad_message", f"{where}: {first['msg']}") from None
    out: dict[str, Any] = msg.model_dump(exclude_none=True)
    return out


def encode(type_: str, **fields: Any) -> str:
    """A server frame as compact JSON."""
    return json.dumps({"type": type_, **fields}, separators=(",", ":"))
