"""Game-server API views (/v1/game/session/...): thin shells around `sessions.game_sessions`."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from sessions import game_sessions, metrics
from sessions.api.decorators import api_view, game_key_required, json_body
from sessions.api.envelope import success
from sessions.api.openapi import openapi_document
from sessions.api.schemas import (
    EndRequest,
    SessionRequest,
    VerifyRequest,
    parse_ott,
    parse_session_id,
)
from sessions.errors import ApiError, ErrorCode
from sessions.lifecycle import Reply, Touch
from sessions.models import Game

# The one table from a reply to the wire: a heartbeat result (HTTP 200), or an error code
# (its HTTP status is `sessions.errors.STATUS`: 404, 410, 409) and its message.
REPLIES: dict[Reply, str | ApiError] = {
    Reply.SESSION_REPLACED: "SESSION_REPLACED",  # heartbeat only
    Reply.SESSION_NOT_FOUND: ApiError(
        ErrorCode.SESSION_NOT_FOUND, "the game session does not exist or expired"
    ),
    Reply.SESSION_ENDED: ApiError(ErrorCode.SESSION_ENDED, "the game session has ended"),
    Reply.SESSION_ENDING: ApiError(ErrorCode.SESSION_ENDING, "the game session is ending"),
    Reply.ALREADY_ENDED: ApiError(ErrorCode.ALREADY_ENDED, "the game session had already ended"),
}


def _result_of(reply: Reply | None, *, ok: str = "OK") -> str:
    """The result a reply answers with, or its error raised."""
    answer = ok if reply is None else REPLIES[reply]
    if isinstance(answer, ApiError):
        raise ApiError(answer.code, answer.message)
    return answer


@api_view("POST")
@game_key_required
@json_body(VerifyRequest)
def verify(request: HttpRequest, game: Game, body: VerifyRequest) -> HttpResponse:
    outcome = game_sessions.verify(
        game, parse_ott(body.ott), body.provider_user_id, now=timezone.now()
    )
    if isinstance(outcome, game_sessions.Refused):
        metrics.VERIFY.labels(game.slug, outcome.reason).inc()
        return success(request, {"is_valid": False, "reason": outcome.reason})
    metrics.VERIFY.labels(game.slug, "valid").inc()
    return success(
        request, {"is_valid": True, "game_session_id": outcome.session_id, "is_pc_cafe": True}
    )


@api_view("PATCH")
@game_key_required
@json_body(SessionRequest)
def heartbeat(request: HttpRequest, game: Game, body: SessionRequest) -> HttpResponse:
    try:
        result = _heartbeat_result(game, body)
    except ApiError as exc:
        metrics.HEARTBEATS.labels(game.slug, exc.code.value).inc()
        raise
    metrics.HEARTBEATS.labels(game.slug, result.result).inc()
    return success(
        request,
        {
            "result": result.result,
            "next_heartbeat_in": settings.PLAYWAVE_HEARTBEAT_INTERVAL,
            "play_duration_sec": result.play_duration_sec,
        },
    )


@dataclass(frozen=True)
class _Beat:
    result: str
    play_duration_sec: int


def _heartbeat_result(game: Game, body: SessionRequest) -> _Beat:
    touched = game_sessions.touch_session(
        game,
        parse_session_id(body.game_session_id),
        body.provider_user_id,
        now=timezone.now(),
        why=Touch.HEARTBEAT,
    )
    result = _result_of(touched.reply, ok="CHARGE_EXHAUSTED" if touched.exhausted else "OK")
    return _Beat(result, touched.play_duration_sec)


@api_view("POST")
@game_key_required
@json_body(SessionRequest)
def check(request: HttpRequest, game: Game, body: SessionRequest) -> HttpResponse:
    touched = game_sessions.touch_session(
        game,
        parse_session_id(body.game_session_id),
        body.provider_user_id,
        now=timezone.now(),
        why=Touch.CHECK,
    )
    _result_of(touched.reply)  # raises unless the request did what it asked
    return success(
        request,
        {"is_valid": True, "game_session_id": body.game_session_id, "is_pc_cafe": True},
    )


@api_view("DELETE")
@game_key_required
@json_body(EndRequest)
def end(request: HttpRequest, game: Game, body: EndRequest) -> HttpResponse:
    why = Touch.END_SHUTDOWN if body.reason == "server_shutdown" else Touch.END_NORMAL
    touched = game_sessions.touch_session(
        game,
        parse_session_id(body.game_session_id),
        None,
        now=timezone.now(),
        why=why,
        client_play_duration_sec=body.play_duration_sec,
    )
    _result_of(touched.reply)  # raises unless the request did what it asked
    return success(
        request,
        {
            "result": "SUCCESS",
            "play_duration_sec": touched.play_duration_sec,
            "client_play_duration_sec": body.play_duration_sec,
        },
    )


@api_view("GET")
def openapi(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(openapi_document(request.build_absolute_uri("/")[:-1]))
    response["Access-Control-Allow-Origin"] = "*"
    return response
