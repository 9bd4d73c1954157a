"""One hub per ASGI process: polls the database twice a second and sends numbered, batched
updates to this process's open dashboards.

Every process reads the same database, so each hub sees every change whoever wrote it; the
group is per process so no dashboard gets an update twice. Writes are stamped with their
writer's clock, so the poll looks back a little and drops what it already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections
from django.utils import timezone

from dashboard import minutes, queries

logger = logging.getLogger("dashboard")

POLL_SECONDS = 0.5
LOOKBACK = timedelta(seconds=5)
CHART_REFRESH = timedelta(seconds=10)


class DashboardHub:
    def __init__(self) -> None:
        self.group = f"playwave.dashboard.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.seq = 0
        self.viewers = 0
        self.task: asyncio.Task[None] | None = None
        self.cursor: datetime | None = None
        self.sent: dict[str, datetime] = {}  # session id -> updated_at already sent
        self.charts_due: datetime | None = None
        self.games: list[dict[str, Any]] = []

    async def join(self, channel_name: str) -> None:
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101  (the project always configures one)
        await layer.group_add(self.group, channel_name)
        self.viewers += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def leave(self, channel_name: str) -> None:
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101
        await layer.group_discard(self.group, channel_name)
        self.viewers = max(0, self.viewers - 1)
        if self.viewers == 0 and self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("dashboard poll failed; retrying")
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self) -> dict[str, Any] | None:
        """One poll: if anything changed, send (and return) the next numbered update."""
        # The join-code games live in this event loop's memory: read them here, not in a thread.
        games = live_games()
        games_changed = games != self.games
        self.games = games
        update = await sync_to_async(self._collect, thread_sensitive=True)(games_changed)
        if update is None:
            return None
        layer = get_channel_layer()
        assert layer is not None  # noqa: S101
        await layer.group_send(self.group, {"type": "dashboard.update", "update": update})
        return update

    def _collect(self, games_changed: bool = False) -> dict[str, Any] | None:
        close_old_connections()
        now = timezone.now()
        if self.cursor is None:
            self.cursor = now
            self.charts_due = now + CHART_REFRESH  # the snapshot just drew them
            return None
        # Two steps, so rows already sent never crowd out new ones: a narrow read of every
        # (id, updated_at) in the look-back window, then full rows only for what is new.
        unsent = [
            (pk, written)
            for pk, written in queries.written_since(self.cursor - LOOKBACK)
            if self.sent.get(f"gs_{pk}") != written
        ][: queries.MAX_CHANGES]
        fresh = []
        for session in queries.rows_for([pk for pk, _ in unsent]):
            self.sent[session.public_id] = session.updated_at
            fresh.append(queries.row(session, now))
            self.cursor = max(self.cursor, session.updated_at)
        horizon = self.cursor - LOOKBACK
        self.sent = {k: v for k, v in self.sent.items() if v > horizon}
        # The per-minute charts move with the clock, not only with writes: they are refreshed
        # every few seconds even when no session changed (and not at every poll).
        charts_due = self.charts_due is not None and now >= self.charts_due
        if not fresh and not games_changed and not charts_due:
            return None
        self.seq += 1
        update: dict[str, Any] = {
            "type": "update",
            "seq": self.seq,
            "changed": fresh,
            "totals": queries.totals(now),
            "games": self.games,
        }
        if self.charts_due is None or charts_due:
            update["charts"] = charts = minutes.charts(now)
            update["ends_per_minute"] = charts["ends"]
            self.charts_due = now + CHART_REFRESH
        return update

    def snapshot(self, query: queries.TableQuery) -> dict[str, Any]:
        """The full state a newly connected (or resyncing) dashboard starts from."""
        now = timezone.now()
        charts = minutes.charts(now)
        return {
            "type": "snapshot",
            "seq": self.seq,
            "totals": queries.totals(now),
            "table": queries.table(query, now),
            "charts": charts,
            "ends_per_minute": charts["ends"],
            "games": self.games,
        }


def live_games() -> list[dict[str, Any]]:
    """This process's join-code game sessions: code, game, state, players."""
    from games.registry import get_runtime

    games = []
    for live in list(get_runtime().sessions.values()):
        s = live.summary()
        games.append(
            {
                "code": s["code"],
                "game": s["game"],
                "status": s["status"],
                "players": s["players"],
                "bots": s["bots"],
                # Present human players, for the operator's kick.
                "roster": [
                    {"id": p.id, "name": p.name}
                    for p in live.world.players.values()
                    if p.present and p.bot is None
                ],
            }
        )
    return sorted(games, key=lambda s: s["code"])


hub = DashboardHub()
