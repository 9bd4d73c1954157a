"""The OpenAPI 3.1 document of the game-server API, built from the same pydantic models the
views validate with, so the document cannot drift from the implementation."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from sessions.api.schemas import (
    CheckData,
    Empty,
    EndData,
    EndRequest,
    HeartbeatData,
    LauncherEndData,
    LauncherHeartbeatData,
    LauncherStartData,
    LauncherStartRequest,
    OttData,
    OttRequest,
    SessionRequest,
    VerifyRefused,
    VerifyRequest,
    VerifyValid,
)
from sessions.errors import STATUS, ErrorCode

REF = "#/components/schemas/"


def _envelope(data_ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "request_id", "data"],
        "properties": {
            "success": {"const": True},
            "request_id": {"type": "string", "pattern": "^req_"},
            "data": data_ref,
        },
    }


def _error_response(codes: list[ErrorCode]) -> dict[str, Any]:
    return {
        "description": ", ".join(c.value for c in codes),
        "content": {"application/json": {"schema": {"$ref": REF + "ErrorEnvelope"}}},
        "headers": {"X-Request-Id": {"schema": {"type": "string"}}},
    }


LAUNCHER_SECURITY: list[dict[str, list[str]]] = [
    {"PwKey": [], "PwTimestamp": [], "PwNonce": [], "PwSignature": []}
]
LAUNCHER_SESSION_SECURITY: list[dict[str, list[str]]] = [
    {**LAUNCHER_SECURITY[0], "LauncherSession": []}
]


def _operation(
    summary: str,
    body: type[BaseModel],
    ok: dict[str, Any],
    errors: list[ErrorCode],
    security: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    if security is None:
        common = [ErrorCode.BAD_REQUEST, ErrorCode.INVALID_API_KEY, ErrorCode.PAYLOAD_TOO_LARGE]
    else:
        common = [
            ErrorCode.BAD_REQUEST,
            ErrorCode.INVALID_SIGNATURE,
            ErrorCode.NOT_PC_CAFE,
            ErrorCode.PAYLOAD_TOO_LARGE,
        ]
    by_status: dict[int, list[ErrorCode]] = {}
    unavailable = [ErrorCode.RATE_LIMITED, ErrorCode.INTERNAL_ERROR, ErrorCode.SERVICE_UNAVAILABLE]
    for code in [*common, *errors, *unavailable]:
        by_status.setdefault(STATUS[code], []).append(code)
    responses: dict[str, Any] = {
        "200": {
            "description": "success envelope",
            "content": {"application/json": {"schema": _envelope(ok)}},
            "headers": {"X-Request-Id": {"schema": {"type": "string"}}},
        }
    }
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = _error_response(codes)
    return {
        "summary": summary,
        "security": security if security is not None else [{"ApiKey": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF + body.__name__}}},
        },
        "responses": responses,
    }


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (
        VerifyRequest,
        SessionRequest,
        EndRequest,
        VerifyValid,
        VerifyRefused,
        HeartbeatData,
        EndData,
        CheckData,
        LauncherStartRequest,
        OttRequest,
        Empty,
        LauncherStartData,
        OttData,
        LauncherHeartbeatData,
        LauncherEndData,
    ):
        schemas[model.__name__] = model.model_json_schema(ref_template=REF + "{model}")
    schemas["ErrorEnvelope"] = {
        "type": "object",
        "required": ["success", "request_id", "error"],
        "properties": {
            "success": {"const": False},
            "request_id": {"type": "string", "pattern": "^req_"},
            "error": {
                "type": "object",
                "required": ["code", "message", "timestamp"],
                "properties": {
                    "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
                    "message": {"type": "string"},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "retry_after": {
                        "type": "integer",
                        "description": "429 and 503 only: seconds to wait, as in Retry-After",
                    },
                },
            },
        },
    }
    return schemas


@functools.cache
def _document() -> dict[str, Any]:
    launcher_errors = [ErrorCode.INVALID_SESSION_TOKEN, ErrorCode.SESSION_ENDED]
    session_errors = [
        ErrorCode.SESSION_NOT_FOUND,
        ErrorCode.SESSION_ENDED,
        ErrorCode.SESSION_ENDING,
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PlayWave API",
            "version": "1.0.0",
            "description": (
                "Game servers verify a launcher's one-time token, heartbeat the game session "
                "every `next_heartbeat_in` seconds and end it (header `X-Api-Key`). Launchers "
                "sign every call with their cafe's key (X-PW-* headers) and, after start, "
                "carry the session token as a bearer token."
            ),
        },
        "paths": {
            "/v1/game/session/verify": {
                "post": _operation(
                    "Verify a one-time token and start a game session",
                    VerifyRequest,
                    {"oneOf": [{"$ref": REF + "VerifyValid"}, {"$ref": REF + "VerifyRefused"}]},
                    [],
                )
            },
            "/v1/game/session/heartbeat": {
                "patch": _operation(
                    "Keep a game session alive (every next_heartbeat_in seconds)",
                    SessionRequest,
                    {"$ref": REF + "HeartbeatData"},
                    session_errors,
                )
            },
            "/v1/game/session/end": {
                "delete": _operation(
                    "End a game session (JSON body on DELETE)",
                    EndRequest,
                    {"$ref": REF + "EndData"},
                    [ErrorCode.SESSION_NOT_FOUND, ErrorCode.ALREADY_ENDED],
                )
            },
            "/v1/game/session/check": {
                "post": _operation(
                    "Check a session after a teleport (refreshes its deadline)",
                    SessionRequest,
                    {"$ref": REF + "CheckData"},
                    session_errors,
                )
            },
            "/v1/launcher/session/start": {
                "post": _operation(
                    "Sign a PC in (ends the PC's previous launcher session)",
                    LauncherStartRequest,
                    {"$ref": REF + "LauncherStartData"},
                    [ErrorCode.NOT_CHARGEABLE],
                    LAUNCHER_SECURITY,
                )
            },
            "/v1/launcher/ott": {
                "post": _operation(
                    "Issue a one-time token for a game",
                    OttRequest,
                    {"$ref": REF + "OttData"},
                    [*launcher_errors, ErrorCode.NOT_CHARGEABLE, ErrorCode.GAME_NOT_FOUND],
                    LAUNCHER_SESSION_SECURITY,
                )
            },
            "/v1/launcher/session/heartbeat": {
                "patch": _operation(
                    "Keep the launcher session alive",
                    Empty,
                    {"$ref": REF + "LauncherHeartbeatData"},
                    launcher_errors,
                    LAUNCHER_SESSION_SECURITY,
                )
            },
            "/v1/launcher/session/end": {
                "delete": _operation(
                    "End the launcher session (and the game session it vouches for)",
                    Empty,
                    {"$ref": REF + "LauncherEndData"},
                    launcher_errors,
                    LAUNCHER_SESSION_SECURITY,
                )
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "PwKey": {"type": "apiKey", "in": "header", "name": "X-PW-Key"},
                "PwTimestamp": {"type": "apiKey", "in": "header", "name": "X-PW-Timestamp"},
                "PwNonce": {"type": "apiKey", "in": "header", "name": "X-PW-Nonce"},
                "PwSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-PW-Signature",
                    "description": "hex HMAC-SHA256 of METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\n"
                    "SHA256_HEX(body) with the cafe's launcher secret",
                },
                "LauncherSession": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {**_document(), "servers": [{"url": server_url}]}
