"""Stacked decorators for /v1 views: method, body size and JSON, API key, pydantic body."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from sessions.api import limits
from sessions.api.envelope import error
from sessions.errors import ApiError, ErrorCode
from sessions.keys import api_keys
from sessions.models import sha256_hex

View = Callable[..., HttpResponse]
M = TypeVar("M", bound=BaseModel)


def _fail(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error(request, exc.code, exc.message, headers=exc.headers, retry_after=exc.retry_after)


def api_view(method: str) -> Callable[[View], View]:
    """Allow one HTTP method, answer everything in the envelope, turn ApiError into it."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != method:
                return error(
                    request,
                    ErrorCode.METHOD_NOT_ALLOWED,
                    f"use {method} for this endpoint",
                    headers={"Allow": method},
                )
            try:
                limits.check_client(request)
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return _fail(request, exc)

        return wrapper

    return decorate


def game_key_required(view: View) -> View:
    """Authenticate the X-Api-Key header; the view gets `game`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limits.gate_failed_auth(request)
        raw = request.headers.get("X-Api-Key", "")
        game = api_keys.get(raw) if raw else None
        if game is None:
            limits.count_failed_auth(request)
            raise ApiError(ErrorCode.INVALID_API_KEY, "missing, unknown or revoked API key")
        limits.check_key("game", sha256_hex(raw))
        return view(request, *args, game=game, **kwargs)

    return wrapper


def json_body(model: type[M]) -> Callable[[View], View]:
    """Parse and validate the JSON body with `model`; the view gets `body`."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            body = parse_body(request, model)
            return view(request, *args, body=body, **kwargs)

        return wrapper

    return decorate


def raw_body(request: HttpRequest) -> bytes:
    """The request body, read once and bounded by PLAYWAVE_MAX_BODY_BYTES (else 413)."""
    cached: bytes | None = getattr(request, "_playwave_raw_body", None)
    if cached is not None:
        return cached
    limit = settings.PLAYWAVE_MAX_BODY_BYTES
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise ApiError(ErrorCode.BAD_REQUEST, "Content-Length is not a number") from None
    if length > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"request body over {limit} bytes")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(ErrorCode.PAYLOAD_TOO_LARGE, f"request body over {limit} bytes")
    request._playwave_raw_body = raw  # type: ignore[attr-defined]
    return raw


def parse_body(request: HttpRequest, model: type[M]) -> M:
    raw = raw_body(request)
    try:
        data = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        # The decoder recurses once per level: ~1 000 nested brackets exhaust the stack.
        raise ApiError(ErrorCode.BAD_REQUEST, "body is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(ErrorCode.BAD_REQUEST, "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, describe(exc)) from None
    except RecursionError:
        raise ApiError(ErrorCode.BAD_REQUEST, "body is nested too deeply") from None


def describe(exc: ValidationError) -> str:
    """One readable line per problem: `field: what is wrong`."""
    parts = []
    for problem in exc.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
