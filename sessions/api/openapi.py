"""The OpenAPI 3.1 document of the game-server API, built from the same pydantic models the
views validate with, so the document cannot drift from the implementation."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from sessions.api.schemas import (
    CheckData,
    EndData,
    EndRequest,
    HeartbeatData,
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


def _operation(
    summary: str,
    body: type[BaseModel],
    ok: dict[str, Any],
    errors: list[ErrorCode],
) -> dict[str, Any]:
    common = [ErrorCode.BAD_REQUEST, ErrorCode.INVALID_API_KEY, ErrorCode.PAYLOAD_TOO_LARGE]
    by_status: dict[int, list[ErrorCode]] = {}
    for code in [*common, *errors, ErrorCode.INTERNAL_ERROR]:
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
        "security": [{"ApiKey": []}],
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
                },
            },
        },
    }
    return schemas


@functools.cache
def _document() -> dict[str, Any]:
    session_errors = [
        ErrorCode.SESSION_NOT_FOUND,
        ErrorCode.SESSION_ENDED,
        ErrorCode.SESSION_ENDING,
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PlayWave game-server API",
            "version": "1.0.0",
            "description": (
                "Verify a launcher's one-time token, heartbeat the game session every "
                "`next_heartbeat_in` seconds, and end it. Every call carries `X-Api-Key`."
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
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {**_document(), "servers": [{"url": server_url}]}
