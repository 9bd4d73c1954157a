"""The API's error codes and the one exception that carries them to the envelope."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    INVALID_API_KEY = "INVALID_API_KEY"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    INVALID_SESSION_TOKEN = "INVALID_SESSION_TOKEN"  # noqa: S105  (an error code, not a secret)
    NOT_CHARGEABLE = "NOT_CHARGEABLE"
    GAME_NOT_FOUND = "GAME_NOT_FOUND"
    NOT_PC_CAFE = "NOT_PC_CAFE"
    NOT_FOUND = "NOT_FOUND"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    ALREADY_ENDED = "ALREADY_ENDED"
    SESSION_ENDED = "SESSION_ENDED"
    SESSION_ENDING = "SESSION_ENDING"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.INVALID_SIGNATURE: 401,
    ErrorCode.INVALID_SESSION_TOKEN: 401,
    ErrorCode.NOT_CHARGEABLE: 402,
    ErrorCode.GAME_NOT_FOUND: 404,
    ErrorCode.NOT_PC_CAFE: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.SESSION_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.ALREADY_ENDED: 409,
    ErrorCode.SESSION_ENDED: 410,
    ErrorCode.SESSION_ENDING: 410,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


class ApiError(Exception):
    """A refusal that becomes an error envelope; raising it rolls back, so nothing changes."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = STATUS[code]
        self.headers = headers or {}
        self.retry_after = retry_after
