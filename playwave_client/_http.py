"""The wire envelope shared by both clients: one request helper, answers and errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

NETWORK_ERROR = "NETWORK_ERROR"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer in the PlayWave envelope; `code` is None on success."""

    status: int
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str = ""
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None

    @property
    def retryable(self) -> bool:
        """Server trouble or throttling: try again at the next cycle."""
        return self.status >= 500 or self.status == 429


class PlayWaveError(Exception):
    """Base of the clients' exceptions."""


class NetworkError(PlayWaveError):
    """The request never got an HTTP answer (refused, reset, timed out)."""


class ApiError(PlayWaveError):
    """The server refused a call; `answer.code` says why (e.g. NOT_CHARGEABLE)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.status} {answer.code}: {answer.message}")
        self.answer = answer

    @property
    def code(self) -> str:
        return self.answer.code or ""

    @property
    def status(self) -> int:
        return self.answer.status


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and, for the launcher, signed)."""
    return json.dumps(body, separators=(",", ":")).encode()


def parse(response: httpx.Response) -> Answer:
    """Read the envelope; a non-JSON answer (a proxy's 502 page) becomes HTTP_<status>."""
    request_id = response.headers.get("X-Request-Id")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or "success" not in payload:
        code = None if response.status_code == 200 else f"HTTP_{response.status_code}"
        return Answer(response.status_code, {}, code, response.text[:200], request_id)
    if payload.get("success") is True and response.status_code == 200:
        data = payload.get("data")
        return Answer(200, data if isinstance(data, dict) else {}, None, "", request_id)
    error = payload.get("error") or {}
    return Answer(
        response.status_code,
        {},
        str(error.get("code") or f"HTTP_{response.status_code}"),
        str(error.get("message") or ""),
        payload.get("request_id") or request_id,
    )


async def send(http: httpx.AsyncClient, request: httpx.Request) -> Answer:
    """Send one request; transport failures become NetworkError."""
    try:
        response = await http.send(request)
    except httpx.TransportError as exc:
        raise NetworkError(f"{request.method} {request.url}: {type(exc).__name__}: {exc}") from exc
    return parse(response)
