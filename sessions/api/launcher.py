"""Launcher API views (/v1/launcher/...): signed by the cafe, then a bearer session token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sessions import launchers
from sessions.api.decorators import api_view, json_body
from sessions.api.envelope import success
from sessions.api.launcher_auth import (
    bearer_token,
    launcher_of,
    launcher_session_required,
    launcher_signed,
)
from sessions.api.schemas import Empty, LauncherStartRequest, OttRequest
from sessions.errors import ApiError, ErrorCode
from sessions.models import Cafe, Game, LauncherSession


@api_view("POST")
@launcher_signed
@json_body(LauncherStartRequest)
def start(request: HttpRequest, cafe: Cafe, body: LauncherStartRequest) -> HttpResponse:
    if cafe.status != Cafe.Status.ACTIVE:
        raise ApiError(ErrorCode.NOT_CHARGEABLE, "the cafe is suspended")
    started = launchers.start_launcher_session(
        cafe,
        body.pc.hardware_id,
        now=timezone.now(),
        hostname=body.pc.hostname,
        internal_ip=str(body.pc.internal_ip),
        launcher_version=body.launcher_version,
    )
    games = [
        {
            "game_id": g.slug,
            "name": g.name,
            "featured": g.featured,
            "coins_per_minute": g.coins_per_minute,
        }
        for g in Game.objects.filter(is_active=True).order_by("-featured", "name")
    ]
    return success(
        request,
        {
            "launcher_session_id": str(started.session.pk),
            "session_token": started.token,
            "heartbeat_interval_sec": settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL,
            "games": games,
        },
    )


@api_view("POST")
@launcher_signed
@launcher_session_required
@json_body(OttRequest)
def ott(
    request: HttpRequest, cafe: Cafe, launcher: LauncherSession, body: OttRequest
) -> HttpResponse:
    token = launchers.issue_ott(launcher, body.game_id, now=timezone.now())
    return success(
        request,
        {
            "ott": str(token.id),
            "launch_data": f"playwave_{token.id}",
            "expires_in": settings.PLAYWAVE_OTT_TTL,
        },
    )


@api_view("PATCH")
@launcher_signed
@json_body(Empty)
def heartbeat(request: HttpRequest, cafe: Cafe, body: Empty) -> HttpResponse:
    token = bearer_token(request)
    # The common beat is one statement; only a refused one looks up why.
    beat = launchers.beat_by_token(cafe, token, now=timezone.now())
    if beat is None:
        launcher = launcher_of(request, cafe, token)
        status = launcher.status if launcher.status != "active" else "timed out"
        raise ApiError(ErrorCode.SESSION_ENDED, f"the launcher session is {status}")
    active = beat.active_game_session
    return success(
        request,
        {
            "result": "OK",
            "next_heartbeat_in": settings.PLAYWAVE_LAUNCHER_HEARTBEAT_INTERVAL,
            "active_game_session_id": f"gs_{active}" if active else None,
        },
    )


@api_view("DELETE")
@launcher_signed
@launcher_session_required
@json_body(Empty)
def end(request: HttpRequest, cafe: Cafe, launcher: LauncherSession, body: Empty) -> HttpResponse:
    if not launchers.end_launcher_session(launcher, now=timezone.now()):
        raise ApiError(ErrorCode.SESSION_ENDED, f"the launcher session is {launcher.status}")
    return success(request, {"result": "SUCCESS"})
