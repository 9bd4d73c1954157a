"""Launcher authentication: HMAC-signed requests from a cafe's network, then a bearer token."""

from __future__ import annotations

import functools
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sessions import nonces
from sessions.api import limits
from sessions.api.decorators import View, raw_body
from sessions.api.limits import client_ip, in_networks
from sessions.errors import ApiError, ErrorCode
from sessions.keys import Network, launcher_keys
from sessions.models import Cafe, LauncherSession, sha256_hex
from sessions.signing import sign, signature_matches

NONCE_MIN_LENGTH = 16
TIMESTAMP_DIGITS = 12


def _refuse(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_SIGNATURE, message)


def verify_signature(request: HttpRequest) -> Cafe:
    """Check key, timestamp window, signature and nonce; return the signing cafe."""
    return _verify(request)[0]


def _verify(request: HttpRequest) -> tuple[Cafe, tuple[Network, ...]]:
    """verify_signature, with the signing cafe's networks."""
    key_id = request.headers.get("X-PW-Key", "")
    timestamp = request.headers.get("X-PW-Timestamp", "")
    nonce = request.headers.get("X-PW-Nonce", "")
    signature = request.headers.get("X-PW-Signature", "")
    missing = [
        name
        for name, value in (
            ("X-PW-Key", key_id),
            ("X-PW-Timestamp", timestamp),
            ("X-PW-Nonce", nonce),
            ("X-PW-Signature", signature),
        )
        if not value
    ]
    if missing:
        raise _refuse(f"missing {', '.join(missing)}")
    if "\x00" in key_id or "\x00" in nonce:
        raise _refuse("X-PW-Key and X-PW-Nonce cannot hold NUL")
    if len(nonce) < NONCE_MIN_LENGTH or len(nonce) > 128:
        raise _refuse(f"X-PW-Nonce must be {NONCE_MIN_LENGTH} to 128 characters")
    # ASCII digits only and at most 12 of them: int() also takes " 17 ", "+17" and other
    # scripts' digits, and 400 digits overflow the float compare below.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_DIGITS):
        raise _refuse("X-PW-Timestamp is not unix seconds")
    sent_at = int(timestamp)
    window = settings.PLAYWAVE_SIGNATURE_WINDOW
    if abs(time.time() - sent_at) > window:
        raise _refuse(f"X-PW-Timestamp is more than {window} s off the server's clock")
    known = launcher_keys.get(key_id)
    if known is None:
        raise _refuse("unknown X-PW-Key")
    cafe, networks = known
    body = raw_body(request)
    expected = sign(
        cafe.launcher_secret, request.method or "", request.path, timestamp, nonce, body
    )
    if not signature_matches(expected, signature):
        raise _refuse("signature does not match")
    # Remembered for twice the window so a nonce cannot come back from either side of it; in
    # the database, so a Redis flush or outage neither lets a replay through nor fails the call.
    if not nonces.remember(cafe, nonce, now=timezone.now(), ttl=2 * window):
        raise _refuse("X-PW-Nonce was already used")
    return cafe, networks


def launcher_signed(view: View) -> View:
    """Signed by a cafe and sent from one of its registered networks; the view gets `cafe`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limits.gate_failed_auth(request)
        try:
            cafe, networks = _verify(request)
        except ApiError:
            limits.count_failed_auth(request)
            raise
        limits.check_key("cafe", cafe.launcher_key_id)
        ip = client_ip(request)
        if not in_networks(ip, networks):
            raise ApiError(
                ErrorCode.NOT_PC_CAFE, f"{ip or 'the client'} is not on a network of this cafe"
            )
        return view(request, *args, cafe=cafe, **kwargs)

    return wrapper


def bearer_token(request: HttpRequest) -> str:
    """The launcher's session token (Authorization: Bearer); a failed authentication if none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        limits.count_failed_auth(request)
        raise ApiError(ErrorCode.INVALID_SESSION_TOKEN, "missing Authorization: Bearer token")
    return token.strip()


def launcher_of(request: HttpRequest, cafe: Cafe, token: str) -> LauncherSession:
    """The signing cafe's launcher session of `token`; a failed authentication if none."""
    launcher = (
        LauncherSession.objects.select_related("cafe", "pc")
        .filter(token_digest=sha256_hex(token), cafe=cafe)
        .first()
    )
    if launcher is None:
        limits.count_failed_auth(request)
        raise ApiError(ErrorCode.INVALID_SESSION_TOKEN, "unknown session token")
    return launcher


def launcher_session_required(view: View) -> View:
    """A bearer session token of the signing cafe; the view gets `launcher`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, cafe: Cafe, **kwargs: Any) -> HttpResponse:
        launcher = launcher_of(request, cafe, bearer_token(request))
        return view(request, *args, cafe=cafe, launcher=launcher, **kwargs)

    return wrapper
