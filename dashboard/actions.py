"""What an operator may do from the dashboard, each audited: end a PlayWave session, end a live
join-code game of this process, kick a player from one."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from audit.log import record
from audit.models import Action
from sessions import actions as session_actions

END_PERMISSION = "playsessions.end_gamesession"


class Refused(Exception):
    """The action was not done; the message says why."""


def may_end(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(END_PERMISSION))


def end_session(user: Any, public_id: str) -> str:
    if not may_end(user):
        raise Refused("you may not end sessions")
    try:
        pk = uuid.UUID(str(public_id).removeprefix("gs_"))
    except ValueError:
        raise Refused(f"{public_id!r} is not a game session id") from None
    if not session_actions.end_session(user, pk, now=timezone.now()):
        raise Refused(f"gs_{pk} is not live (already ended, or unknown)")
    return f"gs_{pk} ended (reason: operator)"


async def _check_may_end(user: Any, what: str) -> None:
    if not await sync_to_async(may_end)(user):
        raise Refused(f"you may not {what}")


async def _record_live(user: Any, action: Action, code: str, reason: str, **change: Any) -> None:
    """Audit an action on the live join-code game `code`."""
    await sync_to_async(record)(
        user, action, ("livegame", code, f"game {code}"), now=timezone.now(), note=reason, **change
    )


async def end_game(user: Any, code: str, reason: str) -> str:
    from games.registry import get_runtime

    await _check_may_end(user, "end games")
    if not await get_runtime().end_session(code, reason=reason):
        raise Refused(f"no running game {code} on this server")
    await _record_live(user, Action.LIVE_GAME_END, code, reason, after={"status": "ended"})
    return f"game {code} ended"


async def kick(user: Any, code: str, player_id: str, reason: str) -> str:
    from games.registry import get_runtime

    await _check_may_end(user, "kick players")
    runtime = get_runtime()
    live = runtime.get(code)
    player = live.world.players.get(player_id) if live is not None else None
    name = player.name if player is not None else player_id
    if not await runtime.kick(code, player_id, reason=reason):
        raise Refused(f"no player {player_id} in a game {code} on this server")
    await _record_live(
        user,
        Action.LIVE_GAME_KICK,
        code,
        reason,
        before={"player": player_id, "name": name, "present": True},
        after={"player": player_id, "name": name, "present": False},
    )
    return f"{name} removed from game {code}"
