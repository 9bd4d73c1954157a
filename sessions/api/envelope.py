"""The API's success and error envelopes; every /v1 response is built here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, JsonResponse

from sessions.errors import STATUS, ErrorCode


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex}"


def request_id(request: HttpRequest) -> str:
    rid = getattr(request, "request_id", None)
    if rid is None:
        rid = new_request_id()
        request.request_id = rid  # type: ignore[attr-defined]
    return rid


def iso_millis(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and Z, as the wire format wants."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def success(request: HttpRequest, data: dict[str, Any]) -> JsonResponse:
    rid = request_id(request)
    response = JsonResponse({"success": True, "request_id": rid, "data": data})
    response["X-Request-Id"] = rid
    return response


def error(
    request: HttpRequest,
    code: ErrorCode,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> JsonResponse:
    """The error envelope; with `retry_after` (429, 503) also the `Retry-After` header."""
    rid = request_id(request)
    problem: dict[str, Any] = {
        "code": code.value,
        "message": message,
        "timestamp": iso_millis(datetime.now(UTC)),
    }
    if retry_after is not None:
        problem["retry_after"] = retry_after
    response = JsonResponse(
        {"success": False, "request_id": rid, "error": problem}, status=STATUS[code]
    )
    response["X-Request-Id"] = rid
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
