"""HTTP: the game catalog, hosting a session, the GM console and the player page."""

from __future__ import annotations

import io
import json
from typing import Any

import segno
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_GET
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from games import codes
from games.codes import CodeSpaceExhausted
from games.registry import catalog, catalog_entries, get_runtime


def api_error(status: int, code: str, message: str) -> JsonResponse:
    """The one error envelope of the games API."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    game: str = Field(min_length=1, max_length=64)


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering in the API's envelope instead of the HTML failure page."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        return api_error(403, "forbidden", f"CSRF check failed: {reason}")


def _wrong_method(request: HttpRequest, allowed: str) -> JsonResponse | None:
    if request.method == allowed:
        return None
    response = api_error(405, "method_not_allowed", f"use {allowed} for this endpoint")
    response["Allow"] = allowed
    return response


# CSRF is checked inside the views, after sign-in: the API answers in JSON, never Django's page.
@csrf_exempt
def api_catalog(request: HttpRequest) -> JsonResponse:
    """The games a GM may host."""
    return _wrong_method(request, "GET") or JsonResponse({"games": catalog_entries(catalog())})


@csrf_exempt
async def api_create_session(request: HttpRequest) -> HttpResponse:
    """Host a new live session; a signed-in staff user only (session cookie and CSRF token)."""
    wrong = _wrong_method(request, "POST")
    if wrong is not None:
        return wrong
    user = await request.auser()
    if not user.is_authenticated:
        return api_error(401, "not_signed_in", "sign in as a staff user to host a game")
    refused = _CsrfCheck(lambda r: HttpResponse()).process_view(request, None, (), {})  # type: ignore[arg-type]
    if refused is not None:
        return refused
    if not (user.is_active and user.is_staff):
        return api_error(403, "forbidden", "only staff users may host games")
    try:
        body = CreateSession.model_validate(json.loads(request.body or b"null"))
    except (ValueError, ValidationError, RecursionError):
        return api_error(400, "bad_request", 'send a JSON object {"game": "<ruleset id>"}')
    games = await sync_to_async(catalog)()
    ruleset = games.get(body.game)
    if ruleset is None:
        return api_error(404, "unknown_game", f"no game {body.game!r} in the catalog")
    try:
        session = await get_runtime().create(ruleset, user.pk)
    except CodeSpaceExhausted as exc:
        return api_error(503, "no_free_code", str(exc))
    return JsonResponse(
        {
            "code": session.code,
            "gm_url": request.build_absolute_uri(reverse("games:gm", args=[session.code])),
            "player_url": request.build_absolute_uri(reverse("games:play", args=[session.code])),
        },
        status=201,
    )


def _page_config(request: HttpRequest, code: str | None) -> dict[str, Any]:
    c = codes.normalise(code or "") if code else None
    return {
        "code": c or "",
        "tileUrl": settings.GAMES_TILE_URL,
        "tileAttribution": settings.GAMES_TILE_ATTRIBUTION,
        "wsPath": "/ws/games/",
        "catalogUrl": reverse("games:catalog"),
        "sessionsUrl": reverse("games:sessions"),
        "playUrl": reverse("games:play_home"),
        "gmUrl": reverse("games:gm_home"),
    }


@staff_member_required
@ensure_csrf_cookie
def gm_console(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The GM console: library, hosting, map placement, bots/items/tunables, live map."""
    return render(request, "games/gm.html", {"config": _page_config(request, code)})


@require_GET
@staff_member_required
def gm_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The player join link of a live session as a QR code (SVG), for players to scan."""
    c = codes.normalise(code)
    if c is None or not get_runtime().is_live(c):
        return api_error(404, "unknown_code", "no live game has this code")
    url = request.build_absolute_uri(reverse("games:play", args=[c]))
    buf = io.BytesIO()
    segno.make(url, error="m").save(
        buf, kind="svg", scale=6, border=2, dark="#102027", light="#ffffff", title=url
    )
    resp = HttpResponse(buf.getvalue(), content_type="image/svg+xml")
    resp["Cache-Control"] = "private, max-age=600"
    return resp


@require_GET
def player_page(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """The phone page: join with code and name, then play."""
    return render(request, "games/play.html", {"config": _page_config(request, code)})
