"""The launcher side: a PC signs in, beats, gets OTTs for games, signs out.

Domain functions under the signed HTTP API (`sessions.api.launcher`); liveness is the one rule
of `sessions.lifecycle.launcher_cutoff`.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from sessions.errors import ApiError, ErrorCode
from sessions.lifecycle import launcher_cutoff
from sessions.models import (
    PC,
    Cafe,
    Game,
    GameSession,
    LauncherSession,
    OneTimeToken,
    sha256_hex,
    timers,
)
from sessions.sql import prepared_cursor


@dataclass(frozen=True)
class LauncherStart:
    session: LauncherSession
    token: str  # raw bearer token, only available now


def start_launcher_session(
    cafe: Cafe,
    hardware_id: str,
    *,
    now: datetime,
    hostname: str = "",
    internal_ip: str | None = None,
    launcher_version: str = "",
) -> LauncherStart:
    """Sign a PC in; any earlier launcher session on the PC ends (its game session with it)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        pc = _register_pc(cafe, hardware_id, hostname, internal_ip)
        for previous in LauncherSession.objects.filter(pc=pc, status=LauncherSession.Status.ACTIVE):
            end_launcher_session(previous, now=now, status=LauncherSession.Status.REPLACED)
        session = LauncherSession.objects.create(
            cafe=cafe,
            pc=pc,
            token_digest=sha256_hex(token),
            launcher_version=launcher_version,
            started_at=now,
            last_heartbeat_at=now,
        )
    return LauncherStart(session, token)


def _register_pc(cafe: Cafe, hardware_id: str, hostname: str, internal_ip: str | None) -> PC:
    """The cafe's PC of this hardware id, made or brought up to date with what it reports."""
    pc, _ = PC.objects.get_or_create(
        cafe=cafe,
        hardware_id=hardware_id,
        defaults={"hostname": hostname, "internal_ip": internal_ip},
    )
    if (hostname and pc.hostname != hostname) or (internal_ip and pc.internal_ip != internal_ip):
        PC.objects.filter(pk=pc.pk).update(
            hostname=hostname or pc.hostname, internal_ip=internal_ip or pc.internal_ip
        )
    return pc


@dataclass(frozen=True)
class LauncherBeat:
    active_game_session: uuid.UUID | None  # the game session live on the PC under it, if any


# On PostgreSQL the beat and the look-up of its live game session are one statement.
_BEAT_SQL = """
UPDATE playsessions_launchersession SET last_heartbeat_at = %(now)s
WHERE id = %(id)s AND status = 'active' AND last_heartbeat_at > %(cutoff)s
RETURNING (
    SELECT g.id FROM playsessions_gamesession g
    WHERE g.launcher_session_id = %(id)s AND g.state = 'ACTIVE'
    ORDER BY g.started_at DESC LIMIT 1
)
"""


# The beat by token, on PostgreSQL: the session of the token found, beaten and its live game
# session looked up in one statement.
_BEAT_BY_DIGEST_SQL = """
UPDATE playsessions_launchersession AS l SET last_heartbeat_at = %(now)s
WHERE l.token_digest = %(digest)s AND l.cafe_id = %(cafe)s AND l.status = 'active'
    AND l.last_heartbeat_at > %(cutoff)s
RETURNING (
    SELECT g.id FROM playsessions_gamesession g
    WHERE g.launcher_session_id = l.id AND g.state = 'ACTIVE'
    ORDER BY g.started_at DESC LIMIT 1
)
"""


def beat_by_token(cafe: Cafe, token: str, *, now: datetime) -> LauncherBeat | None:
    """The beat of the cafe's live launcher session of `token`, in one statement on PostgreSQL;
    None when there is no such live session (unknown token, ended or timed out: the caller
    looks which). SQLite finds the session, then beats it."""
    if connection.vendor != "postgresql":
        launcher = LauncherSession.objects.filter(token_digest=sha256_hex(token), cafe=cafe).first()
        return None if launcher is None else beat_launcher(launcher, now=now)
    cutoff = launcher_cutoff(now, timers())
    with prepared_cursor() as cursor:
        cursor.execute(
            _BEAT_BY_DIGEST_SQL,
            {"now": now, "digest": sha256_hex(token), "cafe": cafe.pk, "cutoff": cutoff},
        )
        row = cursor.fetchone()
    return None if row is None else LauncherBeat(row[0])


def heartbeat_launcher(launcher: LauncherSession, *, now: datetime) -> bool:
    """Record a launcher heartbeat; False if the launcher session is no longer alive."""
    return beat_launcher(launcher, now=now) is not None


def beat_launcher(launcher: LauncherSession, *, now: datetime) -> LauncherBeat | None:
    """Record a launcher heartbeat and say what plays under it; None if it is no longer alive."""
    # Decided by the row, not by the caller's copy: a dead launcher cannot be revived.
    if connection.vendor == "postgresql":
        cutoff = launcher_cutoff(now, timers())
        with prepared_cursor() as cursor:
            cursor.execute(_BEAT_SQL, {"now": now, "id": launcher.pk, "cutoff": cutoff})
            row = cursor.fetchone()
        beat = None if row is None else LauncherBeat(row[0])
    else:
        n = LauncherSession.objects.alive(now).filter(pk=launcher.pk).update(last_heartbeat_at=now)
        live = GameSession.objects.active().filter(launcher_session=launcher)
        beat = LauncherBeat(live.values_list("id", flat=True).first()) if n == 1 else None
    if beat is not None:
        launcher.last_heartbeat_at = now
    return beat


def end_launcher_session(
    launcher: LauncherSession,
    *,
    now: datetime,
    status: str = LauncherSession.Status.CLOSED,
) -> bool:
    """End a launcher session and the game sessions it vouches for (`launcher_closed`)."""
    with transaction.atomic():
        n = LauncherSession.objects.filter(
            pk=launcher.pk, status=LauncherSession.Status.ACTIVE
        ).update(status=status, ended_at=now)
        if n != 1:
            return False
        # Their next touch (the reaper's, at the latest) sees the launcher gone.
        GameSession.objects.active().filter(launcher_session=launcher).update(due_at=now)
    return True


def issue_ott(launcher: LauncherSession, game: Game | str, *, now: datetime) -> OneTimeToken:
    """Issue a one-time token for `game` (or the game of this slug) on the launcher's PC.

    Refused if the launcher is not alive, the game unknown or inactive, or the cafe suspended
    or unable to pay one billing unit.
    """
    if not launcher.is_alive(now):
        raise ApiError(ErrorCode.SESSION_ENDED, f"the launcher session is {launcher.status}")
    slug = game if isinstance(game, str) else game.slug
    found = Game.objects.filter(slug=slug).first() if isinstance(game, str) else game
    if found is None or not found.is_active:
        raise ApiError(ErrorCode.GAME_NOT_FOUND, f"no active game {slug!r}")
    _require_chargeable(Cafe.objects.get(pk=launcher.cafe_id), found)  # its balance as of now
    return OneTimeToken.objects.create(
        game=found,
        launcher_session=launcher,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.PLAYWAVE_OTT_TTL),
    )


def _require_chargeable(cafe: Cafe, game: Game) -> None:
    if cafe.status != Cafe.Status.ACTIVE:
        raise ApiError(ErrorCode.NOT_CHARGEABLE, "the cafe is suspended")
    if cafe.balance < game.coins_per_minute:
        raise ApiError(
            ErrorCode.NOT_CHARGEABLE,
            f"the cafe's balance ({cafe.balance} G-coin) cannot pay one billing unit "
            f"of {game.slug} ({game.coins_per_minute} G-coin)",
        )
