"""The process-wide runtime and the catalog of games a GM may host."""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING, Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

from games.engine import Ruleset, builtin_rulesets
from games.room import RoomLimits
from games.runtime import Runtime

if TYPE_CHECKING:
    from games.persistence import SnapshotStore

_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """This process's runtime, built from settings on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(
            store=cache,
            layer=get_channel_layer(),
            tick_seconds=settings.GAMES_TICK_MS / 1000,
            idle_seconds=settings.GAMES_IDLE_REAP_SECONDS,
            ended_keep_seconds=settings.GAMES_ENDED_KEEP_SECONDS,
            code_ttl=settings.GAMES_CODE_TTL_SECONDS,
            chat_history=settings.GAMES_CHAT_HISTORY,
            snapshots=_snapshot_store(),
            limits=RoomLimits(
                chat_per_minute=settings.GAMES_CHAT_PER_MINUTE,
                chat_burst=settings.GAMES_CHAT_BURST,
                inputs_per_tick=settings.GAMES_INPUTS_PER_TICK,
                view_radius=settings.GAMES_VIEW_RADIUS or None,
            ),
        )
        if _runtime.snapshots is not None:
            atexit.register(_runtime.shutdown)
    return _runtime


def _snapshot_store() -> SnapshotStore | None:
    """Sessions survive a restart only with Redis; the embedded default keeps them in memory."""
    if not settings.REDIS_URL:
        return None
    import redis

    from games.persistence import SnapshotStore

    prefix = str(settings.CACHES["default"].get("KEY_PREFIX") or "playwave")
    return SnapshotStore(redis.Redis.from_url(settings.REDIS_URL), prefix=prefix)


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Swap the process runtime (tests inject one with a fake clock); returns the old one."""
    global _runtime
    old, _runtime = _runtime, runtime
    return old


def catalog() -> dict[str, Ruleset]:
    """Every game a GM may host: the built-in files, then enabled rulesets from the database."""
    from games.models import StoredRuleset

    games = builtin_rulesets()
    for stored in StoredRuleset.objects.filter(enabled=True).order_by("ruleset_id"):
        rs = stored.compiled()
        if rs is not None and rs.id not in games:
            games[rs.id] = rs
    return games


def catalog_entries(games: dict[str, Ruleset]) -> list[dict[str, Any]]:
    """The game library as JSON-safe entries, by name."""
    out = []
    for rs in games.values():
        spec = rs.spec
        out.append(
            {
                "id": rs.id,
                "name": spec.name,
                "summary": spec.summary,
                "minPlayers": spec.min_players,
                "maxPlayers": spec.max_players,
                "teams": [{"id": t.id, "name": t.name, "colour": t.colour} for t in spec.teams],
                "countdownSeconds": spec.countdown_seconds,
            }
        )
    return sorted(out, key=lambda e: str(e["name"]).lower())
